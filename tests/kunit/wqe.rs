// SPDX-License-Identifier: GPL-2.0

//! Work queue entries and completions in the provider's layout.

#[kernel::prelude::kunit_tests(rrxe_wqe)]
mod tests {
    use crate::{
        queue::wqe::{self, SendOpcode, ID_AND_OPCODE_LEN},
        verbs::cq::UserCompletion,
    };
    use kernel::{
        prelude::*,
        rdma::wc::{WcOpcode, WcStatus, WorkCompletion},
    };

    #[test]
    fn entry_head_gives_id_and_opcode() {
        let mut head = [0u8; ID_AND_OPCODE_LEN];
        head[..8].copy_from_slice(&0x0123_4567_89ab_cdefu64.to_ne_bytes());
        head[8..12].copy_from_slice(&0xffff_ffffu32.to_ne_bytes()); // reserved: ignored
        head[12..16].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(wqe::wr_id(&head), 0x0123_4567_89ab_cdef);
        assert_eq!(wqe::send_opcode(&head), 3);
        assert_eq!(SendOpcode::from_raw(3), Some(SendOpcode::SendWithImm));
    }

    #[test]
    fn every_user_opcode_decodes_and_others_do_not() {
        for raw in 0..=15u32 {
            let op = SendOpcode::from_raw(raw);
            // Masked atomics and read-with-invalidate have no user-space form.
            match raw {
                11..=13 => assert_eq!(op, None),
                _ => assert_eq!(op.map(|op| op as u32), Some(raw)),
            }
        }
        assert_eq!(SendOpcode::from_raw(16), None);
        assert_eq!(SendOpcode::from_raw(u32::MAX), None);
    }

    #[test]
    fn completion_opcodes_follow_the_operation() {
        use SendOpcode::*;
        let cases = [
            (Send, WcOpcode::Send),
            (SendWithImm, WcOpcode::Send),
            (SendWithInvalidate, WcOpcode::Send),
            (RdmaWrite, WcOpcode::RdmaWrite),
            (RdmaWriteWithImm, WcOpcode::RdmaWrite),
            (RdmaRead, WcOpcode::RdmaRead),
            (AtomicCompareSwap, WcOpcode::CompareSwap),
            (AtomicFetchAdd, WcOpcode::FetchAdd),
            (LocalInvalidate, WcOpcode::LocalInvalidate),
            (BindMw, WcOpcode::BindMw),
            (Tso, WcOpcode::Tso),
            (Flush, WcOpcode::Flush),
            (AtomicWrite, WcOpcode::AtomicWrite),
        ];
        for (op, wc) in cases {
            assert_eq!(op.completion_opcode(), wc);
        }
    }

    #[test]
    fn user_completion_has_the_uverbs_layout() {
        let flushed = WorkCompletion::flushed(0x1122_3344_5566_7788, WcOpcode::Recv);
        let wc = UserCompletion::with_qp_num(&flushed, 0x00ab_cdef);
        let bytes = wc.as_bytes();
        // struct ib_uverbs_wc: 48 bytes, wr_id, status, opcode, ..., qp_num at 28.
        assert_eq!(bytes.len(), 48);
        assert_eq!(bytes[..8], 0x1122_3344_5566_7788u64.to_ne_bytes());
        assert_eq!(bytes[8..12], (WcStatus::WrFlushError as u32).to_ne_bytes());
        assert_eq!(bytes[12..16], (WcOpcode::Recv as u32).to_ne_bytes());
        assert_eq!(bytes[28..32], 0x00ab_cdefu32.to_ne_bytes());
        assert!(bytes[16..28].iter().all(|&b| b == 0));
        assert!(bytes[32..].iter().all(|&b| b == 0));
        // The values user space compares with (IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV).
        assert_eq!(WcStatus::WrFlushError as u32, 5);
        assert_eq!(WcOpcode::Recv as u32, 128);
    }
}
