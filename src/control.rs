// SPDX-License-Identifier: GPL-2.0

//! rrxe's own uverbs methods, in the driver namespace of the uverbs ioctl interface: a queue
//! pair's live transport state, the device's counters, and faults injected into a queue
//! pair's packets. `rrxectl` (tools/rrxectl) calls them.
//!
//! One object, [`ids::OBJECT_TRANSPORT`], carries three methods:
//!
//! - [`ids::METHOD_QUERY_QP`]: the state of a queue pair given by handle
//!   ([`ids::ATTR_QP_HANDLE`], one of the caller's) or by number ([`ids::ATTR_QPN`], any of
//!   the device's, with `CAP_NET_ADMIN`), as a [`QpStateOut`] ([`ids::ATTR_QP_STATE`]); with
//!   [`QUERY_QP_RESET_COUNTS`] in [`ids::ATTR_QP_QUERY_FLAGS`], its counts start again from
//!   zero once read.
//! - [`ids::METHOD_QUERY_COUNTERS`]: the device's counters, those `rdma statistic` shows, as
//!   64-bit values ([`ids::ATTR_COUNTER_VALUES`]) and their names, each ended by a NUL
//!   ([`ids::ATTR_COUNTER_NAMES`]); each as much as the caller's buffer takes. The set
//!   ([`ids::ATTR_COUNTER_SET`]) is every counter ([`COUNTER_SET_ALL`], the default) or the
//!   drops by reason ([`COUNTER_SET_DROPS`]).
//! - [`ids::METHOD_SET_FAULTS`]: the faults of a queue pair given by handle or number, as a
//!   [`FaultsIn`] ([`ids::ATTR_FAULTS`]); needs `CAP_NET_ADMIN`.
//!
//! Numbers are those within the driver namespace; user space sets `UVERBS_API_NS_FLAG`
//! (`1 << 12`) on each.

use crate::{
    device::{counters::COUNTERS, Counter, Rrxe},
    transport::faults::FaultRates,
    verbs::qp,
};
use kernel::{
    prelude::*,
    rdma::{
        object::{Qp, QpRef},
        uapi::{Attr, Call, Definitions, Method, MethodDef, ObjectDef, Presence, Tree},
        Device,
    },
};
use zerocopy_derive::Immutable;

/// The numbers of rrxe's objects, methods and attributes within the driver namespace.
pub(crate) mod ids {
    pub(crate) const OBJECT_TRANSPORT: u16 = 0;

    pub(crate) const METHOD_QUERY_QP: u16 = 0;
    pub(crate) const METHOD_QUERY_COUNTERS: u16 = 1;
    pub(crate) const METHOD_SET_FAULTS: u16 = 2;

    pub(crate) const ATTR_QP_HANDLE: u16 = 0;
    pub(crate) const ATTR_QPN: u16 = 1;
    pub(crate) const ATTR_QP_STATE: u16 = 2;
    pub(crate) const ATTR_COUNTER_VALUES: u16 = 3;
    pub(crate) const ATTR_COUNTER_NAMES: u16 = 4;
    pub(crate) const ATTR_FAULTS: u16 = 5;
    pub(crate) const ATTR_QP_QUERY_FLAGS: u16 = 6;
    pub(crate) const ATTR_COUNTER_SET: u16 = 7;
}

/// `ATTR_QP_QUERY_FLAGS`: start the queue pair's counts again from zero once read.
pub(crate) const QUERY_QP_RESET_COUNTS: u64 = 1 << 0;

/// `ATTR_COUNTER_SET`: every counter.
pub(crate) const COUNTER_SET_ALL: u64 = 0;
/// `ATTR_COUNTER_SET`: the packets dropped, by reason.
pub(crate) const COUNTER_SET_DROPS: u64 = 1;

/// `QpStateOut::flags`: the engine's timer is armed.
pub(crate) const STATE_TIMER_ARMED: u32 = 1 << 0;
/// `QpStateOut::flags`: the requester waits for the receiver-not-ready timer.
pub(crate) const STATE_RNR_WAITING: u32 = 1 << 1;

