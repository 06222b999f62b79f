// SPDX-License-Identifier: GPL-2.0

//! rrxe: a soft-RoCE (RoCEv2) RDMA device driver.
//!
//! The driver implements the InfiniBand transport in software over any
//! network device, speaking RoCEv2 (IBTA Annex A17) on UDP port 4791.

use kernel::prelude::*;

mod psn;

#[path = "../tests/kunit/mod.rs"]
mod kunit;

module! {
    type: Rrxe,
    name: "rrxe",
    authors: ["The rrxe developers"],
    description: "Soft-RoCE (RoCEv2) RDMA device driver",
    license: "GPL",
}

struct Rrxe;

impl kernel::Module for Rrxe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("soft-RoCE driver loaded\n");
        Ok(Rrxe)
    }
}
