// SPDX-License-Identifier: GPL-2.0

//! User memory reached on demand (`struct ib_umem_odp`): its pages are not pinned but faulted
//! in when the device needs them, and given up when the process's mappings change.
//!
//! C headers: [`include/rdma/ib_umem_odp.h`](srctree/include/rdma/ib_umem_odp.h),
//! [`include/linux/hmm.h`](srctree/include/linux/hmm.h),
//! [`include/linux/mmu_notifier.h`](srctree/include/linux/mmu_notifier.h)

use super::device::{Device, Driver};
use super::mr::Access;
use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    new_mutex, new_spinlock_bh,
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    sync::{Mutex, SpinLockBh},
};
use core::{ops::Range, ptr::NonNull};

/// An entry of the page table maps its page (`HMM_PFN_VALID`).
const PFN_VALID: c_ulong = bindings::hmm_pfn_flags_HMM_PFN_VALID as c_ulong;
/// An entry of the page table maps its page writable in the process (`HMM_PFN_WRITE`).
const PFN_WRITE: c_ulong = bindings::hmm_pfn_flags_HMM_PFN_WRITE as c_ulong;
/// The flag bits of an HMM page frame entry (`HMM_PFN_FLAGS`); the rest is the frame number.
const PFN_FLAGS: c_ulong = bindings::hmm_pfn_flags_HMM_PFN_FLAGS as c_ulong;

/// User memory a device reaches through on-demand paging (`struct ib_umem_odp`).
///
/// Nothing is pinned. The device sees the pages through a table of page frames that
/// [`OdpUmem::fault`] fills (it may sleep) and that the MMU interval notifier empties, range by
/// range, before the kernel changes the process's mappings. Copies never sleep and never fault:
/// a copy that meets a page not in the table (or mapped read-only, for a write) fails with
/// `EAGAIN`, and its caller faults the range in from a context that may sleep before it tries
/// again.
///
/// Dropping may sleep: it waits for an invalidation in progress.
///
/// # Invariants
///
/// - `odp` was returned by `ib_umem_odp_get` with [`ODP_OPS`] for `length` bytes at `address`
///   of the creating process, is owned by this value and released on drop.
/// - Its `private` field points to `*table` (written under its `umem_mutex` before the value
///   was returned, cleared under it on drop), and its page size is `PAGE_SIZE`.
/// - `first_page` is the address of the first page (`ib_umem_start`); the table has an entry
///   for every page from it to the end of the memory.
pub struct OdpUmem {
    odp: NonNull<bindings::ib_umem_odp>,
    table: Pin<KBox<PageTable>>,
    address: u64,
    length: usize,
    first_page: u64,
    writable: bool,
}

/// Entries of a [`PageTable`] handled under one hold of its lock: a fault or an invalidation of
/// gigabytes keeps bottom halves disabled a chunk at a time.
const TABLE_CHUNK: usize = 512;

/// The device's view of the pages of an [`OdpUmem`].
///
/// # Invariants
///
/// An entry is zero or the HMM page frame entry of the page mapped at its address in the
/// owning process, with `HMM_PFN_VALID`, and with `HMM_PFN_WRITE` only if the mapping is
/// writable. Entries are set under the umem's `umem_mutex` from a fault whose invalidation
/// sequence was checked under that mutex, and cleared by the notifier, under the mutex and the
/// lock, before the mapping changes: while the lock is held, every page an entry names stays
/// mapped, and so allocated.
#[pin_data]
struct PageTable {
    #[pin]
    pages: SpinLockBh<KVVec<c_ulong>>,
    /// Held across a fault: the HMM walk writes the umem's frame list without its mutex, so
    /// two walks at once could leave one's stale entries in place of the other's.
    #[pin]
    faulting: Mutex<()>,
}

