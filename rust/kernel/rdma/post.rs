// SPDX-License-Identifier: GPL-2.0

//! Work requests in-kernel consumers post (`struct ib_recv_wr`, `struct ib_send_wr`).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)
//!
//! A post call passes a linked list of requests. The driver sees it as an iterator of borrowed
//! requests and reports how many it accepted; the abstraction points the consumer's `bad_wr` at
//! the first one it did not.

use super::{
    device::Driver,
    mr::{Access, KernelDma, Mr, MrMapping},
    object::Ah,
    wc::WrId,
};
use crate::{bindings, prelude::*};
use core::marker::PhantomData;

/// A scatter/gather element (`struct ib_sge`): a local buffer named by an lkey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sge {
    /// The buffer's address in the region's address space.
    pub addr: u64,
    /// The buffer's length in bytes.
    pub length: u32,
    /// The key of the region that holds it.
    pub lkey: u32,
}

/// The scatter/gather list of a request.
///
/// # Safety
///
/// `list` must be valid for reads of `len` entries for `'a` when `len` is non-zero.
unsafe fn sges<'a>(list: *const bindings::ib_sge, len: c_int) -> impl Iterator<Item = Sge> + 'a {
    let len = usize::try_from(len).unwrap_or(0);
    let slice: &'a [bindings::ib_sge] = if len == 0 || list.is_null() {
        &[]
    } else {
        // SAFETY: Valid for `len` entries for `'a` (the caller's guarantee).
        unsafe { core::slice::from_raw_parts(list, len) }
    };
    slice.iter().map(|sge| Sge {
        addr: sge.addr,
        length: sge.length,
        lkey: sge.lkey,
    })
}

/// Why a post call stopped: the requests before `posted` were accepted, the one at `posted`
/// failed with `error`, and the rest were not looked at.
#[derive(Clone, Copy, Debug)]
pub struct PostError {
    /// How many requests were accepted.
    pub posted: usize,
    /// Why the next one was not.
    pub error: Error,
}

/// A receive work request of an in-kernel consumer.
///
/// # Invariants
///
/// An in-kernel consumer posted `raw`.
pub struct RecvRequest<'a> {
    raw: &'a bindings::ib_recv_wr,
}

impl<'a> RecvRequest<'a> {
    /// Returns the request's identifier, to be reported back in its completion. It consumes
    /// the request, which a post call hands out once, so no other `WrId` names the request.
    pub fn into_wr_id(self) -> WrId {
        // SAFETY: Both union members are 64 bits; the identifier is its bits.
        let raw = unsafe { self.raw.__bindgen_anon_1.wr_id };
        // SAFETY: An in-kernel consumer posted the request (type invariant), and this request,
        // which is neither `Copy` nor `Clone`, is the only one the post call made of it.
        unsafe { WrId::posted(raw) }
    }

    /// Returns the number of scatter/gather elements.
    pub fn num_sge(&self) -> u32 {
        u32::try_from(self.raw.num_sge).unwrap_or(u32::MAX)
    }

    /// Returns the scatter/gather elements.
    pub fn sges(&self) -> impl Iterator<Item = Sge> + 'a {
        // SAFETY: The consumer passes a list of `num_sge` elements, valid for the call.
        unsafe { sges(self.raw.sg_list, self.raw.num_sge) }
    }
}

/// The receive requests of one `post_recv` or `post_srq_recv` call.
pub struct RecvRequests<'a> {
    next: *const bindings::ib_recv_wr,
    _list: PhantomData<&'a bindings::ib_recv_wr>,
}

impl RecvRequests<'_> {
    /// # Safety
    ///
    /// `first` must be null or the head of a list of valid requests that live for `'a`, posted
    /// by an in-kernel consumer (not built from a user's command).
    pub(crate) unsafe fn from_raw(first: *const bindings::ib_recv_wr) -> Self {
        Self {
            next: first,
            _list: PhantomData,
        }
    }
}

