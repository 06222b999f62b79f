// SPDX-License-Identifier: GPL-2.0

//! Queue pair attributes: what creating, modifying and querying a queue pair (`struct ib_qp`)
//! exchange with the core.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)

use super::{
    attr::AddressVector,
    device::Driver,
    object::{Cq, Srq},
};
use crate::{bindings, prelude::*};

/// The transport service of a queue pair (`enum ib_qp_type`), among those a driver may offer
/// through [`Driver::create_qp`]; the abstraction refuses the others with `EOPNOTSUPP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QpType {
    /// Reliable connected (`IB_QPT_RC`).
    Rc,
    /// Unreliable connected (`IB_QPT_UC`).
    Uc,
    /// Unreliable datagram (`IB_QPT_UD`).
    Ud,
    /// The general services interface, QP1 (`IB_QPT_GSI`).
    Gsi,
}

impl QpType {
    fn from_raw(raw: bindings::ib_qp_type) -> Option<Self> {
        Some(match raw {
            bindings::ib_qp_type_IB_QPT_RC => Self::Rc,
            bindings::ib_qp_type_IB_QPT_UC => Self::Uc,
            bindings::ib_qp_type_IB_QPT_UD => Self::Ud,
            bindings::ib_qp_type_IB_QPT_GSI => Self::Gsi,
            _ => return None,
        })
    }
}

/// The sizes of a queue pair's work queues (`struct ib_qp_cap`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QpCaps {
    /// Send work requests the send queue holds.
    pub max_send_wr: u32,
    /// Receive work requests the receive queue holds.
    pub max_recv_wr: u32,
    /// Scatter/gather entries per send work request.
    pub max_send_sge: u32,
    /// Scatter/gather entries per receive work request.
    pub max_recv_sge: u32,
    /// Bytes of inline data per send work request.
    pub max_inline_data: u32,
}

impl QpCaps {
    fn from_raw(cap: &bindings::ib_qp_cap) -> Self {
        Self {
            max_send_wr: cap.max_send_wr,
            max_recv_wr: cap.max_recv_wr,
            max_send_sge: cap.max_send_sge,
            max_recv_sge: cap.max_recv_sge,
            max_inline_data: cap.max_inline_data,
        }
    }

    fn write_raw(&self, cap: &mut bindings::ib_qp_cap) {
        cap.max_send_wr = self.max_send_wr;
        cap.max_recv_wr = self.max_recv_wr;
        cap.max_send_sge = self.max_send_sge;
        cap.max_recv_sge = self.max_recv_sge;
        cap.max_inline_data = self.max_inline_data;
    }
}

/// What a queue pair is created with (`struct ib_qp_init_attr`), for the call.
pub struct QpInitAttr<'a, T: Driver> {
    /// The transport service.
    pub qp_type: QpType,
    /// The requested work queue sizes.
    pub caps: QpCaps,
    /// Whether every send work request completes with a completion entry
    /// (`IB_SIGNAL_ALL_WR`), rather than those that ask.
    pub signal_all: bool,
    /// `IB_QP_CREATE_*` flags.
    pub create_flags: u32,
    /// The completion queue of the send queue.
    pub send_cq: &'a Cq<T>,
    /// The completion queue of the receive queue.
    pub recv_cq: &'a Cq<T>,
    /// The shared receive queue that replaces the queue pair's own receive queue.
    pub srq: Option<&'a Srq<T>>,
    /// The port, for QP1.
    pub port: u32,
}

