// SPDX-License-Identifier: GPL-2.0

//! RDMA devices (`struct ib_device`).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)
//!
//! A device passes through three states, each with its own type:
//!
//! - [`UnregisteredDevice`] owns a newly allocated device and its driver data. Dropping it frees
//!   both.
//! - [`UnregisteredDevice::register`] hands the device to the RDMA core and returns a
//!   [`DeviceHandle`], a counted reference to the device's memory (`get_device`). From then on the
//!   core owns the device: it unregisters it on `rdma link del`, on [`DeviceHandle::unregister`]
//!   or [`DeviceGuard::unregister_queued`], and then drops the driver data (`dealloc_driver`).
//! - [`DeviceGuard`] holds the registration (`ib_device_try_get`): while it lives the device
//!   stays registered, so its driver data may be used.
//!
//! A `&Device<T>` therefore always implies live driver data: operations receive one from the
//! core while registered, and the types above hand one out only while the data exists.

use crate::{
    bindings, error::to_result, net::netdevice::NetDevice, prelude::*, sync::aref::ARef,
    types::Opaque,
};
use core::{marker::PhantomData, mem::offset_of, ptr::NonNull};

mod operations;

use self::operations::OperationsVTable;
pub use self::operations::{Driver, MwKind};

/// An RDMA device of driver `T`, with the driver's data.
///
/// # Invariants
///
/// - `ib` is at offset zero, and the whole `Device<T>` was allocated by `_ib_alloc_device`.
/// - `data` is initialised whenever a `&Device<T>` exists (see the module documentation).
#[repr(C)]
pub struct Device<T: Driver> {
    ib: Opaque<bindings::ib_device>,
    data: T::Data,
}

// SAFETY: The core synchronises its own fields; the driver data is `Send`.
unsafe impl<T: Driver> Send for Device<T> {}
// SAFETY: The core synchronises its own fields; the driver data is `Sync`.
unsafe impl<T: Driver> Sync for Device<T> {}

impl<T: Driver> Device<T> {
    const LAYOUT_OK: () = {
        assert!(offset_of!(Self, ib) == 0);
        // `_ib_alloc_device` uses `kzalloc`, which guarantees this alignment.
        assert!(align_of::<Self>() <= bindings::ARCH_KMALLOC_MINALIGN);
    };

    /// Borrows the device behind a `struct ib_device` of driver `T`.
    ///
    /// # Safety
    ///
    /// `ib` must be the `ib` field of a `Device<T>` whose data is initialised and stays so for
    /// `'a`.
    pub(crate) unsafe fn from_raw<'a>(ib: *mut bindings::ib_device) -> &'a Self {
        // SAFETY: `ib` is at offset zero (type invariant); validity is guaranteed by the caller.
        unsafe { &*ib.cast::<Self>() }
    }

    /// Returns the raw `struct ib_device`.
    pub fn as_raw(&self) -> *mut bindings::ib_device {
        self.ib.get()
    }

    /// Returns the driver's data.
    pub fn data(&self) -> &T::Data {
        &self.data
    }

    /// Returns the network device of `port`, if one is associated.
    pub fn netdev(&self, port: u32) -> Option<ARef<NetDevice>> {
        // SAFETY: The device is valid; the core returns a held reference or null.
        let ndev = unsafe { bindings::ib_device_get_netdev(self.as_raw(), port) };
        // SAFETY: `ndev` is a valid net_device whose reference is transferred to the `ARef`.
        NonNull::new(ndev).map(|p| unsafe { ARef::from_raw(p.cast()) })
    }

    /// Returns the Ethernet speed and width of `port` (`ib_get_eth_speed`): the
    /// `(enum ib_port_speed, enum ib_port_width)` that match the netdev's link speed. Takes
    /// RTNL, so it must not be called with it held.
    pub fn eth_speed(&self, port: u32) -> Result<(u16, u8)> {
        let (mut speed, mut width) = (0u16, 0u8);
        // SAFETY: The device is valid; the pointers are valid for writes.
        to_result(unsafe {
            bindings::ib_get_eth_speed(self.as_raw(), port, &mut speed, &mut width)
        })?;
        Ok((speed, width))
    }
}

/// A newly allocated, unregistered device, owning its driver data.
///
/// # Invariants
///
/// `self.0` is a device allocated by `_ib_alloc_device` with initialised data and `T`'s
/// operations, owned by this value and not registered.
pub struct UnregisteredDevice<T: Driver>(NonNull<Device<T>>);

