// SPDX-License-Identifier: GPL-2.0

//! The completer's decisions as pure logic: which requests an acknowledgment completes,
//! which read a response answers and where it lands, and the reaction to each NAK.

#[kernel::prelude::kunit_tests(rrxe_completer)]
mod tests {
    use crate::{
        transport::{
            completer::{
                acknowledged, answers_read, nak_reaction, read_gap, read_landing, resend_within,
                NakReaction,
            },
            psn::{Psn, PSN_MASK},
        },
        wire::{NakCode, Syndrome},
    };
    use kernel::rdma::wc::WcStatus;

    /// Sends ending at PSNs `PSN_MASK - 1` and 1 (across the wrap), then a read ending at 5.
    fn in_flight() -> [(bool, Psn); 3] {
        [
            (false, Psn::new(PSN_MASK - 1)),
            (false, Psn::new(1)),
            (true, Psn::new(5)),
        ]
    }

    #[test]
    fn an_ack_completes_the_requests_it_covers() {
        let ack = |psn: u32| acknowledged(in_flight().into_iter(), Psn::new(psn));
        // Before the first request's last packet: nothing.
        assert_eq!(ack(PSN_MASK - 2), 0);
        assert_eq!(ack(PSN_MASK - 1), 1);
        // Across the wrap, up to the second's last packet.
        assert_eq!(ack(0), 1);
        assert_eq!(ack(1), 2);
        // A read completes with its response, never with an ACK: it stops there.
        assert_eq!(ack(5), 2);
        assert_eq!(ack(100), 2);
        // An ACK from long ago (half the space behind) completes nothing.
        assert_eq!(ack(0x80_0000), 0);
        assert_eq!(acknowledged(core::iter::empty(), Psn::new(3)), 0);
    }

    #[test]
    fn only_a_response_of_the_read_acknowledges_before_it() {
        let first = Psn::new(PSN_MASK);
        assert!(answers_read(first, 3, Psn::new(PSN_MASK)));
        assert!(answers_read(first, 3, Psn::new(1)));
        // A stale response from before the read, or one past its last packet.
        assert!(!answers_read(first, 3, Psn::new(PSN_MASK - 1)));
        assert!(!answers_read(first, 3, Psn::new(2)));
    }

    #[test]
    fn a_read_response_lands_in_order_within_the_read() {
        let first = Psn::new(PSN_MASK);
        // 10000 bytes in 4096-byte packets: PSNs PSN_MASK, 0 and 1.
        let land = |received, psn: u32, len| {
            read_landing(first, received, 10000, 4096, Psn::new(psn), len)
        };
        assert_eq!(land(0, PSN_MASK, 4096), Some(Ok(0)));
        assert_eq!(land(4096, 0, 4096), Some(Ok(4096)));
        assert_eq!(land(8192, 1, 1808), Some(Ok(8192)));
        // A duplicate of a packet landed already, and one past a gap.
        assert_eq!(land(4096, PSN_MASK, 4096), None);
        assert_eq!(land(0, 0, 4096), None);
        // Data past the read's end.
        assert_eq!(land(8192, 1, 1809), Some(Err(WcStatus::LocalLengthError)));
        assert_eq!(
            land(8192, 1, usize::MAX),
            Some(Err(WcStatus::LocalLengthError))
        );
    }

    #[test]
    fn a_response_past_a_lost_one_is_an_implied_nak() {
        let first = Psn::new(PSN_MASK - 1);
        // 5 packets of 4096 bytes: PSNs PSN_MASK - 1 to 2, across the wrap.
        let gap = |received, psn: u32| read_gap(first, 5, received, 4096, Psn::new(psn));
        // The one expected, duplicates of those landed, and PSNs beyond the read are no gap.
        assert!(!gap(0, PSN_MASK - 1));
        assert!(!gap(8192, 0));
        assert!(!gap(8192, PSN_MASK));
        assert!(!gap(0, 3));
        // Responses after one lost, before and across the wrap.
        assert!(gap(0, PSN_MASK));
        assert!(gap(4096, 1));
        assert!(gap(8192, 2));
    }

    #[test]
    fn a_message_acknowledged_in_part_is_sent_again_from_the_rest() {
        let first = Psn::new(PSN_MASK - 1);
        // 4 packets: PSNs PSN_MASK - 1 to 1, across the wrap.
        assert_eq!(resend_within(first, 4, first), 0);
        assert_eq!(resend_within(first, 4, Psn::new(PSN_MASK)), 1);
        assert_eq!(resend_within(first, 4, Psn::new(1)), 3);
        // All of it acknowledged, or the acknowledgments still before it.
        assert_eq!(resend_within(first, 4, Psn::new(2)), 0);
        assert_eq!(resend_within(first, 4, Psn::new(PSN_MASK - 5)), 0);
    }

    #[test]
    fn each_nak_gets_its_reaction() {
        let seq = Syndrome::Nak(NakCode::PsnSequenceError);
        assert_eq!(nak_reaction(seq, true, false, 7), NakReaction::Resend);
        // A resend is due already at the end of a receiver-not-ready wait.
        assert_eq!(nak_reaction(seq, true, true, 7), NakReaction::Ignore);
        // A NAK naming nothing outstanding is stale.
        assert_eq!(nak_reaction(seq, false, false, 7), NakReaction::Ignore);
        let cases = [
            (NakCode::InvalidRequest, WcStatus::RemoteInvalidRequest),
            (NakCode::InvalidRdRequest, WcStatus::RemoteInvalidRequest),
            (NakCode::RemoteAccessError, WcStatus::RemoteAccessError),
            (
                NakCode::RemoteOperationalError,
                WcStatus::RemoteOperationError,
            ),
        ];
        for (code, status) in cases {
            assert_eq!(
                nak_reaction(Syndrome::Nak(code), true, false, 3),
                NakReaction::Fail(status)
            );
            assert_eq!(
                nak_reaction(Syndrome::Nak(code), true, true, 3),
                NakReaction::Fail(status)
            );
        }
        assert_eq!(
            nak_reaction(Syndrome::Ack(0), true, false, 3),
            NakReaction::Ignore
        );
    }

    #[test]
    fn rnr_naks_wait_their_timer_and_count_retries() {
        // Timer code 1 is 10 us, code 0 the longest, 655.36 ms (IBTA table 45).
        assert_eq!(
            nak_reaction(Syndrome::RnrNak(1), true, false, 3),
            NakReaction::RnrWait {
                micros: 10,
                retries_left: 2
            }
        );
        assert_eq!(
            nak_reaction(Syndrome::RnrNak(0), true, false, 1),
            NakReaction::RnrWait {
                micros: 655_360,
                retries_left: 0
            }
        );
        // Seven means retry forever.
        assert_eq!(
            nak_reaction(Syndrome::RnrNak(31), true, false, 7),
            NakReaction::RnrWait {
                micros: 491_520,
                retries_left: 7
            }
        );
        assert_eq!(
            nak_reaction(Syndrome::RnrNak(1), true, false, 0),
            NakReaction::Fail(WcStatus::RnrRetryExceeded)
        );
        // Already waiting, or nothing outstanding: nothing more.
        assert_eq!(
            nak_reaction(Syndrome::RnrNak(1), true, true, 3),
            NakReaction::Ignore
        );
        assert_eq!(
            nak_reaction(Syndrome::RnrNak(1), false, false, 3),
            NakReaction::Ignore
        );
    }
}
