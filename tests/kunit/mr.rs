// SPDX-License-Identifier: GPL-2.0

//! Memory keys, access rights, region ranges and fast-registration page lists.

#[kernel::prelude::kunit_tests(rrxe_mr)]
mod tests {
    use crate::{
        device::params::{MAX_MR_INDEX, MAX_MW_INDEX, MIN_MW_INDEX},
        memory::{check_mr_access, check_region, is_window_key, key_index, make_key, PageList},
    };
    use kernel::{
        prelude::*,
        rdma::mr::{Access, MrMapping},
    };

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
        assert_eq!(check_mr_access(lw | Access::ON_DEMAND), Ok(()));
        // What the device does not offer.
        assert_eq!(check_mr_access(lw | Access::ZERO_BASED), Err(EOPNOTSUPP));
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

    /// Collects the pieces `translate` gives for `len` bytes at `addr`.
    fn pieces(list: &PageList, addr: u64, len: usize) -> Result<KVec<(u64, usize, usize)>> {
        let mut pieces = KVec::new();
        list.translate(addr, len, |at, range| {
            pieces.push((at, range.start, range.end), GFP_KERNEL)?;
            Ok(())
        })?;
        Ok(pieces)
    }

    #[test]
    fn a_registration_maps_addresses_onto_its_pages() -> Result {
        let mut list = PageList::new(4)?;
        // Pages need not be contiguous or in address order.
        for addr in [0x10000, 0x30000, 0x20000] {
            list.push(addr)?;
        }
        let iova = 0x7000_0100;
        let mapping = MrMapping {
            iova,
            length: 3 * 4096 - 0x100,
            page_size: 4096,
        };
        // Invalid until registered.
        assert_eq!(list.translate(iova, 1, |_, _| Ok(())), Err(EFAULT));
        list.set_mapping(mapping)?;
        // The first byte is 0x100 into the first page.
        assert_eq!(&pieces(&list, iova, 16)?[..], &[(0x10100, 0, 16)]);
        // A range across a page boundary comes in two pieces.
        let at = iova + 4096 - 0x100 - 10;
        assert_eq!(
            &pieces(&list, at, 20)?[..],
            &[(0x10000 + 4086, 0, 10), (0x30000, 10, 20)]
        );
        assert_eq!(&pieces(&list, iova + 2 * 4096, 8)?[..], &[(0x20100, 0, 8)]);
        // Outside the mapping, by a byte either side.
        assert_eq!(list.translate(iova - 1, 1, |_, _| Ok(())), Err(EFAULT));
        let end = iova + mapping.length;
        assert_eq!(list.translate(end - 1, 2, |_, _| Ok(())), Err(EFAULT));
        assert_eq!(list.translate(end - 1, 1, |_, _| Ok(())), Ok(()));
        // A valid region is not registered again; invalidated, it is.
        assert_eq!(list.set_mapping(mapping), Err(EINVAL));
        list.take_mapping()?;
        assert_eq!(list.take_mapping(), Err(EINVAL));
        assert_eq!(list.translate(iova, 1, |_, _| Ok(())), Err(EFAULT));
        list.set_mapping(mapping)?;
        Ok(())
    }

    #[test]
    fn a_registration_must_fit_its_pages() -> Result {
        let mut list = PageList::new(2)?;
        list.push(0x10000)?;
        list.push(0x20000)?;
        let fits = MrMapping {
            iova: 0x1000,
            length: 8192,
            page_size: 4096,
        };
        // Starting into the first page, the same length needs a third page.
        let overhangs = MrMapping {
            iova: 0x1001,
            ..fits
        };
        let odd_pages = MrMapping {
            page_size: 3000,
            ..fits
        };
        assert_eq!(list.set_mapping(overhangs), Err(EINVAL));
        assert_eq!(list.set_mapping(odd_pages), Err(EINVAL));
        assert_eq!(list.set_mapping(fits), Ok(()));
        Ok(())
    }
}
