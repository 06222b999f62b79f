// SPDX-License-Identifier: GPL-2.0

//! The completer: matches acknowledgments and responses to the reliable requests in
//! flight, completes them in order, lands read responses and atomic results in the
//! requests' buffers, and reacts to negative acknowledgments (IBTA 9.7.5.1): resending
//! from a PSN after a sequence error or after the receiver-not-ready timer, and ending the
//! connection after the others; and to the local ACK timeout (IBTA 9.7.6.1.3): resending
//! from the oldest request not acknowledged, or failing it once the retries are spent.

use crate::{
    device::{Counter, Rrxe},
    memory::{scatter, Missed, PageFaults},
    net::Received,
    queue::wqe::{Payload, SendOpcode},
    transport::complete,
    transport::engine::{Outgoing, Transport},
    transport::psn::Psn,
    transport::requester::{answered_by_read_response, needs_response},
    transport::retry::{self, Expiry, Moment},
    verbs::qp,
    wire::{NakCode, Operation, Syndrome, TransportType},
};
use kernel::{
    prelude::*,
    rdma::{object::Qp, wc::WcStatus},
    sync::Arc,
    time::Delta,
};

/// The receiver-not-ready timer of each 5-bit code, in microseconds (IBTA table 45).
const RNR_TIMER_US: [u32; 32] = [
    655_360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1_280, 1_920, 2_560, 3_840,
    5_120, 7_680, 10_240, 15_360, 20_480, 30_720, 40_960, 61_440, 81_920, 122_880, 163_840,
    245_760, 327_680, 491_520,
];

/// A retry count of seven means "retry forever" (IBTA 9.7.5.2.8).
const UNLIMITED_RETRIES: u8 = 7;

/// What the requester does about a negative acknowledgment (IBTA 9.7.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NakReaction {
    /// Nothing: it names nothing outstanding, or a resend is already due.
    Ignore,
    /// Resend from the oldest outstanding request.
    Resend,
    /// Resend once the receiver-not-ready timer of `micros` ran out, with `retries_left`
    /// receiver-not-ready retries left then.
    RnrWait { micros: u32, retries_left: u8 },
    /// Fail the request NAKed with this status: the connection ends.
    Fail(WcStatus),
}

/// Decides the reaction to a NAK (`syndrome` is not an ACK). `outstanding` tells whether
/// the NAK names a request sent and not yet completed, `rnr_waiting` whether the requester
/// waits for the receiver-not-ready timer already.
pub(crate) fn nak_reaction(
    syndrome: Syndrome,
    outstanding: bool,
    rnr_waiting: bool,
    rnr_retries_left: u8,
) -> NakReaction {
    match syndrome {
        Syndrome::Ack(_) => NakReaction::Ignore,
        Syndrome::RnrNak(_) | Syndrome::Nak(_) if !outstanding => NakReaction::Ignore,
        // Resending is already due when the receiver-not-ready wait ends.
        Syndrome::RnrNak(_) | Syndrome::Nak(NakCode::PsnSequenceError) if rnr_waiting => {
            NakReaction::Ignore
        }
        Syndrome::RnrNak(_) if rnr_retries_left == 0 => {
            NakReaction::Fail(WcStatus::RnrRetryExceeded)
        }
        Syndrome::RnrNak(timer) => NakReaction::RnrWait {
            micros: RNR_TIMER_US[usize::from(timer & 0x1f)],
            retries_left: match rnr_retries_left {
                UNLIMITED_RETRIES => UNLIMITED_RETRIES,
                left => left - 1,
            },
        },
        Syndrome::Nak(NakCode::PsnSequenceError) => NakReaction::Resend,
        Syndrome::Nak(NakCode::InvalidRequest | NakCode::InvalidRdRequest) => {
            NakReaction::Fail(WcStatus::RemoteInvalidRequest)
        }
        Syndrome::Nak(NakCode::RemoteAccessError) => NakReaction::Fail(WcStatus::RemoteAccessError),
        Syndrome::Nak(NakCode::RemoteOperationalError) => {
            NakReaction::Fail(WcStatus::RemoteOperationError)
        }
    }
}

