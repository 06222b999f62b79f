// SPDX-License-Identifier: GPL-2.0

//! Queue pairs: creation with work queues shared with the user-space provider or kept in the
//! kernel for in-kernel consumers, the modify state machine with per-attribute validation,
//! posting, flushing, and queries.

use crate::{
    cq::{self, MmapInfo},
    device::{self, Rrxe},
    engine::{Engine, Transport},
    kqueue::{self, KernelQueue, RecvQueue},
    mr::{self, FastRegistration},
    packet, params,
    psn::PSN_MASK,
    qp_state::{check_modify, AttrMask, QpState, Service},
    queue::{FromUserQueue, Geometry},
    requester::route_of,
    table::{Entry, Table},
    wqe::{
        self, Malformed, Payload, RecvWqe, SendOpcode, SendWqe, RECV_WQE_HEADER, SEND_WQE_HEADER,
        SGE_SIZE,
    },
};
use kernel::{
    new_mutex, new_spinlock_irq,
    prelude::*,
    rdma::{
        attr::{Mtu, NetworkType},
        mmap::MmapEntry,
        mr::Access,
        object::{Cq, Pd, Qp},
        post::{send_flags, PostError, RecvRequests, SendRequest, SendRequests, Sge, WrOpcode},
        qp::{QpAttr, QpCaps, QpCreated, QpInitAttr, QpType},
        udata::UData,
        wc::{QpEvent, WcOpcode, WorkCompletion},
    },
    sync::{Arc, Mutex, SpinLockIrq},
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
    /// the engine while it runs and by modify calls.
    #[pin]
    pub(crate) transport: Mutex<Transport>,
    engine: Arc<Engine>,
    /// The protection domain's identity.
    pd: usize,
    _mappings: Mappings,
    _entry: Entry<QpInfo>,
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
        wr_id: 0,
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
            wqe: empty_send(),
            sges: KVec::with_capacity(requested.max_send_sge as usize, GFP_KERNEL)?,
            inline: KVec::with_capacity(requested.max_inline_data as usize, GFP_KERNEL)?,
        })
    })?;
    let recv = match has_srq {
        true => None,
        false => Some(kqueue::recv_queue(
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
        transport <- new_mutex!(Transport::default()),
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
        cq::remove_completions_of(cq, qp.handle());
    }
}

/// The attribute mask bits the device knows.
const KNOWN_ATTRS: u32 = (AttrMask::DEST_QPN.0 << 1) - 1;

/// The rights a queue pair may grant incoming requests: a region's, hints aside, and the
/// flush rights, which consumers set whatever the device offers (flush requests are invalid
/// requests here, the right or not).
const QP_ACCESS: Access = Access::from_bits(
    mr::SUPPORTED_MR_ACCESS.without(Access::OPTIONAL).bits()
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
        transport.next_psn = held.values.sq_psn;
    }
    if mask.contains(AttrMask::RNR_RETRY) {
        transport.rnr_retries_left = held.values.rnr_retry;
    }
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
        QpState::Error => match &mut *this.queues.lock() {
            WorkQueues::User { send, recv } => {
                flush_transport(qp, &mut transport);
                let mut more = flush_send(qp, send);
                if let Some(recv) = recv {
                    more |= flush_recv(qp, recv);
                }
                if more {
                    kick(qp);
                }
            }
            WorkQueues::Kernel { send, oldest, recv } => {
                flush_transport(qp, &mut transport);
                flush_kernel_send(qp, send, oldest);
                if let Some(recv) = recv {
                    flush_kernel_recv(qp, recv);
                }
            }
        },
        _ => {}
    }
    if next == QpState::Reset {
        transport.reset();
    }
    // The send queue is drained when the QP enters SQD if nothing is in flight; otherwise
    // the requests in flight still complete, and SQD is reported when it is entered.
    let drained =
        next == QpState::SendQueueDrained && previous != next && held.values.en_sqd_async_notify;
    drop(held);
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

/// Entries of a user queue one flush completes; the engine flushes the rest, a batch per
/// round, so that a large queue does not keep interrupts off for long.
const FLUSH_BATCH: u32 = 1024;