/// A queue pair's transport state (`ATTR_QP_STATE`); the PSNs are 24-bit.
#[repr(C)]
#[derive(IntoBytes, Immutable, Default, Debug)]
pub(crate) struct QpStateOut {
    pub(crate) qpn: u32,
    /// `enum ib_qp_type`'s transport: 2 RC, 3 UC, 4 UD, 1 GSI.
    pub(crate) qp_type: u32,
    /// `enum ib_qp_state`.
    pub(crate) state: u32,
    /// `STATE_*`.
    pub(crate) flags: u32,
    /// Requester: the PSN of the next packet.
    pub(crate) next_psn: u32,
    /// Requester: the oldest PSN not acknowledged.
    pub(crate) unacked_psn: u32,
    /// Responder: the PSN expected next.
    pub(crate) expected_psn: u32,
    /// Responder: messages completed.
    pub(crate) msn: u32,
    /// Requester: the PSNs it may keep unacknowledged.
    pub(crate) window: u32,
    /// Requester: requests sent and not yet acknowledged.
    pub(crate) in_flight: u32,
    /// Packets delivered to the queue pair that it has not handled yet.
    pub(crate) inbox: u32,
    /// Responder: request packets waiting behind a read.
    pub(crate) deferred: u32,
    /// Local ACK timeouts left before the oldest request fails.
    pub(crate) ack_retries_left: u32,
    /// Receiver-not-ready retries left (7: unlimited).
    pub(crate) rnr_retries_left: u32,
    /// Microseconds until the engine's timer expires, 0 if it is not armed or overdue.
    pub(crate) timer_us: u32,
    /// Packets held back by an injected delay.
    pub(crate) held: u32,
    pub(crate) tx_packets: u64,
    pub(crate) rx_packets: u64,
    pub(crate) retransmitted_packets: u64,
    pub(crate) ack_timeouts: u64,
    pub(crate) retry_exceeded: u64,
    pub(crate) seq_naks_received: u64,
    pub(crate) rnr_naks_received: u64,
    pub(crate) seq_naks_sent: u64,
    pub(crate) rnr_naks_sent: u64,
    pub(crate) duplicate_requests: u64,
    /// The faults set, as [`FaultsIn`] gives them.
    pub(crate) faults: FaultsIn,
    pub(crate) injected_drops: u64,
    pub(crate) injected_duplicates: u64,
    pub(crate) injected_delays: u64,
    pub(crate) injected_corruptions: u64,
}

/// Faults to inject into a queue pair's outgoing packets (`ATTR_FAULTS`): each a fraction of
/// the packets in parts per million, at most a million together, and how long a delayed
/// packet is held (at most a second). All zero: no faults.
#[repr(C)]
#[derive(FromBytes, IntoBytes, Immutable, Default, Debug, Clone, Copy)]
pub(crate) struct FaultsIn {
    pub(crate) drop_ppm: u32,
    pub(crate) duplicate_ppm: u32,
    pub(crate) delay_ppm: u32,
    pub(crate) corrupt_ppm: u32,
    pub(crate) delay_us: u32,
    /// Must be zero.
    pub(crate) reserved: u32,
    /// The seed of the generator that picks the packets.
    pub(crate) seed: u64,
}

impl FaultsIn {
    fn rates(&self) -> Result<FaultRates> {
        if self.reserved != 0 {
            return Err(EINVAL);
        }
        let rates = FaultRates {
            drop: self.drop_ppm,
            duplicate: self.duplicate_ppm,
            delay: self.delay_ppm,
            corrupt: self.corrupt_ppm,
            delay_us: self.delay_us,
            seed: self.seed,
        };
        rates.validate()?;
        Ok(rates)
    }

    fn from_rates(rates: &FaultRates) -> Self {
        Self {
            drop_ppm: rates.drop,
            duplicate_ppm: rates.duplicate,
            delay_ppm: rates.delay,
            corrupt_ppm: rates.corrupt,
            delay_us: rates.delay_us,
            reserved: 0,
            seed: rates.seed,
        }
    }
}

/// Fills the counters of `stats` and the faults into `out`.
pub(crate) fn fill_counts(
    out: &mut QpStateOut,
    stats: &crate::transport::engine::QpStats,
    faults: &crate::transport::faults::Faults,
) {
    out.tx_packets = stats.get(Counter::TxPackets);
    out.rx_packets = stats.get(Counter::RxPackets);
    out.retransmitted_packets = stats.get(Counter::RetransmittedPackets);
    out.ack_timeouts = stats.get(Counter::AckTimeouts);
    out.retry_exceeded = stats.get(Counter::RetryExceeded);
    out.seq_naks_received = stats.get(Counter::SeqNaksReceived);
    out.rnr_naks_received = stats.get(Counter::RnrNaksReceived);
    out.seq_naks_sent = stats.get(Counter::SeqNaksSent);
    out.rnr_naks_sent = stats.get(Counter::RnrNaksSent);
    out.duplicate_requests = stats.get(Counter::DuplicateRequests);
    out.faults = FaultsIn::from_rates(&faults.rates());
    let counts = faults.counts();
    out.injected_drops = counts.dropped;
    out.injected_duplicates = counts.duplicated;
    out.injected_delays = counts.delayed;
    out.injected_corruptions = counts.corrupted;
    out.held = faults.held() as u32;
}

static QP_HANDLE: Attr = Attr::queue_pair(ids::ATTR_QP_HANDLE, Presence::Optional);
static QPN: Attr = Attr::input::<u32>(ids::ATTR_QPN, Presence::Optional);
static QP_STATE: Attr = Attr::output::<QpStateOut>(ids::ATTR_QP_STATE, Presence::Mandatory);
static COUNTER_VALUES: Attr = Attr::output_bytes(ids::ATTR_COUNTER_VALUES, 0, Presence::Mandatory);
static COUNTER_NAMES: Attr = Attr::output_bytes(ids::ATTR_COUNTER_NAMES, 0, Presence::Optional);
static FAULTS: Attr = Attr::input::<FaultsIn>(ids::ATTR_FAULTS, Presence::Mandatory);
static QP_QUERY_FLAGS: Attr = Attr::flags(
    ids::ATTR_QP_QUERY_FLAGS,
    QUERY_QP_RESET_COUNTS,
    Presence::Optional,
);
static COUNTER_SET: Attr =
    Attr::constant(ids::ATTR_COUNTER_SET, COUNTER_SET_DROPS, Presence::Optional);

