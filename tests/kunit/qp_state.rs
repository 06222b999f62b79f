// SPDX-License-Identifier: GPL-2.0

//! The queue pair state machine and its per-transition attribute masks.

#[kernel::prelude::kunit_tests(rrxe_qp_state)]
mod tests {
    use crate::verbs::qp::state::{check_modify, transition, AttrMask as A, QpState, Service};
    use kernel::prelude::*;
    use QpState::*;

    const ALL_STATES: [QpState; 7] = [
        Reset,
        Init,
        ReadyToReceive,
        ReadyToSend,
        SendQueueDrained,
        SendQueueError,
        Error,
    ];
    const ALL_SERVICES: [Service; 4] = [
        Service::ReliableConnected,
        Service::UnreliableConnected,
        Service::UnreliableDatagram,
        Service::GeneralServices,
    ];

    fn m(bits: &[A]) -> A {
        A(bits.iter().fold(0, |acc, b| acc | b.0))
    }

    /// Moves `from` to `to` with `attrs` plus the state bit.
    fn go(from: QpState, to: QpState, service: Service, attrs: A) -> Result<QpState> {
        check_modify(from, None, Some(to), service, m(&[attrs, A::STATE]))
    }

    fn rc_init_to_rtr() -> A {
        m(&[
            A::AV,
            A::PATH_MTU,
            A::DEST_QPN,
            A::RQ_PSN,
            A::MAX_DEST_RD_ATOMIC,
            A::MIN_RNR_TIMER,
        ])
    }

    fn rc_rtr_to_rts() -> A {
        m(&[
            A::SQ_PSN,
            A::TIMEOUT,
            A::RETRY_CNT,
            A::RNR_RETRY,
            A::MAX_QP_RD_ATOMIC,
        ])
    }

    #[test]
    fn reliable_connection_lifecycle() {
        let rc = Service::ReliableConnected;
        let init = m(&[A::PKEY_INDEX, A::PORT, A::ACCESS_FLAGS]);
        assert_eq!(go(Reset, Init, rc, init), Ok(Init));
        assert_eq!(
            go(Init, ReadyToReceive, rc, rc_init_to_rtr()),
            Ok(ReadyToReceive)
        );
        assert_eq!(
            go(ReadyToReceive, ReadyToSend, rc, rc_rtr_to_rts()),
            Ok(ReadyToSend)
        );
        assert_eq!(
            go(ReadyToSend, SendQueueDrained, rc, A::NONE),
            Ok(SendQueueDrained)
        );
        assert_eq!(
            go(SendQueueDrained, ReadyToSend, rc, A::NONE),
            Ok(ReadyToSend)
        );
        assert_eq!(go(ReadyToSend, Error, rc, A::NONE), Ok(Error));
        assert_eq!(go(Error, Reset, rc, A::NONE), Ok(Reset));
    }

    #[test]
    fn datagram_lifecycle_needs_qkey_not_a_path() {
        let ud = Service::UnreliableDatagram;
        assert_eq!(
            go(Reset, Init, ud, m(&[A::PKEY_INDEX, A::PORT])),
            Err(EINVAL)
        );
        assert_eq!(
            go(Reset, Init, ud, m(&[A::PKEY_INDEX, A::PORT, A::QKEY])),
            Ok(Init)
        );
        assert_eq!(go(Init, ReadyToReceive, ud, A::NONE), Ok(ReadyToReceive));
        // A datagram QP has no remote QP or path.
        assert_eq!(go(Init, ReadyToReceive, ud, A::DEST_QPN), Err(EINVAL));
        assert_eq!(go(Init, ReadyToReceive, ud, A::AV), Err(EINVAL));
        assert_eq!(go(ReadyToReceive, ReadyToSend, ud, A::NONE), Err(EINVAL));
        assert_eq!(
            go(ReadyToReceive, ReadyToSend, ud, A::SQ_PSN),
            Ok(ReadyToSend)
        );
        // QP1's port is fixed at creation.
        let gsi = Service::GeneralServices;
        assert_eq!(go(Reset, Init, gsi, m(&[A::PKEY_INDEX, A::QKEY])), Ok(Init));
        assert_eq!(
            go(Reset, Init, gsi, m(&[A::PKEY_INDEX, A::PORT, A::QKEY])),
            Err(EINVAL)
        );
    }

