// SPDX-License-Identifier: GPL-2.0

//! Memory keys, access rights, region ranges and fast-registration page lists.

#[kernel::prelude::kunit_tests(rrxe_mr)]
mod tests {
    use crate::{
        mr::{check_mr_access, check_region, is_window_key, key_index, make_key, PageList},
        params::{MAX_MR_INDEX, MAX_MW_INDEX, MIN_MW_INDEX},
    };
    use kernel::{prelude::*, rdma::mr::Access};

    #[test]
    fn keys_carry_index_and_key_byte() {
        assert_eq!(make_key(1, 0xab), 0x1ab);
        assert_eq!(key_index(make_key(MAX_MR_INDEX, 0xff)), MAX_MR_INDEX);
        assert_eq!(make_key(MAX_MR_INDEX, 0xff) & 0xff, 0xff);
        // The largest window key still fits in 32 bits with its index intact.
        assert_eq!(key_index(make_key(MAX_MW_INDEX, 0xff)), MAX_MW_INDEX);
    }

    #[test]
    fn window_and_region_keys_are_disjoint() {
        assert!(!is_window_key(make_key(1, 0)));
        assert!(!is_window_key(make_key(MAX_MR_INDEX, 0xff)));
        assert!(is_window_key(make_key(MIN_MW_INDEX, 0)));
        assert!(is_window_key(make_key(MAX_MW_INDEX, 0xff)));
        assert!(MAX_MR_INDEX < MIN_MW_INDEX);
    }

    #[test]
    fn region_access_rules() {
        let lw = Access::LOCAL_WRITE;
        assert_eq!(check_mr_access(Access::default()), Ok(()));
        assert_eq!(check_mr_access(lw | Access::REMOTE_WRITE), Ok(()));
        assert_eq!(check_mr_access(lw | Access::REMOTE_ATOMIC), Ok(()));
        assert_eq!(check_mr_access(Access::REMOTE_READ), Ok(()));
        assert_eq!(check_mr_access(lw | Access::MW_BIND), Ok(()));
        // Remote writes and atomics without local write.
        assert_eq!(check_mr_access(Access::REMOTE_WRITE), Err(EINVAL));
        assert_eq!(check_mr_access(Access::REMOTE_ATOMIC), Err(EINVAL));
        // What the device does not offer.
        assert_eq!(check_mr_access(lw | Access::ZERO_BASED), Err(EOPNOTSUPP));
        assert_eq!(check_mr_access(lw | Access::ON_DEMAND), Err(EOPNOTSUPP));
        assert_eq!(check_mr_access(lw | Access::HUGETLB), Err(EOPNOTSUPP));
        // Optional hints are accepted.
        assert_eq!(check_mr_access(lw | Access::RELAXED_ORDERING), Ok(()));
    }

    #[test]
    fn region_ranges() {
        assert_eq!(check_region(0x1000, 4096, 0x1000), Ok(()));
        assert_eq!(check_region(0x1000, 4096, u64::MAX - 4096), Ok(()));
        assert_eq!(check_region(0x1000, 0, 0x1000), Err(EINVAL));
        assert_eq!(check_region(u64::MAX - 4095, 4097, 0), Err(EINVAL));
        // The end address (one past the last byte) must be representable.
        assert_eq!(check_region(0x1000, 4096, u64::MAX - 4095), Err(EINVAL));
        assert_eq!(check_region(0, u64::MAX, 0), Ok(()));
    }

    #[test]
    fn page_list_holds_its_room_and_restarts() -> Result {
        let mut list = PageList::new(3)?;
        for addr in [0x1000, 0x2000, 0x3000] {
            list.push(addr)?;
        }
        // A mapping longer than the region was created for stops at its size.
        assert_eq!(list.push(0x4000), Err(ENOMEM));
        assert_eq!(list.pages(), &[0x1000, 0x2000, 0x3000]);
        list.clear();
        assert!(list.pages().is_empty());
        list.push(0x9000)?;
        assert_eq!(list.pages(), &[0x9000]);
        Ok(())
    }
}