/// The queue pair a call names: one of the caller's by handle, or any of the device's by
/// number for a caller with `CAP_NET_ADMIN`. Exactly one of the two must be given.
enum Target<'a> {
    Own(&'a Qp<Rrxe>),
    Any(QpRef<Rrxe>),
}

impl core::ops::Deref for Target<'_> {
    type Target = Qp<Rrxe>;

    fn deref(&self) -> &Qp<Rrxe> {
        match self {
            Self::Own(qp) => qp,
            Self::Any(qp) => qp,
        }
    }
}

fn target<'a>(call: &Call<'a, Rrxe>) -> Result<Target<'a>> {
    match (call.queue_pair(&QP_HANDLE)?, call.read::<u32>(&QPN)?) {
        (Some(qp), None) => Ok(Target::Own(qp)),
        (None, Some(qpn)) => {
            if !call.net_admin_capable() {
                return Err(EPERM);
            }
            find(call.device(), qpn).ok_or(ENOENT)
        }
        _ => Err(EINVAL),
    }
}

/// Returns queue pair `qpn` of `device`, once it was first modified (before, it has no
/// transport state to show).
fn find(device: &Device<Rrxe>, qpn: u32) -> Option<Target<'static>> {
    let engine = device.data().qps.get(qpn)?.engine.clone();
    engine.qp().map(Target::Any)
}

struct QueryQp;

impl Method for QueryQp {
    type Driver = Rrxe;
    const ATTRS: &'static [&'static Attr] = &[&QP_HANDLE, &QPN, &QP_STATE, &QP_QUERY_FLAGS];

    fn handle(call: &mut Call<'_, Rrxe>) -> Result {
        let flags = call.flags(&QP_QUERY_FLAGS)?;
        let qp = target(call)?;
        call.write(
            &QP_STATE,
            &qp::transport_state(&qp, flags & QUERY_QP_RESET_COUNTS != 0),
        )
    }
}

struct QueryCounters;

impl Method for QueryCounters {
    type Driver = Rrxe;
    const ATTRS: &'static [&'static Attr] = &[&COUNTER_VALUES, &COUNTER_NAMES, &COUNTER_SET];

    fn handle(call: &mut Call<'_, Rrxe>) -> Result {
        let drops_only =
            call.constant(&COUNTER_SET)?.unwrap_or(COUNTER_SET_ALL) == COUNTER_SET_DROPS;
        let mut all = [0u64; COUNTERS];
        call.device().data().read_counters(&mut all);
        let chosen = Counter::ALL
            .iter()
            .filter(|counter| !drops_only || counter.is_drop());
        let mut values = KVec::with_capacity(COUNTERS, GFP_KERNEL)?;
        let mut names = KVec::with_capacity(COUNTERS * 32, GFP_KERNEL)?;
        for counter in chosen {
            values.extend_from_slice(&all[*counter as usize].to_ne_bytes(), GFP_KERNEL)?;
            names.extend_from_slice(counter.name().to_bytes_with_nul(), GFP_KERNEL)?;
        }
        call.write_bytes(&COUNTER_VALUES, &values)?;
        call.write_bytes(&COUNTER_NAMES, &names)
    }
}

struct SetFaults;

impl Method for SetFaults {
    type Driver = Rrxe;
    const ATTRS: &'static [&'static Attr] = &[&QP_HANDLE, &QPN, &FAULTS];

    fn handle(call: &mut Call<'_, Rrxe>) -> Result {
        if !call.net_admin_capable() {
            return Err(EPERM);
        }
        let rates = call.read::<FaultsIn>(&FAULTS)?.ok_or(EINVAL)?.rates()?;
        let qp = target(call)?;
        qp.data().transport.lock().faults.set(rates);
        Ok(())
    }
}

static QUERY_QP: MethodDef<Rrxe> = MethodDef::new::<QueryQp>(ids::METHOD_QUERY_QP);
static QUERY_COUNTERS: MethodDef<Rrxe> =
    MethodDef::new::<QueryCounters>(ids::METHOD_QUERY_COUNTERS);
static SET_FAULTS: MethodDef<Rrxe> = MethodDef::new::<SetFaults>(ids::METHOD_SET_FAULTS);

static TRANSPORT: ObjectDef<Rrxe> = ObjectDef::new(
    ids::OBJECT_TRANSPORT,
    &[&QUERY_QP, &QUERY_COUNTERS, &SET_FAULTS],
);

static DEFINITIONS: Definitions<Rrxe, 1> = Definitions::new([&TRANSPORT]);

/// rrxe's objects, for the core (`Driver::UAPI`).
pub(crate) const TREE: Tree<Rrxe> = DEFINITIONS.tree();