/// Completes the entries posted to `queue` now with flush errors, oldest first, on `cq`, and
/// consumes them, [`FLUSH_BATCH`] at most; returns whether more are left. Once the CQ refuses
/// a completion (it overran) the rest are consumed without.
///
/// Entries user space posts meanwhile wait for the next flush: the count taken first bounds
/// the work whatever user space does to the queue.
fn flush(
    queue: &mut FromUserQueue,
    cq: Option<&Cq<Rrxe>>,
    qp: &Qp<Rrxe>,
    opcode_of: impl Fn(&[u8; wqe::ID_AND_OPCODE_LEN]) -> WcOpcode,
) -> bool {
    let mut cq = cq;
    let mut head = [0; wqe::ID_AND_OPCODE_LEN];
    let count = queue.count();
    for _ in 0..count.min(FLUSH_BATCH) {
        if let Some(target) = cq {
            let completed = matches!(queue.read_head(&mut head), Some(Ok(())))
                && cq::post(
                    target,
                    &WorkCompletion::flushed(wqe::wr_id(&head), opcode_of(&head), qp.handle()),
                    false,
                )
                .is_ok();
            if !completed {
                cq = None;
            }
        }
        if queue.advance().is_err() {
            return false;
        }
    }
    count > FLUSH_BATCH
}

/// Flushes the send queue to the send CQ; returns whether entries are left for the engine.
fn flush_send(qp: &Qp<Rrxe>, send: &mut FromUserQueue) -> bool {
    // The operation of a flushed request is not defined for the consumer; one user space
    // wrote garbage into is reported as a send.
    flush(send, qp.send_cq(), qp, |head| {
        SendOpcode::from_raw(wqe::send_opcode(head))
            .map_or(WcOpcode::Send, |op| op.completion_opcode())
    })
}

/// Flushes the queue pair's own receive queue to the receive CQ; returns whether entries are
/// left for the engine.
fn flush_recv(qp: &Qp<Rrxe>, recv: &mut FromUserQueue) -> bool {
    flush(recv, qp.recv_cq(), qp, |_| WcOpcode::Recv)
}

/// Flushes the user queues of a queue pair in an error state a batch further (the engine,
/// each round); returns whether entries are left.
pub(crate) fn flush_more(qp: &Qp<Rrxe>) -> bool {
    let this = qp.data();
    let held = this.attrs.lock();
    let recv_too = match held.state {
        QpState::Error => true,
        QpState::SendQueueError => false,
        _ => return false,
    };
    let mut queues = this.queues.lock();
    let WorkQueues::User { send, recv } = &mut *queues else {
        return false;
    };
    let mut more = send.count() > 0 && flush_send(qp, send);
    if let Some(recv) = recv.as_mut().filter(|recv| recv_too && recv.count() > 0) {
        more |= flush_recv(qp, recv);
    }
    more
}

/// Flushes an in-kernel consumer's receive queue to the receive CQ, oldest first. Once the CQ
/// refuses a completion (it overran) the rest are dropped without.
fn flush_kernel_recv(qp: &Qp<Rrxe>, recv: &mut RecvQueue) {
    let mut cq = qp.recv_cq();
    while let Some(request) = recv.front() {
        let completion = WorkCompletion::flushed(request.wr_id, WcOpcode::Recv, qp.handle());
        if cq.is_some_and(|target| cq::post(target, &completion, false).is_err()) {
            cq = None;
        }
        recv.pop_front();
    }
}

/// Flushes an in-kernel consumer's send queue to the send CQ, oldest first. Once the CQ
/// refuses a completion (it overran) the rest are dropped without.
fn flush_kernel_send(qp: &Qp<Rrxe>, send: &mut KernelQueue<KernelSend>, oldest: &mut u32) {
    let mut cq = qp.send_cq();
    while let Some(request) = send.front() {
        let wqe = &request.wqe;
        let completion =
            WorkCompletion::flushed(wqe.wr_id, wqe.opcode.completion_opcode(), qp.handle());
        if cq.is_some_and(|target| cq::post(target, &completion, false).is_err()) {
            cq = None;
        }
        send.pop_front();
        *oldest = oldest.wrapping_add(1);
    }
}

