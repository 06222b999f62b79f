// SPDX-License-Identifier: GPL-2.0

//! The responder: carries out the requests that arrive for a queue pair, in PSN order, and
//! answers them (IBTA 9.7.5): sends land in receive requests, writes and reads in the
//! regions their remote keys name, atomics on eight aligned bytes.
//!
//! A reliable responder acknowledges, answers duplicates again, and negatively acknowledges
//! what it cannot take: a packet out of sequence, a missing receive request (receiver not
//! ready), a bad key or range (remote access error), an operation out of order (invalid
//! request). The unreliable services drop such packets.
//!
//! A packet whose copy meets pages on demand not faulted in is handed back, its effects not
//! yet taken: it is carried out again once the fault is resolved. A message whose first packet
//! waits has not started, and the receive request it took is kept for it.

use crate::{
    device::params,
    device::{Counter, Rrxe},
    memory::{scatter, Missed, MrState, PageFaults},
    net::{self, Outbox, Packet, Received},
    queue::wqe::RecvWqe,
    transport::engine::{Incoming, Transport, INBOX_PACKETS, ROUND_PACKETS},
    transport::psn::Psn,
    transport::requester::flush_is_valid,
    verbs::cq,
    verbs::cq::Completion,
    verbs::qp::{self, RecvView},
    wire::{
        Aeth, Feth, Headers, NakCode, Opcode, Operation, Position, Route, Syndrome, TransportType,
        GRH_LEN,
    },
};
use kernel::{
    prelude::*,
    rdma::{
        attr::NetworkType,
        mr::Access,
        object::Qp,
        wc::{wc_flags, WcOpcode, WcStatus},
    },
    sync::{barrier, Arc},
};

/// Why a request packet was not carried out.
enum Refusal {
    /// The answer is a negative acknowledgment (the unreliable services drop the packet).
    Nak(Syndrome),
    /// A copy waits for a page fault: the packet is carried out again once it is resolved.
    Waits,
}

impl From<Syndrome> for Refusal {
    fn from(syndrome: Syndrome) -> Self {
        Refusal::Nak(syndrome)
    }
}

/// Turns a copy that missed into a refusal: a wait, or a NAK with `code`.
fn refusal(missed: Missed<Error>, code: NakCode) -> Refusal {
    match missed {
        Missed::Waits => Refusal::Waits,
        Missed::Failed(_) => Refusal::Nak(Syndrome::Nak(code)),
    }
}

/// What to do with a packet after its checks.
enum Verdict {
    /// Carry it out.
    Execute,
    /// A duplicate to answer again (reliable service).
    Duplicate,
    /// Drop it.
    Drop,
    /// Answer with a negative acknowledgment (reliable service) and drop it.
    Nak(Syndrome),
    /// A packet beyond the expected PSN: the sequence error NAK names the expected PSN.
    SequenceError,
}

/// Response packets of a read sent per round: a read of any size holds no more than these
/// at a time, and the packets of other queue pairs go in between.
const READ_REPLY_BURST: u32 = 16;

/// A read being answered: its response packets are generated as they are sent.
pub(crate) struct ReadReply {
    /// The region read; `None` for a read of no bytes.
    region: Option<Arc<MrState>>,
    /// Where the responses go.
    route: Route,
    dest_qpn: u32,
    /// The address of the first byte and the length of this reply.
    va: u64,
    length: u32,
    mtu: u32,
    /// The PSN of its first packet.
    first_psn: u32,
    /// Its packets, and those sent so far.
    packets: u32,
    sent: u32,
    /// The MSN its acknowledgment fields carry.
    msn: u32,
}

impl ReadReply {
    /// Returns whether PSN `psn` is one of this reply's packets.
    fn covers(&self, psn: u32) -> bool {
        let offset = Psn::new(self.first_psn).distance_to(Psn::new(psn));
        offset >= 0 && (offset as u32) < self.packets
    }

    /// A reply of `length` bytes read at `va` of `region` in packets of `mtu` bytes, from
    /// PSN `first_psn` on.
    #[expect(clippy::too_many_arguments, reason = "the fields of a read response")]
    pub(crate) fn new(
        region: Option<Arc<MrState>>,
        route: Route,
        dest_qpn: u32,
        va: u64,
        length: u32,
        mtu: u32,
        first_psn: u32,
        msn: u32,
    ) -> Self {
        Self {
            region,
            route,
            dest_qpn,
            va,
            length,
            mtu,
            first_psn,
            // The path MTU is at least 256 bytes; `max` keeps the division total.
            packets: length.div_ceil(mtu.max(1)).max(1),
            sent: 0,
            msn,
        }
    }
}

/// A read or atomic the responder answered, kept to answer its duplicates.
pub(crate) enum Responded {
    /// A read, by the PSNs its response packets take, with its MSN.
    Read {
        first_psn: u32,
        packets: u32,
        msn: u32,
    },
    /// An atomic, with the value it found: a duplicate is answered with it, never carried
    /// out again.
    Atomic { psn: u32, original: u64, msn: u32 },
    /// An atomic write or a flush: a duplicate is answered again, never carried out again
    /// (IBTA oA19-14, oA19-15).
    Placement { psn: u32, msn: u32 },
}

