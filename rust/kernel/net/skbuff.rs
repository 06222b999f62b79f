// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`).
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)
//!
//! An [`SkBuff`] owns one socket buffer: dropping it frees the buffer, and handing it to the
//! stack (see [`super::route`]) gives it up. Only the linear part of a buffer is reachable,
//! and writing is refused while a clone shares the buffer's data.

use crate::{alloc::Flags, bindings, error::to_result, prelude::*};
use core::ptr::NonNull;

/// An owned socket buffer.
///
/// It holds no destructor and no socket: whatever keeps track of the packet it carries does so
/// in its own types, so freeing the buffer, in whatever context the stack does it, calls back
/// into nothing.
///
/// # Invariants
///
/// `ptr` points to a valid `struct sk_buff` this value holds the only reference to, with no
/// destructor and no socket set by this abstraction.
pub struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: The buffer is owned; it may be used from any context and freed from any but hard
// interrupt context (or with interrupts disabled), as the stack's buffers are.
unsafe impl Send for SkBuff {}
// SAFETY: Shared references only read the buffer.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Allocates a buffer with `headroom` bytes reserved in front of its data, for headers
    /// pushed later, and room for `len` bytes of data.
    pub fn alloc(headroom: usize, len: usize, flags: Flags) -> Result<Self> {
        let size = headroom.checked_add(len).ok_or(EINVAL)?;
        let size = u32::try_from(size).map_err(|_| EINVAL)?;
        let reserve = c_int::try_from(headroom).map_err(|_| EINVAL)?;
        // SAFETY: Any size and flags are valid; `NUMA_NO_NODE` allocates on any node.
        let skb = unsafe { bindings::__alloc_skb(size, flags.as_raw(), 0, bindings::NUMA_NO_NODE) };
        let ptr = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: A new, empty buffer of `headroom + len` bytes: `headroom` fits. The network
        // header starts at the data, so no uninitialised headroom is ever read as headers.
        unsafe {
            bindings::skb_reserve(ptr.as_ptr(), reserve);
            bindings::skb_reset_network_header(ptr.as_ptr());
        }
        // INVARIANT: A new buffer, owned here, with no destructor or socket.
        Ok(Self { ptr })
    }

    /// Takes ownership of a buffer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct sk_buff` whose reference the caller gives up, and
    /// that has no destructor that relies on anything but the buffer itself.
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: The caller's guarantee.
        Self { ptr }
    }

    /// Gives up ownership of the buffer.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// Returns the raw `struct sk_buff`.
    pub(crate) fn as_raw(&self) -> *mut bindings::sk_buff {
        self.ptr.as_ptr()
    }

    /// Returns the length of the data, linear or not.
    pub fn len(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.as_raw()).len as usize }
    }

    /// Returns the interface index of the network device the packet arrived on (`skb_iif`);
    /// zero for a buffer that did not arrive.
    pub fn ingress_ifindex(&self) -> i32 {
        // SAFETY: Valid by the type invariant; `headers` is the member of the union in use.
        unsafe { (*self.as_raw()).__bindgen_anon_4.headers.as_ref().skb_iif }
    }

    /// Returns whether the buffer holds no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the bytes free in front of the data.
    pub fn headroom(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { bindings::skb_headroom(self.as_raw()) as usize }
    }

    /// Returns the bytes free after the data.
    pub fn tailroom(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        let room = unsafe { bindings::skb_tailroom(self.as_raw()) };
        usize::try_from(room).unwrap_or(0)
    }

    /// Returns a second buffer that shares this one's data (`skb_clone`), to hand the same
    /// packet to two owners: each may read it and drop it on its own, and neither writes it
    /// while the other lives. Does not sleep with an atomic `flags`.
    pub fn try_clone(&self, flags: Flags) -> Result<Self> {
        // SAFETY: Valid by the type invariant. The clone takes its own reference to the shared
        // data; `skb_clone` gives it no socket and no destructor.
        let skb = unsafe { bindings::skb_clone(self.as_raw(), flags.as_raw()) };
        // INVARIANT: A new buffer header, owned here, with no destructor or socket.
        Ok(Self {
            ptr: NonNull::new(skb).ok_or(ENOMEM)?,
        })
    }

    /// Returns whether a clone shares the buffer's data, which then must not be written.
    fn is_cloned(&self) -> bool {
        // SAFETY: Valid by the type invariant.
        unsafe { bindings::skb_cloned(self.as_raw()) != 0 }
    }

    /// Makes all of the data linear (`skb_linearize`), so that [`Self::data`] covers it.
    pub fn linearize(&mut self) -> Result {
        // SAFETY: Valid and owned by the type invariant.
        to_result(unsafe { bindings::skb_linearize(self.as_raw()) })
    }

    /// Returns the linear part of the data: all of it after [`Self::linearize`].
    pub fn data(&self) -> &[u8] {
        let skb = self.as_raw();
        // SAFETY: Valid by the type invariant; `data` points to `skb_headlen` initialised
        // bytes of the buffer's head, which live as long as the buffer and do not change while
        // it is borrowed (writes need `&mut self`, and clones only read).
        unsafe {
            let len = bindings::skb_headlen(skb) as usize;
            core::slice::from_raw_parts((*skb).data, len)
        }
    }

    /// Returns the bytes from the network header to the data: the headers the stack has
    /// already pulled (the IP and UDP headers of a datagram a UDP socket received). Empty if
    /// no network header is set in front of the data.
    pub fn pulled_headers(&self) -> &[u8] {
        let skb = self.as_raw();
        // SAFETY: Valid by the type invariant. The network header lies within the buffer's
        // head, as does the data: the bytes between them, when the header is in front of the
        // data, were written when the packet was received or built, and are only read here.
        unsafe {
            let offset = bindings::skb_network_offset(skb);
            if offset >= 0 {
                return &[];
            }
            let len = offset.unsigned_abs() as usize;
            core::slice::from_raw_parts((*skb).data.sub(len), len)
        }
    }

    /// Appends `bytes` to the data; `ENOSPC` if the tailroom is short, `EBUSY` if a clone
    /// shares the data.
    pub fn put_slice(&mut self, bytes: &[u8]) -> Result {
        self.put_with(bytes.len(), |dst| {
            dst.copy_from_slice(bytes);
            Ok(())
        })
    }

    /// Appends `len` bytes that `fill` writes (zeroed first); `ENOSPC` if the tailroom is
    /// short, `EBUSY` if a clone shares the data. If `fill` fails, the bytes are taken back.
    pub fn put_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> Result) -> Result {
        if self.is_cloned() {
            return Err(EBUSY);
        }
        if len > self.tailroom() {
            return Err(ENOSPC);
        }
        let skb = self.as_raw();
        // SAFETY: Valid and owned; `len` bytes of tailroom exist, so the C function does not
        // panic, and it returns them zeroed. No clone shares them.
        let dst = unsafe {
            let at = bindings::skb_put_zero(skb, len as u32).cast::<u8>();
            core::slice::from_raw_parts_mut(at, len)
        };
        let filled = fill(dst);
        if filled.is_err() {
            // SAFETY: Valid and owned; the `len` bytes just appended are linear and are taken
            // back (`__skb_trim` to the previous length).
            unsafe { bindings::__skb_trim(skb, (*skb).len - len as u32) };
        }
        filled
    }

    /// Prepends `bytes` to the data; `ENOSPC` if the headroom is short, `EBUSY` if a clone
    /// shares the data.
    pub fn push_slice(&mut self, bytes: &[u8]) -> Result {
        if self.is_cloned() {
            return Err(EBUSY);
        }
        if bytes.len() > self.headroom() {
            return Err(ENOSPC);
        }
        // SAFETY: Valid and owned; `bytes.len()` bytes of headroom exist, so the C function
        // does not panic, and the returned bytes are written at once. No clone shares them.
        unsafe {
            let at = bindings::skb_push(self.as_raw(), bytes.len() as u32).cast::<u8>();
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len());
        }
        Ok(())
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: The buffer is owned (type invariant) and given up here.
        unsafe { bindings::kfree_skb(self.as_raw()) };
    }
}
