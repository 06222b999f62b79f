// SPDX-License-Identifier: GPL-2.0

//! The queue pair state machine (IBTA 10.3.1 and 11.2.4.2): which state changes a modify call
//! may make, and which attributes each change requires or allows.

#![allow(
    dead_code,
    reason = "the queue pair verbs build on it; until they land only its KUnit suite uses it"
)]

use kernel::prelude::*;

/// A queue pair state (`enum ib_qp_state`, same numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum QpState {
    Reset = 0,
    Init = 1,
    ReadyToReceive = 2,
    ReadyToSend = 3,
    SendQueueDrained = 4,
    SendQueueError = 5,
    Error = 6,
}

impl QpState {
    /// Converts an `IB_QPS_*` value.
    pub(crate) fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            0 => Self::Reset,
            1 => Self::Init,
            2 => Self::ReadyToReceive,
            3 => Self::ReadyToSend,
            4 => Self::SendQueueDrained,
            5 => Self::SendQueueError,
            6 => Self::Error,
            _ => return None,
        })
    }
}

/// The transport service of a queue pair, as far as the state machine cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    ReliableConnected,
    UnreliableConnected,
    UnreliableDatagram,
    /// QP1, the general services interface: a UD queue pair whose port is fixed.
    GeneralServices,
}

/// A set of `IB_QP_*` attribute mask bits (`enum ib_qp_attr_mask`, same values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AttrMask(pub(crate) u32);

impl AttrMask {
    pub(crate) const STATE: Self = Self(1 << 0);
    pub(crate) const CUR_STATE: Self = Self(1 << 1);
    pub(crate) const EN_SQD_ASYNC_NOTIFY: Self = Self(1 << 2);
    pub(crate) const ACCESS_FLAGS: Self = Self(1 << 3);
    pub(crate) const PKEY_INDEX: Self = Self(1 << 4);
    pub(crate) const PORT: Self = Self(1 << 5);
    pub(crate) const QKEY: Self = Self(1 << 6);
    pub(crate) const AV: Self = Self(1 << 7);
    pub(crate) const PATH_MTU: Self = Self(1 << 8);
    pub(crate) const TIMEOUT: Self = Self(1 << 9);
    pub(crate) const RETRY_CNT: Self = Self(1 << 10);
    pub(crate) const RNR_RETRY: Self = Self(1 << 11);
    pub(crate) const RQ_PSN: Self = Self(1 << 12);
    pub(crate) const MAX_QP_RD_ATOMIC: Self = Self(1 << 13);
    pub(crate) const ALT_PATH: Self = Self(1 << 14);
    pub(crate) const MIN_RNR_TIMER: Self = Self(1 << 15);
    pub(crate) const SQ_PSN: Self = Self(1 << 16);
    pub(crate) const MAX_DEST_RD_ATOMIC: Self = Self(1 << 17);
    pub(crate) const PATH_MIG_STATE: Self = Self(1 << 18);
    pub(crate) const CAP: Self = Self(1 << 19);
    pub(crate) const DEST_QPN: Self = Self(1 << 20);
    pub(crate) const NONE: Self = Self(0);