/// Handles a request packet for the queue pair: carried out now, or after the read being
/// answered (request packets are carried out in order). The requests waiting are those the
/// requester sent within its window. Returns the packet if it waits for a page fault.
pub(crate) fn receive(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    received: Received,
    out: &mut Outbox,
) -> Option<Received> {
    if t.reply.is_some() || !t.deferred.is_empty() {
        let headers = &received.headers;
        if headers.opcode.operation == Operation::ReadRequest {
            let psn = headers.bth.psn;
            if t.reply.as_ref().is_some_and(|reply| reply.covers(psn)) {
                // The requester asks again for the read being answered: the reply starts
                // over from the PSN it names (IBTA 9.7.5.1.3).
                return receive_now(qp, t, received, out);
            }
            let waiting = t.deferred.iter().any(|p| {
                p.headers.opcode.operation == Operation::ReadRequest && p.headers.bth.psn == psn
            });
            if waiting {
                // Asked again before it was answered: once is enough.
                return None;
            }
        }
        // As many wait at most as an inbox holds: a requester keeps far fewer in flight.
        if t.deferred.len() >= INBOX_PACKETS || t.deferred.push(received, GFP_ATOMIC).is_err() {
            // Lost like a packet on the wire; the requester sends it again.
            qp.device().data().count(Counter::RxInboxFull);
        }
        return None;
    }
    receive_now(qp, t, received, out)
}

/// Goes on with the read being answered, then with the request packets that waited for it,
/// a round's share of them ([`ROUND_PACKETS`]) at a time.
pub(crate) fn run(qp: &Qp<Rrxe>, t: &mut Transport, out: &mut Outbox) {
    if qp::recv_view(qp).is_none() {
        // No longer taking requests (an error state): nothing more is answered.
        t.reply = None;
        t.deferred.clear();
        return;
    }
    if let Some(reply) = t.reply.as_mut() {
        if !net::has_room(qp.device(), &reply.route, reply.dest_qpn, &qp.data().engine) {
            // The reader has fallen behind: this queue pair runs again once it catches up.
            return;
        }
        match send_reply(reply, &mut t.page_faults, out) {
            ReplyProgress::More | ReplyProgress::Waits => return,
            ReplyProgress::Done => t.reply = None,
            ReplyProgress::Failed(psn) => {
                let (route, dest_qpn) = (reply.route, reply.dest_qpn);
                t.reply = None;
                t.deferred.clear();
                nak_at(t, &route, dest_qpn, psn, NakCode::RemoteAccessError, out);
                qp::enter_error(qp, t);
                return;
            }
        }
    }
    if t.deferred.is_empty() {
        return;
    }
    let mut waiting = core::mem::take(&mut t.deferred).into_iter();
    let mut handled = 0;
    let mut first = None;
    while t.reply.is_none() && handled < ROUND_PACKETS {
        let Some(received) = waiting.next() else {
            return;
        };
        first = receive_now(qp, t, received, out);
        if first.is_some() {
            // It waits for a page fault.
            break;
        }
        handled += 1;
    }
    // A read started, a packet waits for a fault, or this round's share is done: the rest
    // wait, in order.
    let mut rest = KVec::new();
    for received in Iterator::chain(first.into_iter(), waiting) {
        if rest.push(received, GFP_ATOMIC).is_err() {
            // Lost like packets on the wire; the requester sends them again.
            qp.device().data().count(Counter::RxInboxFull);
        }
    }
    t.deferred = rest;
}

/// Carries out or answers a request packet; returns it if it waits for a page fault.
fn receive_now(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    received: Received,
    out: &mut Outbox,
) -> Option<Received> {
    // No longer taking requests (an error state): the packet is dropped.
    let view = qp::recv_view(qp)?;
    let headers = &received.headers;
    let packet = &received.packet;
    let payload = received.payload();
    if headers.opcode.transport != view.service {
        return None;
    }
    let route = packet.route.reversed(crate::wire::source_port(qp.qp_num()));
    if view.service == TransportType::Ud {
        let waits = receive_datagram(qp, t, &view, packet, headers, payload);
        return waits.then_some(received);
    }
    let verdict = sequence(t, &view, headers);
    let reliable = view.service == TransportType::Rc;
    match verdict {
        Verdict::Drop => {}
        Verdict::Nak(syndrome) => {
            if reliable {
                acknowledge(t, &view, &route, headers.bth.psn, syndrome, out);
            }
        }
        Verdict::SequenceError => {
            t.count(qp.device().data(), Counter::SeqNaksSent);
            let syndrome = Syndrome::Nak(NakCode::PsnSequenceError);
            acknowledge(t, &view, &route, t.expected_psn, syndrome, out);
        }
        Verdict::Duplicate => {
            t.count(qp.device().data(), Counter::DuplicateRequests);
            match headers.opcode.operation {
                Operation::ReadRequest => duplicate_read(qp, t, &view, &route, headers, out),
                Operation::CompareSwap | Operation::FetchAdd => {
                    duplicate_atomic(t, &view, &route, headers, out)
                }
                Operation::AtomicWrite | Operation::Flush => {
                    if let Some(msn) = placement_answered(&t.responded, headers.bth.psn) {
                        placement_response(&view, &route, headers.bth.psn, msn, out);
                    }
                }
                _ => {
                    if let Some(psn) = duplicate_acknowledgment(headers) {
                        acknowledge(t, &view, &route, psn, Syndrome::ACK, out);
                    }
                }
            }
        }
        Verdict::Execute => {
            if execute(qp, t, &view, &route, headers, payload, out) {
                return Some(received);
            }
        }
    }
    None
}