impl<T: Driver> UnregisteredDevice<T> {
    /// Allocates a device with one port, whose data `data` initialises.
    ///
    /// `owner` is the driver's module: the core holds it while user space has the device
    /// open. `node_guid` is in network byte order. May sleep.
    pub fn new(
        owner: &'static ThisModule,
        node_guid: u64,
        data: impl PinInit<T::Data, Error>,
    ) -> Result<Self> {
        let () = Device::<T>::LAYOUT_OK;
        // SAFETY: `init_net` is a valid namespace that outlives every device.
        let ib = unsafe {
            bindings::_ib_alloc_device(size_of::<Device<T>>(), &raw mut bindings::init_net)
        };
        let ib = NonNull::new(ib).ok_or(ENOMEM)?;
        let dev = ib.cast::<Device<T>>();

        // SAFETY: The allocation is `Device<T>`-sized and zeroed; `data` is uninitialised and
        // is never moved.
        let res = unsafe { pin_init::raw_try_init(&raw mut (*dev.as_ptr()).data, data) };
        if let Err(e) = res {
            // SAFETY: No operations are set yet, so this frees the device without touching
            // the uninitialised data.
            unsafe { bindings::ib_dealloc_device(ib.as_ptr()) };
            return Err(e);
        }

        let mut ops = OperationsVTable::<T>::OPS;
        ops.owner = owner.as_ptr();
        // SAFETY: `ib` is a valid, unregistered device; `ops` is copied.
        unsafe {
            bindings::ib_set_device_ops(ib.as_ptr(), &ops);
            let raw = ib.as_ptr();
            (*raw).phys_port_cnt = 1;
            (*raw).node_type = bindings::RDMA_NODE_IB_CA as u8;
            (*raw).num_comp_vectors = crate::cpu::nr_cpu_ids() as i32;
            (*raw).local_dma_lkey = 0;
            (*raw).node_guid = node_guid;
            if let Some(tree) = T::UAPI {
                // `'static` definitions of `T` (type invariant of `Tree`).
                (*raw).driver_def = tree.as_ptr();
            }
            (*raw).uverbs_cmd_mask |=
                T::UVERBS_EXTRA_COMMANDS | OperationsVTable::<T>::DOORBELL_COMMANDS;
            let desc = T::NODE_DESC.to_bytes();
            let n = desc.len().min((*raw).node_desc.len() - 1);
            for (i, b) in desc[..n].iter().enumerate() {
                (*raw).node_desc[i] = *b as c_char;
            }
        }
        // INVARIANT: The device is allocated, its data initialised and its operations set.
        Ok(Self(dev))
    }

    /// Records that the name was chosen by the user (as with `rdma link add`).
    pub fn mark_name_assigned_by_user(&mut self) {
        // SAFETY: The device is valid and not yet registered.
        unsafe { bindings::ib_mark_name_assigned_by_user(self.as_raw()) };
    }

    /// Registers the device with the RDMA core under `name` (a `%d` in it is replaced with the
    /// lowest free number) and returns a handle to it. May sleep; must not be called with RTNL
    /// held.
    pub fn register(self, name: &CStr) -> Result<DeviceHandle<T>> {
        // Take a reference to the memory first: once registered, the core may unregister and
        // free the device at any time.
        let handle = DeviceHandle::new(self.0);
        // SAFETY: The device is valid and unregistered; a null DMA device selects virtual DMA.
        let ret = unsafe {
            bindings::ib_register_device(self.as_raw(), name.as_char_ptr(), core::ptr::null_mut())
        };
        // On error `self` drops and frees the device, as the core requires.
        to_result(ret)?;
        // The core owns the device now; it frees it after unregistration.
        core::mem::forget(self);
        Ok(handle)
    }
}

impl<T: Driver> core::ops::Deref for UnregisteredDevice<T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        // SAFETY: Owned, with initialised data (type invariant).
        unsafe { self.0.as_ref() }
    }
}

impl<T: Driver> Drop for UnregisteredDevice<T> {
    fn drop(&mut self) {
        // SAFETY: The device is owned and unregistered (type invariant); this calls
        // `dealloc_driver`, dropping the data, and frees the device.
        unsafe { bindings::ib_dealloc_device(self.as_raw()) };
    }
}

/// A counted reference to the memory of a registered device.
///
/// It keeps the device's memory, not its registration or data: use [`DeviceHandle::try_get`]
/// to reach the data.
///
/// # Invariants
///
/// `ptr` is a device of driver `T` registered at some point, on whose `struct device` this
/// handle holds a reference.
pub struct DeviceHandle<T: Driver> {
    ptr: NonNull<Device<T>>,
    _p: PhantomData<Device<T>>,
}

// SAFETY: The reference may be dropped from any thread and the methods are thread-safe.
unsafe impl<T: Driver> Send for DeviceHandle<T> {}
// SAFETY: All methods take the core's locks or atomic references.
unsafe impl<T: Driver> Sync for DeviceHandle<T> {}

