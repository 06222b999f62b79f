// SPDX-License-Identifier: GPL-2.0

//! Queue pair sizes and the validation of modify attributes.

#[kernel::prelude::kunit_tests(rrxe_qp)]
mod tests {
    use crate::{
        device::params,
        verbs::qp::state::AttrMask as A,
        verbs::qp::{check_caps, check_values, queue_layout, MAX_INLINE_DATA},
    };
    use kernel::{
        prelude::*,
        rdma::{
            attr::Mtu,
            qp::{QpAttr, QpCaps},
        },
    };

    fn caps(send_wr: u32, recv_wr: u32, send_sge: u32, recv_sge: u32, inline: u32) -> QpCaps {
        QpCaps {
            max_send_wr: send_wr,
            max_recv_wr: recv_wr,
            max_send_sge: send_sge,
            max_recv_sge: recv_sge,
            max_inline_data: inline,
        }
    }

    #[test]
    fn caps_within_device_limits() {
        let max_wr = params::MAX_QP_WR;
        let max_sge = params::MAX_SGE;
        assert_eq!(
            check_caps(&caps(max_wr, max_wr, max_sge, max_sge, MAX_INLINE_DATA)),
            Ok(())
        );
        assert_eq!(check_caps(&caps(0, 0, 0, 0, 0)), Ok(()));
        assert_eq!(check_caps(&caps(max_wr + 1, 1, 1, 1, 0)), Err(EINVAL));
        assert_eq!(check_caps(&caps(1, max_wr + 1, 1, 1, 0)), Err(EINVAL));
        assert_eq!(check_caps(&caps(1, 1, max_sge + 1, 1, 0)), Err(EINVAL));
        assert_eq!(check_caps(&caps(1, 1, 1, max_sge + 1, 0)), Err(EINVAL));
        assert_eq!(
            check_caps(&caps(1, 1, 1, 1, MAX_INLINE_DATA + 1)),
            Err(EINVAL)
        );
    }

    #[test]
    fn granted_sizes_match_the_provider_layout() -> Result {
        // One SGE, no inline data: a 224-byte send entry in 256-byte slots, 56-byte receive
        // entries in 64-byte slots; one slot of each ring stays free.
        let (sq, rq, got) = queue_layout(&caps(16, 16, 1, 1, 0))?;
        assert_eq!(sq.elem_size(), 256);
        assert_eq!(rq.elem_size(), 64);
        assert_eq!(got, caps(31, 31, 1, 1, 16));
        // Inline data and SGEs share the entry's payload room.
        let (sq, _, got) = queue_layout(&caps(1, 1, 2, 4, 100))?;
        assert_eq!(sq.elem_size(), 512);
        assert_eq!((got.max_send_sge, got.max_inline_data), (6, 100));
        assert!(got.max_send_sge >= 2 && got.max_inline_data >= 100 && got.max_recv_sge == 4);
        Ok(())
    }

    fn attr() -> QpAttr {
        QpAttr {
            port: 1,
            path_mtu: Mtu::Mtu1024 as u32,
            timeout: 14,
            retry_cnt: 7,
            rnr_retry: 7,
            min_rnr_timer: 12,
            max_rd_atomic: 16,
            max_dest_rd_atomic: 16,
            dest_qp_num: 0xff_ffff,
            ..QpAttr::default()
        }
    }

    fn all_but_av() -> A {
        A(((A::DEST_QPN.0 << 1) - 1) & !A::AV.0 & !A::ALT_PATH.0)
    }

    #[test]
    fn valid_values_pass() {
        assert_eq!(check_values(&attr(), all_but_av(), Mtu::Mtu1024), Ok(()));
    }

    /// Makes one attribute out of range.
    type Spoil = fn(&mut QpAttr);

    #[test]
    fn each_out_of_range_value_is_refused() {
        let mtu = Mtu::Mtu1024;
        let cases: [(Spoil, A); 11] = [
            (|a| a.port = 2, A::PORT),
            (|a| a.pkey_index = 1, A::PKEY_INDEX),
            (|a| a.path_mtu = 0, A::PATH_MTU),
            (|a| a.path_mtu = Mtu::Mtu2048 as u32, A::PATH_MTU),
            (|a| a.timeout = 32, A::TIMEOUT),
            (|a| a.min_rnr_timer = 32, A::MIN_RNR_TIMER),
            (|a| a.retry_cnt = 8, A::RETRY_CNT),
            (|a| a.rnr_retry = 8, A::RNR_RETRY),
            (|a| a.max_rd_atomic = 129, A::MAX_QP_RD_ATOMIC),
            (|a| a.max_dest_rd_atomic = 129, A::MAX_DEST_RD_ATOMIC),
            (|a| a.dest_qp_num = 1 << 24, A::DEST_QPN),
        ];
        for (spoil, bit) in cases {
            let mut a = attr();
            spoil(&mut a);
            assert_eq!(check_values(&a, bit, mtu), Err(EINVAL));
            // Values of attributes the call does not give are not looked at.
            assert_eq!(check_values(&a, all_but_av().without(bit), mtu), Ok(()));
        }
        let mut a = attr();
        a.access_flags = 1 << 5; // IB_ZERO_BASED is not a QP right.
        assert_eq!(check_values(&a, A::ACCESS_FLAGS, mtu), Err(EINVAL));
        // An address vector is required when the mask says one is given.
        assert_eq!(check_values(&attr(), A::AV, mtu), Err(EINVAL));
        assert_eq!(check_values(&attr(), A::ALT_PATH, mtu), Err(EOPNOTSUPP));
    }
}