/// The PSN a duplicate send or write packet is acknowledged again with, if it is: its own,
/// when it asks for an acknowledgment (as a resent message's last packet does). Answering
/// every resent packet, or naming the last PSN received, would tell a requester still
/// resending a message that the message is done before it has sent it again; rdma_rxe's
/// requester then completes the request mid-resend, loses its place in the send queue, and
/// either stalls or sends the next request's packets as the rest of the old one.
pub(crate) fn duplicate_acknowledgment(headers: &Headers) -> Option<u32> {
    headers.bth.ack_request.then_some(headers.bth.psn)
}

/// Checks a connected-service packet's PSN and its place in the message sequence.
fn sequence(t: &mut Transport, view: &RecvView, headers: &Headers) -> Verdict {
    let psn = Psn::new(headers.bth.psn);
    let expected = Psn::new(t.expected_psn);
    let reliable = view.service == TransportType::Rc;
    let distance = expected.distance_to(psn);
    if reliable && distance < 0 {
        return Verdict::Duplicate;
    }
    if distance != 0 {
        if !reliable {
            // UC: a lost packet aborts the message in progress; a new one may start.
            t.incoming = None;
            if !headers.opcode.position.starts() {
                return Verdict::Drop;
            }
            t.expected_psn = psn.get();
        } else if t.nak_sent {
            return Verdict::Drop;
        } else {
            t.nak_sent = true;
            return Verdict::SequenceError;
        }
    }
    // The message sequence: a first or only packet may not arrive inside a message, a
    // middle or last one only inside a message of its kind.
    let op = headers.opcode;
    let in_message = t.incoming.as_ref().map(|m| m.is_send);
    let fits = matches!(
        (op.position, op.operation, in_message),
        (Position::First | Position::Only, _, None)
            | (
                Position::Middle | Position::Last,
                Operation::Send,
                Some(true)
            )
            | (
                Position::Middle | Position::Last,
                Operation::Write,
                Some(false)
            )
    );
    if !fits {
        if !reliable {
            t.incoming = None;
            return Verdict::Drop;
        }
        return Verdict::Nak(Syndrome::Nak(NakCode::InvalidRequest));
    }
    Verdict::Execute
}

/// Carries out a packet that arrived in sequence; returns whether it waits for a page fault
/// (and is to be carried out again).
fn execute(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    route: &Route,
    headers: &Headers,
    payload: &[u8],
    out: &mut Outbox,
) -> bool {
    let reliable = view.service == TransportType::Rc;
    let result = match headers.opcode.operation {
        Operation::Send | Operation::Write => receive_data(qp, t, view, headers, payload),
        Operation::ReadRequest => read(qp, t, view, route, headers).map_err(Refusal::from),
        Operation::CompareSwap | Operation::FetchAdd => atomic(qp, t, view, route, headers, out),
        Operation::AtomicWrite => atomic_write(qp, t, view, headers, payload)
            .map(|()| placed(t, view, route, headers.bth.psn, out)),
        Operation::Flush => flush(qp, view, headers)
            .map(|()| placed(t, view, route, headers.bth.psn, out))
            .map_err(Refusal::from),
        _ => Err(Refusal::Nak(Syndrome::Nak(NakCode::InvalidRequest))),
    };
    let result = match result {
        Err(Refusal::Waits) => return true,
        Err(Refusal::Nak(syndrome)) => Err(syndrome),
        Ok(()) => Ok(()),
    };
    match result {
        Ok(()) => {
            t.nak_sent = false;
            if matches!(headers.opcode.operation, Operation::Send | Operation::Write) {
                t.expected_psn = Psn::new(t.expected_psn).next().get();
                if reliable && headers.bth.ack_request {
                    acknowledge(t, view, route, headers.bth.psn, Syndrome::ACK, out);
                }
            }
        }
        Err(Syndrome::RnrNak(timer)) => {
            if reliable {
                t.count(qp.device().data(), Counter::RnrNaksSent);
                acknowledge(
                    t,
                    view,
                    route,
                    headers.bth.psn,
                    Syndrome::RnrNak(timer),
                    out,
                );
                // The requester resends from this PSN after its timer: what it sent after
                // this packet is dropped without another NAK until then.
                t.nak_sent = true;
            }
        }
        Err(syndrome) => {
            t.incoming = None;
            if reliable {
                acknowledge(t, view, route, headers.bth.psn, syndrome, out);
                // Invalid requests and access errors end the connection (IBTA 9.9.3).
                qp::enter_error(qp, t);
            }
        }
    }
    false
}

