// SPDX-License-Identifier: GPL-2.0

//! Shared receive queue attribute checks.

#[kernel::prelude::kunit_tests(rrxe_srq)]
mod tests {
    use crate::{
        device::params::{MAX_SRQ_SGE, MAX_SRQ_WR},
        verbs::srq::{check_create, check_max_wr},
    };
    use kernel::{prelude::*, rdma::qp::SrqAttr};

    fn attr(max_wr: u32, max_sge: u32, srq_limit: u32) -> SrqAttr {
        SrqAttr {
            max_wr,
            max_sge,
            srq_limit,
        }
    }

    #[test]
    fn sizes_within_device_limits() {
        assert_eq!(check_max_wr(1), Ok(1));
        assert_eq!(check_max_wr(MAX_SRQ_WR), Ok(MAX_SRQ_WR));
        assert_eq!(check_max_wr(0), Err(EINVAL));
        assert_eq!(check_max_wr(MAX_SRQ_WR + 1), Err(EINVAL));
    }

    #[test]
    fn creation_attributes() {
        // At least one scatter/gather entry is allowed.
        assert_eq!(check_create(&attr(16, 0, 0)), Ok(1));
        assert_eq!(check_create(&attr(16, MAX_SRQ_SGE, 16)), Ok(MAX_SRQ_SGE));
        assert_eq!(check_create(&attr(16, MAX_SRQ_SGE + 1, 0)), Err(EINVAL));
        // A limit beyond the queue's size could never be reached.
        assert_eq!(check_create(&attr(16, 1, 17)), Err(EINVAL));
        assert_eq!(check_create(&attr(0, 1, 0)), Err(EINVAL));
    }
}
