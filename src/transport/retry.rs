// SPDX-License-Identifier: GPL-2.0

//! The local ACK timeout of a reliable requester (IBTA 9.7.6.1.3, 10.7.3.3) as pure
//! decisions, and the deadlines of the engine's one timer.
//!
//! A reliable requester with packets unacknowledged expects progress (an acknowledgment, a
//! read response or an atomic acknowledgment that moves its window on) within a wait (the
//! queue pair's local ACK timeout or longer, below) of the last packet it sent or of the
//! last progress, whichever came later. When none comes it sends again from the oldest
//! request not acknowledged (go-back-N; a read whose responses arrived in part is asked for
//! the rest), at most `retry_cnt` times in a row; the next expiry fails that request with a
//! retry-exceeded error. Progress restores the retries.
//!
//! The `timeout` attribute is the least a requester waits. On a path slower than that (a
//! peer whose acknowledgments come late, a host short of CPU) every message would be sent
//! twice, the resends loading the slow peer further, and a few late acknowledgments in a row
//! would fail the connection. So the wait follows the round-trip times measured, as TCP's
//! retransmission timeout does (RFC 6298: a smoothed time plus four deviations; one packet
//! timed at a time, from the end of the round that sent it to the acknowledgment that
//! covers it, and never one sent again), and doubles with each timeout in a row, the
//! doubling kept until a timed packet is acknowledged; it is never shorter than the
//! attribute's timeout nor longer than [`MAX_WAIT_FACTOR`] times it, so that a peer gone
//! for good is still found within a bounded time.
//!
//! The deadline is only judged once the packets that arrived were handled: an
//! acknowledgment waiting in the inbox when the timer expires is progress, not a timeout.
//! A peer on the same device loses packets only where it counts them (a full inbox, a queue
//! pair gone): while it still holds the requester's packets, or answers its read, its
//! acknowledgment is coming, however long its engine waits for a CPU, and the deadline
//! starts again with no retry spent.

use crate::transport::psn::Psn;
use kernel::time::{Delta, Instant, Monotonic};

/// A point in time of the engine's clock.
pub(crate) type Moment = Instant<Monotonic>;

/// Returns the local ACK timeout of timer code `code` (the `timeout` attribute): 4.096 µs ×
/// 2^code, or `None` for 0, which waits forever.
pub(crate) fn ack_timeout(code: u8) -> Option<Delta> {
    match code {
        0 => None,
        code => Some(Delta::from_nanos(4096i64 << code.min(31))),
    }
}

/// The longest a requester waits for progress, as a multiple of the local ACK timeout.
pub(crate) const MAX_WAIT_FACTOR: i64 = 4;

/// Timeouts in a row beyond which the wait doubles no more: by then it is at its longest.
const MAX_BACKOFF: u8 = 2;

/// Returns whether `a` comes before `b` (moments are compared by their difference).
pub(crate) fn before(a: Moment, b: Moment) -> bool {
    (a - b).is_negative()
}

/// Returns whether `deadline` has passed at `now` (or is now).
pub(crate) fn has_passed(deadline: Moment, now: Moment) -> bool {
    !before(now, deadline)
}