impl<'a> Iterator for RecvRequests<'a> {
    type Item = RecvRequest<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: `next` is null or an element of the list, valid for `'a` (see `from_raw`).
        let raw = unsafe { self.next.as_ref()? };
        self.next = raw.next;
        // INVARIANT: An in-kernel consumer's list (see `from_raw`).
        Some(RecvRequest { raw })
    }
}

/// What a send work request asks for (`enum ib_wr_opcode`), among what a driver may carry out;
/// others are reported as `None` by [`SendRequest::opcode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum WrOpcode {
    /// An RDMA write.
    RdmaWrite = bindings::ib_wr_opcode_IB_WR_RDMA_WRITE,
    /// An RDMA write with immediate data.
    RdmaWriteWithImm = bindings::ib_wr_opcode_IB_WR_RDMA_WRITE_WITH_IMM,
    /// A send.
    Send = bindings::ib_wr_opcode_IB_WR_SEND,
    /// A send with immediate data.
    SendWithImm = bindings::ib_wr_opcode_IB_WR_SEND_WITH_IMM,
    /// An RDMA read.
    RdmaRead = bindings::ib_wr_opcode_IB_WR_RDMA_READ,
    /// An atomic compare and swap.
    AtomicCompareSwap = bindings::ib_wr_opcode_IB_WR_ATOMIC_CMP_AND_SWP,
    /// An atomic fetch and add.
    AtomicFetchAdd = bindings::ib_wr_opcode_IB_WR_ATOMIC_FETCH_AND_ADD,
    /// A local invalidation of a key.
    LocalInvalidate = bindings::ib_wr_opcode_IB_WR_LOCAL_INV,
    /// A send that invalidates a remote key.
    SendWithInvalidate = bindings::ib_wr_opcode_IB_WR_SEND_WITH_INV,
    /// A fast registration of a memory region.
    RegMr = bindings::ib_wr_opcode_IB_WR_REG_MR,
}

impl WrOpcode {
    fn from_raw(raw: bindings::ib_wr_opcode) -> Option<Self> {
        Some(match raw {
            bindings::ib_wr_opcode_IB_WR_RDMA_WRITE => Self::RdmaWrite,
            bindings::ib_wr_opcode_IB_WR_RDMA_WRITE_WITH_IMM => Self::RdmaWriteWithImm,
            bindings::ib_wr_opcode_IB_WR_SEND => Self::Send,
            bindings::ib_wr_opcode_IB_WR_SEND_WITH_IMM => Self::SendWithImm,
            bindings::ib_wr_opcode_IB_WR_RDMA_READ => Self::RdmaRead,
            bindings::ib_wr_opcode_IB_WR_ATOMIC_CMP_AND_SWP => Self::AtomicCompareSwap,
            bindings::ib_wr_opcode_IB_WR_ATOMIC_FETCH_AND_ADD => Self::AtomicFetchAdd,
            bindings::ib_wr_opcode_IB_WR_LOCAL_INV => Self::LocalInvalidate,
            bindings::ib_wr_opcode_IB_WR_SEND_WITH_INV => Self::SendWithInvalidate,
            bindings::ib_wr_opcode_IB_WR_REG_MR => Self::RegMr,
            _ => return None,
        })
    }
}

/// `IB_SEND_*` flags of a send work request.
pub mod send_flags {
    use crate::bindings;

    /// Wait for earlier reads and atomics before this request.
    pub const FENCE: u32 = bindings::ib_send_flags_IB_SEND_FENCE as u32;
    /// Generate a completion even if the queue pair signals only on request.
    pub const SIGNALED: u32 = bindings::ib_send_flags_IB_SEND_SIGNALED as u32;
    /// Ask for a solicited event at the receiver.
    pub const SOLICITED: u32 = bindings::ib_send_flags_IB_SEND_SOLICITED as u32;
    /// The scatter/gather list is payload to copy at post time.
    pub const INLINE: u32 = bindings::ib_send_flags_IB_SEND_INLINE as u32;
}

