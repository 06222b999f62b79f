// SPDX-License-Identifier: GPL-2.0

//! Network devices and their event notifications.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/notifier.h`](srctree/include/linux/notifier.h).

use crate::{
    bindings,
    error::to_result,
    prelude::*,
    sync::aref::AlwaysRefCounted,
    types::Opaque, //
};
use core::ptr::NonNull;

/// A network device (`struct net_device`).
///
/// References are counted with `dev_hold`/`dev_put`; `ARef<NetDevice>` owns one.
///
/// # Invariants
///
/// A `&NetDevice` points to a valid `struct net_device` whose reference count is held (by the
/// caller or by a C context that guarantees the device outlives the borrow).
#[repr(transparent)]
pub struct NetDevice(Opaque<bindings::net_device>);

// SAFETY: `struct net_device` is used from any thread; its fields read here are either immutable
// after registration or read with the same tolerance for concurrent updates as C readers.
unsafe impl Send for NetDevice {}
// SAFETY: See `Send`; shared access only reads.
unsafe impl Sync for NetDevice {}

// SAFETY: `dev_hold`/`dev_put` maintain the reference count; the device is not freed while a
// reference is held.
unsafe impl AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: `self` is a valid net_device by the type invariant.
        unsafe { bindings::dev_hold(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference, which is given up here.
        unsafe { bindings::dev_put(obj.cast().as_ptr()) };
    }
}

impl NetDevice {
    /// Borrows a `NetDevice` from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct net_device` that stays alive (referenced) for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `NetDevice` is transparent over the C struct; validity is guaranteed by the
        // caller.
        unsafe { &*ptr.cast() }
    }

    /// Returns the raw `struct net_device` pointer.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// Returns the MTU, which may change concurrently (as `READ_ONCE(dev->mtu)` in C).
    pub fn mtu(&self) -> u32 {
        // SAFETY: Valid by the type invariant; a racy read of an aligned integer, as in C.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// Returns the hardware address if it is an Ethernet (six-byte) address.
    pub fn ethernet_address(&self) -> Option<[u8; 6]> {
        let dev = self.as_raw();
        // SAFETY: Valid by the type invariant; `dev_addr` points to `addr_len` bytes.
        unsafe {
            if (*dev).addr_len != 6 || (*dev).dev_addr.is_null() {
                return None;
            }
            let mut mac = [0u8; 6];
            core::ptr::copy_nonoverlapping((*dev).dev_addr, mac.as_mut_ptr(), 6);
            Some(mac)
        }
    }

    /// Adds the Ethernet multicast address `addr` to the device's list (`dev_mc_add`), so
    /// that it receives frames sent to it. The list counts references: each add is undone by
    /// one [`NetDevice::remove_multicast`]. Does not sleep.
    ///
    /// Fails with `EINVAL` on a device whose addresses are not Ethernet's, and `ENOMEM`.
    pub fn add_multicast(&self, addr: &[u8; 6]) -> Result {
        self.ethernet_address().ok_or(EINVAL)?;
        // SAFETY: Valid by the type invariant; `addr` holds the device's `addr_len` (six,
        // checked above) bytes. The function takes the address list's own lock.
        to_result(unsafe { bindings::dev_mc_add(self.as_raw(), addr.as_ptr()) })
    }

    /// Removes one reference to the Ethernet multicast address `addr` from the device's list
    /// (`dev_mc_del`). Does not sleep.
    ///
    /// Fails with `EINVAL` on a device whose addresses are not Ethernet's and `ENOENT` if the
    /// list does not hold the address.
    pub fn remove_multicast(&self, addr: &[u8; 6]) -> Result {
        self.ethernet_address().ok_or(EINVAL)?;
        // SAFETY: Valid by the type invariant; `addr` holds the device's `addr_len` (six,
        // checked above) bytes. The function takes the address list's own lock.
        to_result(unsafe { bindings::dev_mc_del(self.as_raw(), addr.as_ptr()) })
    }

    /// Returns whether the device is administratively up and running (`netif_running`).
    pub fn is_running(&self) -> bool {
        // SAFETY: Valid by the type invariant.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// Returns whether the device has carrier (`netif_carrier_ok`).
    pub fn has_carrier(&self) -> bool {
        // SAFETY: Valid by the type invariant.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Returns whether the device is a VLAN device.
    pub fn is_vlan(&self) -> bool {
        // SAFETY: Valid by the type invariant.
        unsafe { bindings::is_vlan_dev(self.as_raw()) }
    }

    /// Returns the device's interface index.
    pub fn ifindex(&self) -> i32 {
        // SAFETY: Valid by the type invariant; the index does not change while registered and
        // is read as C reads it.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).ifindex) }
    }

    /// Returns the cookie of the network namespace the device is in now: a number no other
    /// namespace has had or will have, to tell namespaces apart. A device may move to another
    /// namespace at any time.
    pub fn namespace_cookie(&self) -> u64 {
        let _rcu = crate::sync::rcu::read_lock();
        // SAFETY: Valid by the type invariant. Under the RCU read lock the namespace the device
        // is in is not freed; its cookie is written once, when it is created.
        unsafe { (*bindings::dev_net_rcu(self.as_raw())).net_cookie }
    }

    /// Returns whether the device is fully registered (not yet being unregistered).
    pub fn is_registered(&self) -> bool {
        // SAFETY: Valid by the type invariant; `reg_state` is an aligned byte read racily as in
        // C, with transitions serialised by RTNL.
        let state = unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).reg_state) };
        u32::from(state) == bindings::netdev_reg_state_NETREG_REGISTERED
    }
}