/// Receives a packet of a send or write message.
fn receive_data(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    headers: &Headers,
    payload: &[u8],
) -> Result<(), Refusal> {
    let op = headers.opcode;
    let is_send = op.operation == Operation::Send;
    if op.position.starts() {
        let mut incoming = Incoming {
            recv: None,
            is_send,
            offset: 0,
            write: None,
        };
        if is_send {
            // One a send whose first packet waited for a page fault took comes first.
            incoming.recv = Some(match t.kept_recv.take() {
                Some(recv) => recv,
                None => take_recv(qp, t, view)?,
            });
        } else {
            let reth = headers.reth;
            // The queue pair's right is checked even for a write of no bytes.
            if !view.access.contains(Access::REMOTE_WRITE) {
                return Err(Syndrome::Nak(NakCode::RemoteAccessError).into());
            }
            let region = remote_region(
                qp,
                view,
                reth.rkey,
                reth.va,
                reth.length,
                Access::REMOTE_WRITE,
            )?;
            incoming.write = region.map(|r| (r, reth.va, reth.length));
        }
        t.incoming = Some(incoming);
    }
    let Some(incoming) = t.incoming.as_mut() else {
        return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
    };
    let tables = &qp.device().data().memory;
    let offset = incoming.offset;
    let end = offset
        .checked_add(payload.len() as u32)
        .ok_or(Syndrome::Nak(NakCode::InvalidRequest))?;
    let mut local_error = None;
    if is_send {
        let sges = incoming.recv.as_ref().map_or(&[][..], |r| &r.sges[..]);
        match scatter(tables, view.pd, sges, offset, payload, &mut t.page_faults) {
            Ok(()) => {}
            Err(Missed::Waits) => return Err(waits(t, op)),
            Err(Missed::Failed(status)) => local_error = Some(status),
        }
    } else {
        match &incoming.write {
            Some((region, va, length)) if end <= *length => {
                let at = va.wrapping_add(u64::from(offset));
                match region.write_or_wait(at, payload, &mut t.page_faults) {
                    Ok(()) => {}
                    Err(Missed::Waits) => return Err(waits(t, op)),
                    Err(Missed::Failed(_)) => {
                        return Err(Syndrome::Nak(NakCode::RemoteAccessError).into())
                    }
                }
            }
            None if payload.is_empty() => {}
            _ => return Err(Syndrome::Nak(NakCode::InvalidRequest).into()),
        }
    }
    if let Some(status) = local_error {
        // The receive request completes in error and the connection ends.
        if let Some(recv) = t.incoming.take().and_then(|i| i.recv) {
            complete_recv(qp, recv, status, 0, headers, None, None);
        }
        return Err(match status {
            WcStatus::LocalLengthError => Syndrome::Nak(NakCode::InvalidRequest),
            _ => Syndrome::Nak(NakCode::RemoteOperationalError),
        }
        .into());
    }
    // A write with immediate data consumes a receive request at its end, once its bytes have
    // landed: one whose last packet waits for a page fault takes none yet.
    if !is_send && op.has_immediate() && op.position.ends() {
        let recv = take_recv(qp, t, view)?;
        if let Some(incoming) = t.incoming.as_mut() {
            incoming.recv = Some(recv);
        }
    }
    let Some(incoming) = t.incoming.as_mut() else {
        return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
    };
    incoming.offset = end;
    if op.position.ends() && op.has_invalidate() {
        // A send with invalidate ends the named window's binding (IBTA 9.4.1.1.4).
        if tables.invalidate(headers.invalidate_rkey, view.pd).is_err() {
            if let Some(recv) = t.incoming.take().and_then(|i| i.recv) {
                complete_recv(
                    qp,
                    recv,
                    WcStatus::RemoteInvalidRequest,
                    0,
                    headers,
                    None,
                    None,
                );
            }
            return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
        }
    }
    if op.position.ends() {
        let Some(incoming) = t.incoming.take() else {
            return Ok(());
        };
        t.msn = (t.msn + 1) & 0x00ff_ffff;
        if let Some(recv) = incoming.recv {
            let (opcode, len) = match is_send {
                true => (WcOpcode::Recv, end),
                false => (
                    WcOpcode::RecvRdmaWithImm,
                    incoming.write.as_ref().map_or(0, |w| w.2),
                ),
            };
            complete_recv(
                qp,
                recv,
                WcStatus::Success,
                len,
                headers,
                None,
                Some(opcode),
            );
        }
    }
    Ok(())
}

/// A packet of a message waits for a page fault: a first packet leaves the message not
/// started, and the receive request it took kept for it.
fn waits(t: &mut Transport, op: Opcode) -> Refusal {
    if op.position.starts() {
        if let Some(recv) = t.incoming.take().and_then(|m| m.recv) {
            t.kept_recv = Some(recv);
        }
    }
    Refusal::Waits
}

/// Takes the next receive request for an arriving message; a receiver-not-ready answer if
/// there is none.
fn take_recv(qp: &Qp<Rrxe>, t: &mut Transport, view: &RecvView) -> Result<RecvWqe, Syndrome> {
    match qp::take_recv(qp, &mut t.slot) {
        Some(Ok(recv)) => Ok(recv),
        Some(Err(_)) => Err(Syndrome::Nak(NakCode::RemoteOperationalError)),
        None => Err(Syndrome::RnrNak(view.min_rnr_timer)),
    }
}

/// The sender of a datagram.
struct Sender {
    qpn: u32,
    /// It came over IPv4 rather than IPv6.
    ipv4: bool,
}

