// SPDX-License-Identifier: GPL-2.0

//! Flushing: in the error states every posted request completes with a flush error, oldest
//! first, a bounded batch at a time.

use super::*;

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
                    qp,
                    Completion::flushed(RequestId::User(wqe::wr_id(&head)), opcode_of(&head)),
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
pub(super) fn flush_send(qp: &Qp<Rrxe>, send: &mut FromUserQueue) -> bool {
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
pub(super) fn flush_kernel_recv(qp: &Qp<Rrxe>, recv: &mut RecvQueue) {
    let mut cq = qp.recv_cq();
    while let Some(request) = recv.front_mut() {
        let completion = Completion::flushed(request.wr_id.take(), WcOpcode::Recv);
        if cq.is_some_and(|target| cq::post(target, qp, completion, false).is_err()) {
            cq = None;
        }
        recv.pop_front();
    }
}

/// Flushes an in-kernel consumer's send queue to the send CQ, oldest first. Once the CQ
/// refuses a completion (it overran) the rest are dropped without.
pub(super) fn flush_kernel_send(
    qp: &Qp<Rrxe>,
    send: &mut KernelQueue<KernelSend>,
    oldest: &mut u32,
) {
    let mut cq = qp.send_cq();
    while let Some(request) = send.front_mut() {
        let opcode = request.wqe.opcode.completion_opcode();
        let completion = Completion::flushed(request.wr_id.take(), opcode);
        if cq.is_some_and(|target| cq::post(target, qp, completion, false).is_err()) {
            cq = None;
        }
        send.pop_front();
        *oldest = oldest.wrapping_add(1);
    }
}

/// Completes the receive requests taken for a message (one kept for a message whose first
/// packet waited for a page fault, then one of a message in progress) with a flush error and
/// forgets the requester's and responder's progress: the queue pair entered the error state.
/// The received packets that waited are left to the caller, to free once it holds no lock
/// that disables interrupts.
pub(super) fn flush_transport(qp: &Qp<Rrxe>, t: &mut Transport) -> KVec<crate::net::Received> {
    let kept = t.kept_recv.take();
    let in_progress = t.incoming.take().and_then(|incoming| incoming.recv);
    for recv in Iterator::chain(kept.into_iter(), in_progress) {
        if let Some(cq) = qp.recv_cq() {
            let completion = Completion::flushed(recv.wr_id, WcOpcode::Recv);
            let _ = cq::post(cq, qp, completion, false);
        }
    }
    t.current = None;
    t.in_flight.clear();
    t.done_locally.clear();
    t.rnr_waiting = false;
    t.rnr_until = None;
    t.resume_read = None;
    // Nothing more is answered: the read being answered and the requests waiting for it go
    // (freeing them does not sleep; a region's memory is released by its deregistration).
    t.reply = None;
    core::mem::take(&mut t.deferred)
}

/// Flushes what is posted to the queue pair's own queues (the error states): a user queue a
/// batch at a time, the engine going on with the rest.
pub(super) fn flush_queues(qp: &Qp<Rrxe>, queues: &mut WorkQueues) {
    match queues {
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
}

/// Moves the queue pair to the error state from the data path: what is posted is flushed.
pub(crate) fn enter_error(qp: &Qp<Rrxe>, t: &mut Transport) {
    let this = qp.data();
    let mut held = this.attrs.lock();
    if held.state == QpState::Error {
        return;
    }
    held.state = QpState::Error;
    // Under `attrs`, so that requests posted meanwhile complete after those flushed here.
    let packets = flush_transport(qp, t);
    flush_queues(qp, &mut this.queues.lock());
    drop(held);
    drop(packets);
    if qp.srq().is_some() {
        qp.report_event(QpEvent::LastWqeReached);
    }
}
