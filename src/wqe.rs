// SPDX-License-Identifier: GPL-2.0

//! Work queue entries as the user-space provider writes them (`struct rxe_send_wqe` and
//! `struct rxe_recv_wqe` in `include/uapi/rdma/rdma_user_rxe.h`).
//!
//! Entries are read from memory user space may change at any time: each field is copied out
//! once and validated as a value, never trusted as a size or an index.

use kernel::rdma::wc::WcOpcode;

/// Size of a send work queue entry before its scatter/gather list or inline data.
pub(crate) const SEND_WQE_HEADER: usize = 208;
/// Size of a receive work queue entry before its scatter/gather list.
pub(crate) const RECV_WQE_HEADER: usize = 40;
/// Size of a scatter/gather entry (`struct ib_sge`).
pub(crate) const SGE_SIZE: u32 = 16;

/// Bytes of an entry's start that hold what a flush reports: the request identifier (both
/// kinds) and the operation (send entries).
pub(crate) const ID_AND_OPCODE_LEN: usize = 16;

/// The consumer's identifier of a work request (`wr_id`, first in both kinds of entry).
pub(crate) fn wr_id(head: &[u8; ID_AND_OPCODE_LEN]) -> u64 {
    let mut id = [0; 8];
    id.copy_from_slice(&head[..8]);
    u64::from_ne_bytes(id)
}

/// The raw operation of a send entry (`wr.opcode`, after `wr_id` and a reserved word).
pub(crate) fn send_opcode(head: &[u8; ID_AND_OPCODE_LEN]) -> u32 {
    let mut opcode = [0; 4];
    opcode.copy_from_slice(&head[12..16]);
    u32::from_ne_bytes(opcode)
}

/// The operation of a send work request (`enum ib_uverbs_wr_opcode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum SendOpcode {
    RdmaWrite = 0,
    RdmaWriteWithImm = 1,
    Send = 2,
    SendWithImm = 3,
    RdmaRead = 4,
    AtomicCompareSwap = 5,
    AtomicFetchAdd = 6,
    LocalInvalidate = 7,
    BindMw = 8,
    SendWithInvalidate = 9,
    Tso = 10,
    Flush = 14,
    AtomicWrite = 15,
}

impl SendOpcode {
    /// Decodes an operation as user space wrote it; `None` for values that name none.
    pub(crate) fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            0 => Self::RdmaWrite,
            1 => Self::RdmaWriteWithImm,
            2 => Self::Send,
            3 => Self::SendWithImm,
            4 => Self::RdmaRead,
            5 => Self::AtomicCompareSwap,
            6 => Self::AtomicFetchAdd,
            7 => Self::LocalInvalidate,
            8 => Self::BindMw,
            9 => Self::SendWithInvalidate,
            10 => Self::Tso,
            14 => Self::Flush,
            15 => Self::AtomicWrite,
            _ => return None,
        })
    }

    /// The operation a completion of this request reports.
    pub(crate) fn completion_opcode(self) -> WcOpcode {
        match self {
            Self::Send | Self::SendWithImm | Self::SendWithInvalidate => WcOpcode::Send,
            Self::Tso => WcOpcode::Tso,
            Self::RdmaWrite | Self::RdmaWriteWithImm => WcOpcode::RdmaWrite,
            Self::Flush => WcOpcode::Flush,
            Self::AtomicWrite => WcOpcode::AtomicWrite,
            Self::RdmaRead => WcOpcode::RdmaRead,
            Self::AtomicCompareSwap => WcOpcode::CompareSwap,
            Self::AtomicFetchAdd => WcOpcode::FetchAdd,
            Self::LocalInvalidate => WcOpcode::LocalInvalidate,
            Self::BindMw => WcOpcode::BindMw,
        }
    }
}