/// Posts a receive completion.
#[allow(clippy::too_many_arguments)]
fn complete_recv(
    qp: &Qp<Rrxe>,
    recv: RecvWqe,
    status: WcStatus,
    byte_len: u32,
    headers: &Headers,
    sender: Option<Sender>,
    opcode: Option<WcOpcode>,
) {
    let Some(cq) = qp.recv_cq() else {
        return;
    };
    let mut wc = Completion::flushed(recv.wr_id, opcode.unwrap_or(WcOpcode::Recv));
    wc.status = status;
    wc.byte_len = byte_len;
    wc.port_num = 1;
    if let Some(sender) = &sender {
        wc.src_qp = sender.qpn;
    }
    if status == WcStatus::Success {
        if headers.opcode.has_immediate() {
            wc.wc_flags |= wc_flags::WITH_IMM;
            wc.ex = headers.immediate;
        } else if headers.opcode.has_invalidate() {
            wc.wc_flags |= wc_flags::WITH_INVALIDATE;
            wc.ex = headers.invalidate_rkey;
        }
        if let Some(sender) = &sender {
            // The consumer finds the sender's address in the GRH area, an IP header of the
            // type given here.
            wc.wc_flags |= wc_flags::GRH | wc_flags::WITH_NETWORK_HDR_TYPE;
            let network = match sender.ipv4 {
                true => NetworkType::Ipv4,
                false => NetworkType::Ipv6,
            };
            wc.network_hdr_type = network.to_raw();
        }
    }
    let _ = cq::post(cq, qp, wc, headers.bth.solicited);
}

/// Resolves the remote key of a request for `len` bytes at `va` that needs `right`, which the
/// queue pair must grant too; `None` for no bytes, which name no memory (IBTA 9.4.3).
/// Otherwise a remote access error NAK.
fn remote_region(
    qp: &Qp<Rrxe>,
    view: &RecvView,
    rkey: u32,
    va: u64,
    len: u32,
    right: Access,
) -> Result<Option<Arc<MrState>>, Syndrome> {
    if len == 0 {
        return Ok(None);
    }
    if !view.access.contains(right) {
        return Err(Syndrome::Nak(NakCode::RemoteAccessError));
    }
    let memory = &qp.device().data().memory;
    memory
        .resolve_remote(rkey, view.pd, qp.qp_num(), va, len as usize, right)
        .map(Some)
        .ok_or(Syndrome::Nak(NakCode::RemoteAccessError))
}

/// Takes a new read request: checks the key and range, and starts answering it.
fn read(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    route: &Route,
    headers: &Headers,
) -> Result<(), Syndrome> {
    if view.max_dest_rd_atomic == 0 {
        // The queue pair takes no reads.
        return Err(Syndrome::Nak(NakCode::InvalidRequest));
    }
    let msn = (t.msn + 1) & 0x00ff_ffff;
    let reply = reply_to(qp, view, route, headers, msn)?;
    t.msn = msn;
    let psn = headers.bth.psn;
    let packets = reply.packets;
    remember(
        &mut t.responded,
        view.max_dest_rd_atomic,
        Responded::Read {
            first_psn: psn,
            packets,
            msn: t.msn,
        },
    );
    t.expected_psn = Psn::new(psn).add(packets).get();
    t.nak_sent = false;
    t.reply = Some(reply);
    Ok(())
}

/// Answers a read request again, from its PSN on, if it is one of the reads answered last;
/// others are dropped (their requester has had their responses). A read that can no longer
/// be answered (its region went away) gets the NAK it would get now.
fn duplicate_read(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    route: &Route,
    headers: &Headers,
    out: &mut Outbox,
) {
    let Some(msn) = read_answered(&t.responded, headers.bth.psn) else {
        return;
    };
    // Its own RETH names what is left to answer.
    match reply_to(qp, view, route, headers, msn) {
        Ok(reply) => t.reply = Some(reply),
        Err(syndrome) => {
            t.reply = None;
            if let Syndrome::Nak(code) = syndrome {
                nak_at(t, route, view.dest_qpn, headers.bth.psn, code, out);
            }
            qp::enter_error(qp, t);
        }
    }
}

/// The reply to the read request `headers` carry, from its PSN on with MSN `msn`, once its
/// length, key and range are checked.
fn reply_to(
    qp: &Qp<Rrxe>,
    view: &RecvView,
    route: &Route,
    headers: &Headers,
    msn: u32,
) -> Result<ReadReply, Syndrome> {
    let reth = headers.reth;
    checked_read_length(reth.length, view.mtu)?;
    let region = remote_region(
        qp,
        view,
        reth.rkey,
        reth.va,
        reth.length,
        Access::REMOTE_READ,
    )?;
    Ok(ReadReply::new(
        region,
        *route,
        view.dest_qpn,
        reth.va,
        reth.length,
        view.mtu,
        headers.bth.psn,
        msn,
    ))
}

/// Checks a read's length: at most 2 GiB, in fewer packets than half the PSN space (PSNs
/// are compared within it).
fn checked_read_length(length: u32, mtu: u32) -> Result<(), Syndrome> {
    // The path MTU is at least 256 bytes; `max` keeps the division total.
    if length > params::MAX_MSG_SIZE || length.div_ceil(mtu.max(1)) >= 1 << 23 {
        return Err(Syndrome::Nak(NakCode::InvalidRequest));
    }
    Ok(())
}