/// Returns the earlier of two optional moments.
pub(crate) fn earliest(a: Option<Moment>, b: Option<Moment>) -> Option<Moment> {
    match (a, b) {
        (Some(a), Some(b)) if before(b, a) => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// Returns whether the engine's timer, set to expire at `armed` (if at all), must be set
/// again to run the engine by `due`: a timer that expires later would be late. One that
/// expires earlier is left alone; the run it brings sets it again if need be.
pub(crate) fn needs_arming(due: Option<Moment>, armed: Option<Moment>) -> bool {
    match (due, armed) {
        (Some(due), Some(armed)) => before(due, armed),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// What an expiry check decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// The deadline has not passed (or none runs): nothing to do.
    Wait,
    /// The deadline passed without progress: send again from the oldest request not
    /// acknowledged, with one retry fewer.
    Resend,
    /// The deadline passed with no retry left: the oldest request fails with a
    /// retry-exceeded error.
    Exceeded,
}

/// The local ACK timer of a reliable requester: its deadline and its retries.
#[derive(Clone, Copy, Default)]
pub(crate) struct AckTimer {
    /// By when progress is due, while packets await acknowledgment; `None` while none do,
    /// and between progress and the end of the engine round that saw it.
    deadline: Option<Moment>,
    /// Timeouts allowed in a row (the `retry_cnt` attribute; unlike the receiver-not-ready
    /// count, 7 means seven).
    retry_cnt: u8,
    /// Timeouts left before the oldest request fails.
    retries_left: u8,
    /// The smoothed round-trip time and its mean deviation, in nanoseconds, once measured.
    round_trip: Option<(i64, i64)>,
    /// Doublings of the wait: timeouts in a row, kept until a timed packet is acknowledged.
    backoff: u8,
    /// The packet whose round trip is being measured, a PSN sent for the first time, and the
    /// end of the round that sent it (`None` until that round ends).
    timed: Option<(Psn, Option<Moment>)>,
}

impl AckTimer {
    /// Sets the retries allowed in a row, all of them left.
    pub(crate) fn set_retry_cnt(&mut self, retry_cnt: u8) {
        self.retry_cnt = retry_cnt;
        self.retries_left = retry_cnt;
    }

    /// Returns the deadline, if one runs.
    pub(crate) fn deadline(&self) -> Option<Moment> {
        self.deadline
    }

    /// Returns the timeouts left before the oldest request fails.
    pub(crate) fn retries_left(&self) -> u8 {
        self.retries_left
    }

    /// Notes that `psn` goes out for the first time: it is timed unless another packet is.
    pub(crate) fn sent_first(&mut self, psn: Psn) {
        if self.timed.is_none() {
            self.timed = Some((psn, None));
        }
    }

    /// Notes that the requester goes back to send packets again: the packet timed may be
    /// among them, and which of its copies an acknowledgment answers is unknown.
    pub(crate) fn rewound(&mut self) {
        self.timed = None;
    }

    /// Notes progress at `now`, every PSN through `through` acknowledged: every retry is
    /// left again, and the deadline starts again when the round that saw it ends
    /// ([`AckTimer::settle`]). If that covers the packet timed, its round trip goes into the
    /// estimate and the wait stops doubling.
    pub(crate) fn progressed(&mut self, now: Moment, through: Psn) {
        self.retries_left = self.retry_cnt;
        self.deadline = None;
        let Some((psn, Some(sent_at))) = self.timed else {
            return;
        };
        if through.precedes(psn) {
            return;
        }
        self.timed = None;
        self.backoff = 0;
        self.measured((now - sent_at).as_nanos().max(0));
    }

    /// Takes a round-trip time of `sample` nanoseconds into the estimate (RFC 6298, 2.2
    /// and 2.3: gains of 1/8 for the time and 1/4 for its deviation).
    fn measured(&mut self, sample: i64) {
        self.round_trip = Some(match self.round_trip {
            None => (sample, sample / 2),
            Some((smoothed, deviation)) => {
                let deviation = deviation - deviation / 4 + (smoothed - sample).abs() / 4;
                (smoothed - smoothed / 8 + sample / 8, deviation)
            }
        });
    }

    /// Returns how long the requester waits for progress, for a local ACK timeout of
    /// `timeout`: the round-trip estimate (the smoothed time and four deviations) if it is
    /// longer than the timeout, doubled for each timeout in a row, at most
    /// [`MAX_WAIT_FACTOR`] times the timeout.
    pub(crate) fn wait(&self, timeout: Delta) -> Delta {
        let least = timeout.as_nanos();
        let estimate = self.round_trip.map_or(0, |(smoothed, deviation)| {
            smoothed.saturating_add(deviation.saturating_mul(4))
        });
        let wait = least
            .max(estimate)
            .saturating_mul(1 << self.backoff.min(MAX_BACKOFF));
        Delta::from_nanos(wait.min(least.saturating_mul(MAX_WAIT_FACTOR)))
    }

    /// Sets the deadline at the end of an engine round, at `now`: none runs unless packets
    /// await acknowledgment (`awaiting`) and the timeout is finite; otherwise it restarts if
    /// the round sent request packets (`sent`) or made progress, and is kept if not. It
    /// restarts the wait ([`AckTimer::wait`]) away.
    pub(crate) fn settle(
        &mut self,
        now: Moment,
        timeout: Option<Delta>,
        awaiting: bool,
        sent: bool,
    ) {
        // The packet timed left in this round, if it is not stamped yet.
        if let Some((_, sent_at)) = self.timed.as_mut() {
            sent_at.get_or_insert(now);
        }
        self.deadline = match timeout {
            Some(timeout) if awaiting => match self.deadline {
                Some(deadline) if !sent => Some(deadline),
                _ => Some(now + self.wait(timeout)),
            },
            _ => None,
        };
    }

    /// Returns whether the deadline has passed at `now`.
    pub(crate) fn has_passed(&self, now: Moment) -> bool {
        self.deadline
            .is_some_and(|deadline| has_passed(deadline, now))
    }

    /// Lets the deadline start again at the end of the round ([`AckTimer::settle`]), no
    /// retry spent: the acknowledgment is known to be coming.
    pub(crate) fn postpone(&mut self) {
        self.deadline = None;
    }

    /// Decides at `now`, once the packets that arrived were handled, whether the deadline
    /// passed without progress; a timeout spends a retry, and the deadline stops until the
    /// resend restarts it.
    pub(crate) fn expire(&mut self, now: Moment) -> Expiry {
        if !self.has_passed(now) {
            return Expiry::Wait;
        }
        self.deadline = None;
        match self.retries_left {
            0 => Expiry::Exceeded,
            _ => {
                self.retries_left -= 1;
                self.backoff = self.backoff.saturating_add(1);
                Expiry::Resend
            }
        }
    }
}

/// Where a resend of a request whose first PSN is `first` starts (go-back-N), for a path MTU
/// of `mtu`: its first packet, except for a read of which `received` bytes of responses
/// arrived, which asks for the rest only. Returns the PSN to send at and the bytes skipped.
pub(crate) fn resend_from(first: Psn, is_read: bool, received: u32, mtu: u32) -> (Psn, u32) {
    if !is_read {
        return (first, 0);
    }
    // Responses carry whole MTUs but the last, which ends the read.
    let packets = received / mtu.max(1);
    (first.add(packets), packets * mtu)
}
