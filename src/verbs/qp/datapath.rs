// SPDX-License-Identifier: GPL-2.0

//! What the transport reads and changes of a queue pair: copies of its attributes for a run,
//! its send queue's requests in order, and its receive requests (or its SRQ's).

use super::*;

/// What the requester and completer need of a queue pair's attributes, copied for a run.
pub(crate) struct SendView {
    pub(crate) service: wire::TransportType,
    pub(crate) is_gsi: bool,
    /// The path MTU in bytes.
    pub(crate) mtu: u32,
    pub(crate) qkey: u32,
    /// The route of a connected queue pair.
    pub(crate) route: wire::Route,
    pub(crate) dest_qpn: u32,
    pub(crate) pd: usize,
    pub(crate) rnr_retry: u8,
    /// The local ACK timeout's timer code (reliable service; 0 waits forever).
    pub(crate) timeout: u8,
    /// New requests may start (RTS); in SQD only those in flight complete.
    pub(crate) may_start: bool,
    /// Reads and atomics it may have outstanding at the responder.
    pub(crate) max_rd_atomic: u8,
}

/// What the responder needs of a queue pair's attributes.
pub(crate) struct RecvView {
    pub(crate) service: wire::TransportType,
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

fn transport_of(service: Service) -> wire::TransportType {
    match service {
        Service::ReliableConnected => wire::TransportType::Rc,
        Service::UnreliableConnected => wire::TransportType::Uc,
        Service::UnreliableDatagram | Service::GeneralServices => wire::TransportType::Ud,
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
            Some(av) => wire::route_of(av, qp.qp_num()),
            None => wire::Route {
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
        timeout: v.timeout,
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

/// Consumes the oldest send queue entry, whose request completed, and returns its identifier
/// and the operation its completion reports; `None` if nothing is posted.
///
/// An in-kernel consumer's identifier is moved out of its slot here, so each is reported
/// once. A user's is read from the shared queue, as the provider wrote it; the operation of an
/// entry user space wrote garbage into is reported as a send.
pub(crate) fn consume_send(qp: &Qp<Rrxe>) -> Option<(RequestId, WcOpcode)> {
    match &mut *qp.data().queues.lock() {
        WorkQueues::User { send, .. } => {
            let mut head = [0u8; wqe::ID_AND_OPCODE_LEN];
            let read = send.read_head(&mut head)?;
            let _ = send.advance();
            read.ok()?;
            let opcode = SendOpcode::from_raw(wqe::send_opcode(&head))
                .map_or(WcOpcode::Send, |op| op.completion_opcode());
            Some((RequestId::User(wqe::wr_id(&head)), opcode))
        }
        WorkQueues::Kernel { send, oldest, .. } => {
            let request = send.front_mut()?;
            let taken = (request.wr_id.take(), request.wqe.opcode.completion_opcode());
            send.pop_front();
            *oldest = oldest.wrapping_add(1);
            Some(taken)
        }
    }
}

/// Returns the route to the address handle `ah_num` of the queue pair's protection domain.
pub(crate) fn address_handle(qp: &Qp<Rrxe>, ah_num: u32) -> Option<wire::Route> {
    let info = qp.device().data().ahs.get(ah_num)?;
    (info.pd == qp.data().pd).then(|| wire::route_of(&info.av, qp.qp_num()))
}

/// Takes the next receive request, from the queue pair's receive queue or its SRQ; `None`
/// if there is none.
pub(crate) fn take_recv(qp: &Qp<Rrxe>, slot: &mut [u8]) -> Option<Result<RecvWqe, Malformed>> {
    if let Some(srq) = qp.srq() {
        return crate::verbs::srq::take(srq, slot);
    }
    let max_sge = qp.data().caps.max_recv_sge;
    let mut queues = qp.data().queues.lock();
    let recv = match &mut *queues {
        WorkQueues::User {
            recv: Some(recv), ..
        } => recv,
        WorkQueues::Kernel {
            recv: Some(recv), ..
        } => return in_kernel::take_recv(recv),
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