/// Returns the MSN of the read answered last that PSN `psn` is one of, if any.
pub(crate) fn read_answered(responded: &[Responded], psn: u32) -> Option<u32> {
    responded.iter().find_map(|r| match *r {
        Responded::Read {
            first_psn,
            packets,
            msn,
        } => Psn::new(psn)
            .is_within(Psn::new(first_psn), packets)
            .then_some(msn),
        Responded::Atomic { .. } | Responded::Placement { .. } => None,
    })
}

/// Returns the MSN of the atomic write or flush at PSN `psn`, if it is one answered last.
pub(crate) fn placement_answered(responded: &[Responded], psn: u32) -> Option<u32> {
    responded.iter().find_map(|r| match *r {
        Responded::Placement { psn: at, msn } if at == psn => Some(msn),
        _ => None,
    })
}

/// Returns the value found and the MSN of the atomic at PSN `psn`, if it is one answered
/// last.
pub(crate) fn atomic_answered(responded: &[Responded], psn: u32) -> Option<(u64, u32)> {
    responded.iter().find_map(|r| match *r {
        Responded::Atomic {
            psn: at,
            original,
            msn,
        } if at == psn => Some((original, msn)),
        _ => None,
    })
}

/// Answers an atomic request again with the value it found, if it is one of those answered
/// last; others are dropped.
fn duplicate_atomic(
    t: &Transport,
    view: &RecvView,
    route: &Route,
    headers: &Headers,
    out: &mut Outbox,
) {
    if let Some((original, msn)) = atomic_answered(&t.responded, headers.bth.psn) {
        atomic_acknowledge(view, route, headers.bth.psn, original, msn, out);
    }
}

/// Keeps a read or atomic answered, in place of the oldest beyond `limit`
/// (`max_dest_rd_atomic`).
pub(crate) fn remember(responded: &mut KVec<Responded>, limit: u8, answered: Responded) {
    while !responded.is_empty() && responded.len() >= usize::from(limit) {
        let _ = responded.remove(0);
    }
    // Without room its duplicates go unanswered, and the requester's retries fail it.
    let _ = responded.push(answered, GFP_ATOMIC);
}

/// How far a read's reply got in a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReplyProgress {
    /// Packets are left for later rounds (memory ran out for one: it is tried again).
    More,
    /// Every packet is sent.
    Done,
    /// The region can no longer be read: the packet at this PSN gets a remote access error
    /// NAK instead.
    Failed(u32),
    /// The next packet's bytes wait for a page fault: it is built again once it is resolved.
    Waits,
}

/// Sends the next burst of a read's response packets; a packet whose bytes are on demand and
/// not faulted in waits, with the fault noted in `faults`.
pub(crate) fn send_reply(
    reply: &mut ReadReply,
    faults: &mut PageFaults,
    out: &mut Outbox,
) -> ReplyProgress {
    let end = reply
        .sent
        .saturating_add(READ_REPLY_BURST)
        .min(reply.packets);
    while reply.sent < end {
        let index = reply.sent;
        let position = Position::of(index, reply.packets);
        let offset = index.saturating_mul(reply.mtu);
        let chunk = (reply.length - offset.min(reply.length)).min(reply.mtu);
        let psn = Psn::new(reply.first_psn).add(index).get();
        let raw = Opcode::encode(
            TransportType::Rc,
            Operation::ReadResponse,
            position,
            false,
            false,
        );
        let Some(mut response) = raw.and_then(|raw| Headers::new(raw, reply.dest_qpn, psn)) else {
            return ReplyProgress::Failed(psn);
        };
        response.aeth = Some(Aeth {
            syndrome: Syndrome::ACK,
            msn: reply.msn,
        });
        let va = reply.va.wrapping_add(u64::from(offset));
        let mut waits = false;
        let built = Packet::build(
            &reply.route,
            &response,
            chunk as usize,
            |buf| match &reply.region {
                Some(region) => region.read_or_wait(va, buf, faults).map_err(|missed| {
                    waits = missed == Missed::Waits;
                    EFAULT
                }),
                None => Ok(()),
            },
        );
        let packet = match built {
            Ok(packet) => packet,
            Err(_) if waits => return ReplyProgress::Waits,
            // Tried again in the next round.
            Err(e) if e == ENOMEM => return ReplyProgress::More,
            // Deregistered or invalidated while it was being read.
            Err(_) => return ReplyProgress::Failed(psn),
        };
        if out.push(packet).is_err() {
            return ReplyProgress::More;
        }
        reply.sent += 1;
    }
    if reply.sent == reply.packets {
        ReplyProgress::Done
    } else {
        ReplyProgress::More
    }
}

