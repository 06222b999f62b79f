// SPDX-License-Identifier: GPL-2.0

//! Work completions and asynchronous events.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)
//!
//! The values are the core's (`enum ib_wc_status`, `enum ib_wc_opcode`), which user-space
//! verbs share (`enum ibv_wc_status`, `enum ibv_wc_opcode`).

use crate::bindings;

/// How a work request completed (`enum ib_wc_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum WcStatus {
    /// The work request completed successfully.
    Success = bindings::ib_wc_status_IB_WC_SUCCESS,
    /// A local data segment was longer than the message allowed.
    LocalLengthError = bindings::ib_wc_status_IB_WC_LOC_LEN_ERR,
    /// The work request was malformed or not valid for the queue pair.
    LocalQpOperationError = bindings::ib_wc_status_IB_WC_LOC_QP_OP_ERR,
    /// A local key was invalid or did not grant the access needed.
    LocalProtectionError = bindings::ib_wc_status_IB_WC_LOC_PROT_ERR,
    /// The work request was flushed: the queue pair is in the error state.
    WrFlushError = bindings::ib_wc_status_IB_WC_WR_FLUSH_ERR,
    /// A memory window bind failed.
    MwBindError = bindings::ib_wc_status_IB_WC_MW_BIND_ERR,
    /// The remote side refused an access.
    RemoteAccessError = bindings::ib_wc_status_IB_WC_REM_ACCESS_ERR,
    /// The remote side found the request invalid.
    RemoteInvalidRequest = bindings::ib_wc_status_IB_WC_REM_INV_REQ_ERR,
    /// The remote side failed the operation.
    RemoteOperationError = bindings::ib_wc_status_IB_WC_REM_OP_ERR,
    /// Retries were exhausted without an acknowledgement.
    RetryExceeded = bindings::ib_wc_status_IB_WC_RETRY_EXC_ERR,
    /// Receiver-not-ready retries were exhausted.
    RnrRetryExceeded = bindings::ib_wc_status_IB_WC_RNR_RETRY_EXC_ERR,
    /// A fatal error outside the other classes.
    FatalError = bindings::ib_wc_status_IB_WC_FATAL_ERR,
    /// An error the other statuses do not describe.
    GeneralError = bindings::ib_wc_status_IB_WC_GENERAL_ERR,
}

/// What a completed work request did (`enum ib_wc_opcode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum WcOpcode {
    /// A send.
    Send = bindings::ib_wc_opcode_IB_WC_SEND,
    /// An RDMA write.
    RdmaWrite = bindings::ib_wc_opcode_IB_WC_RDMA_WRITE,
    /// An RDMA read.
    RdmaRead = bindings::ib_wc_opcode_IB_WC_RDMA_READ,
    /// An atomic compare and swap.
    CompareSwap = bindings::ib_wc_opcode_IB_WC_COMP_SWAP,
    /// An atomic fetch and add.
    FetchAdd = bindings::ib_wc_opcode_IB_WC_FETCH_ADD,
    /// A memory window bind.
    BindMw = bindings::ib_wc_opcode_IB_WC_BIND_MW,
    /// A local invalidation.
    LocalInvalidate = bindings::ib_wc_opcode_IB_WC_LOCAL_INV,
    /// A segmentation offload send.
    Tso = bindings::ib_wc_opcode_IB_WC_LSO,
    /// An atomic write.
    AtomicWrite = bindings::ib_wc_opcode_IB_WC_ATOMIC_WRITE,
    /// A flush of remote memory to its persistence domain.
    Flush = bindings::ib_wc_opcode_IB_WC_FLUSH,
    /// A fast memory registration.
    RegMr = bindings::ib_wc_opcode_IB_WC_REG_MR,
    /// A received message.
    Recv = bindings::ib_wc_opcode_IB_WC_RECV,
    /// An RDMA write with immediate data, as seen by the receiver.
    RecvRdmaWithImm = bindings::ib_wc_opcode_IB_WC_RECV_RDMA_WITH_IMM,
}

/// An asynchronous event affiliated with a completion queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum CqEvent {
    /// The CQ overran or another error made it unusable (`IB_EVENT_CQ_ERR`).
    Error = bindings::ib_event_type_IB_EVENT_CQ_ERR,
}

/// An asynchronous event affiliated with a queue pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum QpEvent {
    /// An error moved the queue pair to the error state (`IB_EVENT_QP_FATAL`).
    Fatal = bindings::ib_event_type_IB_EVENT_QP_FATAL,
    /// A request the queue pair received broke the transport's rules
    /// (`IB_EVENT_QP_REQ_ERR`).
    RequestError = bindings::ib_event_type_IB_EVENT_QP_REQ_ERR,
    /// A request the queue pair received broke its access rights (`IB_EVENT_QP_ACCESS_ERR`).
    AccessError = bindings::ib_event_type_IB_EVENT_QP_ACCESS_ERR,
    /// The send queue drained after a move to SQD that asked for this event
    /// (`IB_EVENT_SQ_DRAINED`).
    SqDrained = bindings::ib_event_type_IB_EVENT_SQ_DRAINED,
    /// A queue pair on a shared receive queue entered the error state: no further receive
    /// request will be consumed for it (`IB_EVENT_QP_LAST_WQE_REACHED`).
    LastWqeReached = bindings::ib_event_type_IB_EVENT_QP_LAST_WQE_REACHED,
}
