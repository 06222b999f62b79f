// SPDX-License-Identifier: GPL-2.0

//! Memory shared with user space through the device's `mmap` (`struct rdma_user_mmap_entry`).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)
//!
//! A driver that shares a queue with its user-space provider allocates a [`SharedBuffer`],
//! publishes it in the user context with [`MmapEntry::insert`] and returns the entry's
//! [`offset`](MmapEntry::offset) in the create response; the provider then maps it with
//! `mmap(2)` on the device file at that offset. The RDMA core finds the entry for the offset
//! and this module's `mmap` operation maps the buffer.
//!
//! The buffer is reference counted: the object that owns the queue and each entry hold it, so
//! it outlives a mapping still being set up when the object is destroyed. Pages already mapped
//! into a process hold their own page references and stay valid until unmapped.
//!
//! An entry is withdrawn when the [`MmapEntry`] drops or, at the latest, when its user context
//! is released: the context keeps the list of its published entries, so an entry the driver
//! keeps longer never reaches the context after it is gone.

use super::udata::UData;
use crate::{
    alloc::AllocError,
    bindings, new_mutex,
    prelude::*,
    sync::{
        atomic::{ordering, Atomic},
        Arc, Mutex,
    },
    types::Opaque,
};
use core::{mem::offset_of, ptr::NonNull};

/// Zeroed kernel memory that can be mapped into user space (`vmalloc_user`).
///
/// The memory is shared with user space, which may write it at any time: the kernel never
/// forms references to it and reads it only through the methods here, which copy or load
/// atomically, so every value read is treated as untrusted input.
///
/// # Invariants
///
/// `ptr` points to `len` bytes from `vmalloc_user`, owned by this value; `len > 0`.
pub struct SharedBuffer {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: The buffer is plain memory, freed with `vfree`, which may run in any thread.
unsafe impl Send for SharedBuffer {}
// SAFETY: All accesses are copies or atomic operations that tolerate concurrent writers.
unsafe impl Sync for SharedBuffer {}

impl SharedBuffer {
    /// Allocates `len` zeroed bytes (rounded up to whole pages by the allocator). May sleep.
    pub fn new(len: usize) -> Result<Self, AllocError> {
        if len == 0 {
            return Err(AllocError);
        }
        // SAFETY: Any size is accepted; the result is null or a valid allocation.
        let ptr = unsafe { bindings::vmalloc_user_noprof(len) };
        // INVARIANT: A non-null result is `len` bytes from `vmalloc_user`.
        Ok(Self {
            ptr: NonNull::new(ptr.cast()).ok_or(AllocError)?,
            len,
        })
    }

    /// Returns the size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the buffer is empty; it never is.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn check(&self, offset: usize, size: usize) -> Result {
        match offset.checked_add(size) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(EINVAL),
        }
    }

    fn atomic_u32(&self, offset: usize) -> Result<&Atomic<u32>> {
        self.check(offset, 4)?;
        if offset % 4 != 0 {
            return Err(EINVAL);
        }
        // SAFETY: In bounds and aligned (checked; the buffer is page aligned). The location is
        // only ever accessed atomically by the kernel; user space's plain accesses do not make
        // the kernel's atomic ones unsound.
        Ok(unsafe { Atomic::from_ptr(self.ptr.as_ptr().add(offset).cast()) })
    }

    /// Loads the `u32` at `offset` with acquire ordering (`smp_load_acquire`): what user space
    /// wrote before releasing it is visible after.
    pub fn load_acquire(&self, offset: usize) -> Result<u32> {
        Ok(self.atomic_u32(offset)?.load(ordering::Acquire))
    }

    /// Stores `value` as the `u32` at `offset` with release ordering (`smp_store_release`).
    pub fn store_release(&self, offset: usize, value: u32) -> Result {
        self.atomic_u32(offset)?.store(value, ordering::Release);
        Ok(())
    }

    /// Copies `dst.len()` bytes from `offset` into `dst`.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        self.check(offset, dst.len())?;
        // SAFETY: The source is in bounds (checked) and `dst` is valid for writes; `memcpy`
        // tolerates user space writing the source meanwhile.
        unsafe {
            bindings::memcpy(
                dst.as_mut_ptr().cast(),
                self.ptr.as_ptr().add(offset).cast(),
                dst.len(),
            )
        };
        Ok(())
    }

    /// Copies `src` to `offset`.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result {
        self.check(offset, src.len())?;
        // SAFETY: The destination is in bounds (checked) and never referenced; `src` is valid.
        unsafe {
            bindings::memcpy(
                self.ptr.as_ptr().add(offset).cast(),
                src.as_ptr().cast(),
                src.len(),
            )
        };
        Ok(())
    }

    /// Copies `len` bytes from `offset` to `dst_offset` in `dst`, which may be this buffer;
    /// the ranges may overlap.
    pub fn copy_to(
        &self,
        offset: usize,
        dst: &SharedBuffer,
        dst_offset: usize,
        len: usize,
    ) -> Result {
        self.check(offset, len)?;
        dst.check(dst_offset, len)?;
        // SAFETY: Both ranges are in bounds (checked) and never referenced.
        unsafe {
            bindings::memmove(
                dst.ptr.as_ptr().add(dst_offset).cast(),
                self.ptr.as_ptr().add(offset).cast(),
                len,
            )
        };
        Ok(())
    }
}

