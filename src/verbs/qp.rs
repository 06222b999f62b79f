// SPDX-License-Identifier: GPL-2.0

//! Queue pairs: creation with work queues shared with the user-space provider or kept in the
//! kernel for in-kernel consumers, the modify state machine with per-attribute validation,
//! posting, flushing, and queries.

mod datapath;
mod flush;
mod post;
pub(crate) mod state;

use self::flush::{
    flush_kernel_recv, flush_kernel_send, flush_queues, flush_send, flush_transport,
};
pub(crate) use self::{
    datapath::{
        address_handle, consume_send, kick, next_send_index, read_send, recv_view,
        send_index_before, send_view, signals_all, take_recv, RecvView, SendView,
    },
    flush::{enter_error, flush_more},
    post::{post_recv, post_send, send_doorbell, send_opcode_of, service_allows},
};

use crate::{
    control::{self, QpStateOut},
    device::params,
    device::{self, Rrxe},
    memory::{self, FastRegistration},
    queue::in_kernel::{self, KernelQueue, RecvQueue},
    queue::user::{FromUserQueue, Geometry},
    queue::wqe::{
        self, Malformed, Payload, RecvWqe, RequestId, SendOpcode, SendWqe, RECV_WQE_HEADER,
        SEND_WQE_HEADER, SGE_SIZE,
    },
    transport::engine::{Engine, Transport},
    transport::psn::PSN_MASK,
    transport::retry::Moment,
    verbs::cq::{self, Completion, MmapInfo},
    verbs::qp::state::{check_modify, AttrMask, QpState, Service},
    verbs::table::{Entry, Table},
    wire,
};
use kernel::{
    new_spinlock_bh, new_spinlock_irq,
    prelude::*,
    rdma::{
        attr::{Mtu, NetworkType},
        mmap::MmapEntry,
        mr::Access,
        object::{Cq, Pd, Qp},
        post::{send_flags, PostError, RecvRequests, SendRequest, SendRequests, Sge, WrOpcode},
        qp::{QpAttr, QpCaps, QpCreated, QpInitAttr, QpType},
        restrack::DriverDetails,
        udata::UData,
        wc::{QpEvent, WcOpcode},
    },
    sync::{Arc, SpinLockBh, SpinLockIrq},
};
use zerocopy_derive::Immutable;

/// Largest inline payload of a send work request.
pub(crate) const MAX_INLINE_DATA: u32 = 512;
/// Queue pair numbers handed out; 0 and 1 are the special QPs, 2..15 stay unused as in rxe.
const MIN_QPN: u32 = 16;
/// The number of the general services QP (QP1) of the device's port.
const GSI_QPN: u32 = 1;
/// The largest queue pair number handed out.
pub(crate) const MAX_QPN: u32 = params::MAX_QP + MIN_QPN - 1;
/// The largest value of a 3-bit retry count.
const MAX_RETRY: u8 = 7;
/// The largest 5-bit timer code (local ACK timeout, RNR NAK timer).
const MAX_TIMER_CODE: u8 = 31;
/// Queue pair numbers are 24 bits.
const QPN_MASK: u32 = 0x00ff_ffff;

/// What the data path needs to find a queue pair by number.
pub(crate) struct QpInfo {
    pub(crate) service: Service,
    /// The engine that takes the queue pair's packets.
    pub(crate) engine: Arc<Engine>,
}

/// The device's queue pairs by number.
pub(crate) type QpTable = Table<QpInfo>;

/// Creates the table of queue pairs.
pub(crate) fn new_table() -> impl PinInit<QpTable> {
    Table::new(MIN_QPN, MAX_QPN)
}

/// A send request of an in-kernel consumer, kept until it completes or is flushed.
pub(crate) struct KernelSend {
    /// The request's identifier, until its completion takes it.
    wr_id: RequestId,
    /// The request; its payload is in `sges` or `inline`.
    wqe: SendWqe,
    /// Room for the queue pair's `max_send_sge` elements, reserved when the queue is created.
    sges: KVec<Sge>,
    /// Room for the queue pair's inline data, reserved when the queue is created.
    inline: KVec<u8>,
}