/// Returns how many of the oldest requests in flight, given as whether each waits for a
/// response (reads and atomics) and its last PSN, an acknowledgment through `psn` completes:
/// those whose last packet it covers, up to the first that completes with its response.
pub(crate) fn acknowledged(in_flight: impl Iterator<Item = (bool, Psn)>, psn: Psn) -> usize {
    in_flight
        .take_while(|&(needs_response, last)| !needs_response && !psn.precedes(last))
        .count()
}

/// Returns whether a read response at `psn` answers the read whose `packets` responses start
/// at `first`: only such a response acknowledges the requests before the read.
pub(crate) fn answers_read(first: Psn, packets: u32, psn: Psn) -> bool {
    psn.is_within(first, packets)
}

/// Returns the byte offset where a read response at `psn` carrying `len` bytes lands in a
/// read of `length` bytes starting at PSN `first` with `received` bytes so far, for a path
/// MTU of `mtu`: `None` for a duplicate or a response out of order (a gap makes the requester
/// ask again), `Err` when the data would run past the read's end.
/// Returns whether a response at `psn` to a read of `packets` packets from `first`, of
/// which `received` bytes arrived, lies beyond the one expected: an earlier response was
/// lost, which the requester takes as an implied sequence error NAK (IBTA 9.7.7.1.3).
pub(crate) fn read_gap(first: Psn, packets: u32, received: u32, mtu: u32, psn: Psn) -> bool {
    let expected = first.add(received / mtu.max(1));
    expected.precedes(psn) && psn.is_within(first, packets)
}

pub(crate) fn read_landing(
    first: Psn,
    received: u32,
    length: u32,
    mtu: u32,
    psn: Psn,
    len: usize,
) -> Option<Result<u32, WcStatus>> {
    if first.add(received / mtu.max(1)) != psn {
        return None;
    }
    let fits = u32::try_from(len)
        .ok()
        .and_then(|len| received.checked_add(len))
        .is_some_and(|end| end <= length);
    Some(if fits {
        Ok(received)
    } else {
        Err(WcStatus::LocalLengthError)
    })
}

/// Returns whether the request being sent (PSNs from `first` on, `sent` packets so far) sent
/// the packet at `psn`.
fn sent_packet(current: Option<&Outgoing>, psn: u32) -> bool {
    current.is_some_and(|c| Psn::new(psn).is_within(Psn::new(c.first_psn), c.sent))
}

/// Handles an acknowledgment or response for the queue pair's requester; returns the packet if
/// the bytes it carries wait for a page fault (what it did before that is done again, to no
/// further effect, when it is handled again).
pub(crate) fn receive(qp: &Qp<Rrxe>, t: &mut Transport, packet: Received) -> Option<Received> {
    // No longer sending (an error state): nothing is handled.
    let view = qp::send_view(qp)?;
    let headers = &packet.headers;
    let psn = headers.bth.psn;
    let payload = packet.payload();
    match headers.opcode.operation {
        Operation::Acknowledge => {
            let aeth = headers.aeth?;
            if let Syndrome::Ack(_) = aeth.syndrome {
                t.acknowledged_through(Psn::new(psn));
                if acknowledge_through(qp, t, Psn::new(psn)) {
                    t.rnr_retries_left = view.rnr_retry;
                }
                return None;
            }
            // A NAK acknowledges the requests before the PSN it names.
            t.acknowledged_through(Psn::new(psn).prev());
            acknowledge_through(qp, t, Psn::new(psn).prev());
            let outstanding = !t.in_flight.is_empty() || sent_packet(t.current.as_ref(), psn);
            match nak_reaction(
                aeth.syndrome,
                outstanding,
                t.rnr_waiting,
                t.rnr_retries_left,
            ) {
                NakReaction::Ignore => {}
                NakReaction::Resend => {
                    t.count(qp.device().data(), Counter::SeqNaksReceived);
                    resend_after_loss(t);
                }
                NakReaction::RnrWait {
                    micros,
                    retries_left,
                } => {
                    t.count(qp.device().data(), Counter::RnrNaksReceived);
                    t.rnr_retries_left = retries_left;
                    rewind(t);
                    t.rnr_waiting = true;
                    t.rnr_until = Some(Moment::now() + Delta::from_micros(i64::from(micros)));
                }
                NakReaction::Fail(status) => fail_oldest(qp, t, status, psn),
            }
        }
        Operation::ReadResponse => {
            if read_response(qp, t, &view, psn, headers, payload) {
                return Some(packet);
            }
        }
        Operation::AtomicAcknowledge => {
            let oldest = t.in_flight.first()?;
            let atomic = matches!(
                oldest.wqe.opcode,
                SendOpcode::AtomicCompareSwap | SendOpcode::AtomicFetchAdd
            );
            if !atomic || oldest.first_psn != psn {
                return None;
            }
            let result = match land(
                qp,
                &oldest.wqe.payload,
                view.pd,
                0,
                &headers.atomic_ack.to_ne_bytes(),
                &mut t.page_faults,
            ) {
                Err(Missed::Waits) => return Some(packet),
                Err(Missed::Failed(status)) => Err(status),
                Ok(()) => Ok(()),
            };
            t.acknowledged_through(Psn::new(psn));
            finish_oldest(qp, t, result, 8);
        }
        _ => {}
    }
    None
}

