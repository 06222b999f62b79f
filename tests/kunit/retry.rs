// SPDX-License-Identifier: GPL-2.0

//! The local ACK timeout's decisions as pure logic: its length from the timer code, when its
//! deadline has passed, the retries timeouts in a row spend, progress restoring them and
//! restarting the deadline as every packet sent does, the wait following the round trips
//! measured (one packet timed at a time, none sent again) and doubling with timeouts in a
//! row (never below the timeout nor above four times it), where a resend starts (go-back-N,
//! a read asked for the rest), and when the engine's one timer is set again.

#[kernel::prelude::kunit_tests(rrxe_retry)]
mod tests {
    use crate::transport::{
        psn::{Psn, PSN_MASK},
        retry::{
            ack_timeout, before, earliest, has_passed, needs_arming, resend_from, AckTimer, Expiry,
            Moment, MAX_WAIT_FACTOR,
        },
    };
    use kernel::time::Delta;

    const TIMEOUT: Delta = Delta::from_millis(10);

    fn ms(n: i64) -> Delta {
        Delta::from_millis(n)
    }

    /// A timer allowing `retry_cnt` timeouts in a row, whose deadline runs from `now`, when
    /// PSN 0 went out for the first time (the packet timed).
    fn running(retry_cnt: u8, now: Moment) -> AckTimer {
        let mut timer = AckTimer::default();
        timer.set_retry_cnt(retry_cnt);
        timer.sent_first(Psn::new(0));
        timer.settle(now, Some(TIMEOUT), true, true);
        timer
    }

    #[test]
    fn the_local_ack_timeout_follows_its_timer_code() {
        assert!(ack_timeout(0).is_none());
        let nanos = |code| ack_timeout(code).map(|d| d.as_nanos());
        assert_eq!(nanos(1), Some(8192));
        // 4.096 µs × 2^14: about 67 ms.
        assert_eq!(nanos(14), Some(67_108_864));
        assert_eq!(nanos(31), Some(4096 << 31));
    }

    #[test]
    fn a_deadline_expires_once_it_has_passed() {
        let t0 = Moment::now();
        let mut timer = running(3, t0);
        assert!(timer
            .deadline()
            .is_some_and(|d| !before(d, t0 + TIMEOUT) && !before(t0 + TIMEOUT, d)));
        assert_eq!(timer.expire(t0), Expiry::Wait);
        assert_eq!(
            timer.expire(t0 + TIMEOUT - Delta::from_nanos(1)),
            Expiry::Wait
        );
        assert_eq!(timer.retries_left(), 3);
        assert_eq!(timer.expire(t0 + TIMEOUT), Expiry::Resend);
        assert_eq!(timer.retries_left(), 2);
        // The deadline stopped: nothing more expires until the resend restarts it.
        assert!(timer.deadline().is_none());
        assert_eq!(timer.expire(t0 + ms(100)), Expiry::Wait);
    }

    #[test]
    fn timeouts_in_a_row_spend_the_retries_then_fail() {
        let mut now = Moment::now();
        // Unlike the receiver-not-ready count, 7 means seven.
        let mut timer = running(7, now);
        for left in (0..7).rev() {
            // The longest wait has passed, however far the doubling got.
            now = now + TIMEOUT * MAX_WAIT_FACTOR;
            assert_eq!(timer.expire(now), Expiry::Resend);
            assert_eq!(timer.retries_left(), left);
            // The resend restarts the deadline.
            timer.settle(now, Some(TIMEOUT), true, true);
        }
        now = now + TIMEOUT * MAX_WAIT_FACTOR;
        assert_eq!(timer.expire(now), Expiry::Exceeded);
        // A retry count of 0 fails at the first timeout.
        let mut none = running(0, now);
        assert_eq!(none.expire(now + TIMEOUT), Expiry::Exceeded);
    }

    #[test]
    fn progress_restores_the_retries_and_restarts_the_deadline() {
        let t0 = Moment::now();
        let mut timer = running(2, t0);
        assert_eq!(timer.expire(t0 + TIMEOUT), Expiry::Resend);
        timer.rewound();
        timer.settle(t0 + TIMEOUT, Some(TIMEOUT), true, true);
        // Progress at 15 ms, with packets still awaiting acknowledgment and none sent.
        let t1 = t0 + ms(15);
        timer.progressed(t1, Psn::new(0));
        assert_eq!(timer.retries_left(), 2);
        timer.settle(t1, Some(TIMEOUT), true, false);
        // The deadline the resend set (30 ms, the wait doubled) has passed, but progress came
        // since. The progress may answer the resend: the wait stays doubled.
        assert_eq!(timer.expire(t0 + ms(30)), Expiry::Wait);
        assert_eq!(
            timer.expire(t1 + TIMEOUT * 2 - Delta::from_nanos(1)),
            Expiry::Wait
        );
        assert_eq!(timer.expire(t1 + TIMEOUT * 2), Expiry::Resend);
        assert_eq!(timer.retries_left(), 1);
    }

