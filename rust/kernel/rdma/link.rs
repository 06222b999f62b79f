// SPDX-License-Identifier: GPL-2.0

//! RDMA link types: `rdma link add NAME type TYPE netdev DEV`.
//!
//! C header: [`include/rdma/rdma_netlink.h`](srctree/include/rdma/rdma_netlink.h)
//!
//! The core calls a link type's `newlink` without any context, so each [`Link`] names a static
//! [`LinkSlot`] through which the callback finds the registration. A constant reference to a
//! static always names that one static, so every use of [`Link::SLOT`] finds the same slot. A
//! module that registers a link type also needs the alias `rdma-link-TYPE`, so that
//! `rdma link add` loads it.

use crate::{bindings, net::netdevice::NetDevice, prelude::*, types::Opaque};
use core::sync::atomic::{AtomicPtr, Ordering};

/// A link type and its state.
pub trait Link: Send + Sync + Sized + 'static {
    /// The type name given to `rdma link add ... type TYPE`.
    const TYPE: &'static CStr;

    /// The slot that holds this link type's registration: a reference to a `static`.
    const SLOT: &'static LinkSlot<Self>;

    /// Creates a device named `name` on `netdev`.
    ///
    /// Called in process context without RTNL; it may sleep.
    fn newlink(&self, name: &CStr, netdev: &NetDevice) -> Result;
}

/// Where the registration of link type `T` is found by the core's callback.
///
/// Declare one as a `static` per link type.
pub struct LinkSlot<T: Link>(AtomicPtr<Registration<T>>);

impl<T: Link> LinkSlot<T> {
    /// Creates an empty slot.
    pub const fn new() -> Self {
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }
}

impl<T: Link> Default for LinkSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A registered link type.
///
/// # Invariants
///
/// From the end of initialisation until drop, `ops` is on the core's list of link types and
/// `T::SLOT` points to this registration.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Link> {
    #[pin]
    link: T,
    #[pin]
    ops: Opaque<bindings::rdma_link_ops>,
}

// SAFETY: The core only reads `ops` under its own lock; `T` is `Send`.
unsafe impl<T: Link> Send for Registration<T> {}
// SAFETY: The core only reads `ops` under its own lock; `T` is `Sync`.
unsafe impl<T: Link> Sync for Registration<T> {}

impl<T: Link> Registration<T> {
    /// Registers link type `T` with state `link`. Fails with `EBUSY` if `T` is registered
    /// already, or another link type has the name `T::TYPE` (the core then warns once).
    pub fn new(link: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            link <- link,
            ops <- Opaque::try_ffi_init(|ops: *mut bindings::rdma_link_ops| {
                // SAFETY: `ops` is the `ops` field of a pinned `Self` whose `link` is
                // initialised (fields initialise in order).
                let this = unsafe { crate::container_of!(Opaque::cast_from(ops), Self, ops) };
                T::SLOT
                    .0
                    .compare_exchange(
                        core::ptr::null_mut(),
                        this.cast_mut(),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .map_err(|_| EBUSY)?;
                // The core leaves a link type whose name it knows off its list (and returns
                // nothing): the node, linked to itself here, stays so then.
                // SAFETY: `ops` is valid for writes and pinned; once on the core's list it
                // stays there until `rdma_link_unregister` in drop.
                let listed = unsafe {
                    ops.write(bindings::rdma_link_ops {
                        type_: T::TYPE.as_char_ptr(),
                        newlink: Some(Self::newlink),
                        ..core::mem::zeroed()
                    });
                    let node = core::ptr::addr_of_mut!((*ops).list);
                    (*node).next = node;
                    (*node).prev = node;
                    bindings::rdma_link_register(ops);
                    // Others may relink the node concurrently (under the core's lock) only if
                    // it is listed; a volatile read sees either way whether it left itself.
                    core::ptr::addr_of!((*node).next).read_volatile() != node
                };
                if !listed {
                    T::SLOT.0.store(core::ptr::null_mut(), Ordering::Release);
                    return Err(EBUSY);
                }
                Ok::<(), Error>(())
            }),
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core as `rdma_link_ops.newlink`, with a NUL-terminated name and
    /// a held network device.
    unsafe extern "C" fn newlink(name: *const c_char, ndev: *mut bindings::net_device) -> c_int {
        let this = T::SLOT.0.load(Ordering::Acquire);
        if this.is_null() {
            return ENODEV.to_errno();
        }
        // SAFETY: The core calls `newlink` only while the link type is registered, during
        // which the slot points to the live registration (type invariant); unregistration
        // waits for running calls.
        let this = unsafe { &*this };
        // SAFETY: The core passes a NUL-terminated name and a held netdev, valid for the call.
        let (name, ndev) = unsafe { (CStr::from_char_ptr(name), NetDevice::from_raw(ndev)) };
        match this.link.newlink(name, ndev) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

#[pinned_drop]
impl<T: Link> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered in `new` (type invariant). Unregistering waits for `newlink` calls
        // in progress, after which the slot is no longer read.
        unsafe { bindings::rdma_link_unregister(self.ops.get()) };
        T::SLOT.0.store(core::ptr::null_mut(), Ordering::Release);
    }
}
