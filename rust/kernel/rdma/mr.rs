// SPDX-License-Identifier: GPL-2.0

//! Memory regions (`struct ib_mr`) and the user memory they pin (`struct ib_umem`).
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`include/rdma/ib_umem.h`](srctree/include/rdma/ib_umem.h)
//!
//! Unlike the objects of [`super::object`], memory regions are allocated by the driver: an
//! [`Mr`] is a `struct ib_mr` followed by the driver's data in one allocation, which the driver's
//! register operation hands to the core and its deregister operation frees.

use super::device::{Device, Driver};
use crate::page::PAGE_SIZE;
use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
    types::Opaque,
};
use core::{mem::offset_of, ops::Range, ptr::NonNull};

/// What a fast-registration region's pages map (`ib_map_mr_sg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MrMapping {
    /// The address of the first byte, in the region's address space.
    pub iova: u64,
    /// The length in bytes.
    pub length: u64,
    /// The size of each page of the list.
    pub page_size: u32,
}

/// Access rights of a memory region or window (`enum ib_access_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access(u32);

impl Access {
    /// The local side may write (`IB_ACCESS_LOCAL_WRITE`).
    pub const LOCAL_WRITE: Self = Self(bindings::ib_access_flags_IB_ACCESS_LOCAL_WRITE);
    /// Peers may write (`IB_ACCESS_REMOTE_WRITE`).
    pub const REMOTE_WRITE: Self = Self(bindings::ib_access_flags_IB_ACCESS_REMOTE_WRITE);
    /// Peers may read (`IB_ACCESS_REMOTE_READ`).
    pub const REMOTE_READ: Self = Self(bindings::ib_access_flags_IB_ACCESS_REMOTE_READ);
    /// Peers may run atomic operations (`IB_ACCESS_REMOTE_ATOMIC`).
    pub const REMOTE_ATOMIC: Self = Self(bindings::ib_access_flags_IB_ACCESS_REMOTE_ATOMIC);
    /// Memory windows may be bound to the region (`IB_ACCESS_MW_BIND`).
    pub const MW_BIND: Self = Self(bindings::ib_access_flags_IB_ACCESS_MW_BIND);
    /// Addresses count from the start of the region (`IB_ZERO_BASED`).
    pub const ZERO_BASED: Self = Self(bindings::ib_access_flags_IB_ZERO_BASED);
    /// Pages are faulted in on demand rather than pinned (`IB_ACCESS_ON_DEMAND`).
    pub const ON_DEMAND: Self = Self(bindings::ib_access_flags_IB_ACCESS_ON_DEMAND);
    /// The memory is backed by huge pages (`IB_ACCESS_HUGETLB`).
    pub const HUGETLB: Self = Self(bindings::ib_access_flags_IB_ACCESS_HUGETLB);
    /// PCIe relaxed ordering is allowed (`IB_ACCESS_RELAXED_ORDERING`).
    pub const RELAXED_ORDERING: Self = Self(bindings::ib_access_flags_IB_ACCESS_RELAXED_ORDERING);
    /// Peers may flush to global visibility (`IB_ACCESS_FLUSH_GLOBAL`).
    pub const FLUSH_GLOBAL: Self = Self(bindings::ib_access_flags_IB_ACCESS_FLUSH_GLOBAL);
    /// Peers may flush to persistence (`IB_ACCESS_FLUSH_PERSISTENT`).
    pub const FLUSH_PERSISTENT: Self = Self(bindings::ib_access_flags_IB_ACCESS_FLUSH_PERSISTENT);
    /// Hints a device may ignore (`IB_ACCESS_OPTIONAL`).
    pub const OPTIONAL: Self = Self(bindings::ib_access_flags_IB_ACCESS_OPTIONAL);

    /// Rights that let the device modify the memory (`ib_access_writable`).
    pub const WRITABLE: Self =
        Self(Self::LOCAL_WRITE.0 | Self::REMOTE_WRITE.0 | Self::REMOTE_ATOMIC.0 | Self::MW_BIND.0);