impl Drop for SharedBuffer {
    fn drop(&mut self) {
        // SAFETY: Owned `vmalloc_user` memory (type invariant). Pages still mapped into a
        // process keep their own references and are freed when unmapped.
        unsafe { bindings::vfree(self.ptr.as_ptr().cast()) };
    }
}

/// The allocation behind an [`MmapEntry`], freed by the core's `mmap_free` once unused.
#[repr(C)]
struct Entry {
    raw: Opaque<bindings::rdma_user_mmap_entry>,
    buffer: Arc<SharedBuffer>,
}

/// How every user context the abstractions create begins ([`super::object::UContext`]): the
/// C context, then its published entries, whatever the driver's data after them.
#[repr(C)]
pub(crate) struct ContextHead {
    _raw: Opaque<bindings::ib_ucontext>,
    entries: Arc<ContextEntries>,
}

impl ContextHead {
    pub(crate) const ENTRIES_OFFSET: usize = offset_of!(ContextHead, entries);
}

/// An entry on a context's list.
struct Published(NonNull<Entry>);

// SAFETY: Only the address is kept; the entry is reached under the list's lock.
unsafe impl Send for Published {}

/// The entries a user context has published and not yet withdrawn; `None` once the context is
/// released.
#[pin_data]
pub(crate) struct ContextEntries {
    #[pin]
    published: Mutex<Option<KVec<Published>>>,
}

impl ContextEntries {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                published <- new_mutex!(Some(KVec::new())),
            }),
            GFP_KERNEL,
        )
    }

    /// Withdraws every entry still published: the context is released. Entries that outlive
    /// it find the list gone and leave the context alone. May sleep.
    pub(crate) fn withdraw_all(&self) {
        let left = (*self.published.lock()).take().unwrap_or_default();
        for entry in left {
            // SAFETY: Listed entries are published and hold the driver's reference, which
            // taking the list transferred here; the context is still live (it is being
            // released).
            unsafe { bindings::rdma_user_mmap_entry_remove(entry.0.as_ref().raw.get()) };
        }
    }
}

/// A [`SharedBuffer`] published in a user context for `mmap(2)`.
///
/// Dropping it withdraws the offset (`rdma_user_mmap_entry_remove`) if the context has not done
/// so already: later `mmap` calls fail, existing mappings stay. May sleep when dropped.
///
/// # Invariants
///
/// `entry` was inserted in the user context whose list is `context`. While it is on that list
/// it is valid, holds the driver's reference and the context is live; it leaves the list only
/// under the list's lock, when it is withdrawn.
pub struct MmapEntry {
    entry: NonNull<Entry>,
    context: Arc<ContextEntries>,
    offset: u64,
    len: usize,
}

// SAFETY: The entry is reached only under the context list's lock, and the core synchronises
// its removal.
unsafe impl Send for MmapEntry {}
// SAFETY: The shared methods only read fields fixed at insertion.
unsafe impl Sync for MmapEntry {}

impl MmapEntry {
    const RAW_AT_ZERO: () = assert!(offset_of!(Entry, raw) == 0);