/// Completes the requests up to and including PSN `psn` that need no response; returns
/// whether any completed.
fn acknowledge_through(qp: &Qp<Rrxe>, t: &mut Transport, psn: Psn) -> bool {
    let count = acknowledged(
        t.in_flight
            .iter()
            .map(|o| (needs_response(o.wqe.opcode), Psn::new(o.last_psn()))),
        psn,
    );
    for _ in 0..count {
        finish_oldest(qp, t, Ok(()), 0);
    }
    count > 0
}

/// Lands a read response packet in the oldest request, which must be the read it answers;
/// returns whether its bytes wait for a page fault.
fn read_response(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &qp::SendView,
    psn: u32,
    headers: &crate::wire::Headers,
    payload: &[u8],
) -> bool {
    // A response to the first read in flight acknowledges the requests before it.
    let answered = t
        .in_flight
        .iter()
        .find(|o| answered_by_read_response(o.wqe.opcode))
        .filter(|read| answers_read(Psn::new(read.first_psn), read.packets, Psn::new(psn)))
        .map(|read| Psn::new(read.first_psn).prev());
    if let Some(before) = answered {
        t.acknowledged_through(before);
        acknowledge_through(qp, t, before);
    }
    let Some(oldest) = t.in_flight.first_mut() else {
        return false;
    };
    if !answered_by_read_response(oldest.wqe.opcode) {
        return false;
    }
    let landing = read_landing(
        Psn::new(oldest.first_psn),
        oldest.received,
        oldest.wqe.length,
        view.mtu,
        Psn::new(psn),
        payload.len(),
    );
    let offset = match landing {
        None => {
            let gap = read_gap(
                Psn::new(oldest.first_psn),
                oldest.packets,
                oldest.received,
                view.mtu,
                Psn::new(psn),
            );
            if gap && !t.read_gap_asked {
                // Ask for the rest now rather than after the local ACK timeout.
                qp.device().data().count(Counter::ImpliedNaks);
                resend_after_loss(t);
                t.read_gap_asked = true;
            } else if answers_in_flight(t, Psn::new(psn)) {
                // The responder still works through reads this requester sent (those
                // behind a lost response, sent again after it): it is alive, and the
                // response awaited comes after them. Waiting for it spends no retry.
                t.ack_timer.postpone();
            }
            return false;
        }
        Some(Err(status)) => {
            fail_oldest(qp, t, status, psn);
            return false;
        }
        Some(Ok(offset)) => offset,
    };
    if oldest.wqe.opcode != SendOpcode::RdmaRead {
        // An atomic write or a flush: its one response, of no bytes, completes it.
        let len = oldest.wqe.length;
        t.acknowledged_through(Psn::new(psn));
        finish_oldest(qp, t, Ok(()), len);
        return false;
    }
    let result = match land(
        qp,
        &oldest.wqe.payload,
        view.pd,
        offset,
        payload,
        &mut t.page_faults,
    ) {
        Err(Missed::Waits) => return true,
        Err(Missed::Failed(status)) => Err(status),
        Ok(()) => Ok(()),
    };
    oldest.received += payload.len() as u32;
    t.read_gap_asked = false;
    let (len, ends) = (oldest.received, headers.opcode.position.ends());
    t.acknowledged_through(Psn::new(psn));
    if result.is_err() || ends {
        finish_oldest(qp, t, result, len);
    }
    false
}

