// SPDX-License-Identifier: GPL-2.0

//! The requester: takes send requests from the send queue in order, checks them, and turns
//! them into request packets of at most the path MTU each.
//!
//! Reliable requests stay in flight until the completer sees them acknowledged; unreliable
//! ones complete once their last packet is out. A request that cannot be carried out
//! completes with an error and moves the queue pair to the error state.

use super::complete;
use crate::{
    device::{Counter, Rrxe},
    memory::{for_each_piece, MemoryTables, Missed, PageFaults},
    net::{self, Outbox, Packet},
    queue::wqe::{flags, Malformed, Payload, SendOpcode, SendWqe},
    transport::engine::{Outgoing, Transport},
    transport::psn::Psn,
    transport::retry,
    verbs::cq::{self, Completion},
    verbs::qp::{self, SendView},
    wire::{Feth, Headers, Opcode, Operation, Position, TransportType},
};
use kernel::{
    prelude::*,
    rdma::{mr::Access, object::Qp, wc::WcStatus},
};

/// Packets a reliable queue pair sends ahead of its acknowledgments, at most.
pub(crate) const MAX_UNACKNOWLEDGED: u32 = 128;
/// Packets a reliable queue pair may send ahead of its acknowledgments however many were
/// lost.
pub(crate) const MIN_WINDOW: u32 = 8;

/// The PSNs a reliable sender may keep unacknowledged. A loss (a sequence error NAK, a read
/// response past a lost one, a local ACK timeout) halves it, down to [`MIN_WINDOW`]: each
/// loss makes the sender go back and send again what it sent after the lost packet, so on a
/// lossy path a smaller window wastes less. Each acknowledgment grows it by the PSNs it
/// covers, back to [`MAX_UNACKNOWLEDGED`]: a window's worth of acknowledgments doubles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window(u32);

impl Default for Window {
    fn default() -> Self {
        Self(MAX_UNACKNOWLEDGED)
    }
}

impl Window {
    /// Returns the number of PSNs.
    pub(crate) fn size(self) -> u32 {
        self.0
    }

    /// Halves the window after a loss.
    pub(crate) fn shrink(&mut self) {
        self.0 = (self.0 / 2).max(MIN_WINDOW);
    }

    /// Grows the window by `acknowledged` PSNs.
    pub(crate) fn grow(&mut self, acknowledged: u32) {
        self.0 = self.0.saturating_add(acknowledged).min(MAX_UNACKNOWLEDGED);
    }
}
/// Packets one requester round sends, so that responses are handled in between.
const PACKETS_PER_ROUND: u32 = 32;
/// The Q_Key of QP1.
const GSI_QKEY: u32 = 0x8001_0000;

/// Returns whether a request is answered by a response (reads, atomics, atomic writes and
/// flushes): it takes one of the responder's resources for reads and atomics.
pub(crate) fn needs_response(opcode: SendOpcode) -> bool {
    matches!(
        opcode,
        SendOpcode::RdmaRead
            | SendOpcode::AtomicCompareSwap
            | SendOpcode::AtomicFetchAdd
            | SendOpcode::AtomicWrite
            | SendOpcode::Flush
    )
}

/// Returns whether a request is answered by read response packets: a read by its data, an
/// atomic write and a flush by one packet of no bytes.
pub(crate) fn answered_by_read_response(opcode: SendOpcode) -> bool {
    matches!(
        opcode,
        SendOpcode::RdmaRead | SendOpcode::AtomicWrite | SendOpcode::Flush
    )
}

/// Returns whether a reliable sender may send the packet at `next` while `unacked` is the
/// first PSN not acknowledged: fewer than `window` PSNs are outstanding.
pub(crate) fn window_open(unacked: Psn, next: Psn, window: Window) -> bool {
    unacked.distance_to(next) < window.size() as i32
}

/// Returns whether the packet at `psn` asks for an acknowledgment besides the last of each
/// message: every half `window`, so that one at the window's end always does and the sender
/// is never left waiting for an acknowledgment nobody asked for.
pub(crate) fn asks_ack(unacked: Psn, psn: Psn, window: Window) -> bool {
    let half = (window.size() / 2).max(1) as i32;
    (unacked.distance_to(psn) + 1).rem_euclid(half) == 0
}

/// Whether a read or atomic may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadGate {
    Start,
    /// Once a response completes an earlier one: no more are outstanding than the
    /// responder takes (`max_rd_atomic`).
    Wait,
    /// The queue pair may have none outstanding (`max_rd_atomic` 0): it fails.
    Never,
}