/// A queue pair's work queues.
enum WorkQueues {
    /// Shared with the user-space provider.
    User {
        send: FromUserQueue,
        /// The queue pair's own receive queue; none when it takes requests from an SRQ.
        recv: Option<FromUserQueue>,
    },
    /// An in-kernel consumer's.
    Kernel {
        send: KernelQueue<KernelSend>,
        /// The index of the oldest send request: indices count requests as posted, so the
        /// requester names them as it names the slots of a shared queue.
        oldest: u32,
        /// The queue pair's own receive queue; none when it takes requests from an SRQ.
        recv: Option<RecvQueue>,
    },
}

/// The attributes a queue pair holds, changed by modify calls.
struct Attributes {
    state: QpState,
    /// The last values given for each attribute (state fields aside).
    values: QpAttr,
}

/// Per-QP state.
#[pin_data]
pub(crate) struct RrxeQp {
    service: Service,
    caps: QpCaps,
    signal_all: bool,
    /// Taken before `queues` when both are needed. Both locks disable interrupts: in-kernel
    /// consumers post from any context.
    #[pin]
    attrs: SpinLockIrq<Attributes>,
    #[pin]
    queues: SpinLockIrq<WorkQueues>,
    /// The requester's, responder's and completer's state. Taken before `attrs`; held by
    /// the engine during a round and by modify and query calls; bottom halves are disabled
    /// while it is held.
    #[pin]
    pub(crate) transport: SpinLockBh<Transport>,
    /// The engine that runs the transport.
    pub(crate) engine: Arc<Engine>,
    /// The protection domain's identity.
    pd: usize,
    _mappings: Mappings,
    _entry: Entry<QpInfo>,
}

/// Puts the transport's state into `details`, for `rdma res show qp -dd`: the requester's
/// next PSN, first PSN not acknowledged, window and requests in flight, and the responder's
/// expected PSN, message sequence number and request packets waiting behind a read.
pub(crate) fn details(qp: &Qp<Rrxe>, details: &mut DriverDetails<'_>) -> Result {
    let values = {
        let t = qp.data().transport.lock();
        [
            (c"next_psn", t.next_psn),
            (c"unacked_psn", t.unacked_psn),
            (c"window", t.window.size()),
            (c"in_flight", t.in_flight.len() as u32),
            (c"expected_psn", t.expected_psn),
            (c"msn", t.msn),
            (c"deferred", t.deferred.len() as u32),
        ]
    };
    for (name, value) in values {
        details.put_u32(name, value)?;
    }
    Ok(())
}

/// Returns the queue pair's live transport state, for `rrxectl qp`; its counts start again
/// from zero if `reset_counts`.
pub(crate) fn transport_state(qp: &Qp<Rrxe>, reset_counts: bool) -> QpStateOut {
    let this = qp.data();
    let mut out = QpStateOut {
        qpn: qp.qp_num(),
        qp_type: match this.service {
            Service::ReliableConnected => 2,
            Service::UnreliableConnected => 3,
            Service::UnreliableDatagram => 4,
            Service::GeneralServices => 1,
        },
        inbox: this.engine.queued() as u32,
        ..QpStateOut::default()
    };
    let now = Moment::now();
    {
        let mut t = this.transport.lock();
        out.next_psn = t.next_psn;
        out.unacked_psn = t.unacked_psn;
        out.expected_psn = t.expected_psn;
        out.msn = t.msn;
        out.window = t.window.size();
        out.in_flight = t.in_flight.len() as u32;
        out.deferred = t.deferred.len() as u32;
        out.ack_retries_left = t.ack_timer.retries_left().into();
        out.rnr_retries_left = t.rnr_retries_left.into();
        if t.rnr_waiting {
            out.flags |= control::STATE_RNR_WAITING;
        }
        if let Some(due) = t.timer_armed {
            out.flags |= control::STATE_TIMER_ARMED;
            let left = (due - now).as_micros_ceil();
            out.timer_us = left.clamp(0, i64::from(u32::MAX)) as u32;
        }
        control::fill_counts(&mut out, &t.stats, &t.faults);
        if reset_counts {
            t.stats = Default::default();
            t.faults.reset_counts();
        }
        let held = this.attrs.lock();
        out.state = held.state as u32;
    }
    out
}

