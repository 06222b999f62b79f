// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for the driver. They are built into the module when the
//! kernel has CONFIG_KUNIT and run when the module loads.

mod params;
mod psn;
mod queue;
mod quota;
