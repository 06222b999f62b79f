// SPDX-License-Identifier: GPL-2.0

//! The driver's devices.
//!
//! Every registered device is kept here until the module unloads or a later `newlink` finds it
//! fully unregistered: unregistering it again then waits for a teardown still running (in the
//! core's workqueue) to finish, so no teardown outlives the module.

use crate::device::Rrxe;
use kernel::{net::netdevice::NetDevice, new_mutex, prelude::*, rdma::DeviceHandle, sync::Mutex};

/// The devices of the driver.
#[pin_data]
pub(crate) struct Devices {
    #[pin]
    handles: Mutex<KVec<DeviceHandle<Rrxe>>>,
}

impl Devices {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            handles <- new_mutex!(KVec::new()),
        })
    }

    /// Returns whether a live device of the driver is bound to `netdev`.
    pub(crate) fn exists_on(&self, netdev: &NetDevice) -> bool {
        self.handles
            .lock()
            .iter()
            .any(|h| h.try_get().is_some_and(|dev| dev.data().is_on(netdev)))
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
            .find(|h| {
                h.try_get().is_some_and(|dev| {
                    let netdev = dev.data().netdev();
                    netdev.ifindex() == ifindex && netdev.namespace_cookie() == namespace
                })
            })
            .cloned()
    }

    /// Adds a newly registered device on `netdev`.
    ///
    /// If `netdev` started unregistering meanwhile, the notifier may have looked for the device
    /// before it was added: unregister it here. Checking under the lock the notifier takes
    /// orders the two.
    pub(crate) fn add(&self, handle: DeviceHandle<Rrxe>, netdev: &NetDevice) -> Result {
        let mut handles = self.handles.lock();
        if !netdev.is_registered() {
            if let Some(dev) = handle.try_get() {
                dev.unregister_queued();
            }
        }
        handles.push(handle, GFP_KERNEL)?;
        Ok(())
    }

    /// Reports `netdev`'s link state to the users of the devices on it. Does not sleep on the
    /// core: usable with RTNL held.
    pub(crate) fn dispatch_port_state_on(&self, netdev: &NetDevice) {
        for handle in self.handles.lock().iter() {
            if let Some(dev) = handle.try_get() {
                if dev.data().is_on(netdev) {
                    dev.dispatch_port_state(netdev);
                }
            }
        }
    }

    /// Starts unregistering the devices on `netdev`. Does not sleep on the core: usable with
    /// RTNL held.
    pub(crate) fn unregister_queued_on(&self, netdev: &NetDevice) {
        for handle in self.handles.lock().iter() {
            if let Some(dev) = handle.try_get() {
                if dev.data().is_on(netdev) {
                    dev.unregister_queued();
                }
            }
        }
    }

    /// Forgets devices that are unregistered, after waiting for their teardown to finish.
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
                if handles[i].try_get().is_some() {
                    i += 1;
                } else if let Ok(handle) = handles.remove(i) {
                    // Within the reserved capacity: cannot fail.
                    let _ = dead.push_within_capacity(handle);
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
        for handle in handles {
            handle.unregister();
        }
    }
}