/// The datagram fields of a send on a UD or GSI queue pair (`struct ib_ud_wr`).
pub struct Datagram<'a, T: Driver> {
    /// The destination's address handle.
    pub ah: &'a Ah<T>,
    /// The destination queue pair.
    pub remote_qpn: u32,
    /// The destination's Q_Key.
    pub remote_qkey: u32,
}

/// The remote buffer of an RDMA or atomic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteBuffer {
    /// Its address in the remote region's address space.
    pub addr: u64,
    /// The remote key of the region or window that holds it.
    pub rkey: u32,
}

/// The operands of an atomic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtomicOperands {
    /// The eight aligned bytes operated on.
    pub remote: RemoteBuffer,
    /// The value compared (compare and swap) or added (fetch and add).
    pub compare_add: u64,
    /// The value swapped in (compare and swap).
    pub swap: u64,
}

/// A fast registration: the region's pages, as last mapped (`ib_map_mr_sg`), become
/// reachable by `key` with `access`.
pub struct Registration<'a, T: Driver> {
    /// The fast-registration region.
    pub mr: &'a Mr<T>,
    /// The region's new key: its index bits unchanged, its key byte the consumer's.
    pub key: u32,
    /// The rights the region grants.
    pub access: Access,
    /// What the region's pages map, as the consumer's last `ib_map_mr_sg` left it.
    pub mapping: MrMapping,
}

/// A send work request of an in-kernel consumer.
///
/// # Invariants
///
/// An in-kernel consumer posted `raw`. `raw` is the `wr` member of a `struct ib_ud_wr` if
/// `datagram` is set.
pub struct SendRequest<'a, T: Driver> {
    raw: &'a bindings::ib_send_wr,
    datagram: bool,
    _driver: PhantomData<T>,
}

impl<'a, T: Driver> SendRequest<'a, T> {
    /// Returns the request's identifier, to be reported back in its completion. It consumes
    /// the request, which a post call hands out once, so no other `WrId` names the request.
    pub fn into_wr_id(self) -> WrId {
        // SAFETY: Both union members are 64 bits; the identifier is its bits.
        let raw = unsafe { self.raw.__bindgen_anon_1.wr_id };
        // SAFETY: An in-kernel consumer posted the request (type invariant), and this request,
        // which is neither `Copy` nor `Clone`, is the only one the post call made of it.
        unsafe { WrId::posted(raw) }
    }

    /// Returns the operation, or `None` for one the abstraction does not offer.
    pub fn opcode(&self) -> Option<WrOpcode> {
        WrOpcode::from_raw(self.raw.opcode)
    }

    /// Returns the [`send_flags`] bits.
    pub fn flags(&self) -> u32 {
        self.raw.send_flags as u32
    }

    /// Returns the number of scatter/gather elements.
    pub fn num_sge(&self) -> u32 {
        u32::try_from(self.raw.num_sge).unwrap_or(u32::MAX)
    }