impl<'a, T: Driver> QpInitAttr<'a, T> {
    /// Reads creation attributes; `Err(EOPNOTSUPP)` for what the abstraction does not offer
    /// (other services, XRC, RSS, a source QPN) and `Err(EINVAL)` without both completion
    /// queues.
    ///
    /// # Safety
    ///
    /// `init` must be valid for the call, with completion queues and a shared receive queue of
    /// driver `T` where non-null.
    pub(crate) unsafe fn from_raw(init: &'a bindings::ib_qp_init_attr) -> Result<Self> {
        let qp_type = QpType::from_raw(init.qp_type).ok_or(EOPNOTSUPP)?;
        if !init.xrcd.is_null() || !init.rwq_ind_tbl.is_null() || init.source_qpn != 0 {
            return Err(EOPNOTSUPP);
        }
        if init.send_cq.is_null() || init.recv_cq.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: Non-null, so CQs of `T` the core holds for the call (caller's guarantee).
        let (send_cq, recv_cq) =
            unsafe { (Cq::from_raw(init.send_cq), Cq::from_raw(init.recv_cq)) };
        Ok(Self {
            qp_type,
            caps: QpCaps::from_raw(&init.cap),
            signal_all: init.sq_sig_type == bindings::ib_sig_type_IB_SIGNAL_ALL_WR,
            create_flags: init.create_flags,
            send_cq,
            recv_cq,
            // SAFETY: Non-null, so an SRQ of `T` the core holds for the call.
            srq: (!init.srq.is_null()).then(|| unsafe { Srq::from_raw(init.srq) }),
            port: init.port_num,
        })
    }
}

/// What creating a queue pair yields besides the driver's data.
#[derive(Clone, Copy, Debug)]
pub struct QpCreated {
    /// The queue pair number.
    pub qp_num: u32,
    /// The work queue sizes granted, at least those requested.
    pub caps: QpCaps,
}

/// Queue pair attributes (`struct ib_qp_attr`), as given to a modify call or returned by a
/// query. Enumerations are raw values, for the driver to validate.
#[derive(Clone, Copy, Debug, Default)]
pub struct QpAttr {
    /// `IB_QPS_*`.
    pub state: u32,
    /// `IB_QPS_*`: the state the consumer believes the queue pair is in.
    pub cur_state: u32,
    /// `enum ib_mtu`.
    pub path_mtu: u32,
    /// `enum ib_mig_state`.
    pub path_mig_state: u32,
    /// The queue key (datagram services).
    pub qkey: u32,
    /// The next PSN expected by the receive side.
    pub rq_psn: u32,
    /// The next PSN the send side uses.
    pub sq_psn: u32,
    /// The remote queue pair number (connected services).
    pub dest_qp_num: u32,
    /// `IB_ACCESS_*` rights of incoming RDMA requests.
    pub access_flags: u32,
    /// Work queue sizes.
    pub caps: QpCaps,
    /// The primary path (connected services); `None` when not given or not RoCE.
    pub av: Option<AddressVector>,
    /// The partition key's index.
    pub pkey_index: u16,
    /// Whether entering SQD raises an event once drained.
    pub en_sqd_async_notify: bool,
    /// Whether the send queue is still draining (query).
    pub sq_draining: bool,
    /// Outstanding RDMA reads and atomics as initiator.
    pub max_rd_atomic: u8,
    /// Outstanding RDMA reads and atomics as responder.
    pub max_dest_rd_atomic: u8,
    /// The RNR NAK timer code.
    pub min_rnr_timer: u8,
    /// The port.
    pub port: u32,
    /// The local ACK timeout code.
    pub timeout: u8,
    /// Retries after a transport error.
    pub retry_cnt: u8,
    /// Retries after an RNR NAK.
    pub rnr_retry: u8,
}

impl QpAttr {
    /// Reads the attributes of a modify call; `mask` says which are given.
    ///
    /// # Safety
    ///
    /// `attr` must be valid for the call, its `ah_attr` with a held source GID attribute when
    /// `mask` has `IB_QP_AV` (the core resolves it before calling the driver).
    pub(crate) unsafe fn from_raw(attr: &bindings::ib_qp_attr, mask: u32) -> Result<Self> {
        let av = if mask & bindings::ib_qp_attr_mask_IB_QP_AV != 0 {
            // SAFETY: Valid with a held source GID per the caller.
            Some(unsafe { AddressVector::from_raw(&attr.ah_attr) }.ok_or(EINVAL)?)
        } else {
            None
        };
        Ok(Self {
            state: attr.qp_state,
            cur_state: attr.cur_qp_state,
            path_mtu: attr.path_mtu,
            path_mig_state: attr.path_mig_state,
            qkey: attr.qkey,
            rq_psn: attr.rq_psn,
            sq_psn: attr.sq_psn,
            dest_qp_num: attr.dest_qp_num,
            access_flags: attr.qp_access_flags as u32,
            caps: QpCaps::from_raw(&attr.cap),
            av,
            pkey_index: attr.pkey_index,
            en_sqd_async_notify: attr.en_sqd_async_notify != 0,
            sq_draining: attr.sq_draining != 0,
            max_rd_atomic: attr.max_rd_atomic,
            max_dest_rd_atomic: attr.max_dest_rd_atomic,
            min_rnr_timer: attr.min_rnr_timer,
            port: attr.port_num,
            timeout: attr.timeout,
            retry_cnt: attr.retry_cnt,
            rnr_retry: attr.rnr_retry,
        })
    }