    #[test]
    fn an_acknowledgment_handled_before_the_check_is_progress() {
        let t0 = Moment::now();
        let mut timer = running(1, t0);
        // The timer expired while the acknowledgment waited in the inbox; it is handled
        // before the deadline is judged.
        timer.progressed(t0 + ms(12), Psn::new(0));
        assert_eq!(timer.expire(t0 + ms(30)), Expiry::Wait);
        // It acknowledged everything: no deadline runs.
        timer.settle(t0 + ms(30), Some(TIMEOUT), false, false);
        assert!(timer.deadline().is_none());
        assert_eq!(timer.expire(t0 + ms(1000)), Expiry::Wait);
    }

    #[test]
    fn a_postponed_deadline_starts_again_with_no_retry_spent() {
        let t0 = Moment::now();
        let mut timer = running(1, t0);
        assert!(!timer.has_passed(t0 + TIMEOUT - Delta::from_nanos(1)));
        assert!(timer.has_passed(t0 + TIMEOUT));
        // The peer on this device still holds the packets: the deadline starts again at the
        // end of the round, with no retry spent.
        timer.postpone();
        assert!(!timer.has_passed(t0 + TIMEOUT));
        timer.settle(t0 + TIMEOUT, Some(TIMEOUT), true, false);
        assert_eq!(timer.retries_left(), 1);
        assert_eq!(timer.expire(t0 + ms(15)), Expiry::Wait);
        assert_eq!(timer.expire(t0 + ms(20)), Expiry::Resend);
        assert_eq!(timer.retries_left(), 0);
    }

    #[test]
    fn every_packet_sent_restarts_the_deadline() {
        let t0 = Moment::now();
        let mut timer = running(1, t0);
        // A round that sends nothing keeps the deadline.
        timer.settle(t0 + ms(4), Some(TIMEOUT), true, false);
        assert!(timer
            .deadline()
            .is_some_and(|d| has_passed(d, t0 + TIMEOUT)));
        assert!(timer
            .deadline()
            .is_some_and(|d| !has_passed(d, t0 + TIMEOUT - Delta::from_nanos(1))));
        // One that sends restarts it.
        timer.settle(t0 + ms(8), Some(TIMEOUT), true, true);
        assert_eq!(timer.expire(t0 + TIMEOUT), Expiry::Wait);
        assert_eq!(timer.expire(t0 + ms(18)), Expiry::Resend);
        // A timer code of 0 waits forever.
        timer.settle(t0 + ms(20), None, true, true);
        assert!(timer.deadline().is_none());
    }

    #[test]
    fn the_wait_doubles_with_timeouts_in_a_row_up_to_four_timeouts() {
        let mut now = Moment::now();
        let mut timer = running(7, now);
        assert_eq!(timer.wait(TIMEOUT).as_nanos(), TIMEOUT.as_nanos());
        for factor in [2, 4, 4, 4] {
            now = now + TIMEOUT * MAX_WAIT_FACTOR;
            assert_eq!(timer.expire(now), Expiry::Resend);
            timer.settle(now, Some(TIMEOUT), true, true);
            assert_eq!(
                timer.wait(TIMEOUT).as_nanos(),
                (TIMEOUT * factor).as_nanos()
            );
            assert_eq!(
                timer.expire(now + TIMEOUT * factor - Delta::from_nanos(1)),
                Expiry::Wait
            );
            assert!(timer.has_passed(now + TIMEOUT * factor));
        }
    }

    #[test]
    fn the_wait_follows_the_round_trips_measured() {
        let t0 = Moment::now();
        let mut timer = running(7, t0);
        // A round trip of 5 ms, the first measured: 5 ms and a deviation of 2.5 ms make
        // a wait of 15 ms, longer than the timeout.
        let t1 = t0 + ms(5);
        timer.progressed(t1, Psn::new(0));
        assert_eq!(timer.wait(TIMEOUT).as_nanos(), ms(15).as_nanos());
        timer.settle(t1, Some(TIMEOUT), true, true);
        assert_eq!(
            timer.expire(t1 + ms(15) - Delta::from_nanos(1)),
            Expiry::Wait
        );
        assert_eq!(timer.expire(t1 + ms(15)), Expiry::Resend);
        // Round trips of a few microseconds bring the estimate down, the wait never below
        // the timeout.
        let mut fast = AckTimer::default();
        fast.set_retry_cnt(7);
        let mut now = t0;
        for psn in 0..64 {
            fast.sent_first(Psn::new(psn));
            fast.settle(now, Some(TIMEOUT), true, true);
            now = now + Delta::from_micros(3);
            fast.progressed(now, Psn::new(psn));
        }
        assert_eq!(fast.wait(TIMEOUT).as_nanos(), TIMEOUT.as_nanos());
        // One of a second: the wait is at its longest.
        let mut slow = running(7, t0);
        slow.progressed(t0 + ms(1000), Psn::new(0));
        assert_eq!(
            slow.wait(TIMEOUT).as_nanos(),
            (TIMEOUT * MAX_WAIT_FACTOR).as_nanos()
        );
    }