/// Decides whether a read or atomic may start with `outstanding` already in flight.
pub(crate) fn read_gate(outstanding: usize, max_rd_atomic: u8) -> ReadGate {
    match max_rd_atomic {
        0 => ReadGate::Never,
        max if outstanding >= usize::from(max) => ReadGate::Wait,
        _ => ReadGate::Start,
    }
}

/// Returns the reads and atomics in flight.
fn outstanding_reads(t: &Transport) -> usize {
    t.in_flight
        .iter()
        .filter(|o| needs_response(o.wqe.opcode))
        .count()
}

/// Sends what the send queue holds, as far as the window allows; returns whether it sent
/// packets.
pub(crate) fn run(qp: &Qp<Rrxe>, t: &mut Transport, out: &mut Outbox) -> bool {
    let sent_before = out.len();
    send(qp, t, out);
    out.len() > sent_before
}

/// Sends what the send queue holds, as far as the window allows.
fn send(qp: &Qp<Rrxe>, t: &mut Transport, out: &mut Outbox) {
    let Some(view) = qp::send_view(qp) else {
        return;
    };
    if t.rnr_waiting {
        return;
    }
    for _ in 0..PACKETS_PER_ROUND {
        // Requests sent before are sent again (go-back-N) even while the send queue drains.
        let resending = Psn::new(t.next_psn).precedes(Psn::new(t.sent_end_psn));
        let may_start = view.may_start || resending;
        if t.current.is_none() {
            if !may_start {
                return;
            }
            match next_request(qp, &view, t) {
                Ok(Some(outgoing)) => t.current = Some(outgoing),
                Ok(None) => return,
                Err(status) => {
                    fail_next(qp, t, status);
                    return;
                }
            }
        }
        let Some(mut current) = t.current.take() else {
            return;
        };
        if current.is_local() {
            t.next_wqe = qp::next_send_index(qp, current.index);
            let again = t.done_locally.iter().position(|&i| i == current.index);
            let result = match again {
                Some(at) => {
                    let _ = t.done_locally.remove(at);
                    Ok(())
                }
                None => local_operation(qp, &view, &current.wqe),
            };
            if let Err(status) = result {
                if t.in_flight.is_empty() {
                    complete(qp, &current.wqe, status, 0);
                }
                qp::enter_error(qp, t);
                return;
            }
            // It completes in order, after the requests in flight before it.
            if t.in_flight.is_empty() {
                complete(qp, &current.wqe, WcStatus::Success, 0);
            } else if t.in_flight.push(current, GFP_ATOMIC).is_err() {
                fail_next(qp, t, WcStatus::LocalQpOperationError);
                return;
            }
            continue;
        }
        if current.sent == 0
            && view.service == TransportType::Rc
            && needs_response(current.wqe.opcode)
        {
            match read_gate(outstanding_reads(t), view.max_rd_atomic) {
                ReadGate::Start if may_start => {}
                // Not while the send queue drains.
                ReadGate::Start | ReadGate::Wait => {
                    t.current = Some(current);
                    return;
                }
                ReadGate::Never => {
                    t.current = Some(current);
                    fail_current(qp, t, WcStatus::LocalQpOperationError);
                    return;
                }
            }
        }
        let reliable = view.service == TransportType::Rc;
        let unacked = Psn::new(t.unacked_psn);
        if reliable && !window_open(unacked, Psn::new(t.next_psn), t.window) {
            // Acknowledgments move the window on; the packet before asked for one.
            t.current = Some(current);
            return;
        }
        let route = match view.service {
            TransportType::Ud => qp::address_handle(qp, current.wqe.ah_num),
            _ => Some(view.route),
        };
        if route.is_some_and(|route| !net::has_send_room(qp.device(), &route, &qp.data().engine)) {
            // Runs again when the stack has freed some of what was sent.
            t.current = Some(current);
            return;
        }
        let ack_request = reliable && asks_ack(unacked, Psn::new(t.next_psn), t.window);
        let faults = &mut t.page_faults;
        match send_packet(qp, &view, t.next_psn, ack_request, &mut current, faults) {
            Ok(packet) => {
                if out.push(packet).is_err() {
                    // Not sent: the same packet is built again on the next run.
                    current.sent -= 1;
                    t.current = Some(current);
                    return;
                }
                if resending {
                    t.count(qp.device().data(), Counter::RetransmittedPackets);
                }
            }
            Err(Missed::Waits) => {
                // Built again once the fault is resolved.
                t.current = Some(current);
                return;
            }
            Err(Missed::Failed(status)) => {
                t.current = Some(current);
                fail_current(qp, t, status);
                return;
            }
        }
        // A request answered by a response is one packet, a read however long.
        let done = current.sent == current.packets || needs_response(current.wqe.opcode);
        if !done {
            t.next_psn = Psn::new(t.next_psn).next().get();
            t.note_sent();
            t.current = Some(current);
            continue;
        }
        t.next_psn = Psn::new(current.first_psn).add(current.packets).get();
        t.note_sent();
        t.next_wqe = qp::next_send_index(qp, current.index);
        if view.service == TransportType::Rc {
            if t.in_flight.push(current, GFP_ATOMIC).is_err() {
                // Nothing tracks it: it fails like a request the device cannot queue.
                t.next_wqe = qp::send_index_before(qp, t.next_wqe);
                fail_next(qp, t, WcStatus::LocalQpOperationError);
                return;
            }
        } else {
            complete(qp, &current.wqe, WcStatus::Success, 0);
        }
    }
    // The round's budget is spent: the engine's next round goes on.
}