    /// Converts raw `IB_ACCESS_*` bits.
    pub const fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    /// Returns the raw `IB_ACCESS_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Returns whether every right of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Returns whether any right of `other` is in `self`.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Returns the rights of `self` not in `other`.
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl core::ops::BitOr for Access {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// User memory pinned for a device (`struct ib_umem`).
///
/// The pages stay pinned, charged to the owning process's locked-memory limit, and mapped for
/// the device until the value is dropped. Dropping may sleep.
///
/// Copies find their first scatterlist entry through checkpoints taken every
/// [`Umem::CHECKPOINT_STRIDE`] entries, so a copy far into a large region does not walk the
/// list from its start.
///
/// # Invariants
///
/// `umem` was returned by `ib_umem_get_*` for user memory (not on demand), is owned by this
/// value and released on drop; its pages stay pinned until then, listed in `sgt_append.sgt`.
/// `checkpoints` holds, for every [`Umem::CHECKPOINT_STRIDE`]th entry of that list in order,
/// the entry, the bytes of the list before it and the entries from it to the list's end.
pub struct Umem {
    umem: NonNull<bindings::ib_umem>,
    checkpoints: KVVec<Checkpoint>,
}

/// An entry of a umem's scatterlist from which copies may start.
struct Checkpoint {
    /// Bytes of the list before the entry.
    start: usize,
    sg: NonNull<bindings::scatterlist>,
    /// Entries from this one to the end of the list.
    remaining: c_uint,
}

// SAFETY: The umem is not changed after creation, and `ib_umem_release` may run on any thread
// in process context.
unsafe impl Send for Umem {}
// SAFETY: Shared access only reads fields that do not change after creation, and copies to
// and from the pinned user pages, which are not Rust memory and which user space may access
// concurrently anyway.
unsafe impl Sync for Umem {}

impl Umem {
    /// Pins `len` bytes of the calling process's memory at `addr` for `dev`, writable if
    /// `access` has any of [`Access::WRITABLE`] (`ib_umem_get_va`). May sleep.
    ///
    /// Fails with `EINVAL` on an empty or wrapping range, `ENOMEM` beyond `RLIMIT_MEMLOCK`
    /// (without `CAP_IPC_LOCK`), `EFAULT` in a kernel thread (which has no user memory) and
    /// `EOPNOTSUPP` for [`Access::ON_DEMAND`].
    pub fn pin<T: Driver>(dev: &Device<T>, addr: u64, len: u64, access: Access) -> Result<Self> {
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        // The memory is the current process's: a kernel thread has none.
        if crate::current!().mm().is_none() {
            return Err(EFAULT);
        }
        // SAFETY: `dev` is a registered device; without an attribute bundle the core pins the
        // range of the current process's address space.
        let umem = from_err_ptr(unsafe {
            bindings::ib_umem_get_attr_or_va(
                dev.as_raw(),
                core::ptr::null(),
                0,
                addr,
                len,
                access.bits() as c_int,
            )
        })?;
        let umem = NonNull::new(umem).ok_or(ENOMEM)?;
        let checkpoints = match Self::checkpoints(umem) {
            Ok(checkpoints) => checkpoints,
            Err(e) => {
                // SAFETY: Returned by `ib_umem_get_*` above and not used after this.
                unsafe { bindings::ib_umem_release(umem.as_ptr()) };
                return Err(e);
            }
        };
        // INVARIANT: A successful `ib_umem_get_*` returns a umem the caller owns; the
        // checkpoints were taken from its list.
        Ok(Self { umem, checkpoints })
    }

    /// Entries of the scatterlist between two checkpoints.
    const CHECKPOINT_STRIDE: c_uint = 64;

    /// Walks the scatterlist of `umem` once and takes its checkpoints. May sleep.
    fn checkpoints(umem: NonNull<bindings::ib_umem>) -> Result<KVVec<Checkpoint>> {
        // SAFETY: `umem` was just returned by `ib_umem_get_*` and is not changed any more.
        let sgt = unsafe { &umem.as_ref().sgt_append.sgt };
        let nents = sgt.orig_nents;
        let mut checkpoints =
            KVVec::with_capacity((nents / Self::CHECKPOINT_STRIDE + 1) as usize, GFP_KERNEL)?;
        let mut sg = sgt.sgl;
        let mut start = 0usize;
        for i in 0..nents {
            let Some(entry) = NonNull::new(sg) else {
                return Err(EINVAL);
            };
            if i % Self::CHECKPOINT_STRIDE == 0 {
                checkpoints.push(
                    Checkpoint {
                        start,
                        sg: entry,
                        remaining: nents - i,
                    },
                    GFP_KERNEL,
                )?;
            }
            // SAFETY: `entry` is one of the list's `orig_nents` entries, valid while the umem
            // is; `sg_next` follows chained tables and returns null after the last entry.
            unsafe {
                start = start
                    .checked_add((*entry.as_ptr()).length as usize)
                    .ok_or(EINVAL)?;
                sg = bindings::sg_next(entry.as_ptr());
            }
        }
        Ok(checkpoints)
    }

    fn raw(&self) -> &bindings::ib_umem {
        // SAFETY: The umem is valid while `self` lives (type invariant) and not changed.
        unsafe { self.umem.as_ref() }
    }

    /// Returns the user address of the first byte.
    pub fn address(&self) -> u64 {
        self.raw().address as u64
    }

    /// Returns the length in bytes.
    pub fn len(&self) -> usize {
        self.raw().length
    }

    /// Returns whether the region is empty; pinned regions never are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns whether the pages were pinned for writing.
    pub fn writable(&self) -> bool {
        self.raw().writable() != 0
    }

    /// Copies `dst.len()` bytes of the pinned memory, starting `offset` bytes after its first
    /// byte ([`Umem::address`]), into `dst`.
    ///
    /// May be called in any context: the pages stay pinned while `self` lives and are mapped
    /// only for the copy, with `kmap_local_page` (`sg_pcopy_to_buffer`). Fails with `EINVAL` if
    /// the range does not lie within the region and `EFAULT` if fewer bytes could be copied.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        let (sgl, nents, skip) = self.sg_range(offset, dst.len())?;
        // SAFETY: `sgl` and `nents` describe the umem's pinned pages from a checkpoint on,
        // valid while `self` lives (type invariant); `dst` is valid for writes of `dst.len()`
        // bytes. The function does not sleep.
        let copied = unsafe {
            bindings::sg_pcopy_to_buffer(sgl, nents, dst.as_mut_ptr().cast(), dst.len(), skip)
        };
        if copied != dst.len() {
            return Err(EFAULT);
        }
        Ok(())
    }

    /// Copies `src` into the pinned memory, starting `offset` bytes after its first byte
    /// ([`Umem::address`]).
    ///
    /// May be called in any context: the pages stay pinned while `self` lives and are mapped
    /// only for the copy, with `kmap_local_page` (`sg_pcopy_from_buffer`). Fails with `EINVAL`
    /// if the range does not lie within the region, `EACCES` if the pages were not pinned for
    /// writing (see [`Umem::writable`]) and `EFAULT` if fewer bytes could be copied.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result {
        let (sgl, nents, skip) = self.sg_range(offset, src.len())?;
        // Pages pinned read-only may be shared with a file or another process.
        if !self.writable() {
            return Err(EACCES);
        }
        // SAFETY: `sgl` and `nents` describe the umem's pinned pages from a checkpoint on,
        // valid while `self` lives (type invariant) and pinned for writing (checked above);
        // `src` is valid for reads of `src.len()` bytes. The function does not sleep.
        let copied = unsafe {
            bindings::sg_pcopy_from_buffer(sgl, nents, src.as_ptr().cast(), src.len(), skip)
        };
        if copied != src.len() {
            return Err(EFAULT);
        }
        Ok(())
    }