impl PageTable {
    /// Forgets the pages with indices in `range`, marking those the device could write dirty,
    /// a chunk at a time. Called with the umem's `umem_mutex` held, either by the notifier
    /// (the pages stay mapped until it returns) or before the umem is released (no
    /// invalidation can run meanwhile): each page an entry names is mapped until its entry is
    /// cleared.
    fn forget(&self, range: Range<usize>) {
        let mut at = range.start;
        loop {
            let mut pages = self.pages.lock();
            let end = range.end.min(pages.len());
            if at >= end {
                return;
            }
            let stop = end.min(at + TABLE_CHUNK);
            for entry in pages.get_mut(at..stop).into_iter().flatten() {
                if *entry & (PFN_VALID | PFN_WRITE) == PFN_VALID | PFN_WRITE {
                    // SAFETY: The entry names a page mapped in the process (type invariant and
                    // the caller's mutex, above). Marking it dirty does not sleep: the page
                    // table's own teardown does it under a spinlock.
                    unsafe { bindings::set_page_dirty(bindings::hmm_pfn_to_page(*entry)) };
                }
                *entry = 0;
            }
            drop(pages);
            at = stop;
        }
    }
}

// SAFETY: The umem is changed only under its mutex (faults and invalidations) and the page
// table's locks; `ib_umem_odp_release` may run on any thread in process context.
unsafe impl Send for OdpUmem {}
// SAFETY: Shared access reads fields fixed at creation, takes the page table's locks, and copies
// to and from user pages that stay mapped while the table lock is held (`PageTable`'s
// invariant) and that user space may access concurrently anyway.
unsafe impl Sync for OdpUmem {}

impl OdpUmem {
    /// Registers `len` bytes of the calling process's memory at `addr` for `dev`, to be faulted
    /// in on demand (`ib_umem_odp_get`), writable if `access` has any of
    /// [`Access::WRITABLE`]. No page is faulted in yet. May sleep.
    ///
    /// Fails with `EINVAL` on an empty or wrapping range, `EFAULT` in a kernel thread (which
    /// has no user memory), and `EOPNOTSUPP` for the whole address space (implicit on-demand
    /// paging, which has no table of its own) and for [`Access::HUGETLB`] (the table has an
    /// entry per base page).
    pub fn new<T: Driver>(dev: &Device<T>, addr: u64, len: u64, access: Access) -> Result<Self> {
        if (addr == 0 && len == u64::MAX) || access.contains(Access::HUGETLB) {
            return Err(EOPNOTSUPP);
        }
        // The memory is the current process's: a kernel thread has none.
        if crate::current!().mm().is_none() {
            return Err(EFAULT);
        }
        let length = usize::try_from(len).map_err(|_| EINVAL)?;
        let start = c_ulong::try_from(addr).map_err(|_| EINVAL)?;
        if length == 0 || addr.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        let access = access | Access::ON_DEMAND;
        // SAFETY: `dev` is a registered device; the core registers the range of the current
        // process's address space, and `ODP_OPS` lives forever.
        let odp = from_err_ptr(unsafe {
            bindings::ib_umem_odp_get(
                dev.as_raw(),
                start,
                length,
                access.bits() as c_int,
                &ODP_OPS,
            )
        })?;
        let odp = NonNull::new(odp).ok_or(ENOMEM)?;
        // SAFETY: `odp` was just returned by `ib_umem_odp_get`; these fields do not change.
        let (first_page, end, page_shift, writable) = unsafe {
            let raw = odp.as_ptr();
            (
                (*raw).notifier.interval_tree.start,
                (*raw).notifier.interval_tree.last + 1,
                (*raw).page_shift,
                (*raw).umem.writable() != 0,
            )
        };
        let pages = (end - first_page) >> PAGE_SHIFT;
        let table = (page_shift as usize == PAGE_SHIFT)
            .then_some(())
            .ok_or(EINVAL)
            .and_then(|()| Ok(KVVec::from_elem(0, pages, GFP_KERNEL)?))
            .and_then(|pages| {
                KBox::pin_init(
                    pin_init!(PageTable {
                        pages <- new_spinlock_bh!(pages),
                        faulting <- new_mutex!(()),
                    }),
                    GFP_KERNEL,
                )
            });
        let table = match table {
            Ok(table) => table,
            Err(e) => {
                // SAFETY: Returned by `ib_umem_odp_get` above and not used after this.
                unsafe { bindings::ib_umem_odp_release(odp.as_ptr()) };
                return Err(e);
            }
        };
        // SAFETY: `odp` is valid; `private` is read by the notifier under `umem_mutex`, and the
        // table outlives it (it is dropped after the umem is released).
        unsafe {
            let raw = odp.as_ptr();
            bindings::mutex_lock(&raw mut (*raw).umem_mutex);
            (*raw).private = (&raw const *table).cast_mut().cast();
            bindings::mutex_unlock(&raw mut (*raw).umem_mutex);
        }
        // INVARIANT: The umem is owned, its `private` points to the table, which has an entry
        // per page from its first page.
        Ok(Self {
            odp,
            table,
            address: addr,
            length,
            first_page: first_page as u64,
            writable,
        })
    }