/// Carries out an atomic operation on eight aligned bytes and answers with the value found.
fn atomic(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    route: &Route,
    headers: &Headers,
    out: &mut Outbox,
) -> Result<(), Refusal> {
    let eth = headers.atomic;
    if view.max_dest_rd_atomic == 0 {
        // The queue pair takes no atomics.
        return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
    }
    if !view.access.contains(Access::REMOTE_ATOMIC) {
        return Err(Syndrome::Nak(NakCode::RemoteAccessError).into());
    }
    if eth.va % 8 != 0 {
        return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
    }
    let data = qp.device().data();
    let region = remote_region(qp, view, eth.rkey, eth.va, 8, Access::REMOTE_ATOMIC)?
        .ok_or(Syndrome::Nak(NakCode::RemoteAccessError))?;
    let original = {
        // One atomic at a time on the device: the operation is a read and a write.
        let _atomic = data.atomic_lock.lock();
        let mut bytes = [0u8; 8];
        region
            .read_or_wait(eth.va, &mut bytes, &mut t.page_faults)
            .map_err(|missed| refusal(missed, NakCode::RemoteAccessError))?;
        let original = u64::from_ne_bytes(bytes);
        let new = match headers.opcode.operation {
            Operation::CompareSwap if original == eth.compare => Some(eth.swap_add),
            Operation::CompareSwap => None,
            _ => Some(original.wrapping_add(eth.swap_add)),
        };
        if let Some(new) = new {
            region
                .write_or_wait(eth.va, &new.to_ne_bytes(), &mut t.page_faults)
                .map_err(|missed| refusal(missed, NakCode::RemoteAccessError))?;
        }
        original
    };
    t.msn = (t.msn + 1) & 0x00ff_ffff;
    t.expected_psn = Psn::new(headers.bth.psn).next().get();
    t.nak_sent = false;
    remember(
        &mut t.responded,
        view.max_dest_rd_atomic,
        Responded::Atomic {
            psn: headers.bth.psn,
            original,
            msn: t.msn,
        },
    );
    atomic_acknowledge(view, route, headers.bth.psn, original, t.msn, out);
    Ok(())
}

/// Writes an atomic write's eight bytes with one store (IBTA oA19-28: exactly eight bytes,
/// naturally aligned, in a region the queue pair and the key grant remote writes to).
fn atomic_write(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    headers: &Headers,
    payload: &[u8],
) -> Result<(), Refusal> {
    let reth = headers.reth;
    if view.max_dest_rd_atomic == 0 {
        // The queue pair takes no requests that hold a responder resource.
        return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
    }
    let value: [u8; 8] = payload
        .try_into()
        .map_err(|_| Syndrome::Nak(NakCode::InvalidRequest))?;
    if reth.length != 8 || headers.bth.pad != 0 || reth.va % 8 != 0 {
        return Err(Syndrome::Nak(NakCode::InvalidRequest).into());
    }
    let region = remote_region(qp, view, reth.rkey, reth.va, 8, Access::REMOTE_WRITE)?
        .ok_or(Syndrome::Nak(NakCode::RemoteAccessError))?;
    // Ordered with the device's atomics, which read and then write.
    let _atomic = qp.device().data().atomic_lock.lock();
    region
        .store_u64_or_wait(reth.va, u64::from_ne_bytes(value), &mut t.page_faults)
        .map_err(|missed| match missed {
            Missed::Waits => Refusal::Waits,
            // Aligned in the region's addresses but not in memory.
            Missed::Failed(e) if e == EINVAL => Syndrome::Nak(NakCode::InvalidRequest).into(),
            Missed::Failed(_) => Syndrome::Nak(NakCode::RemoteAccessError).into(),
        })
}

/// Carries out a flush (IBTA Memory Placement Extensions): checks its placement type against
/// the queue pair's and the region's flush rights, and its range (or the whole region), then
/// orders the writes carried out before it ahead of its response. Regions may not be
/// registered for persistence ([`crate::memory::SUPPORTED_MR_ACCESS`]), so a flush to
/// persistence finds no region that grants it.
fn flush(qp: &Qp<Rrxe>, view: &RecvView, headers: &Headers) -> Result<(), Syndrome> {
    let feth = headers.flush;
    if !flush_is_valid(feth.placement, feth.selectivity) {
        return Err(Syndrome::Nak(NakCode::InvalidRequest));
    }
    let mut rights = Access::default();
    if feth.placement & Feth::GLOBAL != 0 {
        rights = rights | Access::FLUSH_GLOBAL;
    }
    if feth.placement & Feth::PERSISTENT != 0 {
        rights = rights | Access::FLUSH_PERSISTENT;
    }
    if !view.access.contains(rights) {
        return Err(Syndrome::Nak(NakCode::RemoteAccessError));
    }
    let reth = headers.reth;
    let memory = &qp.device().data().memory;
    let region = match feth.selectivity {
        Feth::REGION => memory.resolve_whole(reth.rkey, view.pd, qp.qp_num(), rights),
        _ => memory.resolve_remote(
            reth.rkey,
            view.pd,
            qp.qp_num(),
            reth.va,
            reth.length as usize,
            rights,
        ),
    };
    region.ok_or(Syndrome::Nak(NakCode::RemoteAccessError))?;
    // The writes before it were stored by this CPU or one that handed their queue pair over
    // under its locks: a write barrier makes them visible before the response is.
    barrier::mb(barrier::Write);
    Ok(())
}

