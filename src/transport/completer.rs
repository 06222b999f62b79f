// SPDX-License-Identifier: GPL-2.0

//! The completer: matches acknowledgements and responses to the reliable requests in
//! flight, completes them in order, lands read responses and atomic results in the
//! requests' buffers, and reacts to negative acknowledgements (IBTA 9.7.5.1): resending
//! from a PSN after a sequence error or after the receiver-not-ready timer, and ending the
//! connection after the others.

use crate::{
    device::Rrxe,
    engine::{Engine, Transport},
    net::Received,
    packet::{NakCode, Operation, Syndrome},
    psn::Psn,
    qp,
    requester::{complete, scatter},
    wqe::{Payload, SendOpcode},
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

/// Handles an acknowledgement or response for the queue pair's requester.
pub(crate) fn receive(qp: &Qp<Rrxe>, engine: &Arc<Engine>, t: &mut Transport, packet: Received) {
    let Some(view) = qp::send_view(qp) else {
        return;
    };
    let headers = &packet.headers;
    let psn = headers.bth.psn;
    let payload = packet.payload();
    match headers.opcode.operation {
        Operation::Acknowledge => {
            let Some(aeth) = headers.aeth else {
                return;
            };
            match aeth.syndrome {
                Syndrome::Ack(_) => {
                    if acknowledge_through(qp, t, psn) {
                        t.rnr_retries_left = view.rnr_retry;
                    }
                }
                Syndrome::RnrNak(timer) => {
                    acknowledge_through(qp, t, Psn::new(psn).add(crate::psn::PSN_MASK).get());
                    if t.in_flight.is_empty() || t.rnr_waiting {
                        return;
                    }
                    if t.rnr_retries_left == 0 {
                        fail_oldest(qp, t, WcStatus::RnrRetryExceeded, psn);
                        return;
                    }
                    if t.rnr_retries_left != UNLIMITED_RETRIES {
                        t.rnr_retries_left -= 1;
                    }
                    rewind(t);
                    t.rnr_waiting = true;
                    let micros = RNR_TIMER_US[usize::from(timer & 0x1f)];
                    engine.schedule_after(Delta::from_micros(i64::from(micros)));
                }
                Syndrome::Nak(code) => {
                    acknowledge_through(qp, t, Psn::new(psn).add(crate::psn::PSN_MASK).get());
                    match code {
                        // Resending is already due when the receiver-not-ready wait ends.
                        NakCode::PsnSequenceError if t.rnr_waiting => {}
                        NakCode::PsnSequenceError => rewind(t),
                        NakCode::InvalidRequest | NakCode::InvalidRdRequest => {
                            fail_oldest(qp, t, WcStatus::RemoteInvalidRequest, psn)
                        }
                        NakCode::RemoteAccessError => {
                            fail_oldest(qp, t, WcStatus::RemoteAccessError, psn)
                        }
                        NakCode::RemoteOperationalError => {
                            fail_oldest(qp, t, WcStatus::RemoteOperationError, psn)
                        }
                    }
                }
            }
        }
        Operation::ReadResponse => read_response(qp, t, &view, psn, headers, payload),
        Operation::AtomicAcknowledge => {
            let Some(oldest) = t.in_flight.first() else {
                return;
            };
            let atomic = matches!(
                oldest.wqe.opcode,
                SendOpcode::AtomicCompareSwap | SendOpcode::AtomicFetchAdd
            );
            if !atomic || oldest.first_psn != psn {
                return;
            }
            let result = land(
                qp,
                &oldest.wqe.payload,
                view.pd,
                0,
                &headers.atomic_ack.to_ne_bytes(),
            );
            finish_oldest(qp, t, result, 8);
        }
        _ => {}
    }
}

/// Completes the requests up to and including PSN `psn` that need no response; returns
/// whether any completed.
fn acknowledge_through(qp: &Qp<Rrxe>, t: &mut Transport, psn: u32) -> bool {
    let mut progress = false;
    while let Some(oldest) = t.in_flight.first() {
        let needs_response = matches!(
            oldest.wqe.opcode,
            SendOpcode::RdmaRead | SendOpcode::AtomicCompareSwap | SendOpcode::AtomicFetchAdd
        );
        if needs_response || Psn::new(psn).precedes(Psn::new(oldest.last_psn())) {
            break;
        }
        finish_oldest(qp, t, Ok(()), 0);
        progress = true;
    }
    progress
}

/// Lands a read response packet in the oldest request, which must be the read it answers.
fn read_response(
    qp: &Qp<Rrxe>,
    t: &mut Transport,
    view: &qp::SendView,
    psn: u32,
    headers: &crate::packet::Headers,
    payload: &[u8],
) {
    // Requests before the read are acknowledged by its response.
    if let Some(read) = t
        .in_flight
        .iter()
        .find(|o| o.wqe.opcode == SendOpcode::RdmaRead)
    {
        let before = Psn::new(read.first_psn).add(crate::psn::PSN_MASK).get();
        acknowledge_through(qp, t, before);
    }
    let Some(oldest) = t.in_flight.first_mut() else {
        return;
    };
    if oldest.wqe.opcode != SendOpcode::RdmaRead {
        return;
    }
    let index = oldest.received / view.mtu;
    if Psn::new(oldest.first_psn).add(index).get() != psn {
        // A duplicate or a response out of order: the read is asked for again on a gap.
        return;
    }
    let offset = oldest.received;
    let fits = offset
        .checked_add(payload.len() as u32)
        .is_some_and(|end| end <= oldest.wqe.length);
    if !fits {
        fail_oldest(qp, t, WcStatus::LocalLengthError, psn);
        return;
    }
    let result = land(qp, &oldest.wqe.payload, view.pd, offset, payload);
    oldest.received += payload.len() as u32;
    if result.is_err() || headers.opcode.position.ends() {
        let len = oldest.received;
        finish_oldest(qp, t, result, len);
    }
}

/// Writes response data into a request's scatter/gather list at `offset`.
fn land(
    qp: &Qp<Rrxe>,
    payload: &Payload,
    pd: usize,
    offset: u32,
    data: &[u8],
) -> Result<(), WcStatus> {
    let Payload::Gather(sges) = payload else {
        return Err(WcStatus::LocalProtectionError);
    };
    scatter(&qp.device().data().memory, pd, sges, offset, data)
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
    qp::consume_send(qp);
    if status != WcStatus::Success {
        qp::enter_error(qp, t);
        return;
    }
    // Local operations waiting behind it complete with it.
    while t.in_flight.first().is_some_and(|o| o.is_local()) {
        if let Ok(local) = t.in_flight.remove(0) {
            complete(qp, &local.wqe, WcStatus::Success, 0);
            qp::consume_send(qp);
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
    let sent_it = t.current.as_ref().is_some_and(|current| {
        let offset = Psn::new(current.first_psn).distance_to(Psn::new(psn));
        offset >= 0 && (offset as u32) < current.sent
    });
    if let Some(current) = t.current.take_if(|_| sent_it) {
        complete(qp, &current.wqe, status, 0);
        qp::consume_send(qp);
        qp::enter_error(qp, t);
    }
}

/// Sends again from the oldest request in flight.
fn rewind(t: &mut Transport) {
    let restart = t
        .in_flight
        .first()
        .or(t.current.as_ref())
        .map(|o| (o.index, o.first_psn));
    if let Some((index, psn)) = restart {
        t.next_wqe = index;
        t.next_psn = psn;
    }
    t.current = None;
    // Local operations among them were carried out; resending passes over them.
    t.done_locally.clear();
    for outgoing in t.in_flight.iter().filter(|o| o.is_local()) {
        if t.done_locally.push(outgoing.index, GFP_KERNEL).is_err() {
            break;
        }
    }
    t.in_flight.clear();
}
