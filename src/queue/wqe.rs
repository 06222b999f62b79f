// SPDX-License-Identifier: GPL-2.0

//! Work queue entries as the user-space provider writes them (`struct rxe_send_wqe` and
//! `struct rxe_recv_wqe` in `include/uapi/rdma/rdma_user_rxe.h`).
//!
//! Entries are read from memory user space may change at any time: each field is copied out
//! once and validated as a value, never trusted as a size or an index.

use crate::memory::{BindRequest, FastRegistration};
use kernel::{
    prelude::*,
    rdma::{
        mr::Access,
        post::Sge,
        wc::{WcOpcode, WrId},
    },
};

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

/// Whose identifier a work request carries, for its completion. An in-kernel consumer's can
/// be neither copied nor cloned: the request's slot holds it until the completion takes it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RequestId {
    /// A user's, read from the queue it shares with the driver: reported only in its own
    /// CQ's shared queue.
    User(u64),
    /// An in-kernel consumer's, from the request it posted: reported only through
    /// `poll_cq`.
    Kernel(WrId),
}

impl RequestId {
    /// The identifier of a queue slot not holding a request yet.
    pub(crate) const UNSET: Self = Self::User(0);

    /// Takes the identifier out of a queue slot, leaving [`Self::UNSET`].
    pub(crate) fn take(&mut self) -> Self {
        core::mem::replace(self, Self::UNSET)
    }
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
    /// A fast registration, posted by in-kernel consumers only (`IB_WR_REG_MR`).
    RegMr = 0x20,
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
            Self::RegMr => WcOpcode::RegMr,
        }
    }
}

/// Offsets into a send entry (`struct rxe_send_wqe`).
mod send_offset {
    pub(super) const FLAGS: usize = 16;
    pub(super) const EX: usize = 20;
    pub(super) const REMOTE_ADDR: usize = 24;
    pub(super) const RDMA_RKEY: usize = 32;
    pub(super) const COMPARE_ADD: usize = 32;
    pub(super) const SWAP: usize = 40;
    pub(super) const ATOMIC_RKEY: usize = 48;
    pub(super) const FLUSH_RKEY: usize = 36;
    pub(super) const FLUSH_TYPE: usize = 40;
    pub(super) const FLUSH_LEVEL: usize = 41;
    pub(super) const UD_REMOTE_QPN: usize = 24;
    pub(super) const UD_REMOTE_QKEY: usize = 28;
    pub(super) const UD_AH_NUM: usize = 36;
    pub(super) const MW_ADDR: usize = 24;
    pub(super) const MW_LENGTH: usize = 32;
    pub(super) const MW_MR_LKEY: usize = 40;
    pub(super) const MW_RKEY: usize = 44;
    pub(super) const MW_NEW_RKEY: usize = 48;
    pub(super) const MW_ACCESS: usize = 52;
    pub(super) const DMA_LENGTH: usize = 184;
    pub(super) const DMA_NUM_SGE: usize = 196;
}

/// Offsets into a receive entry (`struct rxe_recv_wqe`).
mod recv_offset {
    pub(super) const DMA_NUM_SGE: usize = 28;
}

/// The `IBV_SEND_*` flags the data path reads.
pub(crate) mod flags {
    pub(crate) const SIGNALED: u32 = 1 << 1;
    pub(crate) const SOLICITED: u32 = 1 << 2;
    pub(crate) const INLINE: u32 = 1 << 3;
}

fn read_u32(entry: &[u8], at: usize) -> u32 {
    let mut bytes = [0; 4];
    if let Some(src) = entry.get(at..at + 4) {
        bytes.copy_from_slice(src);
    }
    u32::from_ne_bytes(bytes)
}

fn read_u64(entry: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    if let Some(src) = entry.get(at..at + 8) {
        bytes.copy_from_slice(src);
    }
    u64::from_ne_bytes(bytes)
}