/// Handles the send doorbell: user space posted send requests (`post_send`).
///
/// Before RTS nothing may be posted (`EINVAL`). In the error states the requests are flushed
/// at once. In RTS the requester takes them; in SQD they wait for RTS.
pub(crate) fn send_doorbell(qp: &Qp<Rrxe>) -> Result {
    let this = qp.data();
    let held = this.attrs.lock();
    let mut queues = this.queues.lock();
    let WorkQueues::User { send, .. } = &mut *queues else {
        // An in-kernel consumer posts its requests with the call.
        return Err(EINVAL);
    };
    match held.state {
        QpState::Reset | QpState::Init | QpState::ReadyToReceive => Err(EINVAL),
        QpState::Error | QpState::SendQueueError => {
            if flush_send(qp, send) {
                kick(qp);
            }
            Ok(())
        }
        QpState::SendQueueDrained => Ok(()),
        QpState::ReadyToSend => {
            drop(queues);
            drop(held);
            // The requester runs in the caller's context, as do the engines its packets
            // reach: the posting process pays for its traffic, without worker wakeups.
            this.engine.run_inline(qp.device());
            Ok(())
        }
    }
}

/// Returns whether a queue pair of `service` carries out `opcode`.
pub(crate) fn service_allows(service: Service, opcode: WrOpcode) -> bool {
    match service {
        Service::ReliableConnected => true,
        Service::UnreliableConnected => matches!(
            opcode,
            WrOpcode::RdmaWrite
                | WrOpcode::RdmaWriteWithImm
                | WrOpcode::Send
                | WrOpcode::SendWithImm
                | WrOpcode::LocalInvalidate
                | WrOpcode::RegMr
        ),
        Service::UnreliableDatagram | Service::GeneralServices => {
            matches!(opcode, WrOpcode::Send | WrOpcode::SendWithImm)
        }
    }
}

/// Returns the operation a send request of an in-kernel consumer asks for.
pub(crate) fn send_opcode_of(opcode: WrOpcode) -> SendOpcode {
    match opcode {
        WrOpcode::RdmaWrite => SendOpcode::RdmaWrite,
        WrOpcode::RdmaWriteWithImm => SendOpcode::RdmaWriteWithImm,
        WrOpcode::Send => SendOpcode::Send,
        WrOpcode::SendWithImm => SendOpcode::SendWithImm,
        WrOpcode::RdmaRead => SendOpcode::RdmaRead,
        WrOpcode::AtomicCompareSwap => SendOpcode::AtomicCompareSwap,
        WrOpcode::AtomicFetchAdd => SendOpcode::AtomicFetchAdd,
        WrOpcode::LocalInvalidate => SendOpcode::LocalInvalidate,
        WrOpcode::SendWithInvalidate => SendOpcode::SendWithInvalidate,
        WrOpcode::RegMr => SendOpcode::RegMr,
    }
}