    #[test]
    fn each_required_attribute_is_required() {
        let rc = Service::ReliableConnected;
        for required in [rc_init_to_rtr(), rc_rtr_to_rts()] {
            let (from, to) = if required == rc_init_to_rtr() {
                (Init, ReadyToReceive)
            } else {
                (ReadyToReceive, ReadyToSend)
            };
            for bit in 0..32 {
                let one = A(1 << bit);
                if required.contains(one) {
                    assert_eq!(go(from, to, rc, required.without(one)), Err(EINVAL));
                }
            }
            assert_eq!(go(from, to, rc, required), Ok(to));
        }
    }

    #[test]
    fn attributes_a_transition_does_not_take_are_refused() {
        let rc = Service::ReliableConnected;
        let init = m(&[A::PKEY_INDEX, A::PORT, A::ACCESS_FLAGS]);
        assert_eq!(go(Reset, Init, rc, m(&[init, A::QKEY])), Err(EINVAL));
        assert_eq!(go(Reset, Init, rc, m(&[init, A::SQ_PSN])), Err(EINVAL));
        assert_eq!(go(ReadyToSend, Error, rc, A::AV), Err(EINVAL));
        // Optional ones are taken.
        let rts = m(&[rc_rtr_to_rts(), A::MIN_RNR_TIMER, A::ACCESS_FLAGS]);
        assert_eq!(go(ReadyToReceive, ReadyToSend, rc, rts), Ok(ReadyToSend));
        assert_eq!(
            go(ReadyToSend, SendQueueDrained, rc, A::EN_SQD_ASYNC_NOTIFY),
            Ok(SendQueueDrained)
        );
    }

    #[test]
    fn forbidden_transitions() {
        for service in ALL_SERVICES {
            for (from, to) in [
                (Reset, ReadyToReceive),
                (Reset, ReadyToSend),
                (Reset, Error),
                (Init, ReadyToSend),
                (ReadyToReceive, Init),
                (ReadyToReceive, ReadyToReceive),
                (ReadyToSend, Init),
                (ReadyToSend, SendQueueError),
                (Error, Init),
                (Error, ReadyToSend),
                (SendQueueError, SendQueueDrained),
            ] {
                assert!(transition(from, to, service).is_none());
                assert_eq!(go(from, to, service, A::NONE), Err(EINVAL));
            }
        }
        // Only unreliable services recover from a send queue error.
        assert!(transition(SendQueueError, ReadyToSend, Service::ReliableConnected).is_none());
        assert!(transition(SendQueueError, ReadyToSend, Service::UnreliableConnected).is_some());
    }

    #[test]
    fn reset_and_error_are_reachable_from_everywhere_else() {
        for service in ALL_SERVICES {
            for from in ALL_STATES {
                assert_eq!(go(from, Reset, service, A::NONE), Ok(Reset));
                let to_error = go(from, Error, service, A::NONE);
                assert_eq!(
                    to_error,
                    if from == Reset {
                        Err(EINVAL)
                    } else {
                        Ok(Error)
                    }
                );
            }
        }
    }

    #[test]
    fn current_state_claims() {
        let uc = Service::UnreliableConnected;
        let attrs = m(&[A::STATE, A::CUR_STATE]);
        // SQE -> RTS may name the state the consumer saw; it must be the real one.
        assert_eq!(
            check_modify(
                SendQueueError,
                Some(SendQueueError),
                Some(ReadyToSend),
                uc,
                attrs
            ),
            Ok(ReadyToSend)
        );
        assert_eq!(
            check_modify(
                SendQueueError,
                Some(ReadyToSend),
                Some(ReadyToSend),
                uc,
                attrs
            ),
            Err(EINVAL)
        );
        // Transitions that do not list it refuse it.
        let init = m(&[
            A::PKEY_INDEX,
            A::PORT,
            A::ACCESS_FLAGS,
            A::CUR_STATE,
            A::STATE,
        ]);
        assert_eq!(
            check_modify(Reset, Some(Reset), Some(Init), uc, init),
            Err(EINVAL)
        );
    }

    #[test]
    fn without_a_state_the_state_stays() {
        let rc = Service::ReliableConnected;
        assert_eq!(
            check_modify(Init, None, None, rc, A::ACCESS_FLAGS),
            Ok(Init)
        );
        assert_eq!(
            check_modify(ReadyToSend, None, None, rc, A::MIN_RNR_TIMER),
            Ok(ReadyToSend)
        );
        // RTR has no RTR -> RTR modify.
        assert_eq!(
            check_modify(ReadyToReceive, None, None, rc, A::NONE),
            Err(EINVAL)
        );
    }

    #[test]
    fn raw_states_round_trip() {
        for s in ALL_STATES {
            assert_eq!(QpState::from_raw(s as u32), Some(s));
        }
        assert_eq!(QpState::from_raw(7), None);
        assert_eq!(QpState::from_raw(u32::MAX), None);
    }
}
