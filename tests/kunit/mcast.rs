// SPDX-License-Identifier: GPL-2.0

//! Multicast groups as pure logic: which GIDs are groups, the Ethernet address of each, and
//! attaching and detaching queue pairs within the device's limits.

#[kernel::prelude::kunit_tests(rrxe_mcast)]
mod tests {
    use crate::device::params::MAX_MCAST_QP_ATTACH;
    use crate::verbs::mcast::{
        attach_to, detach_from, ethernet_address, is_multicast, Attached, Detached,
    };
    use kernel::prelude::*;

    /// The GID of IPv4 address `a.b.c.d`.
    fn ipv4(address: [u8; 4]) -> [u8; 16] {
        let mut gid = [0u8; 16];
        gid[10] = 0xff;
        gid[11] = 0xff;
        gid[12..].copy_from_slice(&address);
        gid
    }

    #[test]
    fn groups_are_ip_multicast_addresses() {
        assert!(is_multicast(&ipv4([224, 0, 0, 1])));
        assert!(is_multicast(&ipv4([239, 255, 1, 2])));
        assert!(!is_multicast(&ipv4([240, 0, 0, 1])));
        assert!(!is_multicast(&ipv4([10, 0, 2, 15])));
        let mut ipv6 = [0u8; 16];
        ipv6[0] = 0xff;
        ipv6[1] = 0x0e;
        ipv6[15] = 1;
        assert!(is_multicast(&ipv6));
        ipv6[0] = 0xfe;
        assert!(!is_multicast(&ipv6));
        // An IPv4 group's address in the high bytes alone is not mapped.
        let mut unmapped = [0u8; 16];
        unmapped[12] = 239;
        assert!(!is_multicast(&unmapped));
    }

    #[test]
    fn each_group_has_its_ethernet_address() {
        // RFC 1112: the low 23 bits of the IPv4 group.
        assert_eq!(
            ethernet_address(&ipv4([239, 129, 2, 3])),
            [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]
        );
        // RFC 2464: the low 32 bits of the IPv6 group.
        let mut ipv6 = [0u8; 16];
        ipv6[0] = 0xff;
        ipv6[1] = 0x0e;
        ipv6[12..].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(
            ethernet_address(&ipv6),
            [0x33, 0x33, 0x12, 0x34, 0x56, 0x78]
        );
    }

    #[test]
    fn attaching_and_detaching_tell_when_a_group_comes_and_goes() -> Result {
        let mut groups = KVec::new();
        let group = ipv4([239, 1, 2, 3]);
        let other = ipv4([239, 1, 2, 4]);
        assert_eq!(attach_to(&mut groups, &group, 17)?, Attached::Created);
        assert_eq!(attach_to(&mut groups, &group, 17)?, Attached::Already);
        assert_eq!(attach_to(&mut groups, &group, 18)?, Attached::Joined);
        assert_eq!(attach_to(&mut groups, &other, 17)?, Attached::Created);
        assert_eq!(detach_from(&mut groups, &group, 19), Err(EINVAL));
        assert_eq!(detach_from(&mut groups, &group, 17)?, Detached::Left);
        assert_eq!(detach_from(&mut groups, &group, 17), Err(EINVAL));
        assert_eq!(detach_from(&mut groups, &group, 18)?, Detached::Emptied);
        assert_eq!(detach_from(&mut groups, &group, 18), Err(EINVAL));
        assert_eq!(detach_from(&mut groups, &other, 17)?, Detached::Emptied);
        assert!(groups.is_empty());
        Ok(())
    }

    #[test]
    fn a_group_holds_at_most_its_share_of_queue_pairs() -> Result {
        let mut groups = KVec::new();
        let group = ipv4([239, 1, 2, 3]);
        for qpn in 0..MAX_MCAST_QP_ATTACH {
            attach_to(&mut groups, &group, 100 + qpn)?;
        }
        assert_eq!(attach_to(&mut groups, &group, 99), Err(ENOMEM));
        // One leaving makes room.
        assert_eq!(detach_from(&mut groups, &group, 100)?, Detached::Left);
        assert_eq!(attach_to(&mut groups, &group, 99)?, Attached::Joined);
        Ok(())
    }
}