/// Checks an in-kernel consumer's send request against the queue pair and copies it into
/// `slot`. Does not allocate: the slot's room was reserved with the queue.
fn fill_send(this: &RrxeQp, request: &SendRequest<'_, Rrxe>, slot: &mut KernelSend) -> Result {
    let opcode = request.opcode().ok_or(EINVAL)?;
    if !service_allows(this.service, opcode) || request.num_sge() > this.caps.max_send_sge {
        return Err(EINVAL);
    }
    let inline = request.flags() & send_flags::INLINE != 0;
    slot.sges.clear();
    slot.inline.clear();
    let length = if inline {
        request.copy_inline(&mut slot.inline)?;
        slot.inline.len() as u32
    } else {
        for sge in request.sges() {
            slot.sges.push_within_capacity(sge).map_err(|_| EINVAL)?;
        }
        slot.sges
            .iter()
            .try_fold(0u32, |len, sge| len.checked_add(sge.length))
            .ok_or(EINVAL)?
    };
    let wqe = &mut slot.wqe;
    *wqe = empty_send();
    wqe.wr_id = request.wr_id();
    wqe.opcode = send_opcode_of(opcode);
    wqe.flags = request.flags();
    wqe.length = length;
    wqe.ex = match opcode {
        WrOpcode::LocalInvalidate | WrOpcode::SendWithInvalidate => request.invalidate_rkey(),
        _ => request.immediate(),
    };
    if let Some(remote) = request.rdma() {
        wqe.remote_addr = remote.addr;
        wqe.rkey = remote.rkey;
    }
    if let Some(atomic) = request.atomic() {
        wqe.remote_addr = atomic.remote.addr;
        wqe.rkey = atomic.remote.rkey;
        wqe.compare_add = atomic.compare_add;
        wqe.swap = atomic.swap;
    }
    if opcode == WrOpcode::RegMr {
        let registration = request.registration().ok_or(EINVAL)?;
        wqe.registration = Some(FastRegistration {
            region: mr::state_of(registration.mr),
            key: registration.key,
            access: registration.access,
            mapping: registration.mapping,
        });
    }
    if let Some(datagram) = request.datagram() {
        let datagram = datagram?;
        wqe.ah_num = datagram.ah.data().number();
        wqe.remote_qpn = datagram.remote_qpn;
        wqe.remote_qkey = datagram.remote_qkey;
    }
    Ok(())
}

/// Posts an in-kernel consumer's send requests (`post_send`).
///
/// Before RTS nothing may be posted (`EINVAL`). Each request is checked and copied (`EINVAL`),
/// and waits in the send queue (`ENOMEM` when it is full). In RTS the engine is queued to
/// carry them out; in SQD they wait for RTS; in the error states they are flushed at once.
pub(crate) fn post_send(qp: &Qp<Rrxe>, requests: SendRequests<'_, Rrxe>) -> Result<(), PostError> {
    let this = qp.data();
    let held = this.attrs.lock();
    let mut queues = this.queues.lock();
    let fail = |posted, error| PostError { posted, error };
    // A user's requests belong in the queue shared with its provider.
    let WorkQueues::Kernel { send, oldest, .. } = &mut *queues else {
        return Err(fail(0, EINVAL));
    };
    if matches!(
        held.state,
        QpState::Reset | QpState::Init | QpState::ReadyToReceive
    ) {
        return Err(fail(0, EINVAL));
    }
    let mut result = Ok(());
    for (posted, request) in requests.enumerate() {
        if let Err(e) = send.push_with(|slot| fill_send(this, &request, slot)) {
            result = Err(fail(posted, e));
            break;
        }
    }
    let state = held.state;
    if matches!(state, QpState::Error | QpState::SendQueueError) {
        flush_kernel_send(qp, send, oldest);
    }
    drop(queues);
    drop(held);
    if state == QpState::ReadyToSend {
        // Consumers post from any context: the engine runs from its work item.
        kick(qp);
    }
    result
}

/// Posts an in-kernel consumer's receive requests (`post_recv`): they wait in the receive
/// queue, or complete at once with a flush error in the error state.
pub(crate) fn post_recv(qp: &Qp<Rrxe>, requests: RecvRequests<'_>) -> Result<(), PostError> {
    let this = qp.data();
    let held = this.attrs.lock();
    let mut queues = this.queues.lock();
    let fail = |posted, error| PostError { posted, error };
    // A user's requests belong in the queue shared with its provider; a queue pair on an SRQ
    // has no receive queue of its own.
    let WorkQueues::Kernel {
        recv: Some(recv), ..
    } = &mut *queues
    else {
        return Err(fail(0, EINVAL));
    };
    if held.state == QpState::Reset {
        return Err(fail(0, EINVAL));
    }
    let result = kqueue::post_recvs(recv, requests, this.caps.max_recv_sge);
    if held.state == QpState::Error {
        flush_kernel_recv(qp, recv);
    }
    result
}