/// Reads the scatter/gather list of `count` elements at `at`.
fn read_sges(entry: &[u8], at: usize, count: usize) -> Result<KVec<Sge>> {
    let mut sges = KVec::with_capacity(count, GFP_ATOMIC)?;
    for i in 0..count {
        let base = at + i * SGE_SIZE as usize;
        sges.push(
            Sge {
                addr: read_u64(entry, base),
                length: read_u32(entry, base + 8),
                lkey: read_u32(entry, base + 12),
            },
            GFP_ATOMIC,
        )?;
    }
    Ok(sges)
}

/// Where a send request's payload is.
pub(crate) enum Payload {
    /// In the consumer's memory regions.
    Gather(KVec<Sge>),
    /// Copied into the entry.
    Inline(KVec<u8>),
}

/// A send request as the requester carries it out, copied out of the shared queue.
///
/// Its identifier stays in the queue's slot: the completion takes it from there
/// ([`crate::verbs::qp::consume_send`]).
pub(crate) struct SendWqe {
    pub(crate) opcode: SendOpcode,
    pub(crate) flags: u32,
    /// Immediate data (network order, as given) or the key to invalidate.
    pub(crate) ex: u32,
    pub(crate) remote_addr: u64,
    pub(crate) rkey: u32,
    pub(crate) compare_add: u64,
    pub(crate) swap: u64,
    pub(crate) remote_qpn: u32,
    pub(crate) remote_qkey: u32,
    pub(crate) ah_num: u32,
    /// A flush's placement type and selectivity level (`wr.flush.type`, `wr.flush.level`).
    pub(crate) flush_type: u8,
    pub(crate) flush_level: u8,
    /// The payload's total length; a flush's range.
    pub(crate) length: u32,
    pub(crate) payload: Payload,
    /// A bind request's fields.
    pub(crate) bind: Option<BindRequest>,
    /// A fast registration's fields.
    pub(crate) registration: Option<FastRegistration>,
}

impl SendWqe {
    /// Returns a copy of the request with an empty payload. Does not allocate.
    pub(crate) fn without_payload(&self) -> Self {
        Self {
            payload: Payload::Gather(KVec::new()),
            bind: self.bind.clone(),
            registration: self.registration.clone(),
            ..*self
        }
    }
}

/// Why an entry cannot be carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// An operation the device does not know.
    Opcode,
    /// More scatter/gather elements or inline bytes than the queue pair has room for, or a
    /// length that overflows.
    Length,
    /// No memory for the copy.
    NoMemory,
}