    /// Stores `value` in the eight bytes `offset` bytes after the first byte ([`Umem::address`])
    /// with one aligned 64-bit store, which other CPUs see whole or not at all (an IBTA atomic
    /// write).
    ///
    /// May be called in any context: the page is mapped only for the store
    /// (`sg_miter_next`). Fails with `EINVAL` if the bytes do not lie within the region or
    /// are not 8-byte aligned in memory, and `EACCES` if the pages were not pinned for
    /// writing.
    pub fn store_u64(&self, offset: usize, value: u64) -> Result {
        const LEN: usize = core::mem::size_of::<u64>();
        let (sgl, nents, skip) = self.sg_range(offset, LEN)?;
        if !self.writable() {
            return Err(EACCES);
        }
        let mut miter = core::mem::MaybeUninit::<bindings::sg_mapping_iter>::zeroed();
        let miter = miter.as_mut_ptr();
        // SAFETY: `sgl` and `nents` describe the umem's pinned pages from a checkpoint on, valid
        // while `self` lives (type invariant); the iterator is stopped below.
        unsafe {
            bindings::sg_miter_start(
                miter,
                sgl,
                nents,
                bindings::SG_MITER_ATOMIC | bindings::SG_MITER_TO_SG,
            )
        };
        // SAFETY: The iterator was started above; it maps a page with `kmap_atomic`, which does
        // not sleep.
        let (mapped, addr, length) = unsafe {
            let mapped = bindings::sg_miter_skip(miter, skip) && bindings::sg_miter_next(miter);
            (mapped, (*miter).addr.cast::<u64>(), (*miter).length)
        };
        let stored = mapped && length >= LEN && addr.is_aligned();
        if stored {
            // SAFETY: `addr` is aligned and maps at least eight bytes of a page pinned for
            // writing (checked above) while the iterator is not stopped; it is user memory.
            unsafe { store_once(addr, value) };
        }
        // SAFETY: The iterator was started above and is stopped once.
        unsafe { bindings::sg_miter_stop(miter) };
        if stored {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    /// Returns the scatterlist of the pinned pages from the last checkpoint before `offset`, its
    /// entry count from there and the number of bytes to skip in it to reach `offset`, after
    /// checking that `len` bytes from `offset` lie within the region (`EINVAL` otherwise).
    fn sg_range(
        &self,
        offset: usize,
        len: usize,
    ) -> Result<(*mut bindings::scatterlist, c_uint, bindings::off_t)> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len() => (),
            _ => return Err(EINVAL),
        }
        // The scatterlist starts at the page of the first byte (`ib_umem_offset`).
        let first = self.raw().address & !crate::page::PAGE_MASK;
        let skip = offset
            .checked_add(first)
            .and_then(|skip| bindings::off_t::try_from(skip).ok())
            .ok_or(EINVAL)?;
        // The last checkpoint at or before `skip`; the copy starts at its entry.
        let at = self
            .checkpoints
            .partition_point(|c| c.start as bindings::off_t <= skip);
        let checkpoint = at
            .checked_sub(1)
            .and_then(|at| self.checkpoints.get(at))
            .ok_or(EINVAL)?;
        Ok((
            checkpoint.sg.as_ptr(),
            checkpoint.remaining,
            skip - checkpoint.start as bindings::off_t,
        ))
    }