/// Copies the next posted request out of the send queue and checks it.
fn next_request(
    qp: &Qp<Rrxe>,
    view: &SendView,
    t: &mut Transport,
) -> Result<Option<Outgoing>, WcStatus> {
    let index = t.next_wqe;
    let wqe = match qp::read_send(qp, index, &mut t.slot) {
        None => return Ok(None),
        Some(read) => read.map_err(|e| match e {
            Malformed::Opcode => WcStatus::LocalQpOperationError,
            Malformed::Length => WcStatus::LocalLengthError,
            Malformed::NoMemory => WcStatus::LocalQpOperationError,
        })?,
    };
    let packets = check(view, &wqe)?;
    // A read asked again after part of its responses arrived goes on from there.
    let received = t
        .resume_read
        .take_if(|(read, _)| *read == index)
        .map_or(0, |(_, received)| received);
    // A message acknowledged in part goes on from its first packet not acknowledged.
    let (first_psn, sent) = t
        .resume_message
        .take_if(|(message, _, done)| *message == index && *done < packets)
        .map_or((t.next_psn, 0), |(_, first, done)| (first, done));
    Ok(Some(Outgoing {
        index,
        wqe,
        first_psn,
        packets,
        sent,
        received,
    }))
}

/// Checks a request against the service; returns the PSNs it takes.
fn check(view: &SendView, wqe: &SendWqe) -> Result<u32, WcStatus> {
    let mtu = view.mtu;
    let by_mtu = |len: u32| len.div_ceil(mtu).max(1);
    let allowed = match view.service {
        TransportType::Rc => matches!(
            wqe.opcode,
            SendOpcode::Send
                | SendOpcode::SendWithImm
                | SendOpcode::SendWithInvalidate
                | SendOpcode::RdmaWrite
                | SendOpcode::RdmaWriteWithImm
                | SendOpcode::RdmaRead
                | SendOpcode::AtomicCompareSwap
                | SendOpcode::AtomicFetchAdd
                | SendOpcode::AtomicWrite
                | SendOpcode::Flush
                | SendOpcode::BindMw
                | SendOpcode::LocalInvalidate
                | SendOpcode::RegMr
        ),
        TransportType::Uc => matches!(
            wqe.opcode,
            SendOpcode::Send
                | SendOpcode::SendWithImm
                | SendOpcode::RdmaWrite
                | SendOpcode::RdmaWriteWithImm
                | SendOpcode::BindMw
                | SendOpcode::LocalInvalidate
                | SendOpcode::RegMr
        ),
        TransportType::Ud => matches!(wqe.opcode, SendOpcode::Send | SendOpcode::SendWithImm),
    };
    if !allowed {
        return Err(WcStatus::LocalQpOperationError);
    }
    match wqe.opcode {
        SendOpcode::BindMw | SendOpcode::LocalInvalidate | SendOpcode::RegMr => Ok(0),
        SendOpcode::AtomicCompareSwap | SendOpcode::AtomicFetchAdd => {
            if wqe.length != 8 || wqe.remote_addr % 8 != 0 || wqe.flags & flags::INLINE != 0 {
                return Err(WcStatus::LocalLengthError);
            }
            Ok(1)
        }
        // Eight bytes, naturally aligned (IBTA oA19-28).
        SendOpcode::AtomicWrite => {
            if wqe.length != 8 || wqe.remote_addr % 8 != 0 {
                return Err(WcStatus::LocalLengthError);
            }
            Ok(1)
        }
        SendOpcode::Flush => {
            if !flush_is_valid(wqe.flush_type, wqe.flush_level) {
                return Err(WcStatus::LocalQpOperationError);
            }
            Ok(1)
        }
        SendOpcode::RdmaRead => {
            if wqe.flags & flags::INLINE != 0 {
                return Err(WcStatus::LocalQpOperationError);
            }
            Ok(by_mtu(wqe.length))
        }
        _ if view.service == TransportType::Ud => {
            if wqe.length > mtu {
                return Err(WcStatus::LocalLengthError);
            }
            Ok(1)
        }
        _ => Ok(by_mtu(wqe.length)),
    }
}