    /// Returns the scatter/gather elements.
    pub fn sges(&self) -> impl Iterator<Item = Sge> + 'a {
        // SAFETY: The consumer passes a list of `num_sge` elements, valid for the call.
        unsafe { sges(self.raw.sg_list, self.raw.num_sge) }
    }

    /// Returns the immediate data of a request with immediate data, in network byte order
    /// as the consumer gave it (`ex.imm_data`).
    pub fn immediate(&self) -> u32 {
        // SAFETY: Both union members are 32 bits; either is its bits.
        unsafe { self.raw.ex.imm_data }
    }

    /// Returns the key a send with invalidate or a local invalidation names
    /// (`ex.invalidate_rkey`).
    pub fn invalidate_rkey(&self) -> u32 {
        // SAFETY: Both union members are 32 bits; either is its bits.
        unsafe { self.raw.ex.invalidate_rkey }
    }

    /// Copies the payload of an inline request (`IB_SEND_INLINE`) into `dst`, replacing its
    /// contents: the consumer may reuse the buffers once the post returns. The elements name
    /// kernel memory by address, their keys unused. Fails with `EINVAL` if the payload exceeds
    /// `dst`'s capacity, which is never grown, and `EFAULT` if an element is not direct-mapped
    /// kernel memory. Does not sleep.
    pub fn copy_inline(&self, dst: &mut KVec<u8>) -> Result {
        dst.clear();
        for sge in self.sges() {
            let start = dst.len();
            let end = start.checked_add(sge.length as usize).ok_or(EINVAL)?;
            if end > dst.capacity() {
                return Err(EINVAL);
            }
            // Within the capacity: nothing is allocated.
            dst.resize(end, 0, GFP_ATOMIC)?;
            // SAFETY: An in-kernel consumer posted this request (`SendRequests`' invariant):
            // its inline elements name memory by kernel address, as virtual DMA addresses do.
            let memory = unsafe { KernelDma::new() };
            memory.read(sge.addr, &mut dst[start..end])?;
        }
        Ok(())
    }

    /// Returns the request this one is the `wr` member of, as the consumer allocated it for
    /// its operation.
    ///
    /// # Safety
    ///
    /// The consumer must have posted the request as the `wr` member of a `W`.
    unsafe fn container<W>(&self) -> &'a W {
        // SAFETY: `wr` is the first member of `W` (the caller's guarantee), so the containing
        // structure starts at the same address and lives as long.
        unsafe { &*core::ptr::from_ref(self.raw).cast::<W>() }
    }

    /// Returns the remote buffer of an RDMA write or read (`struct ib_rdma_wr`); `None` for
    /// other operations.
    pub fn rdma(&self) -> Option<RemoteBuffer> {
        match self.opcode()? {
            WrOpcode::RdmaWrite | WrOpcode::RdmaWriteWithImm | WrOpcode::RdmaRead => {}
            _ => return None,
        }
        // SAFETY: Consumers post RDMA operations as `struct ib_rdma_wr` (`rdma_wr()`).
        let rdma = unsafe { self.container::<bindings::ib_rdma_wr>() };
        Some(RemoteBuffer {
            addr: rdma.remote_addr,
            rkey: rdma.rkey,
        })
    }

    /// Returns the operands of an atomic operation (`struct ib_atomic_wr`); `None` for other
    /// operations.
    pub fn atomic(&self) -> Option<AtomicOperands> {
        match self.opcode()? {
            WrOpcode::AtomicCompareSwap | WrOpcode::AtomicFetchAdd => {}
            _ => return None,
        }
        // SAFETY: Consumers post atomic operations as `struct ib_atomic_wr` (`atomic_wr()`).
        let atomic = unsafe { self.container::<bindings::ib_atomic_wr>() };
        Some(AtomicOperands {
            remote: RemoteBuffer {
                addr: atomic.remote_addr,
                rkey: atomic.rkey,
            },
            compare_add: atomic.compare_add,
            swap: atomic.swap,
        })
    }

    /// Returns the fields of a fast registration (`struct ib_reg_wr`); `None` for other
    /// operations.
    pub fn registration(&self) -> Option<Registration<'a, T>> {
        if self.opcode()? != WrOpcode::RegMr {
            return None;
        }
        // SAFETY: Consumers post registrations as `struct ib_reg_wr` (`reg_wr()`).
        let reg = unsafe { self.container::<bindings::ib_reg_wr>() };
        if reg.mr.is_null() {
            return None;
        }
        // SAFETY: A consumer registers a region it allocated on the device of the queue pair,
        // so of `T`, and keeps it while the request is outstanding.
        let mr = unsafe { Mr::<T>::from_raw(reg.mr) };
        // SAFETY: The consumer maps the region (`ib_map_mr_sg`) before it posts its
        // registration, and not while it posts it.
        let mapping = unsafe { mr.mapping() };
        Some(Registration {
            mr,
            key: reg.key,
            access: Access::from_bits(reg.access as u32),
            mapping,
        })
    }

    /// Returns the datagram fields of a send on a UD or GSI queue pair; `Err(EINVAL)` if the
    /// request names no address handle, `None` on other queue pairs and for other operations.
    pub fn datagram(&self) -> Option<Result<Datagram<'a, T>>> {
        // Only sends are posted as `struct ib_ud_wr`.
        if !self.datagram || !matches!(self.opcode(), Some(WrOpcode::Send | WrOpcode::SendWithImm))
        {
            return None;
        }
        // SAFETY: `raw` is the first member of a `struct ib_ud_wr` (type invariant), so the
        // containing structure starts at the same address and lives as long.
        let ud = unsafe { &*core::ptr::from_ref(self.raw).cast::<bindings::ib_ud_wr>() };
        if ud.ah.is_null() {
            return Some(Err(EINVAL));
        }
        // SAFETY: A consumer posting to a queue pair of this device names an address handle
        // of the same device, so of `T`, and keeps it while the request is outstanding.
        let ah = unsafe { Ah::<T>::from_raw(ud.ah) };
        Some(Ok(Datagram {
            ah,
            remote_qpn: ud.remote_qpn,
            remote_qkey: ud.remote_qkey,
        }))
    }
}

