// SPDX-License-Identifier: GPL-2.0

//! Faults injected into a queue pair's outgoing packets, for testing applications and the
//! transport itself against loss, duplication, delay and corruption: pure code but for the
//! packets it holds.
//!
//! Each packet a queue pair sends draws one number from a seeded generator and meets at most
//! one fault, so a given seed and traffic make the same faults again.

use crate::{
    net::{Outbox, Packet},
    transport::retry::{has_passed, Moment},
};
use kernel::{prelude::*, time::Delta};

/// Fractions are given in parts per million.
pub(crate) const PER_MILLION: u32 = 1_000_000;

/// The longest delay a packet may be given.
pub(crate) const MAX_DELAY_US: u32 = 1_000_000;

/// How many packets a queue pair holds back at most; further packets due for a delay go out
/// at once, so that what a peer's traffic can make a queue pair hold stays bounded.
pub(crate) const MAX_DELAYED: usize = 256;

/// What faults to inject: each a fraction of the packets, in parts per million, whose sum is
/// at most one million.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct FaultRates {
    pub(crate) drop: u32,
    pub(crate) duplicate: u32,
    pub(crate) delay: u32,
    pub(crate) corrupt: u32,
    /// How long a delayed packet is held, in microseconds.
    pub(crate) delay_us: u32,
    /// The generator's seed.
    pub(crate) seed: u64,
}

impl FaultRates {
    /// Checks the rates: `EINVAL` if they add up to more than every packet or a delay is
    /// longer than [`MAX_DELAY_US`].
    pub(crate) fn validate(&self) -> Result {
        let sum = [self.drop, self.duplicate, self.delay, self.corrupt]
            .iter()
            .try_fold(0u32, |sum, rate| sum.checked_add(*rate));
        match sum {
            Some(sum) if sum <= PER_MILLION && self.delay_us <= MAX_DELAY_US => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Returns whether any fault is injected.
    pub(crate) fn any(&self) -> bool {
        self.drop | self.duplicate | self.delay | self.corrupt != 0
    }
}

/// The fault a packet meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Drop,
    Duplicate,
    Delay,
    /// Flip the bit at this index of the packet's transport bytes (modulo their length).
    Corrupt(u32),
}

/// How many packets met each fault.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct FaultCounts {
    pub(crate) dropped: u64,
    pub(crate) duplicated: u64,
    pub(crate) delayed: u64,
    pub(crate) corrupted: u64,
}

/// A queue pair's faults: their rates, the generator, the counts and the packets held back.
#[derive(Default)]
pub(crate) struct Faults {
    rates: FaultRates,
    state: u64,
    counts: FaultCounts,
    /// Packets held back and when they go out, oldest first.
    held: KVec<(Moment, Packet)>,
}

impl Faults {
    /// Sets the rates and restarts the generator from their seed; the counts restart too.
    /// Packets held back stay until they are due.
    pub(crate) fn set(&mut self, rates: FaultRates) {
        self.rates = rates;
        // xorshift64* needs a state other than zero.
        self.state = rates.seed ^ 0x9e37_79b9_7f4a_7c15;
        if self.state == 0 {
            self.state = 1;
        }
        self.counts = FaultCounts::default();
    }

    /// Starts the counts again from zero.
    pub(crate) fn reset_counts(&mut self) {
        self.counts = FaultCounts::default();
    }

    pub(crate) fn rates(&self) -> FaultRates {
        self.rates
    }

    pub(crate) fn counts(&self) -> FaultCounts {
        self.counts
    }

    /// Returns how many packets are held back.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// Draws the next number of the generator (xorshift64*).
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Decides the fault of the next packet.
    pub(crate) fn draw(&mut self) -> Fault {
        if !self.rates.any() {
            return Fault::None;
        }
        let n = self.next();
        let pick = ((n >> 32) % u64::from(PER_MILLION)) as u32;
        let r = self.rates;
        let bounds = [
            (r.drop, Fault::Drop),
            (r.duplicate, Fault::Duplicate),
            (r.delay, Fault::Delay),
            (r.corrupt, Fault::Corrupt(n as u32)),
        ];
        let mut below = 0u32;
        for (rate, fault) in bounds {
            below += rate;
            if pick < below {
                return fault;
            }
        }
        Fault::None
    }

    /// Passes the packets of `out` through the faults and adds the held packets due by `now`
    /// after them. Does not sleep.
    pub(crate) fn apply(&mut self, out: &mut Outbox, now: Moment) {
        if !self.rates.any() && self.held.is_empty() {
            return;
        }
        for packet in out.take_packets() {
            match self.draw() {
                Fault::None => out.push_once(Ok(packet)),
                Fault::Drop => self.counts.dropped += 1,
                Fault::Duplicate => {
                    self.counts.duplicated += 1;
                    out.push_once(packet.try_copy());
                    out.push_once(Ok(packet));
                }
                Fault::Delay if self.held.len() < MAX_DELAYED => {
                    let due = now + Delta::from_micros(i64::from(self.rates.delay_us));
                    self.counts.delayed += 1;
                    // Without room to hold it, the packet is lost, as on a wire.
                    let _ = self.held.push((due, packet), GFP_ATOMIC);
                }
                Fault::Delay => out.push_once(Ok(packet)),
                Fault::Corrupt(bit) => {
                    self.counts.corrupted += 1;
                    out.push_once(packet.corrupted_copy(bit));
                }
            }
        }
        while self
            .held
            .first()
            .is_some_and(|(at, _)| has_passed(*at, now))
        {
            if let Ok((_, packet)) = self.held.remove(0) {
                out.push_once(Ok(packet));
            }
        }
    }

    /// Returns when the oldest held packet is due, if any.
    pub(crate) fn next_release(&self) -> Option<Moment> {
        self.held.first().map(|(at, _)| *at)
    }
}
