// SPDX-License-Identifier: GPL-2.0

//! The driver's devices.
//!
//! Every registered device is kept here until the module unloads or a later `newlink` finds it
//! fully unregistered: unregistering it again then waits for a teardown still running (in the
//! core's workqueue) to finish, so no teardown outlives the module.
//!
//! A device the core will not lend (`try_get` fails) is not necessarily gone: while the core
//! moves it to another network namespace it is disabled too, and unregistering it then would
//! remove a live device. Only a device whose data was dropped, which the core does once it
//! unregistered the device for good, is forgotten.

use crate::device::Rrxe;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    net::netdevice::NetDevice, new_mutex, prelude::*, rdma::DeviceHandle, sync::Arc, sync::Mutex,
};

/// Held by a device's data: marks the device gone when the core drops the data.
pub(crate) struct DataDropNotice(Arc<AtomicBool>);

impl Drop for DataDropNotice {
    fn drop(&mut self) {
        // Release: the registry that sees the mark sees the data's teardown done.
        self.0.store(true, Ordering::Release);
    }
}

/// The registry's view of one device's [`DataDropNotice`].
pub(crate) struct DataDropped(Arc<AtomicBool>);

impl DataDropped {
    /// Returns a notice for a device's data and the registry's view of it.
    pub(crate) fn new() -> Result<(DataDropNotice, Self)> {
        let mark = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        Ok((DataDropNotice(mark.clone()), Self(mark)))
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A registered device and whether its data is gone.
struct Entry {
    handle: DeviceHandle<Rrxe>,
    dropped: DataDropped,
}

/// The devices of the driver.
#[pin_data]
pub(crate) struct Devices {
    #[pin]
    handles: Mutex<KVec<Entry>>,
}

impl Devices {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            handles <- new_mutex!(KVec::new()),
        })
    }

    /// Returns whether a live device of the driver is bound to `netdev`.
    pub(crate) fn exists_on(&self, netdev: &NetDevice) -> bool {
        self.handles.lock().iter().any(|e| {
            e.handle
                .try_get()
                .is_some_and(|dev| dev.data().is_on(netdev))
        })
    }

    /// Returns the device on the network device with index `ifindex` in the namespace with
    /// cookie `namespace`, if any.
    pub(crate) fn find_by_ifindex(
        &self,
        namespace: u64,
        ifindex: i32,
    ) -> Option<DeviceHandle<Rrxe>> {
        self.handles
            .lock()
            .iter()
            .find(|e| {
                e.handle.try_get().is_some_and(|dev| {
                    let netdev = dev.data().netdev();
                    netdev.ifindex() == ifindex && netdev.namespace_cookie() == namespace
                })
            })
            .map(|e| e.handle.clone())
    }

    /// Adds a newly registered device on `netdev`, whose data holds the notice `dropped` views.
    ///
    /// If `netdev` started unregistering meanwhile, the notifier may have looked for the device
    /// before it was added: unregister it here. Checking under the lock the notifier takes
    /// orders the two.
    pub(crate) fn add(
        &self,
        handle: DeviceHandle<Rrxe>,
        dropped: DataDropped,
        netdev: &NetDevice,
    ) -> Result {
        let mut handles = self.handles.lock();
        if !netdev.is_registered() {
            if let Some(dev) = handle.try_get() {
                dev.unregister_queued();
            }
        }
        handles.push(Entry { handle, dropped }, GFP_KERNEL)?;
        Ok(())
    }

    /// Reports `netdev`'s link state to the users of the devices on it. Does not sleep on the
    /// core: usable with RTNL held.
    pub(crate) fn dispatch_port_state_on(&self, netdev: &NetDevice) {
        for entry in self.handles.lock().iter() {
            if let Some(dev) = entry.handle.try_get() {
                if dev.data().is_on(netdev) {
                    dev.dispatch_port_state(netdev);
                }
            }
        }
    }

    /// Starts unregistering the devices on `netdev`. Does not sleep on the core: usable with
    /// RTNL held.
    pub(crate) fn unregister_queued_on(&self, netdev: &NetDevice) {
        for entry in self.handles.lock().iter() {
            if let Some(dev) = entry.handle.try_get() {
                if dev.data().is_on(netdev) {
                    dev.unregister_queued();
                }
            }
        }
    }

    /// Forgets devices whose data was dropped, after waiting for their teardown to finish.
    /// Sleeps; must not be called with RTNL held.
    pub(crate) fn prune(&self) {
        let mut dead = KVec::new();
        {
            let mut handles = self.handles.lock();
            // Room for every handle up front, so that none is dropped without its fence.
            if dead.reserve(handles.len(), GFP_KERNEL).is_err() {
                return;
            }
            let mut i = 0;
            while i < handles.len() {
                if !handles[i].dropped.is_set() {
                    i += 1;
                } else if let Ok(entry) = handles.remove(i) {
                    // Within the reserved capacity: cannot fail.
                    let _ = dead.push_within_capacity(entry.handle);
                }
            }
        }
        for handle in dead {
            handle.unregister();
        }
    }

    /// Unregisters every device and waits for all teardowns. Sleeps.
    pub(crate) fn unregister_all(&self) {
        let handles = core::mem::take(&mut *self.handles.lock());
        for entry in handles {
            entry.handle.unregister();
        }
    }
}