impl RrxeQp {
    /// Returns whether the queue pair is of a datagram service (UD or QP1).
    pub(crate) fn is_datagram(&self) -> bool {
        matches!(
            self.service,
            Service::UnreliableDatagram | Service::GeneralServices
        )
    }
}

/// The mapping information of both work queues (`struct rxe_create_qp_resp`), receive queue
/// first.
#[repr(C)]
#[derive(IntoBytes, Immutable)]
struct CreateQpResp {
    rq: MmapInfo,
    sq: MmapInfo,
}

/// Returns the size of a receive work queue entry with room for `max_sge` scatter/gather
/// entries.
pub(crate) fn recv_wqe_size(max_sge: u32) -> usize {
    RECV_WQE_HEADER + (max_sge * SGE_SIZE) as usize
}

/// Returns the transport service of a queue pair type.
fn service_of(qp_type: QpType) -> Service {
    match qp_type {
        QpType::Rc => Service::ReliableConnected,
        QpType::Uc => Service::UnreliableConnected,
        QpType::Ud => Service::UnreliableDatagram,
        QpType::Gsi => Service::GeneralServices,
    }
}

/// Checks requested work queue sizes against the device's limits.
pub(crate) fn check_caps(caps: &QpCaps) -> Result {
    let max_wr = params::MAX_QP_WR;
    if caps.max_send_wr > max_wr
        || caps.max_recv_wr > max_wr
        || caps.max_send_sge > params::MAX_SGE
        || caps.max_recv_sge > params::MAX_SGE
        || caps.max_inline_data > MAX_INLINE_DATA
    {
        return Err(EINVAL);
    }
    Ok(())
}

/// Returns the send and receive queue geometries for requested sizes and the sizes granted:
/// a send entry's room serves both its scatter/gather list and inline data.
pub(crate) fn queue_layout(caps: &QpCaps) -> Result<(Geometry, Geometry, QpCaps)> {
    let payload = (caps.max_send_sge * SGE_SIZE).max(caps.max_inline_data);
    let sq = Geometry::new(caps.max_send_wr, SEND_WQE_HEADER + payload as usize)?;
    let rq = Geometry::new(caps.max_recv_wr, recv_wqe_size(caps.max_recv_sge))?;
    let granted = QpCaps {
        max_send_wr: sq.capacity(),
        max_recv_wr: rq.capacity(),
        max_send_sge: payload / SGE_SIZE,
        max_recv_sge: caps.max_recv_sge,
        max_inline_data: payload,
    };
    Ok((sq, rq, granted))
}

/// Creates a user work queue and maps it.
fn work_queue(udata: &UData<'_>, geometry: Geometry) -> Result<(FromUserQueue, MmapEntry)> {
    let queue = FromUserQueue::new(geometry)?;
    let mapping = MmapEntry::insert(udata, queue.buffer().clone())?;
    Ok((queue, mapping))
}

/// The user mappings of a queue pair's send and (if any) receive queue.
type Mappings = (Option<MmapEntry>, Option<MmapEntry>);