/// Returns a queue pair's attributes (`query_qp`).
pub(crate) fn query(qp: &Qp<Rrxe>) -> Result<(QpAttr, QpCaps, bool)> {
    let this = qp.data();
    let held = this.attrs.lock();
    let mut values = held.values;
    values.state = held.state as u32;
    values.cur_state = held.state as u32;
    values.caps = this.caps;
    values.sq_draining = false;
    Ok((values, this.caps, this.signal_all))
}

/// What the requester and completer need of a queue pair's attributes, copied for a run.
pub(crate) struct SendView {
    pub(crate) service: packet::Transport,
    pub(crate) is_gsi: bool,
    /// The path MTU in bytes.
    pub(crate) mtu: u32,
    pub(crate) qkey: u32,
    /// The route of a connected queue pair.
    pub(crate) route: packet::Route,
    pub(crate) dest_qpn: u32,
    pub(crate) pd: usize,
    pub(crate) rnr_retry: u8,
    /// New requests may start (RTS); in SQD only those in flight complete.
    pub(crate) may_start: bool,
    /// Reads and atomics it may have outstanding at the responder.
    pub(crate) max_rd_atomic: u8,
}

/// What the responder needs of a queue pair's attributes.
pub(crate) struct RecvView {
    pub(crate) service: packet::Transport,
    pub(crate) is_gsi: bool,
    pub(crate) mtu: u32,
    pub(crate) pd: usize,
    /// The rights the queue pair grants incoming requests.
    pub(crate) access: Access,
    pub(crate) qkey: u32,
    pub(crate) min_rnr_timer: u8,
    pub(crate) dest_qpn: u32,
    /// Reads and atomics of the requester it keeps answers for; none are taken if zero.
    pub(crate) max_dest_rd_atomic: u8,
}

fn transport_of(service: Service) -> packet::Transport {
    match service {
        Service::ReliableConnected => packet::Transport::Rc,
        Service::UnreliableConnected => packet::Transport::Uc,
        Service::UnreliableDatagram | Service::GeneralServices => packet::Transport::Ud,
    }
}

fn mtu_bytes(values: &QpAttr) -> u32 {
    Mtu::from_raw(values.path_mtu).map_or(1024, |mtu| mtu.bytes())
}

/// Returns the requester's view of the queue pair, if it sends or completes in its state:
/// RTS and SQD (requests in flight complete while the send queue drains).
pub(crate) fn send_view(qp: &Qp<Rrxe>) -> Option<SendView> {
    let this = qp.data();
    let held = this.attrs.lock();
    if !matches!(held.state, QpState::ReadyToSend | QpState::SendQueueDrained) {
        return None;
    }
    let v = &held.values;
    Some(SendView {
        service: transport_of(this.service),
        is_gsi: this.service == Service::GeneralServices,
        mtu: match this.service {
            // A datagram may be as long as the port's MTU.
            Service::UnreliableDatagram | Service::GeneralServices => {
                let netdev = qp.device().netdev(1)?;
                device::active_mtu(netdev.mtu()).bytes()
            }
            _ => mtu_bytes(v),
        },
        qkey: v.qkey,
        route: match &v.av {
            Some(av) => route_of(av, qp.qp_num()),
            None => packet::Route {
                source: [0; 16],
                destination: [0xff; 16],
                ipv4: true,
                traffic_class: 0,
                hop_limit: 0,
                flow_label: 0,
                source_port: 0,
            },
        },
        dest_qpn: v.dest_qp_num,
        pd: this.pd,
        rnr_retry: v.rnr_retry,
        may_start: held.state == QpState::ReadyToSend,
        max_rd_atomic: v.max_rd_atomic,
    })
}