/// Returns whether a flush names a placement type (global visibility, persistence or both)
/// and a selectivity level (a range or the whole region) that exist.
pub(crate) fn flush_is_valid(placement: u8, selectivity: u8) -> bool {
    let types = Feth::GLOBAL | Feth::PERSISTENT;
    placement != 0 && placement & !types == 0 && matches!(selectivity, Feth::RANGE | Feth::REGION)
}

/// Builds the next packet of `current` with PSN `psn`.
fn send_packet(
    qp: &Qp<Rrxe>,
    view: &SendView,
    psn: u32,
    ack_request: bool,
    current: &mut Outgoing,
    faults: &mut PageFaults,
) -> Result<Packet, Missed<WcStatus>> {
    let wqe = &current.wqe;
    let mtu = view.mtu;
    let index = current.sent;
    // A read whose responses arrived in part asks for the rest (whole MTUs arrived).
    let is_read = wqe.opcode == SendOpcode::RdmaRead;
    let (psn, skipped) = retry::resend_from(Psn::new(psn), is_read, current.received, mtu);
    let psn = psn.get();
    let (operation, position, payload_len, offset) = match wqe.opcode {
        SendOpcode::RdmaRead => (Operation::ReadRequest, Position::Only, 0, 0),
        SendOpcode::AtomicCompareSwap => (Operation::CompareSwap, Position::Only, 0, 0),
        SendOpcode::AtomicFetchAdd => (Operation::FetchAdd, Position::Only, 0, 0),
        SendOpcode::AtomicWrite => (Operation::AtomicWrite, Position::Only, 8, 0),
        // No payload (IBTA oA19-2): the RETH names the range.
        SendOpcode::Flush => (Operation::Flush, Position::Only, 0, 0),
        opcode => {
            let offset = index * mtu;
            let len = (wqe.length - offset).min(mtu);
            let operation = match opcode {
                SendOpcode::RdmaWrite | SendOpcode::RdmaWriteWithImm => Operation::Write,
                _ => Operation::Send,
            };
            (operation, Position::of(index, current.packets), len, offset)
        }
    };
    let ends = position.ends();
    let immediate = ends
        && matches!(
            wqe.opcode,
            SendOpcode::SendWithImm | SendOpcode::RdmaWriteWithImm
        );
    let invalidate = ends && wqe.opcode == SendOpcode::SendWithInvalidate;
    let raw = Opcode::encode(view.service, operation, position, immediate, invalidate)
        .ok_or(WcStatus::LocalQpOperationError)?;
    let (route, dest_qpn, qkey) = match view.service {
        TransportType::Ud => {
            let ah = qp::address_handle(qp, wqe.ah_num).ok_or(WcStatus::LocalQpOperationError)?;
            // A Q_Key with the high bit set means the queue pair's own (IBTA 10.2.5).
            let qkey = if wqe.remote_qkey & (1 << 31) != 0 {
                view.qkey
            } else {
                wqe.remote_qkey
            };
            (ah, wqe.remote_qpn & 0x00ff_ffff, qkey)
        }
        _ => (view.route, view.dest_qpn, 0),
    };
    let mut headers = Headers::new(raw, dest_qpn, psn).ok_or(WcStatus::LocalQpOperationError)?;
    headers.bth.solicited = ends && wqe.flags & flags::SOLICITED != 0;
    headers.bth.ack_request = ack_request || (view.service == TransportType::Rc && ends);
    headers.deth.qkey = if view.is_gsi { GSI_QKEY } else { qkey };
    headers.deth.src_qpn = qp.qp_num();
    headers.reth.va = wqe.remote_addr.wrapping_add(u64::from(skipped));
    headers.reth.rkey = wqe.rkey;
    headers.reth.length = wqe.length.saturating_sub(skipped);
    headers.flush = Feth {
        placement: wqe.flush_type,
        selectivity: wqe.flush_level,
    };
    headers.atomic.va = wqe.remote_addr;
    headers.atomic.rkey = wqe.rkey;
    headers.atomic.swap_add = wqe.compare_add;
    headers.atomic.compare = wqe.swap;
    if wqe.opcode == SendOpcode::AtomicCompareSwap {
        headers.atomic.swap_add = wqe.swap;
        headers.atomic.compare = wqe.compare_add;
    }
    headers.immediate = wqe.ex;
    headers.invalidate_rkey = wqe.ex;
    let tables = &qp.device().data().memory;
    let mut failure = Missed::Failed(WcStatus::LocalProtectionError);
    let packet = Packet::build(&route, &headers, payload_len as usize, |buf| {
        gather(tables, view.pd, &wqe.payload, offset, buf, faults).map_err(|missed| {
            failure = missed;
            EFAULT
        })
    })
    .map_err(|e| {
        if e == EFAULT {
            failure
        } else {
            Missed::Failed(WcStatus::LocalQpOperationError)
        }
    })?;
    current.sent += 1;
    Ok(packet)
}