/// Creates the work queues of a user's queue pair and maps them for the provider.
fn user_queues(
    udata: &mut UData<'_>,
    requested: &QpCaps,
    has_srq: bool,
) -> Result<(WorkQueues, QpCaps, Mappings)> {
    // The provider sends nothing with the command and expects both queues' mappings back.
    if udata.in_len() != 0 || udata.out_len() < size_of::<CreateQpResp>() {
        return Err(EINVAL);
    }
    let (sq_geometry, rq_geometry, mut caps) = queue_layout(requested)?;
    if has_srq {
        caps.max_recv_wr = 0;
    }
    let (send, sq_mapping) = work_queue(udata, sq_geometry)?;
    let (recv, rq_mapping) = match has_srq {
        true => (None, None),
        false => {
            let (queue, mapping) = work_queue(udata, rq_geometry)?;
            (Some(queue), Some(mapping))
        }
    };
    udata.respond(&CreateQpResp {
        rq: match &rq_mapping {
            Some(mapping) => MmapInfo::of(mapping)?,
            None => MmapInfo::NONE,
        },
        sq: MmapInfo::of(&sq_mapping)?,
    })?;
    Ok((
        WorkQueues::User { send, recv },
        caps,
        (Some(sq_mapping), rq_mapping),
    ))
}

/// An empty send request.
fn empty_send() -> SendWqe {
    SendWqe {
        opcode: SendOpcode::Send,
        flags: 0,
        ex: 0,
        remote_addr: 0,
        rkey: 0,
        compare_add: 0,
        swap: 0,
        remote_qpn: 0,
        remote_qkey: 0,
        ah_num: 0,
        flush_type: 0,
        flush_level: 0,
        length: 0,
        payload: Payload::Gather(KVec::new()),
        bind: None,
        registration: None,
    }
}

/// Creates the work queues of an in-kernel consumer's queue pair: its sizes are granted as
/// requested.
fn kernel_queues(requested: &QpCaps, has_srq: bool) -> Result<(WorkQueues, QpCaps)> {
    let send = KernelQueue::new(requested.max_send_wr as usize, || {
        Ok(KernelSend {
            wr_id: RequestId::UNSET,
            wqe: empty_send(),
            sges: KVec::with_capacity(requested.max_send_sge as usize, GFP_KERNEL)?,
            inline: KVec::with_capacity(requested.max_inline_data as usize, GFP_KERNEL)?,
        })
    })?;
    let recv = match has_srq {
        true => None,
        false => Some(in_kernel::recv_queue(
            requested.max_recv_wr,
            requested.max_recv_sge,
        )?),
    };
    Ok((
        WorkQueues::Kernel {
            send,
            oldest: 0,
            recv,
        },
        *requested,
    ))
}

/// Creates a queue pair (`create_qp`): a user's, with work queues shared with its provider, or
/// an in-kernel consumer's, QP1 among them.
pub(crate) fn create(
    pd: &Pd<Rrxe>,
    attr: &QpInitAttr<'_, Rrxe>,
    udata: Option<&mut UData<'_>>,
) -> Result<(QpCreated, impl PinInit<RrxeQp, Error>)> {
    if attr.create_flags != 0 {
        return Err(EOPNOTSUPP);
    }
    // QP1 is the kernel's management agent's, on the device's one port.
    if attr.qp_type == QpType::Gsi && (udata.is_some() || attr.port != 1) {
        return Err(EINVAL);
    }
    let has_srq = attr.srq.is_some();
    let mut requested = attr.caps;
    if has_srq {
        // Receive requests come from the shared receive queue.
        requested.max_recv_wr = 0;
        requested.max_recv_sge = 0;
    }
    check_caps(&requested)?;
    let service = service_of(attr.qp_type);
    let engine = Engine::new()?;
    let info = Arc::new(
        QpInfo {
            service,
            engine: engine.clone(),
        },
        GFP_KERNEL,
    )?;
    let table = &pd.device().data().qps;
    let entry = match attr.qp_type {
        QpType::Gsi => table.insert_at(GSI_QPN, info, GFP_KERNEL)?,
        _ => table.insert(info, GFP_KERNEL)?,
    };
    let qpn = entry.index();
    let (queues, caps, mappings) = match udata {
        Some(udata) => user_queues(udata, &requested, has_srq)?,
        None => {
            let (queues, caps) = kernel_queues(&requested, has_srq)?;
            (queues, caps, (None, None))
        }
    };
    let attributes = Attributes {
        state: QpState::Reset,
        values: QpAttr {
            port: 1,
            path_mtu: Mtu::Mtu1024 as u32,
            ..QpAttr::default()
        },
    };
    let signal_all = attr.signal_all;
    let pd = pd.as_raw() as usize;
    let init = try_pin_init!(RrxeQp {
        service,
        caps,
        signal_all,
        attrs <- new_spinlock_irq!(attributes),
        queues <- new_spinlock_irq!(queues),
        transport <- new_spinlock_bh!(Transport::default()),
        engine,
        pd,
        _mappings: mappings,
        _entry: entry,
    });
    Ok((QpCreated { qp_num: qpn, caps }, init))
}