/// Decodes a send entry copied out of the shared queue; `slot` holds the whole slot.
/// Nothing in it is trusted: counts are bounded by the queue pair's limits.
pub(crate) fn parse_send(slot: &[u8], max_sge: u32, max_inline: u32) -> Result<SendWqe, Malformed> {
    let head: &[u8; ID_AND_OPCODE_LEN] = slot
        .get(..ID_AND_OPCODE_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(Malformed::Length)?;
    let opcode = SendOpcode::from_raw(send_opcode(head)).ok_or(Malformed::Opcode)?;
    let flags = read_u32(slot, send_offset::FLAGS);
    let atomic = matches!(
        opcode,
        SendOpcode::AtomicCompareSwap | SendOpcode::AtomicFetchAdd
    );
    // An atomic write's eight bytes take the place of the scatter/gather list, and a flush
    // has no payload but the length of its range; neither has elements.
    let (length, payload) = if opcode == SendOpcode::AtomicWrite {
        let length = read_u32(slot, send_offset::DMA_LENGTH);
        let data = slot
            .get(SEND_WQE_HEADER..SEND_WQE_HEADER + 8)
            .ok_or(Malformed::Length)?;
        let mut copy = KVec::with_capacity(8, GFP_ATOMIC).map_err(|_| Malformed::NoMemory)?;
        copy.extend_from_slice(data, GFP_ATOMIC)
            .map_err(|_| Malformed::NoMemory)?;
        (length, Payload::Inline(copy))
    } else if opcode == SendOpcode::Flush {
        (
            read_u32(slot, send_offset::DMA_LENGTH),
            Payload::Gather(KVec::new()),
        )
    } else if flags & flags::INLINE != 0 {
        let length = read_u32(slot, send_offset::DMA_LENGTH);
        if length > max_inline {
            return Err(Malformed::Length);
        }
        let data = slot
            .get(SEND_WQE_HEADER..SEND_WQE_HEADER + length as usize)
            .ok_or(Malformed::Length)?;
        let mut copy =
            KVec::with_capacity(data.len(), GFP_ATOMIC).map_err(|_| Malformed::NoMemory)?;
        copy.extend_from_slice(data, GFP_ATOMIC)
            .map_err(|_| Malformed::NoMemory)?;
        (length, Payload::Inline(copy))
    } else {
        let count = read_u32(slot, send_offset::DMA_NUM_SGE);
        if count > max_sge || SEND_WQE_HEADER + (count * SGE_SIZE) as usize > slot.len() {
            return Err(Malformed::Length);
        }
        let sges =
            read_sges(slot, SEND_WQE_HEADER, count as usize).map_err(|_| Malformed::NoMemory)?;
        let length = sges
            .iter()
            .try_fold(0u32, |sum, sge| sum.checked_add(sge.length))
            .ok_or(Malformed::Length)?;
        (length, Payload::Gather(sges))
    };
    Ok(SendWqe {
        opcode,
        flags,
        ex: read_u32(slot, send_offset::EX),
        remote_addr: read_u64(slot, send_offset::REMOTE_ADDR),
        rkey: read_u32(
            slot,
            match opcode {
                _ if atomic => send_offset::ATOMIC_RKEY,
                SendOpcode::Flush => send_offset::FLUSH_RKEY,
                _ => send_offset::RDMA_RKEY,
            },
        ),
        compare_add: read_u64(slot, send_offset::COMPARE_ADD),
        swap: read_u64(slot, send_offset::SWAP),
        remote_qpn: read_u32(slot, send_offset::UD_REMOTE_QPN),
        remote_qkey: read_u32(slot, send_offset::UD_REMOTE_QKEY),
        ah_num: read_u32(slot, send_offset::UD_AH_NUM),
        flush_type: slot.get(send_offset::FLUSH_TYPE).copied().unwrap_or(0),
        flush_level: slot.get(send_offset::FLUSH_LEVEL).copied().unwrap_or(0),
        length,
        payload,
        bind: (opcode == SendOpcode::BindMw).then(|| BindRequest {
            mw_rkey: read_u32(slot, send_offset::MW_RKEY),
            new_rkey: read_u32(slot, send_offset::MW_NEW_RKEY),
            mr_lkey: read_u32(slot, send_offset::MW_MR_LKEY),
            addr: read_u64(slot, send_offset::MW_ADDR),
            length: read_u64(slot, send_offset::MW_LENGTH),
            access: Access::from_bits(read_u32(slot, send_offset::MW_ACCESS)),
        }),
        registration: None,
    })
}

/// A receive request as the responder fills it.
pub(crate) struct RecvWqe {
    pub(crate) wr_id: RequestId,
    pub(crate) sges: KVec<Sge>,
}

/// Decodes a receive entry copied out of a shared queue; `slot` holds the whole slot.
pub(crate) fn parse_recv(slot: &[u8], max_sge: u32) -> Result<RecvWqe, Malformed> {
    let head: &[u8; ID_AND_OPCODE_LEN] = slot
        .get(..ID_AND_OPCODE_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(Malformed::Length)?;
    let count = read_u32(slot, recv_offset::DMA_NUM_SGE);
    if count > max_sge || RECV_WQE_HEADER + (count * SGE_SIZE) as usize > slot.len() {
        return Err(Malformed::Length);
    }
    Ok(RecvWqe {
        wr_id: RequestId::User(wr_id(head)),
        sges: read_sges(slot, RECV_WQE_HEADER, count as usize).map_err(|_| Malformed::NoMemory)?,
    })
}
