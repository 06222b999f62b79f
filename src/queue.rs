// SPDX-License-Identifier: GPL-2.0

//! Work and completion queues: the rings shared with the user-space provider, the queues kept
//! in the kernel for in-kernel consumers, and the layouts of their entries.

pub(crate) mod in_kernel;
pub(crate) mod user;
pub(crate) mod wqe;