    /// Checks that the region may keep its pages under new access rights when only the rights
    /// change (`ib_umem_check_rereg`): `EACCES` if they need writing and the pages were pinned
    /// read-only.
    pub fn check_access_change(&self, access: Access) -> Result {
        // SAFETY: The umem is valid (type invariant); the call only reads it.
        to_result(unsafe {
            bindings::ib_umem_check_rereg(
                self.umem.as_ptr(),
                bindings::ib_mr_rereg_flags_IB_MR_REREG_ACCESS as c_int,
                access.bits() as c_int,
            )
        })
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: The umem is owned by `self` (type invariant) and not used after this.
        unsafe { bindings::ib_umem_release(self.umem.as_ptr()) };
    }
}

/// The keys of a memory region: the local key names it in local work requests, the remote key
/// in peers' requests (zero without remote rights).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MrKeys {
    /// Local key.
    pub lkey: u32,
    /// Remote key.
    pub rkey: u32,
}

/// What `ibv_advise_mr` advises of a region's buffers (`enum ib_uverbs_advise_mr_advice`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MrAdvice {
    /// Fault the pages in for reading (`IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH`).
    Prefetch,
    /// Fault the pages in for writing (`IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE`).
    PrefetchWrite,
    /// Take the pages that are mapped already, faulting none in
    /// (`IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT`).
    PrefetchNoFault,
}

