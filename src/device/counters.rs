// SPDX-License-Identifier: GPL-2.0

//! What a device counts, and the port counters it reports through performance management
//! (`process_mad`): pure code.
//!
//! `rdma statistic show link DEV/1` and `/sys/class/infiniband/DEV/ports/1/hw_counters` show
//! every counter by name; the port's sysfs `counters` (`port_xmit_data`, ...) come from the
//! performance management queries answered here, as IBTA 16.1.3 lays them out.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    prelude::*,
    rdma::stats::{CounterName, Mad, MadOutcome},
};

/// What a device counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    /// Packets sent, to other hosts or to the device's own address.
    TxPackets,
    /// Bytes of the packets sent, from the base transport header through the ICRC.
    TxBytes,
    /// Packets received that passed the checks and reached a queue pair's inbox.
    RxPackets,
    /// Bytes of the packets received, counted as for [`Counter::TxBytes`].
    RxBytes,
    /// Request packets a reliable requester sent again (go-back-N).
    RetransmittedPackets,
    /// Local ACK timeouts that expired without progress.
    AckTimeouts,
    /// Requests failed once their retries were spent (`IBV_WC_RETRY_EXC_ERR`).
    RetryExceeded,
    /// PSN sequence error NAKs a requester received.
    SeqNaksReceived,
    /// Receiver-not-ready NAKs a requester received.
    RnrNaksReceived,
    /// Read responses beyond the one expected, each making the requester ask again for the
    /// rest of the read (an implied sequence error NAK).
    ImpliedNaks,
    /// PSN sequence error NAKs a responder sent (a request packet out of order).
    SeqNaksSent,
    /// Receiver-not-ready NAKs a responder sent (no receive posted).
    RnrNaksSent,
    /// Duplicate request packets a responder answered again.
    DuplicateRequests,
    /// Received packets dropped for a bad ICRC or malformed headers.
    RxMalformed,
    /// Received packets for a queue pair that does not exist, takes no packets or is being
    /// destroyed.
    RxNoQp,
    /// Received packets dropped because their queue pair's inbox was full or could not grow.
    RxInboxFull,
    /// Received datagrams addressed to none of the device's GIDs.
    RxNotForDevice,
    /// Datagrams the device's namespace's socket dropped before delivery, its queue full: the
    /// devices of the namespace fell behind. Counted for the namespace, shown by each of its
    /// devices.
    RxSocketQueueFull,
    /// Datagrams that arrived at the namespace's socket on a network device no device runs on.
    /// Counted for the namespace, shown by each of its devices.
    RxNoDevice,
    /// Times a sender (a requester, or a responder answering a read) stopped because its
    /// namespace's socket had no room in its send buffer, until the stack freed what it sent.
    TxWaits,
    /// Times a sender that stopped for want of room in its namespace's socket was woken by the
    /// stack freeing what the socket sent.
    TxWakeups,
    /// IP route lookups for packets to other hosts. A queue pair keeps the route its packets
    /// last took while the stack holds it current, so this grows by one per queue pair and
    /// destination, and again after a change of the routing tables, addresses or devices.
    RouteLookups,
    /// Packets for hosts no IP route reaches.
    TxUnroutable,
    /// Packets not sent for want of memory (acknowledgments: the requester asks again).
    TxNoMemory,
    /// Packets the network stack dropped on the way out.
    TxDropped,
    /// Page faults a queue pair's engine took for copies that met pages of a region on demand
    /// not faulted in, each stopping its queue pair's work until it was done (a fault that
    /// failed fails the request).
    PageFaults,
}

/// The number of counters.
pub(crate) const COUNTERS: usize = 26;

impl Counter {
    /// Every counter, in the order `rdma statistic` shows them.
    pub(crate) const ALL: [Counter; COUNTERS] = [
        Self::TxPackets,
        Self::TxBytes,
        Self::RxPackets,
        Self::RxBytes,
        Self::RetransmittedPackets,
        Self::AckTimeouts,
        Self::RetryExceeded,
        Self::SeqNaksReceived,
        Self::RnrNaksReceived,
        Self::ImpliedNaks,
        Self::SeqNaksSent,
        Self::RnrNaksSent,
        Self::DuplicateRequests,
        Self::RxMalformed,
        Self::RxNoQp,
        Self::RxInboxFull,
        Self::RxNotForDevice,
        Self::RxSocketQueueFull,
        Self::RxNoDevice,
        Self::TxWaits,
        Self::TxWakeups,
        Self::RouteLookups,
        Self::TxUnroutable,
        Self::TxNoMemory,
        Self::TxDropped,
        Self::PageFaults,
    ];

