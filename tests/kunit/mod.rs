// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for the driver. They are built into the module when the
//! kernel has CONFIG_KUNIT and run when the module loads.

mod completer;
mod counters;
mod engine;
mod faults;
mod kqueue;
mod mcast;
mod mr;
mod packet;
mod params;
mod psn;
mod qp;
mod qp_state;
mod queue;
mod quota;
mod requester;
mod responder;
mod retry;
mod srq;
mod wqe;

use crate::wire::Route;

/// A route for packets in tests: 10.0.2.15 to itself from UDP port 0xc123, hop limit 64.
pub(crate) fn route() -> Route {
    let mut addr = [0u8; 16];
    addr[10] = 0xff;
    addr[11] = 0xff;
    addr[12..].copy_from_slice(&[10, 0, 2, 15]);
    Route {
        source: addr,
        destination: addr,
        ipv4: true,
        traffic_class: 0,
        hop_limit: 64,
        flow_label: 0,
        source_port: 0xc123,
    }
}