impl MrAdvice {
    /// Converts the core's value; `None` for an advice this type does not know.
    pub fn from_raw(advice: bindings::ib_uverbs_advise_mr_advice) -> Option<Self> {
        match advice {
            bindings::ib_uverbs_advise_mr_advice_IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH => {
                Some(Self::Prefetch)
            }
            bindings::ib_uverbs_advise_mr_advice_IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE => {
                Some(Self::PrefetchWrite)
            }
            bindings::ib_uverbs_advise_mr_advice_IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT => {
                Some(Self::PrefetchNoFault)
            }
            _ => None,
        }
    }
}

/// A user memory registration request (`reg_user_mr`).
#[derive(Clone, Copy, Debug)]
pub struct UserRegion {
    /// User address of the first byte.
    pub start: u64,
    /// Length in bytes, as requested (not yet checked).
    pub length: u64,
    /// The address peers and work requests use for the first byte.
    pub iova: u64,
    /// Requested rights, checked by the core for consistency but not against the device.
    pub access: Access,
}

/// What a re-registration changes (`rereg_user_mr`).
#[derive(Clone, Copy, Debug)]
pub struct Reregistration {
    /// New translation (`IB_MR_REREG_TRANS`): start, length and I/O virtual address.
    pub translation: Option<(u64, u64, u64)>,
    /// New access rights (`IB_MR_REREG_ACCESS`).
    pub access: Option<Access>,
    /// Whether the protection domain changes (`IB_MR_REREG_PD`).
    pub pd_changes: bool,
}

/// A memory region of driver `T`: a `struct ib_mr` followed by the driver's data.
///
/// # Invariants
///
/// - `ib` is at offset zero.
/// - Every `Mr<T>` the core sees was allocated by [`Mr::into_raw`] and is freed only by
///   [`Mr::free_raw`]; `data` is initialised throughout.
#[repr(C)]
#[pin_data]
pub struct Mr<T: Driver> {
    ib: Opaque<bindings::ib_mr>,
    #[pin]
    data: T::Mr,
}

impl<T: Driver> Mr<T> {
    const OFFSET_IS_ZERO: () = assert!(offset_of!(Self, ib) == 0);

    /// Allocates a region with keys `keys` and data from `init`, for the core to own.
    pub(crate) fn into_raw(
        keys: MrKeys,
        init: impl PinInit<T::Mr, Error>,
    ) -> Result<*mut bindings::ib_mr> {
        let () = Self::OFFSET_IS_ZERO;
        let mr = KBox::try_pin_init(
            try_pin_init!(Self {
                ib: Opaque::zeroed(),
                data <- init,
            }? Error),
            GFP_KERNEL,
        )?;
        // SAFETY: The region is handed to the core, which never moves it; `free_raw` rebuilds
        // the pinned box.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(mr) });
        // SAFETY: `raw` is valid and not yet shared.
        let ib = unsafe { &mut *(*raw).ib.get() };
        ib.lkey = keys.lkey;
        ib.rkey = keys.rkey;
        Ok(raw.cast())
    }