/// Returns the responder's view of the queue pair, if it takes requests in its state: from
/// RTR until an error.
pub(crate) fn recv_view(qp: &Qp<Rrxe>) -> Option<RecvView> {
    let this = qp.data();
    let held = this.attrs.lock();
    if !matches!(
        held.state,
        QpState::ReadyToReceive
            | QpState::ReadyToSend
            | QpState::SendQueueDrained
            | QpState::SendQueueError
    ) {
        return None;
    }
    let v = &held.values;
    Some(RecvView {
        service: transport_of(this.service),
        is_gsi: this.service == Service::GeneralServices,
        mtu: mtu_bytes(v),
        pd: this.pd,
        access: Access::from_bits(v.access_flags),
        qkey: v.qkey,
        min_rnr_timer: v.min_rnr_timer,
        dest_qpn: v.dest_qp_num,
        max_dest_rd_atomic: v.max_dest_rd_atomic,
    })
}

/// Returns whether every send request of the queue pair completes, signaled or not.
pub(crate) fn signals_all(qp: &Qp<Rrxe>) -> bool {
    qp.data().signal_all
}

/// Queues a run of the queue pair's engine.
pub(crate) fn kick(qp: &Qp<Rrxe>) {
    qp.data().engine.schedule(qp.device());
}

/// Returns a copy of the send request at `index`, checked against the queue pair's limits;
/// `None` if nothing is posted there. The copy allocates.
pub(crate) fn read_send(
    qp: &Qp<Rrxe>,
    index: u32,
    slot: &mut [u8],
) -> Option<Result<SendWqe, Malformed>> {
    let this = qp.data();
    let queues = this.queues.lock();
    match &*queues {
        WorkQueues::User { send, .. } => {
            if send.posted_from(index) == 0 {
                return None;
            }
            let len = slot.len().min(send.geometry().elem_size());
            let read = send.read_at(index, &mut slot[..len]);
            drop(queues);
            // Parsed outside the lock: the copy allocates.
            Some(read.map_err(|_| Malformed::Length).and_then(|()| {
                wqe::parse_send(
                    &slot[..len],
                    this.caps.max_send_sge,
                    this.caps.max_inline_data,
                )
            }))
        }
        WorkQueues::Kernel { send, oldest, .. } => {
            let request = send.get(index.wrapping_sub(*oldest) as usize)?;
            let mut wqe = request.wqe.without_payload();
            // Copied under the lock, which disables interrupts: no allocation may sleep.
            let payload = if request.wqe.flags & send_flags::INLINE != 0 {
                let mut data = KVec::new();
                data.extend_from_slice(&request.inline, GFP_ATOMIC)
                    .map(|()| Payload::Inline(data))
            } else {
                let mut sges = KVec::new();
                sges.extend_from_slice(&request.sges, GFP_ATOMIC)
                    .map(|()| Payload::Gather(sges))
            };
            Some(payload.map_err(|_| Malformed::NoMemory).map(|payload| {
                wqe.payload = payload;
                wqe
            }))
        }
    }
}

/// Returns the identifier and completion operation of the send request at `index`, for a
/// completion that reports it failed; `None` if nothing is posted there.
pub(crate) fn send_head(qp: &Qp<Rrxe>, index: u32) -> Option<(u64, WcOpcode)> {
    let queues = qp.data().queues.lock();
    match &*queues {
        WorkQueues::User { send, .. } => {
            if send.posted_from(index) == 0 {
                return None;
            }
            let mut head = [0u8; wqe::ID_AND_OPCODE_LEN];
            send.read_at(index, &mut head).ok()?;
            // The operation of a request user space wrote garbage into is reported as a send.
            let opcode = SendOpcode::from_raw(wqe::send_opcode(&head))
                .map_or(WcOpcode::Send, |op| op.completion_opcode());
            Some((wqe::wr_id(&head), opcode))
        }
        WorkQueues::Kernel { send, oldest, .. } => {
            let request = send.get(index.wrapping_sub(*oldest) as usize)?;
            Some((request.wqe.wr_id, request.wqe.opcode.completion_opcode()))
        }
    }
}

/// Returns the send queue index after `index`.
pub(crate) fn next_send_index(qp: &Qp<Rrxe>, index: u32) -> u32 {
    match &*qp.data().queues.lock() {
        WorkQueues::User { send, .. } => send.geometry().next(index),
        WorkQueues::Kernel { .. } => index.wrapping_add(1),
    }
}