    /// Returns whether the counter counts packets dropped, for one reason.
    pub(crate) const fn is_drop(self) -> bool {
        matches!(
            self,
            Self::RxMalformed
                | Self::RxNoQp
                | Self::RxInboxFull
                | Self::RxNotForDevice
                | Self::RxSocketQueueFull
                | Self::RxNoDevice
                | Self::TxUnroutable
                | Self::TxNoMemory
                | Self::TxDropped
        )
    }

    /// The counter's name.
    pub(crate) const fn name(self) -> &'static CStr {
        match self {
            Self::TxPackets => c"tx_packets",
            Self::TxBytes => c"tx_bytes",
            Self::RxPackets => c"rx_packets",
            Self::RxBytes => c"rx_bytes",
            Self::RetransmittedPackets => c"retransmitted_packets",
            Self::AckTimeouts => c"ack_timeouts",
            Self::RetryExceeded => c"retry_exceeded",
            Self::SeqNaksReceived => c"seq_naks_received",
            Self::RnrNaksReceived => c"rnr_naks_received",
            Self::ImpliedNaks => c"implied_naks",
            Self::SeqNaksSent => c"seq_naks_sent",
            Self::RnrNaksSent => c"rnr_naks_sent",
            Self::DuplicateRequests => c"duplicate_requests",
            Self::RxMalformed => c"rx_malformed",
            Self::RxNoQp => c"rx_no_qp",
            Self::RxInboxFull => c"rx_inbox_full",
            Self::RxNotForDevice => c"rx_not_for_device",
            Self::RxSocketQueueFull => c"rx_socket_queue_full",
            Self::RxNoDevice => c"rx_no_device",
            Self::TxWaits => c"tx_waits",
            Self::TxWakeups => c"tx_wakeups",
            Self::RouteLookups => c"route_lookups",
            Self::TxUnroutable => c"tx_unroutable",
            Self::TxNoMemory => c"tx_no_memory",
            Self::TxDropped => c"tx_dropped",
            Self::PageFaults => c"page_faults",
        }
    }
}

/// The counters' names, indexed as [`Counter::ALL`].
pub(crate) const NAMES: [CounterName; COUNTERS] = {
    let mut names = [const { CounterName::new(c"") }; COUNTERS];
    let mut i = 0;
    while i < COUNTERS {
        // Each counter sits at its own index, so the values follow the names.
        assert!(Counter::ALL[i] as usize == i);
        names[i] = CounterName::new(Counter::ALL[i].name());
        i += 1;
    }
    names
};

/// A device's counters.
#[derive(Default)]
pub(crate) struct Counters([AtomicU64; COUNTERS]);