/// Tears down a queue pair (`destroy_qp`): the completions of an in-kernel consumer's queue
/// pair are removed from its CQs, so that no later poll names it. Posted requests go without
/// completions, as on other devices: consumers drain a queue pair (via the error state)
/// before destroying it.
pub(crate) fn destroy(qp: &Qp<Rrxe>) {
    // The engine's reference to the queue pair goes, and with it the last way to reach the
    // queue pair from a packet.
    qp.data().engine.detach();
    if matches!(*qp.data().queues.lock(), WorkQueues::User { .. }) {
        return;
    }
    for cq in [qp.send_cq(), qp.recv_cq()].into_iter().flatten() {
        cq::remove_completions_of(cq, qp);
    }
}

/// The attribute mask bits the device knows.
const KNOWN_ATTRS: u32 = (AttrMask::DEST_QPN.0 << 1) - 1;

/// The rights a queue pair may grant incoming requests: a region's, hints aside, and both
/// flush rights, which consumers set whatever the device offers (a flush to persistence
/// finds no region registered for it).
const QP_ACCESS: Access = Access::from_bits(
    memory::SUPPORTED_MR_ACCESS.without(Access::OPTIONAL).bits()
        | Access::FLUSH_GLOBAL.bits()
        | Access::FLUSH_PERSISTENT.bits(),
);

/// Checks the values of a modify call's attributes; the mask was checked against the state
/// machine already.
pub(crate) fn check_values(attr: &QpAttr, mask: AttrMask, active_mtu: Mtu) -> Result {
    let has = |bit: AttrMask| mask.contains(bit);
    if has(AttrMask::PORT) && attr.port != 1 {
        return Err(EINVAL);
    }
    // One partition: the default one at index 0.
    if has(AttrMask::PKEY_INDEX) && attr.pkey_index != 0 {
        return Err(EINVAL);
    }
    if has(AttrMask::ACCESS_FLAGS) && !QP_ACCESS.contains(Access::from_bits(attr.access_flags)) {
        return Err(EINVAL);
    }
    if has(AttrMask::PATH_MTU) {
        // A path MTU beyond the port's active MTU could not be sent.
        let mtu = Mtu::from_raw(attr.path_mtu).ok_or(EINVAL)?;
        if mtu.bytes() > active_mtu.bytes() {
            return Err(EINVAL);
        }
    }
    if has(AttrMask::AV) {
        let av = attr.av.as_ref().ok_or(EINVAL)?;
        if av.port != 1 || !matches!(av.network_type, NetworkType::Ipv4 | NetworkType::Ipv6) {
            return Err(EINVAL);
        }
    }
    if has(AttrMask::TIMEOUT) && attr.timeout > MAX_TIMER_CODE {
        return Err(EINVAL);
    }
    if has(AttrMask::MIN_RNR_TIMER) && attr.min_rnr_timer > MAX_TIMER_CODE {
        return Err(EINVAL);
    }
    if has(AttrMask::RETRY_CNT) && attr.retry_cnt > MAX_RETRY {
        return Err(EINVAL);
    }
    if has(AttrMask::RNR_RETRY) && attr.rnr_retry > MAX_RETRY {
        return Err(EINVAL);
    }
    if has(AttrMask::MAX_QP_RD_ATOMIC) && u32::from(attr.max_rd_atomic) > params::MAX_QP_RD_ATOM {
        return Err(EINVAL);
    }
    if has(AttrMask::MAX_DEST_RD_ATOMIC)
        && u32::from(attr.max_dest_rd_atomic) > params::MAX_QP_RD_ATOM
    {
        return Err(EINVAL);
    }
    if has(AttrMask::DEST_QPN) && attr.dest_qp_num > QPN_MASK {
        return Err(EINVAL);
    }
    // Alternate paths (automatic path migration) are not offered.
    if has(AttrMask::ALT_PATH) {
        return Err(EOPNOTSUPP);
    }
    Ok(())
}