    /// Returns the user address of the first byte.
    pub fn address(&self) -> u64 {
        self.address
    }

    /// Returns the length in bytes.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Returns whether the memory is empty; it never is.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Returns whether the device may write the memory (it was registered with a right that
    /// lets it).
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Returns the indices of the pages of the `len` bytes `offset` bytes after the first byte,
    /// and the offset of the first of them from the first page; `EINVAL` unless they lie within
    /// the memory.
    fn pages_of(&self, offset: usize, len: usize) -> Result<(Range<usize>, usize)> {
        match offset.checked_add(len) {
            Some(end) if end <= self.length => (),
            _ => return Err(EINVAL),
        }
        // Within the memory, whose span fits in the address space.
        let from_first = (self.address - self.first_page) as usize + offset;
        let last = (from_first + len.max(1) - 1) >> PAGE_SHIFT;
        Ok(((from_first >> PAGE_SHIFT)..last + 1, from_first))
    }

    /// Calls `f` with each piece of the `len` bytes `offset` bytes after the first byte that
    /// lies in one page, mapped, and the range of the caller's buffer it covers, once every
    /// page is known to be in the table (writable if `write`): all of the bytes or none.
    /// `EAGAIN` if a page is not.
    fn with_mapped(
        &self,
        offset: usize,
        len: usize,
        write: bool,
        mut f: impl FnMut(*mut u8, Range<usize>),
    ) -> Result {
        if write && !self.writable {
            return Err(EACCES);
        }
        let (pages_range, from_first) = self.pages_of(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        let needed = match write {
            true => PFN_VALID | PFN_WRITE,
            false => PFN_VALID,
        };
        let pages = self.table.pages.lock();
        let entries = pages.get(pages_range).ok_or(EINVAL)?;
        if entries.iter().any(|entry| entry & needed != needed) {
            return Err(EAGAIN);
        }
        let mut done = 0;
        for entry in entries {
            let within = (from_first + done) % PAGE_SIZE;
            let take = (PAGE_SIZE - within).min(len - done);
            // SAFETY: The entry names a page mapped in the process (checked above), which stays
            // mapped while the table lock is held (`PageTable`'s invariant); the mapping is
            // undone below, in this context, and does not sleep.
            unsafe {
                let mapped = bindings::kmap_local_page(bindings::hmm_pfn_to_page(*entry));
                f(mapped.cast::<u8>().add(within), done..done + take);
                bindings::kunmap_local(mapped);
            }
            done += take;
        }
        Ok(())
    }

    /// Copies `dst.len()` bytes of the memory, starting `offset` bytes after its first byte
    /// ([`OdpUmem::address`]), into `dst`.
    ///
    /// Does not sleep. Fails with `EINVAL` if the range does not lie within the memory and
    /// `EAGAIN` if a page of it is not faulted in (see [`OdpUmem::fault`]); nothing is copied
    /// then.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        let dst_ptr = dst.as_mut_ptr();
        self.with_mapped(offset, dst.len(), false, |page, range| {
            // SAFETY: `page` maps `range.len()` bytes of a page that stays mapped for the call;
            // `range` lies within `dst`, which is Rust memory and cannot overlap a user page.
            unsafe { core::ptr::copy_nonoverlapping(page, dst_ptr.add(range.start), range.len()) }
        })
    }