/// Returns how many packets of a message of `packets` packets from `first` are
/// acknowledged when `unacked` is the first PSN not acknowledged: those need not be sent
/// again. None if the message is not acknowledged in part.
pub(crate) fn resend_within(first: Psn, packets: u32, unacked: Psn) -> u32 {
    let acknowledged = first.distance_to(unacked);
    if acknowledged > 0 && (acknowledged as u32) < packets {
        acknowledged as u32
    } else {
        0
    }
}

/// Returns whether `psn` is one of the response PSNs of a read in flight.
fn answers_in_flight(t: &Transport, psn: Psn) -> bool {
    t.in_flight.iter().any(|o| {
        answered_by_read_response(o.wqe.opcode) && psn.is_within(Psn::new(o.first_psn), o.packets)
    })
}

/// Writes response data into a request's scatter/gather list at `offset`; pages on demand not
/// faulted in make it wait, with the fault noted in `faults`.
fn land(
    qp: &Qp<Rrxe>,
    payload: &Payload,
    pd: usize,
    offset: u32,
    data: &[u8],
    faults: &mut PageFaults,
) -> Result<(), Missed<WcStatus>> {
    let Payload::Gather(sges) = payload else {
        return Err(Missed::Failed(WcStatus::LocalProtectionError));
    };
    scatter(&qp.device().data().memory, pd, sges, offset, data, faults)
}

/// Completes the oldest request in flight with `result`; an error ends the connection.
fn finish_oldest(qp: &Qp<Rrxe>, t: &mut Transport, result: Result<(), WcStatus>, len: u32) {
    let Ok(oldest) = t.in_flight.remove(0) else {
        return;
    };
    let status = match result {
        Ok(()) => WcStatus::Success,
        Err(status) => status,
    };
    complete(qp, &oldest.wqe, status, len);
    if status != WcStatus::Success {
        qp::enter_error(qp, t);
        return;
    }
    // Local operations waiting behind it complete with it.
    while t.in_flight.first().is_some_and(|o| o.is_local()) {
        if let Ok(local) = t.in_flight.remove(0) {
            complete(qp, &local.wqe, WcStatus::Success, 0);
        }
    }
}

/// Fails the oldest request in flight with `status` (NAKed at `psn`): the connection ends.
/// With nothing in flight, the request being sent is the one NAKed if `psn` is one of the
/// packets it sent (a long write whose target went away midway).
fn fail_oldest(qp: &Qp<Rrxe>, t: &mut Transport, status: WcStatus, psn: u32) {
    if !t.in_flight.is_empty() {
        finish_oldest(qp, t, Err(status), 0);
        return;
    }
    let sent_it = sent_packet(t.current.as_ref(), psn);
    if let Some(current) = t.current.take_if(|_| sent_it) {
        complete(qp, &current.wqe, status, 0);
        qp::enter_error(qp, t);
    }
}

/// Ends the receiver-not-ready wait if its time has come at `now`.
pub(crate) fn end_rnr_wait(t: &mut Transport, now: Moment) {
    if t.rnr_waiting && t.rnr_until.is_none_or(|end| retry::has_passed(end, now)) {
        t.rnr_waiting = false;
        t.rnr_until = None;
    }
}