/// Finishes an atomic write or flush carried out at `psn`: remembered to answer its
/// duplicates, and answered by a read response of no bytes.
fn placed(t: &mut Transport, view: &RecvView, route: &Route, psn: u32, out: &mut Outbox) {
    t.msn = (t.msn + 1) & 0x00ff_ffff;
    t.expected_psn = Psn::new(psn).next().get();
    t.nak_sent = false;
    remember(
        &mut t.responded,
        view.max_dest_rd_atomic,
        Responded::Placement { psn, msn: t.msn },
    );
    placement_response(view, route, psn, t.msn, out);
}

/// Sends the response of an atomic write or flush at `psn`: a read response of no bytes
/// with MSN `msn`.
fn placement_response(view: &RecvView, route: &Route, psn: u32, msn: u32, out: &mut Outbox) {
    let raw = Opcode::encode(
        TransportType::Rc,
        Operation::ReadResponse,
        Position::Only,
        false,
        false,
    );
    let Some(mut response) = raw.and_then(|raw| Headers::new(raw, view.dest_qpn, psn)) else {
        return;
    };
    response.aeth = Some(Aeth {
        syndrome: Syndrome::ACK,
        msn,
    });
    out.push_once(Packet::build(route, &response, 0, |_| Ok(())));
}

/// Sends an acknowledgment with `syndrome` and MSN `msn` for `psn` to `dest_qpn` on `route`;
/// with `atomic_ack`, the atomic acknowledgment of an atomic that found that value. One that
/// cannot be allocated is not sent, as if lost on the way.
fn send_aeth(
    route: &Route,
    dest_qpn: u32,
    psn: u32,
    syndrome: Syndrome,
    msn: u32,
    atomic_ack: Option<u64>,
    out: &mut Outbox,
) {
    let operation = match atomic_ack {
        Some(_) => Operation::AtomicAcknowledge,
        None => Operation::Acknowledge,
    };
    let raw = Opcode::encode(TransportType::Rc, operation, Position::Only, false, false);
    let Some(mut ack) = raw.and_then(|raw| Headers::new(raw, dest_qpn, psn)) else {
        return;
    };
    ack.aeth = Some(Aeth { syndrome, msn });
    ack.atomic_ack = atomic_ack.unwrap_or(0);
    out.push_once(Packet::build(route, &ack, 0, |_| Ok(())));
}

/// Sends the atomic acknowledgment of the atomic at `psn`, which found `original`.
fn atomic_acknowledge(
    view: &RecvView,
    route: &Route,
    psn: u32,
    original: u64,
    msn: u32,
    out: &mut Outbox,
) {
    let ack = Syndrome::ACK;
    send_aeth(route, view.dest_qpn, psn, ack, msn, Some(original), out);
}

/// Sends a NAK with `code` for `psn` to `dest_qpn` on `route` (a read that fails midway).
fn nak_at(t: &Transport, route: &Route, dest_qpn: u32, psn: u32, code: NakCode, out: &mut Outbox) {
    send_aeth(route, dest_qpn, psn, Syndrome::Nak(code), t.msn, None, out);
}

/// Sends an acknowledgment for `psn`.
fn acknowledge(
    t: &Transport,
    view: &RecvView,
    route: &Route,
    psn: u32,
    syndrome: Syndrome,
    out: &mut Outbox,
) {
    send_aeth(route, view.dest_qpn, psn, syndrome, t.msn, None, out);
}

/// Receives a datagram: one packet, one receive request, the sender's IP header first.
/// Returns whether it waits for a page fault; it keeps its receive request meanwhile.
fn receive_datagram(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &RecvView,
    packet: &Packet,
    headers: &Headers,
    payload: &[u8],
) -> bool {
    let route = &packet.route;
    let qkey = if view.is_gsi { 0x8001_0000 } else { view.qkey };
    if headers.deth.qkey != qkey {
        return false;
    }
    // One a datagram that waited for a page fault took comes first.
    let recv = match t.kept_recv.take() {
        Some(recv) => recv,
        None => {
            let Some(Ok(recv)) = qp::take_recv(qp, &mut t.slot) else {
                // No receive request: the datagram is dropped.
                return false;
            };
            recv
        }
    };
    let tables = &qp.device().data().memory;
    let mut grh = [0u8; GRH_LEN];
    let ip_len = route.header_len() - crate::wire::UDP_HEADER_LEN;
    let mut ip = [0u8; GRH_LEN + crate::wire::UDP_HEADER_LEN];
    route.write_headers(&mut ip[..route.header_len()], packet.len());
    // An IPv4 header takes the last 20 bytes of the 40 (RoCEv2, Annex A17.4.5.1).
    grh[GRH_LEN - ip_len..].copy_from_slice(&ip[..ip_len]);
    let total = GRH_LEN + payload.len();
    let faults = &mut t.page_faults;
    let mut write =
        |offset: u32, data: &[u8]| scatter(tables, view.pd, &recv.sges, offset, data, faults);
    let status = match write(0, &grh).and_then(|()| write(GRH_LEN as u32, payload)) {
        Ok(()) => WcStatus::Success,
        Err(Missed::Failed(status)) => status,
        Err(Missed::Waits) => {
            // The next datagram taken is this one again.
            t.kept_recv = Some(recv);
            return true;
        }
    };
    complete_recv(
        qp,
        recv,
        status,
        total as u32,
        headers,
        Some(Sender {
            qpn: headers.deth.src_qpn,
            ipv4: route.ipv4,
        }),
        None,
    );
    false
}
