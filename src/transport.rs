// SPDX-License-Identifier: GPL-2.0

//! The InfiniBand transport (IBTA vol. 1 ch. 9) of a queue pair: its engine runs the
//! requester, which turns send requests into packets, the responder, which carries out the
//! requests that arrive and answers them, and the completer, which matches responses and
//! acknowledgments to the requests in flight.

use crate::{
    device::Rrxe,
    queue::wqe::{flags, SendWqe},
    verbs::cq::{self, Completion},
    verbs::qp,
};
use kernel::rdma::{object::Qp, wc::WcStatus};

pub(crate) mod completer;
pub(crate) mod engine;
pub(crate) mod faults;
pub(crate) mod psn;
pub(crate) mod requester;
pub(crate) mod responder;
pub(crate) mod retry;

/// Consumes the oldest send request, `wqe` (the requester's copy of it), and posts its
/// completion if it is due: errors always, successes when signaled.
pub(crate) fn complete(qp: &Qp<Rrxe>, wqe: &SendWqe, status: WcStatus, byte_len: u32) {
    let Some((wr_id, _)) = qp::consume_send(qp) else {
        return;
    };
    let signaled = wqe.flags & flags::SIGNALED != 0 || qp::signals_all(qp);
    if status == WcStatus::Success && !signaled {
        return;
    }
    let Some(cq) = qp.send_cq() else {
        return;
    };
    let mut completion = Completion::flushed(wr_id, wqe.opcode.completion_opcode());
    completion.status = status;
    completion.byte_len = byte_len;
    completion.port_num = 1;
    // A CQ that overran has reported its error and takes no more.
    let _ = cq::post(cq, qp, completion, false);
}