/// Copies the attributes a modify call gives into the held ones.
fn apply(held: &mut QpAttr, attr: &QpAttr, mask: AttrMask) {
    let has = |bit: AttrMask| mask.contains(bit);
    if has(AttrMask::ACCESS_FLAGS) {
        held.access_flags = attr.access_flags;
    }
    if has(AttrMask::PKEY_INDEX) {
        held.pkey_index = attr.pkey_index;
    }
    if has(AttrMask::PORT) {
        held.port = attr.port;
    }
    if has(AttrMask::QKEY) {
        held.qkey = attr.qkey;
    }
    if has(AttrMask::AV) {
        held.av = attr.av;
    }
    if has(AttrMask::PATH_MTU) {
        held.path_mtu = attr.path_mtu;
    }
    if has(AttrMask::TIMEOUT) {
        held.timeout = attr.timeout;
    }
    if has(AttrMask::RETRY_CNT) {
        held.retry_cnt = attr.retry_cnt;
    }
    if has(AttrMask::RNR_RETRY) {
        held.rnr_retry = attr.rnr_retry;
    }
    // PSNs are 24 bits; the upper bits are ignored, as by other RoCE devices.
    if has(AttrMask::RQ_PSN) {
        held.rq_psn = attr.rq_psn & PSN_MASK;
    }
    if has(AttrMask::SQ_PSN) {
        held.sq_psn = attr.sq_psn & PSN_MASK;
    }
    if has(AttrMask::MAX_QP_RD_ATOMIC) {
        held.max_rd_atomic = attr.max_rd_atomic;
    }
    if has(AttrMask::MAX_DEST_RD_ATOMIC) {
        held.max_dest_rd_atomic = attr.max_dest_rd_atomic;
    }
    if has(AttrMask::MIN_RNR_TIMER) {
        held.min_rnr_timer = attr.min_rnr_timer;
    }
    if has(AttrMask::DEST_QPN) {
        held.dest_qp_num = attr.dest_qp_num;
    }
    if has(AttrMask::PATH_MIG_STATE) {
        held.path_mig_state = attr.path_mig_state;
    }
    if has(AttrMask::EN_SQD_ASYNC_NOTIFY) {
        held.en_sqd_async_notify = attr.en_sqd_async_notify;
    }
}