/// Carries out a local operation: binds a memory window or invalidates one.
fn local_operation(qp: &Qp<Rrxe>, view: &SendView, wqe: &SendWqe) -> Result<(), WcStatus> {
    let tables = &qp.device().data().memory;
    if let (Some(registration), SendOpcode::RegMr) = (&wqe.registration, wqe.opcode) {
        return tables
            .register_fast(registration, view.pd)
            .map_err(|_| WcStatus::LocalQpOperationError);
    }
    match (&wqe.bind, wqe.opcode) {
        (Some(bind), SendOpcode::BindMw) => tables
            .bind(bind, view.pd, qp.qp_num())
            .map_err(|_| WcStatus::MwBindError),
        (_, SendOpcode::LocalInvalidate) => tables
            .invalidate(wqe.ex, view.pd)
            .map_err(|_| WcStatus::LocalQpOperationError),
        _ => Err(WcStatus::LocalQpOperationError),
    }
}

/// Copies `buf.len()` bytes of a request's payload from `offset` into `buf`; pages on demand
/// not faulted in make it wait, with the fault noted in `faults`.
fn gather(
    tables: &MemoryTables,
    pd: usize,
    payload: &Payload,
    offset: u32,
    buf: &mut [u8],
    faults: &mut PageFaults,
) -> Result<(), Missed<WcStatus>> {
    match payload {
        Payload::Inline(data) => {
            let start = offset as usize;
            let src = data
                .get(start..start + buf.len())
                .ok_or(WcStatus::LocalLengthError)?;
            buf.copy_from_slice(src);
            Ok(())
        }
        Payload::Gather(sges) => for_each_piece(sges, offset, buf.len(), |sge, at, range| {
            let region = tables
                .resolve(sge.lkey, pd, at, range.len(), Access::default())
                .ok_or(WcStatus::LocalProtectionError)?;
            region
                .read_or_wait(at, &mut buf[range], faults)
                .map_err(|missed| missed.failing_as(WcStatus::LocalProtectionError))
        }),
    }
}

/// Fails the request being sent: it completes with `status` and the queue pair enters the
/// error state, which flushes the rest.
fn fail_current(qp: &Qp<Rrxe>, t: &mut Transport, status: WcStatus) {
    if let Some(current) = t.current.take() {
        if t.in_flight.is_empty() {
            complete(qp, &current.wqe, status, 0);
        }
    }
    qp::enter_error(qp, t);
}

/// Fails the next posted request, which could not be read or is malformed.
fn fail_next(qp: &Qp<Rrxe>, t: &mut Transport, status: WcStatus) {
    // Only the oldest request can complete now; later ones are flushed behind it.
    if t.in_flight.is_empty() && t.current.is_none() {
        if let Some((wr_id, opcode)) = qp::consume_send(qp) {
            if let Some(cq) = qp.send_cq() {
                let mut completion = Completion::flushed(wr_id, opcode);
                completion.status = status;
                let _ = cq::post(cq, qp, completion, false);
            }
        }
    }
    qp::enter_error(qp, t);
}
