// SPDX-License-Identifier: GPL-2.0

//! rrxe: a soft-RoCE (RoCEv2) RDMA device driver.
//!
//! The driver implements the InfiniBand transport in software over any
//! network device, speaking RoCEv2 (IBTA Annex A17) on UDP port 4791.
//! Devices are created with `rdma link add NAME type rrxe netdev DEV`.

use kernel::{
    net::netdevice::{NetDevice, NetdevEvent, NetdevNotifier, NetdevNotifierRegistration},
    prelude::*,
    rdma::link,
    sync::Arc,
};

mod control;
mod device;
mod memory;
mod net;
mod queue;
mod transport;
mod verbs;
mod wire;

#[path = "../tests/kunit/mod.rs"]
mod kunit;

use device::registry::Devices;
use net::udp::Tunnels;

module! {
    type: RrxeModule,
    name: "rrxe",
    authors: ["The rrxe developers"],
    description: "Soft-RoCE (RoCEv2) RDMA device driver",
    license: "GPL",
    alias: ["rdma-link-rrxe"],
}

/// The `rrxe` link type: `rdma link add NAME type rrxe netdev DEV`.
struct RrxeLink {
    module: &'static ThisModule,
    devices: Arc<Devices>,
    tunnels: Arc<Tunnels>,
}

static LINK_SLOT: link::LinkSlot<RrxeLink> = link::LinkSlot::new();

impl link::Link for RrxeLink {
    const TYPE: &'static CStr = c"rrxe";
    const SLOT: &'static link::LinkSlot<Self> = &LINK_SLOT;

    fn newlink(&self, name: &CStr, netdev: &NetDevice) -> Result {
        device::create(self.module, &self.devices, &self.tunnels, name, netdev)
    }
}

impl Drop for RrxeLink {
    fn drop(&mut self) {
        // The link type is unregistered: no device can be added any more.
        self.devices.unregister_all();
    }
}

/// Follows the network devices under the driver's devices: link changes become port events and
/// removal tears the device down.
struct NetdevEvents {
    devices: Arc<Devices>,
}

impl NetdevNotifier for NetdevEvents {
    fn event(&self, event: NetdevEvent, netdev: &NetDevice) {
        match event {
            NetdevEvent::Up | NetdevEvent::Down | NetdevEvent::Change => {
                self.devices.dispatch_port_state_on(netdev)
            }
            // RTNL is held, so unregister from the core's workqueue.
            NetdevEvent::Unregister => self.devices.unregister_queued_on(netdev),
            _ => {}
        }
    }
}

#[pin_data]
struct RrxeModule {
    // Dropped first: no new devices, then the existing ones are unregistered.
    #[pin]
    link: link::Registration<RrxeLink>,
    #[pin]
    netdev_events: NetdevNotifierRegistration<NetdevEvents>,
}

impl kernel::InPlaceModule for RrxeModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let devices = Arc::pin_init(Devices::new(), GFP_KERNEL);
        // The link type holds the sockets' registration: the devices, which use it, go first.
        let tunnels = Arc::pin_init(Tunnels::new(), GFP_KERNEL);
        try_pin_init!(Self {
            link <- link::Registration::new(Ok::<_, Error>(RrxeLink {
                module,
                devices: devices.clone()?,
                tunnels: tunnels?,
            })),
            netdev_events <- NetdevNotifierRegistration::new(NetdevEvents {
                devices: devices.clone()?,
            }),
        })
    }
}