    #[test]
    fn an_acknowledgment_after_a_resend_is_no_round_trip() {
        let t0 = Moment::now();
        let mut timer = running(7, t0);
        assert_eq!(timer.expire(t0 + TIMEOUT), Expiry::Resend);
        // The requester goes back to PSN 0 and sends it again.
        timer.rewound();
        let t1 = t0 + TIMEOUT;
        timer.settle(t1, Some(TIMEOUT), true, true);
        // The acknowledgment may answer the first copy or the second: no sample, and the
        // wait stays doubled for the next packets.
        timer.progressed(t1 + Delta::from_micros(10), Psn::new(0));
        assert_eq!(timer.wait(TIMEOUT).as_nanos(), (TIMEOUT * 2).as_nanos());
        // PSN 1 goes out for the first time and is acknowledged 2 ms later: a round trip,
        // and the doubling ends.
        let t2 = t1 + ms(1);
        timer.sent_first(Psn::new(1));
        timer.settle(t2, Some(TIMEOUT), true, true);
        timer.progressed(t2 + ms(2), Psn::new(1));
        assert_eq!(timer.wait(TIMEOUT).as_nanos(), TIMEOUT.as_nanos());
    }

    #[test]
    fn only_the_acknowledgment_of_the_packet_timed_is_a_round_trip() {
        let t0 = Moment::now();
        let mut timer = AckTimer::default();
        timer.set_retry_cnt(7);
        // The first PSN of a round is timed (across the wrap), the others not, and its time
        // runs from the end of the round.
        timer.sent_first(Psn::new(PSN_MASK));
        timer.sent_first(Psn::new(0));
        timer.sent_first(Psn::new(1));
        timer.settle(t0, Some(TIMEOUT), true, true);
        // The next round sends more; the packet timed keeps its time.
        timer.sent_first(Psn::new(2));
        timer.settle(t0 + ms(20), Some(TIMEOUT), true, true);
        // Acknowledged up to the PSN before it: no round trip.
        timer.progressed(t0 + ms(30), Psn::new(PSN_MASK - 1));
        assert_eq!(timer.wait(TIMEOUT).as_nanos(), TIMEOUT.as_nanos());
        // Through PSN 1, across the wrap: 40 ms since the first round, the wait at its
        // longest (40 ms and four deviations of 20 ms, beyond four timeouts).
        timer.progressed(t0 + ms(40), Psn::new(1));
        assert_eq!(
            timer.wait(TIMEOUT).as_nanos(),
            (TIMEOUT * MAX_WAIT_FACTOR).as_nanos()
        );
    }

    #[test]
    fn a_resend_starts_at_the_oldest_request_or_the_rest_of_a_read() {
        let mtu = 1024;
        let first = Psn::new(PSN_MASK - 1);
        // Go-back-N: a send or write starts again at its first packet, whatever arrived.
        assert_eq!(resend_from(first, false, 0, mtu), (first, 0));
        assert_eq!(resend_from(first, false, 5000, mtu), (first, 0));
        // A read with no response yet is asked again whole.
        assert_eq!(resend_from(first, true, 0, mtu), (first, 0));
        // A read with three responses is asked for the rest, across the PSN wrap.
        assert_eq!(
            resend_from(first, true, 3 * mtu, mtu),
            (Psn::new(1), 3 * mtu)
        );
        assert_eq!(resend_from(first, true, 1, mtu), (first, 0));
    }

    #[test]
    fn the_timer_is_set_again_only_to_expire_earlier() {
        let now = Moment::now();
        let soon = now + ms(1);
        let later = now + ms(2);
        assert!(before(soon, later) && !before(later, soon) && !before(soon, soon));
        assert!(has_passed(soon, soon) && has_passed(soon, later) && !has_passed(later, soon));
        assert!(
            earliest(Some(later), Some(soon)).is_some_and(|m| !before(m, soon) && !before(soon, m))
        );
        assert!(earliest(None, Some(later)).is_some_and(|m| !before(m, later) && !before(later, m)));
        assert!(earliest(None, None).is_none());
        // Not set: any deadline sets it. Set for later: an earlier deadline sets it again.
        assert!(needs_arming(Some(later), None));
        assert!(needs_arming(Some(soon), Some(later)));
        // Set for earlier, or nothing due: left alone.
        assert!(!needs_arming(Some(later), Some(soon)));
        assert!(!needs_arming(Some(soon), Some(soon)));
        assert!(!needs_arming(None, Some(soon)));
        assert!(!needs_arming(None, None));
    }
}
