// SPDX-License-Identifier: GPL-2.0

//! The verbs objects (IBTA vol. 1 ch. 10-11) other than the device and its protection domains:
//! address handles, completion queues, memory regions and windows, multicast groups, queue
//! pairs and shared receive queues, with the tables that number them.

pub(crate) mod ah;
pub(crate) mod cq;
pub(crate) mod mcast;
pub(crate) mod mr;
pub(crate) mod qp;
pub(crate) mod srq;
pub(crate) mod table;
