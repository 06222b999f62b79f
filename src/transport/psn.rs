// SPDX-License-Identifier: GPL-2.0

//! Packet sequence numbers.
//!
//! A PSN is a 24-bit counter that wraps (IBTA 9.7.1). Ordering is defined
//! within half the sequence space: `a` precedes `b` when `b - a`, taken
//! modulo 2^24, lies in `1..2^23`.

/// Number of bits in a packet sequence number.
pub(crate) const PSN_BITS: u32 = 24;
/// Mask of the valid PSN bits.
pub(crate) const PSN_MASK: u32 = (1 << PSN_BITS) - 1;

/// A 24-bit packet sequence number.
///
/// # Invariants
///
/// The inner value is at most [`PSN_MASK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Psn(u32);

impl Psn {
    /// Creates a PSN from the low 24 bits of `value`; higher bits, which a
    /// peer or a user may set, are discarded.
    pub(crate) const fn new(value: u32) -> Self {
        // INVARIANT: masked to 24 bits.
        Self(value & PSN_MASK)
    }

    /// Returns the PSN as an integer in `0..=PSN_MASK`.
    pub(crate) const fn get(self) -> u32 {
        self.0
    }

    /// Returns the PSN `n` packets after this one, wrapping.
    pub(crate) const fn add(self, n: u32) -> Self {
        Self::new(self.0.wrapping_add(n))
    }

    /// Returns the next PSN, wrapping.
    pub(crate) const fn next(self) -> Self {
        self.add(1)
    }

    /// Returns the signed distance from `self` to `other`: positive when
    /// `other` comes after `self`, in `-2^23..2^23`.
    pub(crate) const fn distance_to(self, other: Psn) -> i32 {
        // Shift the 24-bit difference into the top of an i32 and back to
        // sign-extend it.
        ((other.0.wrapping_sub(self.0) << (32 - PSN_BITS)) as i32) >> (32 - PSN_BITS)
    }

    /// Returns whether `self` comes strictly before `other`.
    pub(crate) const fn precedes(self, other: Psn) -> bool {
        self.distance_to(other) > 0
    }

    /// Returns the PSN before this one, wrapping.
    pub(crate) const fn prev(self) -> Self {
        self.add(PSN_MASK)
    }

    /// Returns whether this PSN is one of the `count` PSNs from `first` on.
    pub(crate) const fn is_within(self, first: Psn, count: u32) -> bool {
        let offset = first.distance_to(self);
        offset >= 0 && (offset as u32) < count
    }
}
