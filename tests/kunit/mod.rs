// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for the driver. They are built into the module when the
//! kernel has CONFIG_KUNIT and run when the module loads.

mod kqueue;
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
mod srq;
mod wqe;