    /// Publishes `buffer` in the user context of the verb `udata` belongs to, so that its user
    /// can map it. May sleep.
    pub fn insert(udata: &UData<'_>, buffer: Arc<SharedBuffer>) -> Result<Self> {
        let () = Self::RAW_AT_ZERO;
        let ctx = udata.ucontext_raw();
        if ctx.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: A verb's user context was created by these abstractions, so it begins as a
        // `ContextHead` with its list initialised, and it is live while the verb runs.
        let context = unsafe { (*ctx.cast::<ContextHead>()).entries.clone() };
        let len = buffer.len();
        let entry = KBox::new(
            Entry {
                // SAFETY: All-zero is the state `rdma_user_mmap_entry_insert` expects.
                raw: Opaque::new(unsafe { core::mem::zeroed() }),
                buffer,
            },
            GFP_KERNEL,
        )?;
        let entry = KBox::into_raw(entry);
        // SAFETY: `ctx` is a live user context and `entry` a zeroed entry that stays valid
        // until `mmap_free`, which the core calls only after a successful insertion.
        let ret = unsafe { bindings::rdma_user_mmap_entry_insert(ctx, (*entry).raw.get(), len) };
        if ret != 0 {
            // SAFETY: Insertion failed, so the core holds no pointer to `entry`.
            drop(unsafe { KBox::from_raw(entry) });
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `entry` came from `KBox::into_raw`.
        let entry = unsafe { NonNull::new_unchecked(entry) };
        // SAFETY: Inserted above, so valid until the driver's reference is dropped.
        let offset = unsafe { bindings::rdma_user_mmap_get_offset(entry.as_ref().raw.get()) };
        let listed = match &mut *context.published.lock() {
            Some(list) => list.push(Published(entry), GFP_KERNEL).map_err(Error::from),
            None => Err(EINVAL),
        };
        if let Err(e) = listed {
            // SAFETY: Inserted above and on no list: the driver's reference is dropped here.
            unsafe { bindings::rdma_user_mmap_entry_remove(entry.as_ref().raw.get()) };
            return Err(e);
        }
        // INVARIANT: Inserted in `ctx` and on its list, with the driver's reference.
        Ok(Self {
            entry,
            context,
            offset,
            len,
        })
    }

    /// Returns the offset user space passes to `mmap(2)`.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Returns the size of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the mapping is empty; it never is.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Drop for MmapEntry {
    fn drop(&mut self) {
        let mut published = self.context.published.lock();
        let Some(list) = &mut *published else {
            // The context was released and withdrew the entry.
            return;
        };
        let Some(at) = list.iter().position(|p| p.0 == self.entry) else {
            return;
        };
        let _ = list.remove(at);
        // The core frees the entry with `mmap_free` once no mapping in progress holds it.
        // SAFETY: Listed, so valid with the driver's reference, and its context is live (it
        // cannot be released while the lock is held); this drops that reference.
        unsafe { bindings::rdma_user_mmap_entry_remove(self.entry.as_ref().raw.get()) };
    }
}

/// The `mmap` and `mmap_free` operations of drivers using [`MmapEntry`].
pub(super) mod callbacks {
    use super::*;

    /// # Safety
    ///
    /// Only called by the RDMA core as `ib_device_ops.mmap`, with a live user context of a
    /// driver whose entries are all [`MmapEntry`]s and a VMA being set up.
    pub(crate) unsafe extern "C" fn mmap(
        ctx: *mut bindings::ib_ucontext,
        vma: *mut bindings::vm_area_struct,
    ) -> c_int {
        // SAFETY: Valid context and VMA, as the core passes them. This takes a reference on the
        // entry, and fails if the VMA's size differs from the entry's.
        let raw = unsafe { bindings::rdma_user_mmap_entry_get(ctx, vma) };
        if raw.is_null() {
            return EINVAL.to_errno();
        }
        let entry = raw.cast::<Entry>();
        // SAFETY: Every entry of the driver is the `raw` field (offset zero) of an `Entry`,
        // which the reference taken above keeps alive.
        let buffer = unsafe { &(*entry).buffer };
        // SAFETY: The VMA is valid and its size equals the buffer's in pages, which are
        // `vmalloc_user` memory.
        let ret = unsafe { bindings::remap_vmalloc_range(vma, buffer.ptr.as_ptr().cast(), 0) };
        // SAFETY: Drops the reference taken above.
        unsafe { bindings::rdma_user_mmap_entry_put(raw) };
        ret
    }

    /// # Safety
    ///
    /// Only called by the RDMA core as `ib_device_ops.mmap_free`, once, when the last
    /// reference to an entry of a driver whose entries are all [`MmapEntry`]s is dropped.
    pub(crate) unsafe extern "C" fn mmap_free(raw: *mut bindings::rdma_user_mmap_entry) {
        // SAFETY: The entry came from `KBox::into_raw` in `MmapEntry::insert` (the `raw` field
        // is at offset zero) and nothing uses it any more.
        drop(unsafe { KBox::from_raw(raw.cast::<Entry>()) });
    }
}
