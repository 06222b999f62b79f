// SPDX-License-Identifier: GPL-2.0

//! Verbs objects allocated by the RDMA core with driver data embedded.
//!
//! The core allocates `size_ib_<object>` bytes, zeroed, with the C object (`struct ib_pd`, ...)
//! at offset zero, fills the core's fields and calls the driver's create operation; after the
//! driver's destroy operation (or a failed create) it frees the memory. The containers here put
//! the driver's data right after the C object: a create operation initialises it in place and
//! the destroy operation drops it in place.

use super::{
    device::Driver,
    mmap::{ContextEntries, ContextHead},
    Device,
};
use crate::{
    bindings,
    prelude::*,
    sync::{Arc, Completion, Refcount},
    types::Opaque,
};
use core::{mem::offset_of, ops::Deref, ptr::NonNull};

/// Declares the methods common to the containers of core-allocated verbs objects.
///
/// `$name` must be `#[repr(C)]`, with the C object as its first field `raw: Opaque<bindings::$c>`
/// and the driver's data in `data: T::$data`; its invariants must guarantee those of
/// `core_object!`'s containers.
macro_rules! core_object_methods {
    ($name:ident, $c:ident, $data:ident, $device:expr) => {
        #[allow(
            dead_code,
            reason = "each object's create and destroy use these once wired"
        )]
        impl<T: Driver> $name<T> {
            const OFFSET_IS_ZERO: () = assert!(offset_of!(Self, raw) == 0);

            /// Returns the driver's data of this object.
            pub fn data(&self) -> &T::$data {
                &self.data
            }

            /// Returns the raw C object.
            pub fn as_raw(&self) -> *mut bindings::$c {
                self.raw.get()
            }

            /// Returns the device this object belongs to.
            pub fn device(&self) -> &Device<T> {
                let raw = self.as_raw();
                // SAFETY: `raw` is valid (type invariant). The core sets the device before
                // calling the driver and it outlives every object of the device; it is a
                // `Device<T>` as these objects are only created through `T`'s operations.
                unsafe { Device::from_raw($device(raw)) }
            }

            /// Returns the size the core must allocate for this object.
            pub(crate) const fn alloc_size() -> usize {
                let () = Self::OFFSET_IS_ZERO;
                size_of::<Self>()
            }

            /// Initialises the driver data of a core-allocated object.
            ///
            /// # Safety
            ///
            /// `raw` must be a core-allocated object of size [`Self::alloc_size`] whose data is
            /// not initialised.
            unsafe fn init_data(
                raw: *mut bindings::$c,
                init: impl PinInit<T::$data, Error>,
            ) -> Result {
                let this = raw.cast::<Self>();
                // SAFETY: By the caller's guarantee `this` points to an allocation of `Self`
                // with uninitialised data, which the core never moves.
                unsafe { pin_init::raw_try_init(&raw mut (*this).data, init) }
            }

            /// Borrows a core object whose data is initialised.
            ///
            /// # Safety
            ///
            /// `raw` must point to a `Self` with initialised data, valid for `'a`.
            pub unsafe fn from_raw<'a>(raw: *mut bindings::$c) -> &'a Self {
                // SAFETY: The C object is at offset zero of `Self` (see `OFFSET_IS_ZERO`).
                unsafe { &*raw.cast::<Self>() }
            }

            /// Drops the driver data of a core object.
            ///
            /// # Safety
            ///
            /// `raw` must point to a `Self` with initialised data that is not used afterwards.
            pub(crate) unsafe fn drop_data(raw: *mut bindings::$c) {
                let this = raw.cast::<Self>();
                // SAFETY: By the caller's guarantee the data is initialised and unused after.
                unsafe { core::ptr::drop_in_place(&raw mut (*this).data) };
            }
        }
    };
}