/// A network device event (`NETDEV_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetdevEvent {
    /// The device was brought up.
    Up,
    /// The device was brought down.
    Down,
    /// The device's state (carrier, for example) changed.
    Change,
    /// The device's MTU changed.
    ChangeMtu,
    /// The device is being unregistered.
    Unregister,
    /// Any other event, by its `NETDEV_*` number.
    Other(u64),
}

impl NetdevEvent {
    fn from_raw(event: u64) -> Self {
        match event as u32 {
            bindings::netdev_cmd_NETDEV_UP => Self::Up,
            bindings::netdev_cmd_NETDEV_DOWN => Self::Down,
            bindings::netdev_cmd_NETDEV_CHANGE => Self::Change,
            bindings::netdev_cmd_NETDEV_CHANGEMTU => Self::ChangeMtu,
            bindings::netdev_cmd_NETDEV_UNREGISTER => Self::Unregister,
            _ => Self::Other(event),
        }
    }
}

/// A handler of network device events.
pub trait NetdevNotifier: Send + Sync {
    /// Called for every event of every network device, in process context with RTNL held.
    ///
    /// Registration replays `Up` (and registration) events for existing devices.
    fn event(&self, event: NetdevEvent, dev: &NetDevice);
}

/// A registered netdevice notifier (`register_netdevice_notifier`) delivering events to `T`.
///
/// # Invariants
///
/// `nb` is registered with the netdevice notifier chain from the end of initialisation until
/// drop, and its `notifier_call` is [`Self::notifier_call`].
#[pin_data(PinnedDrop)]
pub struct NetdevNotifierRegistration<T: NetdevNotifier> {
    handler: T,
    #[pin]
    nb: Opaque<bindings::notifier_block>,
}

// SAFETY: The notifier chain is only changed through register/unregister, which lock; the handler
// is `Send`.
unsafe impl<T: NetdevNotifier> Send for NetdevNotifierRegistration<T> {}
// SAFETY: Shared access only reads the handler, which is `Sync`.
unsafe impl<T: NetdevNotifier> Sync for NetdevNotifierRegistration<T> {}

impl<T: NetdevNotifier> NetdevNotifierRegistration<T> {
    /// Registers `handler` for network device events.
    pub fn new(handler: T) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            handler,
            nb <- Opaque::try_ffi_init(|nb: *mut bindings::notifier_block| {
                // SAFETY: `nb` is valid for writes; it is zeroed and given its callback before
                // registration.
                unsafe {
                    nb.write(bindings::notifier_block {
                        notifier_call: Some(Self::notifier_call),
                        ..Default::default()
                    });
                    to_result(bindings::register_netdevice_notifier(nb))
                }
            }),
        })
    }

    /// # Safety
    ///
    /// Only called by the netdevice notifier chain, with `nb` registered by [`Self::new`] and
    /// `ptr` a `struct netdev_notifier_info`.
    unsafe extern "C" fn notifier_call(
        nb: *mut bindings::notifier_block,
        event: usize,
        ptr: *mut c_void,
    ) -> c_int {
        // SAFETY: `nb` is the `nb` field of a registered `Self` (type invariant), which is pinned
        // and alive until unregistered in drop.
        let this = unsafe { &*crate::container_of!(Opaque::cast_from(nb), Self, nb) };
        // SAFETY: For netdevice notifiers `ptr` is a `struct netdev_notifier_info`, whose device
        // is held by the caller for the duration of the call.
        let dev = unsafe { NetDevice::from_raw(bindings::netdev_notifier_info_to_dev(ptr.cast())) };
        this.handler.event(NetdevEvent::from_raw(event as u64), dev);
        bindings::NOTIFY_DONE as c_int
    }
}

#[pinned_drop]
impl<T: NetdevNotifier> PinnedDrop for NetdevNotifierRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `nb` was registered in `new` (type invariant).
        unsafe { bindings::unregister_netdevice_notifier(self.nb.get()) };
    }
}
