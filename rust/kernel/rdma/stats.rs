// SPDX-License-Identifier: GPL-2.0

//! Port counters and management datagrams: what `rdma statistic` and a port's sysfs
//! `hw_counters` and `counters` show of a device.
//!
//! A driver names its counters once, in a static table of [`CounterName`]s, and reads their
//! values into a slice when the core asks ([`super::Driver::read_port_counters`]). The
//! InfiniBand port counters in sysfs `counters` come from performance management queries the
//! core sends the driver as management datagrams ([`super::Driver::process_mad`]).
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)

use crate::{bindings, str::CStr};

/// The name of one of a driver's port counters (`struct rdma_stat_desc`).
#[repr(transparent)]
pub struct CounterName(bindings::rdma_stat_desc);

// SAFETY: A `CounterName` is never changed once made, and the one pointer it holds is to a
// string that lives for the whole program.
unsafe impl Sync for CounterName {}

impl CounterName {
    /// Names a counter, as the core shows it.
    pub const fn new(name: &'static CStr) -> Self {
        Self(bindings::rdma_stat_desc {
            name: crate::str::as_char_ptr_in_const_context(name),
            flags: 0,
            priv_: core::ptr::null(),
        })
    }
}

/// The size of a management datagram (`struct ib_mad`, `IB_MGMT_MAD_SIZE`): its common header
/// (24 bytes), then the class's data.
pub const MAD_SIZE: usize = 256;

const _: () = assert!(core::mem::size_of::<bindings::ib_mad>() == MAD_SIZE);

/// A management datagram, as the bytes it has on the wire (fields in network order).
pub type Mad = [u8; MAD_SIZE];

/// What became of a management datagram the driver was given.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MadOutcome {
    /// Not the driver's: the MAD layer handles it as usual (its agents, the CM).
    NotHandled,
    /// The reply the driver wrote answers it.
    Reply,
    /// It is dropped unanswered.
    Failed,
}

impl MadOutcome {
    /// The `enum ib_mad_result` flags the core expects.
    pub(crate) fn to_raw(self) -> core::ffi::c_int {
        let flags = match self {
            Self::NotHandled => bindings::ib_mad_result_IB_MAD_RESULT_SUCCESS,
            Self::Reply => {
                bindings::ib_mad_result_IB_MAD_RESULT_SUCCESS
                    | bindings::ib_mad_result_IB_MAD_RESULT_REPLY
            }
            Self::Failed => bindings::ib_mad_result_IB_MAD_RESULT_FAILURE,
        };
        flags as core::ffi::c_int
    }
}