impl<T: Driver> DeviceHandle<T> {
    fn new(ptr: NonNull<Device<T>>) -> Self {
        // SAFETY: `ptr` is a valid device.
        unsafe {
            bindings::get_device(
                &raw mut (*ptr.as_ptr().cast::<bindings::ib_device>())
                    .__bindgen_anon_1
                    .dev,
            )
        };
        // INVARIANT: A reference was just taken.
        Self {
            ptr,
            _p: PhantomData,
        }
    }

    fn raw(&self) -> *mut bindings::ib_device {
        self.ptr.as_ptr().cast()
    }

    /// Returns a guard holding the device registered, or `None` once it is being (or has been)
    /// unregistered.
    pub fn try_get(&self) -> Option<DeviceGuard<'_, T>> {
        // SAFETY: The memory is valid while the handle exists.
        if unsafe { bindings::ib_device_try_get(self.raw()) } {
            // INVARIANT: The registration reference was taken.
            Some(DeviceGuard {
                // SAFETY: Registered, so the data is initialised until the guard drops.
                dev: unsafe { self.ptr.as_ref() },
            })
        } else {
            None
        }
    }

    /// Unregisters the device and waits for the core to drop its data. Does nothing if it is
    /// already unregistered. May sleep; must not be called with RTNL held nor while any
    /// [`DeviceGuard`] of the device is alive.
    pub fn unregister(self) {
        // SAFETY: The memory is valid; the core serialises concurrent unregistrations.
        unsafe { bindings::ib_unregister_device(self.raw()) };
    }
}

impl<T: Driver> Clone for DeviceHandle<T> {
    fn clone(&self) -> Self {
        Self::new(self.ptr)
    }
}

impl<T: Driver> Drop for DeviceHandle<T> {
    fn drop(&mut self) {
        // SAFETY: The handle holds a reference (type invariant).
        unsafe { bindings::put_device(&raw mut (*self.raw()).__bindgen_anon_1.dev) };
    }
}

/// Holds a device registered (`ib_device_try_get`), giving access to its data.
///
/// # Invariants
///
/// Holds a registration reference on `dev`.
pub struct DeviceGuard<'a, T: Driver> {
    dev: &'a Device<T>,
}

impl<T: Driver> DeviceGuard<'_, T> {
    /// Reports the link state of `netdev`, the network device of one of the device's ports, to
    /// the device's users: `IB_EVENT_PORT_ACTIVE` or `IB_EVENT_PORT_ERR` if it changed since the
    /// last report (`ib_dispatch_port_state_event`). Does not sleep.
    ///
    /// Needed only by drivers that implement [`Driver::get_netdev`]; for the others the core
    /// does this itself.
    pub fn dispatch_port_state(&self, netdev: &NetDevice) {
        // SAFETY: The device is registered (type invariant), so its port data exists; `netdev`
        // is valid. The function ignores a netdev that is not one of the device's.
        unsafe { bindings::ib_dispatch_port_state_event(self.dev.as_raw(), netdev.as_raw()) };
    }

    /// Returns whether `gid` is one of `port`'s RoCEv2 GIDs (`rdma_find_gid_by_port`): an
    /// address packets to the device may carry. Does not sleep.
    pub fn has_roce_v2_gid(&self, port: u32, gid: &[u8; 16]) -> bool {
        let gid = bindings::ib_gid { raw: *gid };
        // SAFETY: The device is registered (type invariant), so its GID table exists; `gid` is
        // valid for the call. The core checks `port` and returns a held entry or an error.
        let attr = unsafe {
            bindings::rdma_find_gid_by_port(
                self.dev.as_raw(),
                &gid,
                bindings::ib_gid_type_IB_GID_TYPE_ROCE_UDP_ENCAP,
                port,
                core::ptr::null_mut(),
            )
        };
        if attr.is_null() || crate::error::from_err_ptr(attr.cast_mut()).is_err() {
            return false;
        }
        // SAFETY: A held entry, released once.
        unsafe { bindings::rdma_put_gid_attr(attr) };
        true
    }

    /// Starts unregistering the device from a workqueue and returns at once; usable where
    /// RTNL is held (a netdev notifier). The core drops the data once no guard remains.
    pub fn unregister_queued(self) {
        // SAFETY: The guard's registration reference keeps the device registered here.
        unsafe { bindings::ib_unregister_device_queued(self.dev.as_raw()) };
    }
}

impl<T: Driver> core::ops::Deref for DeviceGuard<'_, T> {
    type Target = Device<T>;

    fn deref(&self) -> &Device<T> {
        self.dev
    }
}

impl<T: Driver> Drop for DeviceGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The guard holds a registration reference (type invariant).
        unsafe { bindings::ib_device_put(self.dev.as_raw()) };
    }
}
