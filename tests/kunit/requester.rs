// SPDX-License-Identifier: GPL-2.0

//! The requester's and responder's walk over scatter/gather lists, and the UDP source
//! ports of queue pairs.

#[kernel::prelude::kunit_tests(rrxe_sgl)]
mod tests {
    use crate::{memory::for_each_piece, wire::source_port};
    use kernel::{
        prelude::*,
        rdma::{post::Sge, wc::WcStatus},
    };

    fn sge(addr: u64, length: u32, lkey: u32) -> Sge {
        Sge { addr, length, lkey }
    }

    /// Returns the pieces the walk visits: (lkey, address, buffer range).
    fn pieces(
        sges: &[Sge],
        offset: u32,
        len: usize,
    ) -> Result<KVec<(u32, u64, usize, usize)>, WcStatus> {
        let mut seen = KVec::new();
        for_each_piece(sges, offset, len, |sge, at, range| {
            seen.push((sge.lkey, at, range.start, range.end), GFP_KERNEL)
                .map_err(|_| WcStatus::GeneralError)
        })?;
        Ok(seen)
    }

    #[test]
    fn a_packet_spans_elements_from_its_offset() -> Result {
        let sges = [sge(0x1000, 100, 1), sge(0x2000, 50, 2), sge(0x3000, 200, 3)];
        // Bytes 90..190 of the list: the last 10 of the first element, all of the second,
        // the first 40 of the third.
        let seen = pieces(&sges, 90, 100).map_err(|_| EINVAL)?;
        assert_eq!(
            &seen[..],
            &[
                (1, 0x1000 + 90, 0, 10),
                (2, 0x2000, 10, 60),
                (3, 0x3000, 60, 100)
            ]
        );
        Ok(())
    }

    #[test]
    fn empty_elements_and_an_exact_end_are_fine() -> Result {
        let sges = [sge(0x1000, 0, 1), sge(0x2000, 64, 2)];
        let seen = pieces(&sges, 0, 64).map_err(|_| EINVAL)?;
        assert_eq!(&seen[..], &[(2, 0x2000, 0, 64)]);
        assert!(pieces(&sges, 64, 0).map_err(|_| EINVAL)?.is_empty());
        Ok(())
    }

    #[test]
    fn more_bytes_than_the_list_holds_is_a_length_error() {
        let sges = [sge(0x1000, 16, 1), sge(0x2000, 16, 2)];
        assert_eq!(pieces(&sges, 0, 33), Err(WcStatus::LocalLengthError));
        assert_eq!(pieces(&sges, 20, 13), Err(WcStatus::LocalLengthError));
        assert_eq!(pieces(&[], 0, 1), Err(WcStatus::LocalLengthError));
    }

    #[test]
    fn an_error_stops_the_walk() {
        let sges = [sge(0x1000, 8, 1), sge(0x2000, 8, 2)];
        let mut calls = 0;
        let result = for_each_piece(&sges, 0, 16, |_, _, _| {
            calls += 1;
            Err(WcStatus::LocalProtectionError)
        });
        assert_eq!(result, Err(WcStatus::LocalProtectionError));
        assert_eq!(calls, 1);
    }

    #[test]
    fn source_ports_stay_in_the_dynamic_range() {
        for qpn in [0u32, 1, 17, 0x1234, 0xff_ffff] {
            assert!(source_port(qpn) >= 0xc000);
        }
        assert!(source_port(17) != source_port(18));
    }
}