    /// Copies `src` into the memory, starting `offset` bytes after its first byte
    /// ([`OdpUmem::address`]).
    ///
    /// Does not sleep. Fails with `EINVAL` if the range does not lie within the memory,
    /// `EACCES` if the memory is not writable ([`OdpUmem::writable`]) and `EAGAIN` if a page of
    /// it is not faulted in for writing; nothing is copied then.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result {
        self.with_mapped(offset, src.len(), true, |page, range| {
            // SAFETY: `page` maps `range.len()` bytes of a page mapped writable in the process,
            // which stays mapped for the call; `range` lies within `src`.
            unsafe {
                core::ptr::copy_nonoverlapping(src[range.clone()].as_ptr(), page, range.len())
            }
        })
    }

    /// Stores `value` in the eight bytes `offset` bytes after the first byte
    /// ([`OdpUmem::address`]) with one aligned 64-bit store, which other CPUs see whole or not
    /// at all (an IBTA atomic write).
    ///
    /// Does not sleep. Fails as [`OdpUmem::write`] does, and with `EINVAL` if the bytes are not
    /// 8-byte aligned.
    pub fn store_u64(&self, offset: usize, value: u64) -> Result {
        const LEN: usize = core::mem::size_of::<u64>();
        let mut stored = false;
        self.with_mapped(offset, LEN, true, |page, range| {
            let target = page.cast::<u64>();
            if range.len() == LEN && target.is_aligned() {
                // SAFETY: `target` is aligned and maps eight bytes of a page mapped writable in
                // the process, which stays mapped for the call; it is user memory.
                unsafe { core::ptr::write_volatile(target, value) };
                stored = true;
            }
        })?;
        match stored {
            true => Ok(()),
            false => Err(EINVAL),
        }
    }

    /// Faults in the pages of the `len` bytes `offset` bytes after the first byte, writable if
    /// `write` (`ib_umem_odp_map_dma_and_lock`), and puts them in the table: copies of them go
    /// ahead until the process's mappings of them change. May sleep.
    ///
    /// Fails with `EINVAL` if the range does not lie within the memory, `EACCES` for a write to
    /// memory that is not writable, and as the fault does: `EFAULT` where nothing is mapped (or
    /// not with the rights asked), `EBUSY` if the mappings kept changing, `EINVAL` once the
    /// process has exited.
    pub fn fault(&self, offset: usize, len: usize, write: bool) -> Result {
        self.map(offset, len, write, true)
    }

    /// Puts the pages of the `len` bytes `offset` bytes after the first byte that are mapped
    /// already in the table, faulting none in (`ib_umem_odp_map_dma_and_lock` without a fault).
    /// May sleep.
    ///
    /// Fails with `EINVAL` if the range does not lie within the memory or once the process has
    /// exited, and `EBUSY` if the mappings kept changing.
    pub fn map_present(&self, offset: usize, len: usize) -> Result {
        self.map(offset, len, false, false)
    }

    /// Maps the pages of the range into the table, faulting them in (writable if `write`) if
    /// `fault`.
    fn map(&self, offset: usize, len: usize, write: bool, fault: bool) -> Result {
        if write && !self.writable {
            return Err(EACCES);
        }
        let (pages_range, _) = self.pages_of(offset, len)?;
        if len == 0 {
            return Ok(());
        }
        let access_mask = match write {
            true => PFN_WRITE as u64,
            false => 0,
        };
        let _faulting = self.table.faulting.lock();
        let raw = self.odp.as_ptr();
        // SAFETY: The umem is valid (type invariant) and the range lies within it (checked
        // above). On success the call returns with `umem_mutex` held.
        to_result(unsafe {
            bindings::ib_umem_odp_map_dma_and_lock(
                raw,
                self.address + offset as u64,
                len as u64,
                access_mask,
                fault,
            )
        })?;
        // The device writes only memory registered writable, whatever the mapping allows.
        let kept = match self.writable {
            true => PFN_VALID | PFN_WRITE | !PFN_FLAGS,
            false => PFN_VALID | !PFN_FLAGS,
        };
        let mut at = pages_range.start;
        while at < pages_range.end {
            let stop = pages_range.end.min(at + TABLE_CHUNK);
            let mut pages = self.table.pages.lock();
            for index in at..stop {
                // The entries of the range faulted are those of the sequence the fault checked:
                // `umem_mutex` is held, and `faulting` keeps any other walk off the list.
                // SAFETY: The frame list has an entry per page, as the table, and `index` is one.
                let entry = unsafe { *(*raw).map.pfn_list.add(index) };
                if let Some(slot) = pages.get_mut(index) {
                    // INVARIANT: Valid entries of a checked fault, under the mutex.
                    *slot = match entry & PFN_VALID {
                        0 => 0,
                        _ => entry & kept,
                    };
                }
            }
            drop(pages);
            at = stop;
        }
        // SAFETY: `umem_mutex` is held since the fault above succeeded.
        unsafe { bindings::mutex_unlock(&raw mut (*raw).umem_mutex) };
        Ok(())
    }
}

