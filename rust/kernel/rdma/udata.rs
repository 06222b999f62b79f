// SPDX-License-Identifier: GPL-2.0

//! Driver-specific data of a user verb (`struct ib_udata`).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)

use crate::{bindings, error::to_result, prelude::*};
use core::{marker::PhantomData, ptr::NonNull};
use zerocopy::Immutable;

/// The input and output buffers a user verb passes to the driver.
///
/// # Invariants
///
/// `ptr` points to a valid `struct ib_udata` for `'a`, whose buffers are user addresses of the
/// calling process.
pub struct UData<'a> {
    ptr: NonNull<bindings::ib_udata>,
    _p: PhantomData<&'a mut bindings::ib_udata>,
}

impl UData<'_> {
    /// Wraps a possibly null `struct ib_udata` pointer (kernel callers pass none).
    ///
    /// # Safety
    ///
    /// A non-null `ptr` must be valid for the returned lifetime and belong to the current verb.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::ib_udata) -> Option<UData<'a>> {
        // INVARIANT: Validity is guaranteed by the caller.
        NonNull::new(ptr).map(|ptr| UData {
            ptr,
            _p: PhantomData,
        })
    }

    /// Returns the user context the verb runs in, which stays live while the verb runs; null
    /// if it has none.
    pub(crate) fn ucontext_raw(&self) -> *mut bindings::ib_ucontext {
        // SAFETY: Valid by the type invariant; a verb's udata is the driver part of its
        // attribute bundle.
        unsafe { bindings::rdma_udata_to_ucontext(self.raw()) }
    }

    fn raw(&self) -> *mut bindings::ib_udata {
        self.ptr.as_ptr()
    }

    /// Returns the length of the user's input, in bytes.
    pub fn in_len(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.raw()).inlen }
    }

    /// Returns the room for the driver's output, in bytes.
    pub fn out_len(&self) -> usize {
        // SAFETY: Valid by the type invariant.
        unsafe { (*self.raw()).outlen }
    }

    /// Returns whether the user's input from `offset` on is all zero (or absent), so that a
    /// newer user's request has no field this driver would ignore.
    pub fn input_is_zero_from(&self, offset: usize) -> bool {
        let len = self.in_len();
        if offset >= len {
            return true;
        }
        // SAFETY: Valid by the type invariant; the helper reads user memory with checks.
        unsafe { bindings::ib_is_udata_cleared(self.raw(), offset, len - offset) }
    }

    /// Reads a request of type `T` from the user's input.
    ///
    /// A shorter input is zero-extended; fails with `EINVAL` if it is shorter than `min_len`.
    pub fn read<T: FromBytes + IntoBytes + Default>(&self, min_len: usize) -> Result<T> {
        let mut req = T::default();
        let len = self.in_len().min(size_of::<T>());
        if len < min_len {
            return Err(EINVAL);
        }
        // SAFETY: `req` is valid for `len <= size_of::<T>()` bytes and any bytes are a valid `T`.
        to_result(unsafe {
            bindings::ib_copy_from_udata(req.as_mut_bytes().as_mut_ptr().cast(), self.raw(), len)
        })?;
        Ok(req)
    }

    /// Writes `resp` to the user's output: as much of it as fits, zeroing the rest of the
    /// output.
    pub fn respond<T: IntoBytes + Immutable>(&mut self, resp: &T) -> Result {
        let bytes = resp.as_bytes();
        // SAFETY: Valid by the type invariant; `bytes` is valid for its length.
        to_result(unsafe {
            bindings::_ib_respond_udata(self.raw(), bytes.as_ptr().cast(), bytes.len())
        })
    }

    /// Answers a verb that takes no driver-specific data: any input must be zero and the
    /// output is zeroed.
    pub fn no_driver_data(&mut self) -> Result {
        if !self.input_is_zero_from(0) {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: Valid by the type invariant; a zero-length response zeroes the output.
        to_result(unsafe { bindings::_ib_respond_udata(self.raw(), core::ptr::null(), 0) })
    }
}