impl Counters {
    /// Counts `n` of `counter`.
    pub(crate) fn add(&self, counter: Counter, n: u64) {
        self.0[counter as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Returns the value of `counter`.
    pub(crate) fn get(&self, counter: Counter) -> u64 {
        self.0[counter as usize].load(Ordering::Relaxed)
    }

    /// Writes every counter's value into `values`, in the order of [`Counter::ALL`].
    pub(crate) fn read_into(&self, values: &mut [u64]) {
        for (value, counter) in values.iter_mut().zip(&self.0) {
            *value = counter.load(Ordering::Relaxed);
        }
    }

    /// The traffic the performance management counters report.
    pub(crate) fn traffic(&self) -> Traffic {
        Traffic {
            tx_bytes: self.get(Counter::TxBytes),
            rx_bytes: self.get(Counter::RxBytes),
            tx_packets: self.get(Counter::TxPackets),
            rx_packets: self.get(Counter::RxPackets),
        }
    }
}

/// A port's traffic, as the performance management counters report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub(crate) tx_bytes: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) tx_packets: u64,
    pub(crate) rx_packets: u64,
}

/// The performance management class (`IB_MGMT_CLASS_PERF_MGMT`).
pub(crate) const CLASS_PERF_MGMT: u8 = 0x04;
/// The Get method and its response (IBTA 13.4.5).
pub(crate) const METHOD_GET: u8 = 0x01;
const METHOD_GET_RESPONSE: u8 = 0x81;
/// The attributes answered (IBTA 16.1.3): ClassPortInfo, PortCounters, PortCountersExtended.
pub(crate) const ATTR_CLASS_PORT_INFO: u16 = 0x0001;
pub(crate) const ATTR_PORT_COUNTERS: u16 = 0x0012;
pub(crate) const ATTR_PORT_COUNTERS_EXT: u16 = 0x001d;
/// ClassPortInfo's capability: PortCountersExtended has every 64-bit counter.
pub(crate) const CAP_EXTENDED_WIDTH: u16 = 1 << 9;
/// The MAD status of an unsupported method or attribute (IBTA 13.4.7).
pub(crate) const STATUS_UNSUPPORTED_METHOD: u16 = 0x0008;
pub(crate) const STATUS_UNSUPPORTED_ATTRIBUTE: u16 = 0x000c;

/// Where the common header's fields lie (IBTA 13.4.3), and the class data.
const HEADER_LEN: usize = 24;
const MGMT_CLASS: usize = 1;
const METHOD: usize = 3;
const STATUS: usize = 4;
const ATTR_ID: usize = 16;
/// Performance management data starts after 40 reserved bytes.
pub(crate) const PERF_DATA: usize = HEADER_LEN + 40;
/// The port a PortCounters or PortCountersExtended query names, echoed in the answer.
pub(crate) const PORT_SELECT: usize = PERF_DATA + 1;
/// Where PortCountersExtended's 64-bit counters lie in the class data, after PortSelect and
/// CounterSelect: PortXmitData, PortRcvData (in units of 4 bytes), PortXmitPkts, PortRcvPkts.
pub(crate) const EXT_XMIT_DATA: usize = PERF_DATA + 8;
pub(crate) const EXT_RCV_DATA: usize = PERF_DATA + 16;
pub(crate) const EXT_XMIT_PACKETS: usize = PERF_DATA + 24;
pub(crate) const EXT_RCV_PACKETS: usize = PERF_DATA + 32;
/// Where ClassPortInfo's CapabilityMask lies.
pub(crate) const CPI_CAPABILITY_MASK: usize = PERF_DATA + 2;

/// Answers a performance management Get for the device's port with its `traffic`, or leaves
/// any other datagram to the MAD layer.
pub(crate) fn answer_mad(request: &Mad, traffic: Traffic, reply: &mut Mad) -> MadOutcome {
    if request[MGMT_CLASS] != CLASS_PERF_MGMT {
        return MadOutcome::NotHandled;
    }
    reply[..HEADER_LEN].copy_from_slice(&request[..HEADER_LEN]);
    reply[METHOD] = METHOD_GET_RESPONSE;
    let status = if request[METHOD] != METHOD_GET {
        STATUS_UNSUPPORTED_METHOD
    } else {
        match u16::from_be_bytes([request[ATTR_ID], request[ATTR_ID + 1]]) {
            ATTR_CLASS_PORT_INFO => {
                put(
                    reply,
                    CPI_CAPABILITY_MASK,
                    &CAP_EXTENDED_WIDTH.to_be_bytes(),
                );
                0
            }
            // Its 32-bit counters stay zero: nothing counted here is an IB link error, and the
            // extended counters carry the traffic.
            ATTR_PORT_COUNTERS => {
                reply[PORT_SELECT] = request[PORT_SELECT];
                0
            }
            ATTR_PORT_COUNTERS_EXT => {
                reply[PORT_SELECT] = request[PORT_SELECT];
                // The data counters count 4-byte words.
                put(reply, EXT_XMIT_DATA, &(traffic.tx_bytes / 4).to_be_bytes());
                put(reply, EXT_RCV_DATA, &(traffic.rx_bytes / 4).to_be_bytes());
                put(reply, EXT_XMIT_PACKETS, &traffic.tx_packets.to_be_bytes());
                put(reply, EXT_RCV_PACKETS, &traffic.rx_packets.to_be_bytes());
                0
            }
            _ => STATUS_UNSUPPORTED_ATTRIBUTE,
        }
    };
    put(reply, STATUS, &status.to_be_bytes());
    MadOutcome::Reply
}

fn put(mad: &mut Mad, at: usize, bytes: &[u8]) {
    if let Some(field) = mad.get_mut(at..at + bytes.len()) {
        field.copy_from_slice(bytes);
    }
}