impl Drop for OdpUmem {
    fn drop(&mut self) {
        let raw = self.odp.as_ptr();
        // SAFETY: The umem is owned by `self` (type invariant). The pages the device could write
        // are marked dirty, and the notifier no longer finds the table, before the umem (and
        // its notifier, waiting for an invalidation in progress) is released.
        unsafe {
            bindings::mutex_lock(&raw mut (*raw).umem_mutex);
            self.table.forget(0..usize::MAX);
            (*raw).private = core::ptr::null_mut();
            bindings::mutex_unlock(&raw mut (*raw).umem_mutex);
            bindings::ib_umem_odp_release(raw);
        }
    }
}

/// The notifier of every [`OdpUmem`].
static ODP_OPS: bindings::mmu_interval_notifier_ops = bindings::mmu_interval_notifier_ops {
    invalidate: Some(invalidate),
    invalidate_start: None,
    invalidate_finish: None,
};

/// Called by the MMU notifier before the process's mappings of some of the umem's pages
/// change: the table forgets them, and the core unmaps them, before this returns.
///
/// # Safety
///
/// `notifier` is the notifier of an `ib_umem_odp` inserted by `ib_umem_odp_get` with
/// [`ODP_OPS`], and `range` a valid range, for the call.
unsafe extern "C" fn invalidate(
    notifier: *mut bindings::mmu_interval_notifier,
    range: *const bindings::mmu_notifier_range,
    cur_seq: c_ulong,
) -> bool {
    // SAFETY: The notifier is embedded in an `ib_umem_odp` (function contract).
    let odp = unsafe { crate::container_of!(notifier, bindings::ib_umem_odp, notifier) };
    // SAFETY: `odp` and `range` are valid for the call (function contract).
    let locked = unsafe {
        let mutex = &raw mut (*odp).umem_mutex;
        match bindings::mmu_notifier_range_blockable(range) {
            true => {
                bindings::mutex_lock(mutex);
                true
            }
            // The OOM reaper may not sleep: it tries again later if the mutex is taken.
            false => bindings::mutex_trylock(mutex) != 0,
        }
    };
    if !locked {
        return false;
    }
    // SAFETY: `odp` and `range` are valid for the call, and `umem_mutex` is held (above).
    // `private` is null or points to the page table of the `OdpUmem` that owns the umem,
    // which clears it under the mutex before the umem and then the table go away.
    unsafe {
        bindings::mmu_interval_set_seq(notifier, cur_seq);
        let first = (*odp).notifier.interval_tree.start;
        let end = (*odp).notifier.interval_tree.last + 1;
        let start = (*range).start.max(first);
        let stop = (*range).end.min(end);
        if start < stop {
            let table = (*odp).private.cast::<PageTable>().cast_const();
            if let Some(table) = table.as_ref() {
                let pages = ((start - first) >> PAGE_SHIFT)..(stop - first).div_ceil(PAGE_SIZE);
                table.forget(pages);
            }
            bindings::ib_umem_odp_unmap_dma_pages(odp, start as u64, stop as u64);
        }
        bindings::mutex_unlock(&raw mut (*odp).umem_mutex);
    }
    true
}
