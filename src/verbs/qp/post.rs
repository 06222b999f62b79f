// SPDX-License-Identifier: GPL-2.0

//! Posting: the send doorbell of user queue pairs, and the send and receive requests of
//! in-kernel consumers, checked and copied into the queue pair's own rings.

use super::*;

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

/// Checks an in-kernel consumer's send request against the queue pair and moves it into
/// `slot`. Does not allocate: the slot's room was reserved with the queue.
fn fill_send(this: &RrxeQp, request: SendRequest<'_, Rrxe>, slot: &mut KernelSend) -> Result {
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
            region: crate::verbs::mr::state_of(registration.mr),
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
    // Last: a request that fails a check leaves no identifier behind.
    slot.wr_id = RequestId::Kernel(request.into_wr_id());
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
        if let Err(e) = send.push_with(|slot| fill_send(this, request, slot)) {
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
    let result = in_kernel::post_recvs(recv, requests, this.caps.max_recv_sge);
    if held.state == QpState::Error {
        flush_kernel_recv(qp, recv);
    }
    result
}