    /// Returns whether every bit of `other` is set.
    pub(crate) const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Returns the bits of `self` not in `other`.
    pub(crate) const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    const fn or(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Shorthand for building masks in the transition table.
const fn mask(bits: &[AttrMask]) -> AttrMask {
    let mut m = AttrMask::NONE;
    let mut i = 0;
    while i < bits.len() {
        m = m.or(bits[i]);
        i += 1;
    }
    m
}

use AttrMask as A;

/// The attributes a state change requires and the further ones it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) required: AttrMask,
    pub(crate) optional: AttrMask,
}

const fn tr(required: AttrMask, optional: AttrMask) -> Option<Transition> {
    Some(Transition { required, optional })
}

/// Picks the entry for `service` among the connected (RC, UC) and datagram (UD, QP1) cases.
fn by_service(
    service: Service,
    rc: Option<Transition>,
    uc: Option<Transition>,
    ud: Option<Transition>,
    gsi: Option<Transition>,
) -> Option<Transition> {
    match service {
        Service::ReliableConnected => rc,
        Service::UnreliableConnected => uc,
        Service::UnreliableDatagram => ud,
        Service::GeneralServices => gsi,
    }
}

/// Returns the attributes the change from `from` to `to` takes for `service`, or `None` if a
/// modify call may not make it. `from == to` is a modify that keeps the state.
pub(crate) fn transition(from: QpState, to: QpState, service: Service) -> Option<Transition> {
    use QpState::*;
    let none = A::NONE;
    // Any state may be reset, and any but RESET moved to the error state.
    if to == Reset || (to == Error && from != Reset) {
        return tr(none, none);
    }
    match (from, to) {
        (Reset, Init) => by_service(
            service,
            tr(mask(&[A::PKEY_INDEX, A::PORT, A::ACCESS_FLAGS]), none),
            tr(mask(&[A::PKEY_INDEX, A::PORT, A::ACCESS_FLAGS]), none),
            tr(mask(&[A::PKEY_INDEX, A::PORT, A::QKEY]), none),
            tr(mask(&[A::PKEY_INDEX, A::QKEY]), none),
        ),
        (Init, Init) => by_service(
            service,
            tr(none, mask(&[A::PKEY_INDEX, A::PORT, A::ACCESS_FLAGS])),
            tr(none, mask(&[A::PKEY_INDEX, A::PORT, A::ACCESS_FLAGS])),
            tr(none, mask(&[A::PKEY_INDEX, A::PORT, A::QKEY])),
            tr(none, mask(&[A::PKEY_INDEX, A::QKEY])),
        ),
        (Init, ReadyToReceive) => by_service(
            service,
            tr(
                mask(&[
                    A::AV,
                    A::PATH_MTU,
                    A::DEST_QPN,
                    A::RQ_PSN,
                    A::MAX_DEST_RD_ATOMIC,
                    A::MIN_RNR_TIMER,
                ]),
                mask(&[A::ALT_PATH, A::ACCESS_FLAGS, A::PKEY_INDEX]),
            ),
            tr(
                mask(&[A::AV, A::PATH_MTU, A::DEST_QPN, A::RQ_PSN]),
                mask(&[A::ALT_PATH, A::ACCESS_FLAGS, A::PKEY_INDEX]),
            ),
            tr(none, mask(&[A::PKEY_INDEX, A::QKEY])),
            tr(none, mask(&[A::PKEY_INDEX, A::QKEY])),
        ),
        (ReadyToReceive, ReadyToSend) => by_service(
            service,
            tr(
                mask(&[
                    A::SQ_PSN,
                    A::TIMEOUT,
                    A::RETRY_CNT,
                    A::RNR_RETRY,
                    A::MAX_QP_RD_ATOMIC,
                ]),
                mask(&[
                    A::CUR_STATE,
                    A::ALT_PATH,
                    A::ACCESS_FLAGS,
                    A::MIN_RNR_TIMER,
                    A::PATH_MIG_STATE,
                ]),
            ),
            tr(
                A::SQ_PSN,
                mask(&[
                    A::CUR_STATE,
                    A::ALT_PATH,
                    A::ACCESS_FLAGS,
                    A::PATH_MIG_STATE,
                ]),
            ),
            tr(A::SQ_PSN, mask(&[A::CUR_STATE, A::QKEY])),
            tr(A::SQ_PSN, mask(&[A::CUR_STATE, A::QKEY])),
        ),
        (ReadyToSend, ReadyToSend) | (SendQueueDrained, ReadyToSend) => by_service(
            service,
            tr(
                none,
                mask(&[
                    A::CUR_STATE,
                    A::ACCESS_FLAGS,
                    A::ALT_PATH,
                    A::PATH_MIG_STATE,
                    A::MIN_RNR_TIMER,
                ]),
            ),
            tr(
                none,
                mask(&[
                    A::CUR_STATE,
                    A::ACCESS_FLAGS,
                    A::ALT_PATH,
                    A::PATH_MIG_STATE,
                ]),
            ),
            tr(none, mask(&[A::CUR_STATE, A::QKEY])),
            tr(none, mask(&[A::CUR_STATE, A::QKEY])),
        ),
        (ReadyToSend, SendQueueDrained) => tr(none, A::EN_SQD_ASYNC_NOTIFY),
        (SendQueueDrained, SendQueueDrained) => by_service(
            service,
            tr(
                none,
                mask(&[
                    A::PORT,
                    A::AV,
                    A::TIMEOUT,
                    A::RETRY_CNT,
                    A::RNR_RETRY,
                    A::MAX_QP_RD_ATOMIC,
                    A::MAX_DEST_RD_ATOMIC,
                    A::ALT_PATH,
                    A::ACCESS_FLAGS,
                    A::PKEY_INDEX,
                    A::MIN_RNR_TIMER,
                    A::PATH_MIG_STATE,
                ]),
            ),
            tr(
                none,
                mask(&[
                    A::AV,
                    A::ALT_PATH,
                    A::ACCESS_FLAGS,
                    A::PKEY_INDEX,
                    A::PATH_MIG_STATE,
                ]),
            ),
            tr(none, mask(&[A::PKEY_INDEX, A::QKEY])),
            tr(none, mask(&[A::PKEY_INDEX, A::QKEY])),
        ),
        // A reliable connection never enters SQE: its send errors move it to ERR.
        (SendQueueError, ReadyToSend) => by_service(
            service,
            None,
            tr(none, mask(&[A::CUR_STATE, A::ACCESS_FLAGS])),
            tr(none, mask(&[A::CUR_STATE, A::QKEY])),
            tr(none, mask(&[A::CUR_STATE, A::QKEY])),
        ),
        _ => None,
    }
}

/// Checks a modify call's attribute mask against the state machine and returns the state the
/// queue pair moves to.
///
/// `current` is the queue pair's state; with [`AttrMask::CUR_STATE`] the caller asserts it
/// as `claimed_current`, which must match. Without [`AttrMask::STATE`] the state stays.
/// Fails with `EINVAL` for a change the state machine forbids, a required attribute missing or
/// an attribute the change does not take.
pub(crate) fn check_modify(
    current: QpState,
    claimed_current: Option<QpState>,
    requested: Option<QpState>,
    service: Service,
    attrs: AttrMask,
) -> Result<QpState> {
    if let Some(claimed) = claimed_current {
        // The consumer's idea of the state must match (a stale view is an error, not an
        // override: 11.2.4.2).
        if claimed != current {
            return Err(EINVAL);
        }
    }
    let next = requested.unwrap_or(current);
    let allowed = transition(current, next, service).ok_or(EINVAL)?;
    let given = attrs.without(A::STATE);
    if !given.contains(allowed.required) {
        return Err(EINVAL);
    }
    if given.without(allowed.required).without(allowed.optional) != A::NONE {
        return Err(EINVAL);
    }
    Ok(next)
}
