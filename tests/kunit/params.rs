// SPDX-License-Identifier: GPL-2.0

//! Device parameters derived from the network device.

#[kernel::prelude::kunit_tests(rrxe_params)]
mod tests {
    use crate::{device::active_mtu, device::params::eui64};
    use kernel::rdma::attr::Mtu;

    #[test]
    fn eui64_flips_the_local_bit_and_inserts_fffe() {
        assert_eq!(
            eui64([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
            [0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x56]
        );
        assert_eq!(eui64([0; 6])[0], 0x02);
    }

    #[test]
    fn active_mtu_leaves_room_for_roce_headers() {
        assert_eq!(active_mtu(1500), Mtu::Mtu1024);
        assert_eq!(active_mtu(1024 + 80), Mtu::Mtu1024);
        assert_eq!(active_mtu(1024 + 79), Mtu::Mtu512);
        assert_eq!(active_mtu(9000), Mtu::Mtu4096);
        // Too small for any IB MTU: the smallest is reported.
        assert_eq!(active_mtu(300), Mtu::Mtu256);
        assert_eq!(active_mtu(0), Mtu::Mtu256);
    }

    #[test]
    fn mtu_bytes_round_trip() {
        for mtu in [
            Mtu::Mtu256,
            Mtu::Mtu512,
            Mtu::Mtu1024,
            Mtu::Mtu2048,
            Mtu::Mtu4096,
        ] {
            assert_eq!(Mtu::fitting(mtu.bytes()), Some(mtu));
            assert_eq!(Mtu::from_raw(mtu as u32), Some(mtu));
        }
        assert_eq!(Mtu::fitting(255), None);
        assert_eq!(Mtu::from_raw(0), None);
    }
}