/// Declares a container for a core-allocated verbs object.
macro_rules! core_object {
    ($(#[$meta:meta])* $name:ident, $c:ident, $data:ident, $device:expr) => {
        $(#[$meta])*
        ///
        /// # Invariants
        ///
        /// The C object is at offset zero, was allocated by the RDMA core with the size given in
        /// the driver's operations, and `data` is initialised while the object exists for the
        /// driver (from a successful create until destroy).
        #[repr(C)]
        pub struct $name<T: Driver> {
            raw: Opaque<bindings::$c>,
            data: T::$data,
        }

        core_object_methods!($name, $c, $data, $device);

        #[allow(dead_code, reason = "each object's create uses this once wired")]
        impl<T: Driver> $name<T> {
            /// Initialises the driver data of a core-allocated object.
            ///
            /// # Safety
            ///
            /// `raw` must be a core-allocated object of size [`Self::alloc_size`] whose data is
            /// not initialised.
            pub(crate) unsafe fn init(
                raw: *mut bindings::$c,
                init: impl PinInit<T::$data, Error>,
            ) -> Result {
                // SAFETY: The caller's guarantee.
                unsafe { Self::init_data(raw, init) }
            }
        }
    };
}

/// A user context (`struct ib_ucontext`): one process's open of the device.
///
/// Besides the driver's data it keeps the context's published mmap entries, so that the entries
/// the driver still holds when the context goes are withdrawn then (see [`super::mmap`]).
///
/// # Invariants
///
/// - The C object is at offset zero and was allocated by the RDMA core with the size given in
///   the driver's operations. `mmap` and `data` are initialised from a successful create until
///   the context is released.
/// - Up to `mmap`, the layout is [`ContextHead`]'s, whatever `T`.
#[repr(C)]
pub struct UContext<T: Driver> {
    raw: Opaque<bindings::ib_ucontext>,
    mmap: Arc<ContextEntries>,
    data: T::UContext,
}

core_object_methods!(
    UContext,
    ib_ucontext,
    UContext,
    |raw: *mut bindings::ib_ucontext| (*raw).device
);

impl<T: Driver> UContext<T> {
    const HEAD_MATCHES: () = assert!(offset_of!(Self, mmap) == ContextHead::ENTRIES_OFFSET);

    /// Initialises a core-allocated user context: its mmap entries, then the driver's data.
    ///
    /// # Safety
    ///
    /// `raw` must be a core-allocated context of size [`Self::alloc_size`] whose fields are not
    /// initialised.
    pub(crate) unsafe fn init(
        raw: *mut bindings::ib_ucontext,
        init: impl PinInit<T::UContext, Error>,
    ) -> Result {
        let () = Self::HEAD_MATCHES;
        let entries = ContextEntries::new()?;
        let this = raw.cast::<Self>();
        // SAFETY: By the caller's guarantee `this` points to an allocation of `Self` whose
        // `mmap` is uninitialised.
        unsafe { (&raw mut (*this).mmap).write(entries) };
        // SAFETY: The caller's guarantee: the data is uninitialised.
        let res = unsafe { Self::init_data(raw, init) };
        if res.is_err() {
            // SAFETY: Written above; the core frees the context without calling the driver.
            unsafe { core::ptr::drop_in_place(&raw mut (*this).mmap) };
        }
        res
    }

    /// Releases a user context (`dealloc_ucontext`): drops the driver's data, then withdraws
    /// the mmap entries the driver still holds, which the core requires gone before it frees
    /// the context.
    ///
    /// # Safety
    ///
    /// `raw` must point to a `Self` initialised by [`Self::init`] that is not used afterwards.
    pub(crate) unsafe fn release(raw: *mut bindings::ib_ucontext) {
        // SAFETY: The caller's guarantee.
        unsafe { Self::drop_data(raw) };
        let this = raw.cast::<Self>();
        // SAFETY: Initialised (the caller's guarantee) and no longer used by anything else:
        // entries that outlive the context only reach its list, which this empties.
        unsafe {
            (*this).mmap.withdraw_all();
            core::ptr::drop_in_place(&raw mut (*this).mmap);
        }
    }
}

core_object!(
    /// A protection domain (`struct ib_pd`).
    Pd,
    ib_pd,
    Pd,
    |raw: *mut bindings::ib_pd| (*raw).device
);

core_object!(
    /// An address handle (`struct ib_ah`).
    Ah,
    ib_ah,
    Ah,
    |raw: *mut bindings::ib_ah| (*raw).device
);

core_object!(
    /// A completion queue (`struct ib_cq`).
    Cq,
    ib_cq,
    Cq,
    |raw: *mut bindings::ib_cq| (*raw).device
);

/// A queue pair (`struct ib_qp`).
///
/// Besides the driver's data it holds a usage count, so that the driver can keep the queue pair
/// beyond the operation that handed it over, as a [`QpRef`]: destroying the queue pair waits
/// until every [`QpRef`] is gone.
///
/// # Invariants
///
/// - The C object is at offset zero and was allocated by the RDMA core with the size given in
///   the driver's operations. `data`, `users` and `unused` are initialised from a successful
///   create until destroy.
/// - `users` counts one for the core, from a successful create until the destroy operation
///   drops it (`Qp::release`), and one for each [`QpRef`]; it is never zero while a `&Qp<T>`
///   is reachable outside the destroy operation. `unused` is completed once `users` reaches
///   zero, and `data` is dropped only after that.
#[repr(C)]
pub struct Qp<T: Driver> {
    raw: Opaque<bindings::ib_qp>,
    data: T::Qp,
    users: Refcount,
    unused: Completion,
}

core_object_methods!(Qp, ib_qp, Qp, |raw: *mut bindings::ib_qp| (*raw).device);

core_object!(
    /// A shared receive queue (`struct ib_srq`).
    Srq,
    ib_srq,
    Srq,
    |raw: *mut bindings::ib_srq| (*raw).device
);

core_object!(
    /// A memory window (`struct ib_mw`).
    Mw,
    ib_mw,
    Mw,
    |raw: *mut bindings::ib_mw| (*raw).device
);

/// An object's asynchronous event handler, as the core registers it.
type EventHandler = Option<unsafe extern "C" fn(*mut bindings::ib_event, *mut crate::ffi::c_void)>;

/// Reports event `event` of the object `element` names on `device` to `handler`, if any.
/// Does not sleep.
///
/// # Safety
///
/// `handler` and `context` must be what the core registered for that object, which must be
/// valid for the call.
unsafe fn report(
    handler: EventHandler,
    context: *mut crate::ffi::c_void,
    device: *mut bindings::ib_device,
    element: bindings::ib_event__bindgen_ty_1,
    event: u32,
) {
    let Some(handler) = handler else { return };
    let mut ev = bindings::ib_event {
        device,
        element,
        event,
    };
    // SAFETY: `ev` names a valid object and lives for the call, `context` is the one its
    // handler was registered with (the caller's guarantee); the core's event handlers may be
    // called from any context.
    unsafe { handler(&mut ev, context) };
}

impl<T: Driver> Cq<T> {
    /// Reports completions to the CQ's consumer (`comp_handler`): the completion event the
    /// consumer armed with `req_notify_cq`. The driver decides when an armed event is due.
    /// Does not sleep.
    pub fn notify_completion(&self) {
        let raw = self.as_raw();
        // SAFETY: `raw` is valid (type invariant); the core sets the handler and its context
        // before the CQ is used and does not change them while it exists.
        let (handler, context) = unsafe { ((*raw).comp_handler, (*raw).cq_context) };
        if let Some(handler) = handler {
            // SAFETY: The handler takes the CQ and the context it was registered with; the
            // core's handlers may be called from any context.
            unsafe { handler(raw, context) };
        }
    }

    /// Reports an asynchronous event of this CQ to its consumer (`event_handler`). Does not
    /// sleep.
    pub fn report_event(&self, event: super::wc::CqEvent) {
        let raw = self.as_raw();
        // SAFETY: `raw` is valid (type invariant); the handler and context are set by the core
        // before the CQ is used and do not change while it exists.
        unsafe {
            report(
                (*raw).event_handler,
                (*raw).cq_context,
                (*raw).device,
                bindings::ib_event__bindgen_ty_1 { cq: raw },
                event as u32,
            )
        };
    }
}

impl<T: Driver> Qp<T> {
    /// Returns the queue pair's number.
    pub fn qp_num(&self) -> u32 {
        // SAFETY: `raw` is valid (type invariant); the number is set once the QP is created.
        unsafe { (*self.as_raw()).qp_num }
    }

    /// Returns the CQ of the queue pair's send completions.
    pub fn send_cq(&self) -> Option<&Cq<T>> {
        // SAFETY: `raw` is valid (type invariant). The core sets the CQ before the driver
        // creates the QP and holds it (`usecnt`) until the QP is destroyed.
        let cq = unsafe { (*self.as_raw()).send_cq };
        // SAFETY: A CQ of this device, so created through `T` with initialised data, valid
        // while the QP is (see above).
        (!cq.is_null()).then(|| unsafe { Cq::<T>::from_raw(cq) })
    }

    /// Returns the CQ of the queue pair's receive completions.
    pub fn recv_cq(&self) -> Option<&Cq<T>> {
        // SAFETY: As in `send_cq`.
        let cq = unsafe { (*self.as_raw()).recv_cq };
        // SAFETY: As in `send_cq`.
        (!cq.is_null()).then(|| unsafe { Cq::<T>::from_raw(cq) })
    }

    /// Returns the shared receive queue the queue pair takes receive requests from.
    pub fn srq(&self) -> Option<&Srq<T>> {
        // SAFETY: `raw` is valid (type invariant). The core sets the SRQ before the driver
        // creates the QP and holds it (`usecnt`) until the QP is destroyed.
        let srq = unsafe { (*self.as_raw()).srq };
        // SAFETY: An SRQ of this device, so created through `T` with initialised data, valid
        // while the QP is (see above).
        (!srq.is_null()).then(|| unsafe { Srq::<T>::from_raw(srq) })
    }

    /// Reports an asynchronous event of this queue pair to its consumer (`event_handler`).
    /// Does not sleep.
    pub fn report_event(&self, event: super::wc::QpEvent) {
        let raw = self.as_raw();
        // SAFETY: `raw` is valid (type invariant); the handler and context are set by the core
        // before the driver creates the QP and do not change while it exists.
        unsafe {
            report(
                (*raw).event_handler,
                (*raw).qp_context,
                (*raw).device,
                bindings::ib_event__bindgen_ty_1 { qp: raw },
                event as u32,
            )
        };
    }
}

impl<T: Driver> Srq<T> {
    /// Reports an asynchronous event of this shared receive queue to its consumer
    /// (`event_handler`). Does not sleep.
    pub fn report_event(&self, event: super::wc::SrqEvent) {
        let raw = self.as_raw();
        // SAFETY: `raw` is valid (type invariant); the handler and context are set by the core
        // before the driver creates the SRQ and do not change while it exists.
        unsafe {
            report(
                (*raw).event_handler,
                (*raw).srq_context,
                (*raw).device,
                bindings::ib_event__bindgen_ty_1 { srq: raw },
                event as u32,
            )
        };
    }
}

impl<T: Driver> Qp<T> {
    /// Initialises the driver data and the usage count of a core-allocated queue pair.
    ///
    /// # Safety
    ///
    /// `raw` must be a core-allocated queue pair of size [`Self::alloc_size`] whose data is not
    /// initialised.
    pub(crate) unsafe fn init(
        raw: *mut bindings::ib_qp,
        init: impl PinInit<T::Qp, Error>,
    ) -> Result {
        // SAFETY: The caller's guarantee.
        unsafe { Self::init_data(raw, init)? };
        let this = raw.cast::<Self>();
        // INVARIANT: The count starts with the core's.
        //
        // SAFETY: By the caller's guarantee `this` points to an allocation of `Self`, which the
        // core never moves; nothing refers to the count or the completion yet. Neither needs
        // dropping, so a queue pair whose create fails later on is freed as is.
        unsafe {
            (&raw mut (*this).users).write(Refcount::new(1));
            pin_init::raw_init(&raw mut (*this).unused, Completion::new());
        }
        Ok(())
    }

    /// Takes a counted reference to the queue pair, which keeps it and its data alive until
    /// dropped; see [`QpRef`]. Does not sleep.
    pub fn new_ref(&self) -> QpRef<T> {
        // `users` is not zero while `self` is reachable (type invariant), so it cannot reach
        // zero (and the queue pair be dropped) until the new reference drops its count.
        self.users.inc();
        // INVARIANT: The count was just taken for the new reference.
        QpRef {
            qp: NonNull::from(self),
        }
    }

    /// Drops the core's usage count of a queue pair and waits until every [`QpRef`] of it is
    /// gone. Sleeps.
    ///
    /// # Safety
    ///
    /// `raw` must point to a queue pair of `T` with initialised data whose core count has not
    /// been dropped yet, and no `&Qp<T>` may be used afterwards but through a [`QpRef`].
    pub(crate) unsafe fn release(raw: *mut bindings::ib_qp) {
        let this = raw.cast::<Self>();
        // SAFETY: By the caller's guarantee `this` is a queue pair with initialised data, so
        // with an initialised count and completion (type invariant). The caller's memory stays
        // allocated for the call.
        let (users, unused) = unsafe { (&(*this).users, &(*this).unused) };
        // INVARIANT: The core's count is dropped; by the caller's guarantee the queue pair is
        // reachable only through the `QpRef`s that remain, which hold the count above zero.
        if users.dec_and_test() {
            return;
        }
        // The last `QpRef` to drop completes `unused`. The queue pair cannot be freed before:
        // a reference the driver never drops hangs this destroy, which is reported every
        // `QP_RELEASE_REPORT_SECONDS` for as long as it waits, with a backtrace once a minute
        // has passed.
        let mut waited = 0;
        while !unused.wait_for_completion_timeout(crate::time::msecs_to_jiffies(
            QP_RELEASE_REPORT_SECONDS * 1000,
        )) {
            waited += QP_RELEASE_REPORT_SECONDS;
            // SAFETY: The queue pair is allocated while it waits (see above).
            let qpn = unsafe { (*raw).qp_num };
            pr_warn!("destroying QP {qpn:#x}: references still held after {waited} s\n");
            crate::warn_on!(waited == 6 * QP_RELEASE_REPORT_SECONDS);
        }
    }
}

/// How often destroying a queue pair reports that [`QpRef`]s still hold it.
const QP_RELEASE_REPORT_SECONDS: u32 = 10;

/// A counted reference to a queue pair of driver `T`, which keeps the queue pair and its data
/// alive.
///
/// With it a driver can keep queue pairs beyond the operation that handed them over: in a
/// table that finds them by number for received packets, or in work items that process them
/// later. The queue pair's completion queues, shared receive queue and device stay alive as
/// well, as the core releases them only after the queue pair is destroyed.
///
/// Destroying the queue pair waits (sleeping) until every reference is dropped: the driver must
/// drop those it keeps, or make sure they are dropped soon, in [`Driver::destroy_qp`].
///
/// Dropping a reference does not sleep and may happen in any context.
///
/// # Invariants
///
/// `qp` points to a queue pair of `T` on whose usage count this value holds one.
pub struct QpRef<T: Driver> {
    qp: NonNull<Qp<T>>,
}

// SAFETY: A `QpRef` may be dropped on any thread: that decrements an atomic count and may
// complete a completion, both allowed in any context. Sending it lets another thread use the
// `&Qp<T>` it derefs to while other references are used elsewhere; that is sound as `Qp<T>` is
// safe to share, as argued for `Sync` below.
unsafe impl<T: Driver> Send for QpRef<T> {}

// SAFETY: Sharing a `QpRef` shares the `&Qp<T>` it derefs to, and cloning it takes another count
// atomically. Everything reachable through `&Qp<T>` may be used from several threads at once:
// - The driver data of the queue pair, of its CQs and SRQ and of its device is `Sync`, as
//   `Driver` requires of all its data types, and `Device<T>` is `Sync`.
// - The C fields read (`qp_num`, `send_cq`, `recv_cq`, `srq`, `event_handler` and `qp_context`
//   of the queue pair; `comp_handler`, `event_handler` and `cq_context` of its CQs; `device`)
//   are set by the core or by `create_qp` before create returns, which is before any `QpRef`
//   exists, and do not change while the queue pair exists: the CQs and SRQ cannot be destroyed
//   or changed while a queue pair uses them (`usecnt`), the core never re-targets events of a
//   non-XRC queue pair (the only kind `create_qp` accepts) and a queue pair's CQs never change.
// - `Qp::report_event`, `Cq::notify_completion` and `Cq::report_event` call the consumer's
//   handlers, which the core allows from any context and thread; the count (`new_ref`) is
//   atomic; `as_raw` and `handle` only copy values.
unsafe impl<T: Driver> Sync for QpRef<T> {}

impl<T: Driver> Deref for QpRef<T> {
    type Target = Qp<T>;

    fn deref(&self) -> &Qp<T> {
        // SAFETY: The count this holds keeps the queue pair and its data alive (type
        // invariant).
        unsafe { self.qp.as_ref() }
    }
}

impl<T: Driver> Clone for QpRef<T> {
    fn clone(&self) -> Self {
        (**self).new_ref()
    }
}

impl<T: Driver> Drop for QpRef<T> {
    fn drop(&mut self) {
        // SAFETY: The count this holds keeps the queue pair valid until it is dropped below
        // (type invariant).
        let qp = unsafe { self.qp.as_ref() };
        if qp.users.dec_and_test() {
            // The core's count is gone, so the destroy operation waits on `unused`: the queue
            // pair stays allocated until this completion wakes it, and `complete_all` does not
            // touch the completion once the waiter may run on.
            qp.unused.complete_all();
        }
    }
}
