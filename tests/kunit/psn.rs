// SPDX-License-Identifier: GPL-2.0

//! Packet sequence number arithmetic.

#[kernel::prelude::kunit_tests(rrxe_psn)]
mod tests {
    use crate::transport::psn::{Psn, PSN_MASK};

    #[test]
    fn new_discards_high_bits() {
        assert_eq!(Psn::new(0xff12_3456).get(), 0x12_3456);
        assert_eq!(Psn::new(PSN_MASK + 1).get(), 0);
    }

    #[test]
    fn next_wraps_at_24_bits() {
        assert_eq!(Psn::new(PSN_MASK).next(), Psn::new(0));
        assert_eq!(Psn::new(PSN_MASK - 1).add(3), Psn::new(1));
        assert_eq!(Psn::new(5).next().get(), 6);
    }

    #[test]
    fn distance_is_signed_across_the_wrap() {
        let last = Psn::new(PSN_MASK);
        let first = Psn::new(0);
        assert_eq!(last.distance_to(first), 1);
        assert_eq!(first.distance_to(last), -1);
        assert_eq!(Psn::new(10).distance_to(Psn::new(10)), 0);
        assert_eq!(Psn::new(0).distance_to(Psn::new(0x7f_ffff)), 0x7f_ffff);
        // Exactly half the space away counts as behind.
        assert_eq!(Psn::new(0).distance_to(Psn::new(0x80_0000)), -0x80_0000);
    }

    #[test]
    fn precedes_orders_within_half_the_space() {
        assert!(Psn::new(PSN_MASK - 2).precedes(Psn::new(3)));
        assert!(!Psn::new(3).precedes(Psn::new(PSN_MASK - 2)));
        assert!(!Psn::new(7).precedes(Psn::new(7)));
        assert!(Psn::new(100).precedes(Psn::new(101)));
    }

    #[test]
    fn within_counts_from_the_first_across_the_wrap() {
        let first = Psn::new(PSN_MASK - 1);
        assert!(first.is_within(first, 1));
        assert!(Psn::new(1).is_within(first, 4));
        assert!(!Psn::new(2).is_within(first, 4));
        assert!(!Psn::new(PSN_MASK - 2).is_within(first, 4));
        assert!(!first.is_within(first, 0));
        assert_eq!(Psn::new(0).prev(), Psn::new(PSN_MASK));
        assert_eq!(Psn::new(7).prev().get(), 6);
    }
}