    /// Frees a region allocated by [`Mr::into_raw`], dropping its data. May sleep.
    ///
    /// # Safety
    ///
    /// `raw` must come from [`Mr::into_raw`] and not be used afterwards.
    pub(crate) unsafe fn free_raw(raw: *mut bindings::ib_mr) {
        // SAFETY: By the caller's guarantee `raw` is the `KBox` `into_raw` leaked.
        drop(unsafe { KBox::from_raw(raw.cast::<Self>()) });
    }

    /// Borrows a region of driver `T`.
    ///
    /// # Safety
    ///
    /// `raw` must come from [`Mr::into_raw`] and stay valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(raw: *mut bindings::ib_mr) -> &'a Self {
        // SAFETY: `ib` is at offset zero; validity is guaranteed by the caller.
        unsafe { &*raw.cast::<Self>() }
    }

    /// Returns the driver's data.
    pub fn data(&self) -> &T::Mr {
        &self.data
    }

    /// Returns the I/O virtual address, length and page size of a fast-registration region's
    /// last mapping (`ib_map_mr_sg`).
    ///
    /// # Safety
    ///
    /// The region's consumer must not be mapping it (`ib_map_mr_sg`) during the call.
    pub(crate) unsafe fn mapping(&self) -> MrMapping {
        let ib = self.ib.get();
        // SAFETY: `ib` is valid; the core writes these fields only in `ib_map_mr_sg`, not
        // running (the caller's guarantee). Fields are read through the raw pointer: the core
        // changes others (its pool links, the restrack entry) concurrently.
        unsafe {
            MrMapping {
                iova: core::ptr::addr_of!((*ib).iova).read(),
                length: core::ptr::addr_of!((*ib).length).read(),
                page_size: core::ptr::addr_of!((*ib).page_size).read(),
            }
        }
    }
}

/// Stores `value` at `ptr` with one 64-bit store (`WRITE_ONCE`), which other CPUs see whole or
/// not at all.
///
/// # Safety
///
/// `ptr` is aligned and valid for writes of eight bytes of memory that is not Rust's (user
/// memory, or kernel memory mapped for the device), which others may access concurrently.
unsafe fn store_once(ptr: *mut u64, value: u64) {
    // SAFETY: Aligned and valid (the caller's contract). The memory is accessed concurrently
    // only as DMA accesses it, by user space or an in-kernel consumer, not as a Rust object.
    unsafe { crate::sync::atomic::Atomic::<u64>::from_ptr(ptr) }
        .store(value, crate::sync::atomic::Relaxed);
}

/// Returns a random memory key byte (`get_random_u8`): the low eight bits of a local or
/// remote key, which make a stale or guessed key unlikely to name a live region.
pub fn random_key() -> u8 {
    // SAFETY: `get_random_u8` has no preconditions and may be called in any context.
    unsafe { bindings::get_random_u8() }
}

/// Kernel memory by the DMA addresses a software device's in-kernel consumers give it.
///
/// A device without a DMA engine (`ib_uses_virt_dma`) has the RDMA core's `ib_dma_*` mapping
/// calls return kernel virtual addresses of the direct map: its consumers' work requests, and
/// the pages of their fast-registration regions, name memory by those addresses. The device
/// copies to and from them as hardware would DMA to and from the mapped memory.
///
/// Only this abstraction makes values, and only for regions that in-kernel consumers alone
/// create: the DMA region of a kernel protection domain (`get_dma_mr`) and fast-registration
/// regions (`alloc_mr`). User space never reaches either operation, so the addresses a driver
/// resolves through such a region come from kernel code that mapped the memory for the device
/// and keeps it while its work requests are outstanding, as the DMA API requires of it.
///
/// # Invariants
///
/// A value exists only for a region created by an in-kernel consumer, or to copy an in-kernel
/// consumer's inline payload.
#[derive(Clone, Copy, Debug)]
pub struct KernelDma(());

