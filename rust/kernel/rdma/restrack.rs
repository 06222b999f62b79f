// SPDX-License-Identifier: GPL-2.0

//! Driver-specific details of tracked resources: what `rdma res show qp -dd` prints of a
//! queue pair beyond the core's own attributes (`fill_res_qp_entry`).
//!
//! C header: [`include/rdma/restrack.h`](srctree/include/rdma/restrack.h)

use crate::{bindings, error::to_result, prelude::*, str::CStr};
use core::{marker::PhantomData, ptr::NonNull};

/// The driver-specific attributes of one resource entry of a netlink reply
/// (`RDMA_NLDEV_ATTR_DRIVER`): named values, shown in the order they are put.
///
/// Each put fails with `EMSGSIZE` once the reply is full; the core then sends what fit and
/// asks again for the rest.
///
/// # Invariants
///
/// `msg` is the netlink message being filled, valid while `'a` lasts, with the driver
/// attribute nest opened and not yet closed.
pub struct DriverDetails<'a> {
    msg: NonNull<bindings::sk_buff>,
    _message: PhantomData<&'a mut bindings::sk_buff>,
}

impl DriverDetails<'_> {
    /// Puts `value` under `name`, shown in decimal.
    pub fn put_u32(&mut self, name: &CStr, value: u32) -> Result {
        // SAFETY: `msg` is the message being filled (type invariant); `name` is a C string
        // the call copies.
        to_result(unsafe {
            bindings::rdma_nl_put_driver_u32(self.msg.as_ptr(), name.as_char_ptr(), value)
        })
    }

    /// Writes the details `fill` puts into `msg` as its driver attribute nest, which is
    /// taken back whole if `fill` fails: the C entry point of `fill_res_*_entry`.
    ///
    /// # Safety
    ///
    /// `msg` is the netlink message the core is filling for the resource, valid for the call.
    pub(crate) unsafe fn fill(
        msg: *mut bindings::sk_buff,
        fill: impl FnOnce(&mut DriverDetails<'_>) -> Result,
    ) -> c_int {
        let Some(msg) = NonNull::new(msg) else {
            return EINVAL.to_errno();
        };
        // SAFETY: `msg` is valid (the caller's contract).
        let nest = unsafe {
            bindings::nla_nest_start(
                msg.as_ptr(),
                bindings::rdma_nldev_attr_RDMA_NLDEV_ATTR_DRIVER as c_int,
            )
        };
        if nest.is_null() {
            return EMSGSIZE.to_errno();
        }
        // INVARIANT: The nest was just opened in `msg`, which lives for the call.
        let mut details = DriverDetails {
            msg,
            _message: PhantomData,
        };
        match fill(&mut details) {
            Ok(()) => {
                // SAFETY: `nest` was opened in `msg` above and is closed once.
                unsafe { bindings::nla_nest_end(msg.as_ptr(), nest) };
                0
            }
            Err(e) => {
                // SAFETY: `nest` was opened in `msg` above; cancelling trims what was put
                // after it.
                unsafe { bindings::nla_nest_cancel(msg.as_ptr(), nest) };
                e.to_errno()
            }
        }
    }
}