    /// Writes the attributes for a query.
    pub(crate) fn write_raw(&self, attr: &mut bindings::ib_qp_attr) {
        attr.qp_state = self.state;
        attr.cur_qp_state = self.state;
        attr.path_mtu = self.path_mtu;
        attr.path_mig_state = self.path_mig_state;
        attr.qkey = self.qkey;
        attr.rq_psn = self.rq_psn;
        attr.sq_psn = self.sq_psn;
        attr.dest_qp_num = self.dest_qp_num;
        attr.qp_access_flags = self.access_flags as c_int;
        self.caps.write_raw(&mut attr.cap);
        if let Some(av) = &self.av {
            av.write_raw(&mut attr.ah_attr);
        }
        attr.pkey_index = self.pkey_index;
        attr.en_sqd_async_notify = u8::from(self.en_sqd_async_notify);
        attr.sq_draining = u8::from(self.sq_draining);
        attr.max_rd_atomic = self.max_rd_atomic;
        attr.max_dest_rd_atomic = self.max_dest_rd_atomic;
        attr.min_rnr_timer = self.min_rnr_timer;
        attr.port_num = self.port;
        attr.timeout = self.timeout;
        attr.retry_cnt = self.retry_cnt;
        attr.rnr_retry = self.rnr_retry;
    }
}

/// Writes what creation granted back into the creation attributes.
pub(crate) fn write_created_caps(init: &mut bindings::ib_qp_init_attr, caps: &QpCaps) {
    caps.write_raw(&mut init.cap);
}

/// Writes a query's creation attributes (`struct ib_qp_init_attr`).
pub(crate) fn write_query_init(
    init: &mut bindings::ib_qp_init_attr,
    caps: &QpCaps,
    signal_all: bool,
) {
    caps.write_raw(&mut init.cap);
    init.sq_sig_type = if signal_all {
        bindings::ib_sig_type_IB_SIGNAL_ALL_WR
    } else {
        bindings::ib_sig_type_IB_SIGNAL_REQ_WR
    };
}

/// Shared receive queue attributes (`struct ib_srq_attr`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SrqAttr {
    /// Receive work requests the queue holds.
    pub max_wr: u32,
    /// Scatter/gather entries per receive work request.
    pub max_sge: u32,
    /// The limit below which the queue raises `IB_EVENT_SRQ_LIMIT_REACHED`; 0 is disarmed.
    pub srq_limit: u32,
}

impl SrqAttr {
    pub(crate) fn from_raw(attr: &bindings::ib_srq_attr) -> Self {
        Self {
            max_wr: attr.max_wr,
            max_sge: attr.max_sge,
            srq_limit: attr.srq_limit,
        }
    }

    pub(crate) fn write_raw(&self, attr: &mut bindings::ib_srq_attr) {
        attr.max_wr = self.max_wr;
        attr.max_sge = self.max_sge;
        attr.srq_limit = self.srq_limit;
    }
}