/// Handles the local ACK timeout at `now`, once the packets that arrived were handled: if
/// its deadline passed without progress, the requester sends again from the oldest request
/// not acknowledged, or that request fails with a retry-exceeded error once the retries
/// are spent.
pub(crate) fn check_ack_timeout(qp: &Qp<Rrxe>, t: &mut Transport, now: Moment) {
    if t.ack_timer.deadline().is_none() || !t.awaits_acknowledgment() || t.rnr_waiting {
        return;
    }
    let Some(view) = qp::send_view(qp).filter(|view| view.service == TransportType::Rc) else {
        return;
    };
    if !t.ack_timer.has_passed(now) {
        return;
    }
    if peer_holds_work(qp, &view) {
        t.ack_timer.postpone();
        return;
    }
    let expiry = t.ack_timer.expire(now);
    if expiry == Expiry::Wait {
        return;
    }
    let device = qp.device().data();
    t.count(device, Counter::AckTimeouts);
    if expiry == Expiry::Resend {
        resend_after_loss(t);
        return;
    }
    let failing = !t.in_flight.is_empty() || sent_packet(t.current.as_ref(), t.unacked_psn);
    t.count(device, Counter::RetryExceeded);
    if failing {
        let psn = t.unacked_psn;
        fail_oldest(qp, t, WcStatus::RetryExceeded, psn);
    } else {
        // Nothing sent is left to fail (a rewind found no request to resend): the
        // connection ends all the same.
        qp::enter_error(qp, t);
    }
}

/// Returns whether the queue pair's peer is one of the device's own queue pairs that still
/// holds work the requester waits for (its packets, or a read being answered): packets
/// between them are lost only where they are counted, so its acknowledgment is coming.
fn peer_holds_work(qp: &Qp<Rrxe>, view: &qp::SendView) -> bool {
    if view.route.destination != view.route.source {
        return false;
    }
    let Some(peer) = qp.device().data().qps.get(view.dest_qpn) else {
        return false;
    };
    // A queue pair connected to itself: this run is its own.
    let own = Arc::ptr_eq(&peer.engine, &qp.data().engine);
    peer.engine.holds_work(own)
}

/// Sets the local ACK timeout's deadline at `now`, the end of an engine round that sent
/// request packets or not (`requests_sent`): it runs while a reliable requester has PSNs
/// unacknowledged and does not wait for the receiver-not-ready timer, and restarts with
/// every packet sent and every progress. Returns when the engine must run next for a
/// deadline (the timeout's or the end of a receiver-not-ready wait), if at all.
pub(crate) fn settle_deadlines(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    now: Moment,
    requests_sent: bool,
) -> Option<Moment> {
    let timeout = qp::send_view(qp)
        .filter(|view| view.service == TransportType::Rc)
        .and_then(|view| retry::ack_timeout(view.timeout));
    let awaiting = t.awaits_acknowledgment() && !t.rnr_waiting;
    t.ack_timer.settle(now, timeout, awaiting, requests_sent);
    let rnr_end = t.rnr_until.filter(|_| t.rnr_waiting);
    retry::earliest(rnr_end, t.ack_timer.deadline())
}

/// Sends again after a loss, with the window halved.
fn resend_after_loss(t: &mut Transport) {
    t.window.shrink();
    rewind(t);
}

/// Sends again from the oldest request in flight (go-back-N); a read whose responses arrived
/// in part asks for the rest.
fn rewind(t: &mut Transport) {
    t.ack_timer.rewound();
    let restart = t
        .in_flight
        .first()
        .or(t.current.as_ref())
        .map(|o| (o.index, o.first_psn, o.packets, o.wqe.opcode));
    t.resume_message = None;
    if let Some((index, first, packets, opcode)) = restart {
        t.next_wqe = index;
        t.next_psn = first;
        // A send or write acknowledged in part goes on from its first packet not
        // acknowledged, the PSN a sequence error NAK names (IBTA 9.7.5.2.2).
        let acknowledged = resend_within(Psn::new(first), packets, Psn::new(t.unacked_psn));
        if acknowledged > 0 && !needs_response(opcode) {
            t.resume_message = Some((index, first, acknowledged));
            t.next_psn = t.unacked_psn;
        }
    }
    // Responses land in order, in the oldest request only. With nothing in flight, a read
    // to resume from an earlier rewind still is.
    if let Some(oldest) = t.in_flight.first() {
        t.resume_read = (oldest.wqe.opcode == SendOpcode::RdmaRead && oldest.received > 0)
            .then_some((oldest.index, oldest.received));
    }
    t.current = None;
    t.read_gap_asked = false;
    // Local operations among them were carried out; resending passes over them.
    t.done_locally.clear();
    for outgoing in t.in_flight.iter().filter(|o| o.is_local()) {
        if t.done_locally.push(outgoing.index, GFP_ATOMIC).is_err() {
            break;
        }
    }
    t.in_flight.clear();
}