/// Modifies a queue pair (`modify_qp`): the state machine decides which attributes the
/// change takes, each is validated, and only then is anything changed.
pub(crate) fn modify(
    qp: &Qp<Rrxe>,
    attr: &QpAttr,
    mask: u32,
    udata: Option<&mut UData<'_>>,
) -> Result {
    if let Some(udata) = udata {
        // The provider sends no driver data with MODIFY_QP.
        if udata.in_len() != 0 && !udata.input_is_zero_from(0) {
            return Err(EOPNOTSUPP);
        }
    }
    if mask & !KNOWN_ATTRS != 0 {
        return Err(EOPNOTSUPP);
    }
    let mask = AttrMask(mask);
    let requested = match mask.contains(AttrMask::STATE) {
        true => Some(QpState::from_raw(attr.state).ok_or(EINVAL)?),
        false => None,
    };
    let claimed = match mask.contains(AttrMask::CUR_STATE) {
        true => Some(QpState::from_raw(attr.cur_state).ok_or(EINVAL)?),
        false => None,
    };
    let netdev = qp.device().netdev(1).ok_or(ENODEV)?;
    check_values(attr, mask, device::active_mtu(netdev.mtu()))?;
    let this = qp.data();
    let mut transport = this.transport.lock();
    let mut held = this.attrs.lock();
    let previous = held.state;
    let next = check_modify(held.state, claimed, requested, this.service, mask)?;
    apply(&mut held.values, attr, mask);
    held.state = next;
    this.engine.attach(qp);
    if mask.contains(AttrMask::RQ_PSN) {
        transport.expected_psn = held.values.rq_psn;
    }
    if mask.contains(AttrMask::SQ_PSN) {
        transport.start_sending_at(held.values.sq_psn);
    }
    if mask.contains(AttrMask::RNR_RETRY) {
        transport.rnr_retries_left = held.values.rnr_retry;
    }
    if mask.contains(AttrMask::RETRY_CNT) {
        transport.ack_timer.set_retry_cnt(held.values.retry_cnt);
    }
    // Received packets that waited are freed once no lock that disables interrupts is held.
    let mut packets = KVec::new();
    match next {
        // Posted requests are dropped without completions.
        QpState::Reset => match &mut *this.queues.lock() {
            WorkQueues::User { send, recv } => {
                send.discard_all()?;
                if let Some(recv) = recv {
                    recv.discard_all()?;
                }
            }
            WorkQueues::Kernel { send, oldest, recv } => {
                send.clear();
                *oldest = 0;
                if let Some(recv) = recv {
                    recv.clear();
                }
            }
        },
        QpState::Error => {
            let mut queues = this.queues.lock();
            packets = flush_transport(qp, &mut transport);
            flush_queues(qp, &mut queues);
        }
        _ => {}
    }
    if next == QpState::Reset {
        packets = core::mem::take(&mut transport.deferred);
        transport.reset();
    }
    // The send queue is drained when the QP enters SQD if nothing is in flight; otherwise
    // the requests in flight still complete, and SQD is reported when it is entered.
    let drained =
        next == QpState::SendQueueDrained && previous != next && held.values.en_sqd_async_notify;
    drop(held);
    drop(packets);
    drop(transport);
    if next == QpState::ReadyToSend {
        kick(qp);
    }
    if next == QpState::Error && previous != next && qp.srq().is_some() {
        qp.report_event(QpEvent::LastWqeReached);
    }
    if drained {
        qp.report_event(QpEvent::SqDrained);
    }
    Ok(())
}

/// Returns a queue pair's attributes (`query_qp`).
pub(crate) fn query(qp: &Qp<Rrxe>) -> Result<(QpAttr, QpCaps, bool)> {
    let this = qp.data();
    let transport = this.transport.lock();
    let held = this.attrs.lock();
    let mut values = held.values;
    let state = held.state;
    // Released in the order taken in reverse: bottom halves are enabled again only once
    // interrupts are.
    drop(held);
    if !matches!(state, QpState::Reset | QpState::Init) {
        // Where the transport stands, not where it was set to start (`rdma res show qp`).
        values.rq_psn = transport.expected_psn;
        values.sq_psn = transport.next_psn;
    }
    drop(transport);
    values.state = state as u32;
    values.cur_state = state as u32;
    values.caps = this.caps;
    values.sq_draining = false;
    Ok((values, this.caps, this.signal_all))
}