/// Returns the send queue index before `index`.
pub(crate) fn send_index_before(qp: &Qp<Rrxe>, index: u32) -> u32 {
    match &*qp.data().queues.lock() {
        WorkQueues::User { send, .. } => {
            let geometry = send.geometry();
            index.wrapping_sub(1) & geometry.capacity()
        }
        WorkQueues::Kernel { .. } => index.wrapping_sub(1),
    }
}

/// Consumes the oldest send queue entry: its request completed.
pub(crate) fn consume_send(qp: &Qp<Rrxe>) {
    match &mut *qp.data().queues.lock() {
        WorkQueues::User { send, .. } => {
            let _ = send.advance();
        }
        WorkQueues::Kernel { send, oldest, .. } => {
            if send.len() > 0 {
                send.pop_front();
                *oldest = oldest.wrapping_add(1);
            }
        }
    }
}

/// Returns the route to the address handle `ah_num` of the queue pair's protection domain.
pub(crate) fn address_handle(qp: &Qp<Rrxe>, ah_num: u32) -> Option<packet::Route> {
    let info = qp.device().data().ahs.get(ah_num)?;
    (info.pd == qp.data().pd).then(|| route_of(&info.av, qp.qp_num()))
}

/// Takes the next receive request, from the queue pair's receive queue or its SRQ; `None`
/// if there is none.
pub(crate) fn take_recv(qp: &Qp<Rrxe>, slot: &mut [u8]) -> Option<Result<RecvWqe, Malformed>> {
    if let Some(srq) = qp.srq() {
        return crate::srq::take(srq, slot);
    }
    let max_sge = qp.data().caps.max_recv_sge;
    let mut queues = qp.data().queues.lock();
    let recv = match &mut *queues {
        WorkQueues::User {
            recv: Some(recv), ..
        } => recv,
        WorkQueues::Kernel {
            recv: Some(recv), ..
        } => return kqueue::take_recv(recv),
        _ => return None,
    };
    let taken = recv.take_head(slot)?;
    drop(queues);
    // Parsed outside the lock: the copy allocates.
    Some(match taken {
        Ok(slot) => wqe::parse_recv(slot, max_sge),
        Err(_) => Err(Malformed::Length),
    })
}

/// Completes the receive request of a message in progress with a flush error and forgets
/// the requester's and responder's progress: the queue pair entered the error state.
fn flush_transport(qp: &Qp<Rrxe>, t: &mut Transport) {
    if let Some(recv) = t.incoming.take().and_then(|incoming| incoming.recv) {
        if let Some(cq) = qp.recv_cq() {
            let completion = WorkCompletion::flushed(recv.wr_id, WcOpcode::Recv, qp.handle());
            let _ = cq::post(cq, &completion, false);
        }
    }
    t.current = None;
    t.in_flight.clear();
    t.done_locally.clear();
    t.rnr_waiting = false;
    // Nothing more is answered: the read being answered and the requests waiting for it go
    // (freeing them does not sleep; a region's memory is released by its deregistration).
    t.reply = None;
    t.deferred.clear();
}

/// Moves the queue pair to the error state from the data path: what is posted is flushed.
pub(crate) fn enter_error(qp: &Qp<Rrxe>, t: &mut Transport) {
    let this = qp.data();
    let mut held = this.attrs.lock();
    if held.state == QpState::Error {
        return;
    }
    held.state = QpState::Error;
    flush_transport(qp, t);
    match &mut *this.queues.lock() {
        WorkQueues::User { send, recv } => {
            let mut more = flush_send(qp, send);
            if let Some(recv) = recv {
                more |= flush_recv(qp, recv);
            }
            if more {
                kick(qp);
            }
        }
        WorkQueues::Kernel { send, oldest, recv } => {
            flush_kernel_send(qp, send, oldest);
            if let Some(recv) = recv {
                flush_kernel_recv(qp, recv);
            }
        }
    }
    drop(held);
    if qp.srq().is_some() {
        qp.report_event(QpEvent::LastWqeReached);
    }
}