impl KernelDma {
    /// Returns the capability for a region an in-kernel consumer creates.
    ///
    /// # Safety
    ///
    /// Only for `get_dma_mr` and `alloc_mr` of a device that uses virtual DMA, and for the
    /// elements of in-kernel consumers' inline requests.
    pub(crate) unsafe fn new() -> Self {
        Self(())
    }

    /// Returns the kernel addresses of the `len` bytes at `addr` a page at a time, each with
    /// the range of the caller's buffer it covers; `EFAULT` unless every byte lies in pages of
    /// the direct map (`virt_addr_valid`), checked before anything is copied.
    fn pieces(addr: u64, len: usize) -> Result<impl Iterator<Item = (*mut u8, Range<usize>)>> {
        // The last byte's address must not wrap.
        addr.checked_add(len as u64).ok_or(EFAULT)?;
        let piece = move |done: usize| {
            let at = addr + done as u64;
            let in_page = PAGE_SIZE - (at as usize & (PAGE_SIZE - 1));
            // SAFETY: `ib_virt_dma_to_ptr` only converts the value.
            let ptr = unsafe { bindings::ib_virt_dma_to_ptr(at) }.cast::<u8>();
            (ptr, done..done + in_page.min(len - done))
        };
        let all = move || {
            core::iter::successors((len > 0).then(|| piece(0)), move |(_, range)| {
                (range.end < len).then(|| piece(range.end))
            })
        };
        for (ptr, _) in all() {
            // SAFETY: `virt_addr_valid` only looks the address up.
            if !unsafe { bindings::virt_addr_valid(ptr.cast()) } {
                return Err(EFAULT);
            }
        }
        Ok(all())
    }

    /// Copies the `dst.len()` bytes at DMA address `addr` into `dst`. Does not sleep.
    ///
    /// Fails with `EFAULT` if the range is not kernel memory of the direct map.
    pub fn read(&self, addr: u64, dst: &mut [u8]) -> Result {
        for (ptr, range) in Self::pieces(addr, dst.len())? {
            let dst = &mut dst[range];
            // SAFETY: `ptr` is valid for `dst.len()` bytes of direct-mapped memory in one page
            // (`pieces`) that an in-kernel consumer mapped for the device (type invariant) and
            // may access concurrently, as with DMA; `dst` is the caller's, not overlapping it.
            unsafe { core::ptr::copy_nonoverlapping(ptr, dst.as_mut_ptr(), dst.len()) };
        }
        Ok(())
    }

    /// Stores `value` at DMA address `addr` with one aligned 64-bit store, which other CPUs
    /// see whole or not at all (an IBTA atomic write). Does not sleep.
    ///
    /// Fails with `EINVAL` if `addr` is not 8-byte aligned and `EFAULT` if the bytes are not
    /// kernel memory of the direct map.
    pub fn store_u64(&self, addr: u64, value: u64) -> Result {
        if addr % 8 != 0 {
            return Err(EINVAL);
        }
        let mut pieces = Self::pieces(addr, core::mem::size_of::<u64>())?;
        let (ptr, _) = pieces.next().ok_or(EFAULT)?;
        // SAFETY: `ptr` is aligned (checked above) and valid for eight bytes of direct-mapped
        // memory (`pieces`; aligned, they lie in one page) an in-kernel consumer mapped for the
        // device (type invariant).
        unsafe { store_once(ptr.cast(), value) };
        Ok(())
    }

    /// Copies `src` to DMA address `addr`. Does not sleep.
    ///
    /// Fails with `EFAULT` if the range is not kernel memory of the direct map.
    pub fn write(&self, addr: u64, src: &[u8]) -> Result {
        for (ptr, range) in Self::pieces(addr, src.len())? {
            let src = &src[range];
            // SAFETY: `ptr` is valid for `src.len()` bytes of direct-mapped memory in one page
            // (`pieces`) that an in-kernel consumer mapped for the device (type invariant) and
            // may access concurrently, as with DMA; `src` is the caller's, not overlapping it.
            unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), ptr, src.len()) };
        }
        Ok(())
    }
}