/// The send requests of one in-kernel consumer's `post_send` call.
///
/// # Invariants
///
/// An in-kernel consumer posted every request of the list: addresses in them are kernel
/// addresses that consumer mapped for the device. Every request of the list is the `wr`
/// member of a `struct ib_ud_wr` if `datagram` is set.
pub struct SendRequests<'a, T: Driver> {
    next: *const bindings::ib_send_wr,
    datagram: bool,
    _list: PhantomData<(&'a bindings::ib_send_wr, T)>,
}

impl<T: Driver> SendRequests<'_, T> {
    /// # Safety
    ///
    /// `first` must be null or the head of a list of valid requests that live for `'a`, posted
    /// by an in-kernel consumer (not built from a user's command) to a queue pair of `T` of
    /// type `qp_type`.
    pub(crate) unsafe fn from_raw(
        first: *const bindings::ib_send_wr,
        qp_type: bindings::ib_qp_type,
    ) -> Self {
        // INVARIANT: An in-kernel consumer's list (the caller's guarantee); the core's
        // consumers post `struct ib_ud_wr`s to UD and GSI queue pairs.
        Self {
            next: first,
            datagram: matches!(
                qp_type,
                bindings::ib_qp_type_IB_QPT_UD | bindings::ib_qp_type_IB_QPT_GSI
            ),
            _list: PhantomData,
        }
    }
}

impl<'a, T: Driver> Iterator for SendRequests<'a, T> {
    type Item = SendRequest<'a, T>;

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: `next` is null or an element of the list, valid for `'a` (see `from_raw`).
        let raw = unsafe { self.next.as_ref()? };
        self.next = raw.next;
        // INVARIANT: From this list's invariant.
        Some(SendRequest {
            raw,
            datagram: self.datagram,
            _driver: PhantomData,
        })
    }
}

/// Points `bad_wr` at the request `posted` places into the list starting at `first`, or at the
/// last one if the list is shorter.
///
/// # Safety
///
/// `first` must be the head of a valid, non-empty list, and `bad_wr` valid for writes.
pub(crate) unsafe fn set_bad_wr<W: LinkedRequest>(
    first: *const W,
    posted: usize,
    bad_wr: *mut *const W,
) {
    let mut wr = first;
    for _ in 0..posted {
        // SAFETY: `wr` is an element of the valid list (the caller's guarantee).
        let next = unsafe { (*wr).next() };
        if next.is_null() {
            break;
        }
        wr = next;
    }
    // SAFETY: `bad_wr` is valid for writes (the caller's guarantee).
    unsafe { *bad_wr = wr };
}

/// A C work request type with a `next` link.
pub(crate) trait LinkedRequest {
    /// Returns the next request of the list.
    fn next(&self) -> *const Self;
}

impl LinkedRequest for bindings::ib_recv_wr {
    fn next(&self) -> *const Self {
        self.next
    }
}

impl LinkedRequest for bindings::ib_send_wr {
    fn next(&self) -> *const Self {
        self.next
    }
}
