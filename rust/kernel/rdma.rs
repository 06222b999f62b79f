// SPDX-License-Identifier: GPL-2.0

//! RDMA (InfiniBand verbs) device drivers.
//!
//! A driver implements [`device::Driver`]; its devices are [`device::Device`]s allocated by the
//! RDMA core with the driver's data embedded after the `struct ib_device`, as the core requires.
//! Verbs objects the core allocates (user contexts, protection domains, ...) embed the driver's
//! per-object data the same way ([`object`]). Soft devices are created through link types
//! (`rdma link add NAME type TYPE netdev DEV`, [`link`]).
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`include/rdma/rdma_netlink.h`](srctree/include/rdma/rdma_netlink.h).

pub mod attr;
pub mod device;
pub mod link;
pub mod mmap;
pub mod mr;
pub mod object;
#[cfg(CONFIG_INFINIBAND_ON_DEMAND_PAGING)]
pub mod odp;
pub mod post;
pub mod qp;
pub mod restrack;
pub mod stats;
pub mod uapi;
pub mod udata;
pub mod wc;

pub use device::{Device, DeviceGuard, DeviceHandle, Driver, MwKind, UnregisteredDevice};

/// Driver identifiers reported to user space (`enum rdma_driver_id`), which user-space
/// providers use to bind to a device.
pub mod driver_id {
    use crate::bindings;

    /// The soft-RoCE driver family; rdma-core's `librxe` binds to it.
    pub const RXE: u32 = bindings::rdma_driver_id_RDMA_DRIVER_RXE;
}
