// SPDX-License-Identifier: GPL-2.0

//! Work completions and asynchronous events.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)
//!
//! The values are the core's (`enum ib_wc_status`, `enum ib_wc_opcode`), which user-space
//! verbs share (`enum ibv_wc_status`, `enum ibv_wc_opcode`).

use super::{device::Driver, object::Qp};
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
    /// Retries were exhausted without an acknowledgment.
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

/// An asynchronous event affiliated with a shared receive queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SrqEvent {
    /// Fewer receive requests than the armed limit are posted (`IB_EVENT_SRQ_LIMIT_REACHED`).
    /// The limit is disarmed by the event.
    LimitReached = bindings::ib_event_type_IB_EVENT_SRQ_LIMIT_REACHED,
}

/// `IB_WC_*` flags of a completion: the optional fields it carries.
pub mod wc_flags {
    use crate::bindings;

    /// The receive buffer starts with a GRH.
    pub const GRH: u32 = bindings::ib_wc_flags_IB_WC_GRH;
    /// `ex` is immediate data.
    pub const WITH_IMM: u32 = bindings::ib_wc_flags_IB_WC_WITH_IMM;
    /// `ex` is the key the message invalidated.
    pub const WITH_INVALIDATE: u32 = bindings::ib_wc_flags_IB_WC_WITH_INVALIDATE;
    /// `network_hdr_type` is valid.
    pub const WITH_NETWORK_HDR_TYPE: u32 = bindings::ib_wc_flags_IB_WC_WITH_NETWORK_HDR_TYPE;
}

/// The identifier an in-kernel consumer gave a work request (`wr_id`, or the `struct ib_cqe`
/// that shares its field), to be reported back in the request's completion.
///
/// The core's completion handling calls through the `ib_cqe` a completion names, and the
/// consumer may free it once that completion is polled. So a completion for an in-kernel
/// consumer carries only an identifier taken from a request that consumer posted, and each at
/// most once: [`RecvRequest::into_wr_id`] and [`SendRequest::into_wr_id`] consume the request
/// they take it from, a `WrId` can be neither copied nor cloned, and [`CompletionSlots::push`]
/// consumes the completion that reports it.
///
/// [`RecvRequest::into_wr_id`]: super::post::RecvRequest::into_wr_id
/// [`SendRequest::into_wr_id`]: super::post::SendRequest::into_wr_id
///
/// # Invariants
///
/// The value is the identifier of a request an in-kernel consumer posted, and no other `WrId`
/// was taken from that request.
#[derive(Debug, PartialEq, Eq)]
pub struct WrId(u64);

impl WrId {
    /// Wraps the identifier of a posted request.
    ///
    /// # Safety
    ///
    /// An in-kernel consumer must have posted a request with identifier `raw` (not a user's
    /// command), and no other `WrId` may be made from that request.
    pub(crate) unsafe fn posted(raw: u64) -> Self {
        // INVARIANT: The caller's guarantee.
        Self(raw)
    }
}

/// A work completion (`struct ib_wc`). Its identifier is of type `I`: a driver reports to an
/// in-kernel consumer only completions whose identifier is a [`WrId`], and may use the type
/// with identifiers of its own (for example for the completions of a user's queues), which
/// [`WorkCompletion::with_id`] exchanges.
#[derive(Clone, Copy, Debug)]
pub struct WorkCompletion<I = WrId> {
    /// The work request's identifier.
    pub wr_id: I,
    /// How the work request completed.
    pub status: WcStatus,
    /// What the work request did.
    pub opcode: WcOpcode,
    /// A driver-specific error code.
    pub vendor_err: u32,
    /// Bytes transferred (receives, reads, atomics).
    pub byte_len: u32,
    /// Immediate data in network byte order, or the invalidated key, as `wc_flags` says.
    pub ex: u32,
    /// The sender's queue pair number (datagram receives).
    pub src_qp: u32,
    /// [`wc_flags`] bits.
    pub wc_flags: u32,
    /// The partition key index (GSI receives).
    pub pkey_index: u16,
    /// The port the work request was processed on.
    pub port_num: u32,
    /// The network header type of a datagram receive (`enum rdma_network_type`).
    pub network_hdr_type: u8,
}

impl<I> WorkCompletion<I> {
    /// The completion of a work request flushed from a queue pair in the error state: only
    /// the identifier, status and queue pair are defined for the consumer.
    pub fn flushed(wr_id: I, opcode: WcOpcode) -> Self {
        Self {
            wr_id,
            status: WcStatus::WrFlushError,
            opcode,
            vendor_err: 0,
            byte_len: 0,
            ex: 0,
            src_qp: 0,
            wc_flags: 0,
            pkey_index: 0,
            port_num: 0,
            network_hdr_type: 0,
        }
    }

    /// Separates the completion's identifier from the rest of it.
    pub fn split_id(self) -> (WorkCompletion<()>, I) {
        let id = self.wr_id;
        let rest = WorkCompletion {
            wr_id: (),
            status: self.status,
            opcode: self.opcode,
            vendor_err: self.vendor_err,
            byte_len: self.byte_len,
            ex: self.ex,
            src_qp: self.src_qp,
            wc_flags: self.wc_flags,
            pkey_index: self.pkey_index,
            port_num: self.port_num,
            network_hdr_type: self.network_hdr_type,
        };
        (rest, id)
    }

    /// Returns the same completion with identifier `wr_id` in place of its own.
    pub fn with_id<J>(self, wr_id: J) -> WorkCompletion<J> {
        WorkCompletion {
            wr_id,
            status: self.status,
            opcode: self.opcode,
            vendor_err: self.vendor_err,
            byte_len: self.byte_len,
            ex: self.ex,
            src_qp: self.src_qp,
            wc_flags: self.wc_flags,
            pkey_index: self.pkey_index,
            port_num: self.port_num,
            network_hdr_type: self.network_hdr_type,
        }
    }
}

impl WorkCompletion {
    /// The core's form of the completion, naming queue pair `qp`.
    fn into_raw(self, qp: *mut bindings::ib_qp) -> bindings::ib_wc {
        bindings::ib_wc {
            __bindgen_anon_1: bindings::ib_wc__bindgen_ty_1 {
                wr_id: self.wr_id.0,
            },
            status: self.status as u32,
            opcode: self.opcode as u32,
            vendor_err: self.vendor_err,
            byte_len: self.byte_len,
            qp,
            ex: bindings::ib_wc__bindgen_ty_2 {
                invalidate_rkey: self.ex,
            },
            src_qp: self.src_qp,
            slid: 0,
            wc_flags: self.wc_flags as i32,
            pkey_index: self.pkey_index,
            sl: 0,
            dlid_path_bits: 0,
            port_num: self.port_num,
            smac: [0; 6],
            vlan_id: 0,
            network_hdr_type: self.network_hdr_type,
        }
    }
}

/// The consumer's array a `poll_cq` call fills with completions.
///
/// # Invariants
///
/// `next` points to `left` writable `struct ib_wc` entries the caller of `poll_cq` lent for
/// `'a`; `filled` entries before `next` have been written.
pub struct CompletionSlots<'a> {
    next: *mut bindings::ib_wc,
    left: usize,
    filled: usize,
    _array: core::marker::PhantomData<&'a mut [bindings::ib_wc]>,
}

impl<'a> CompletionSlots<'a> {
    /// Wraps the array of a `poll_cq` call.
    ///
    /// # Safety
    ///
    /// `wc` must be valid for writes of `len` entries for `'a`, or `len` must be zero.
    pub(crate) unsafe fn from_raw(wc: *mut bindings::ib_wc, len: usize) -> Self {
        // INVARIANT: The caller's guarantee.
        Self {
            next: wc,
            left: len,
            filled: 0,
            _array: core::marker::PhantomData,
        }
    }

    /// Returns how many more completions fit.
    pub fn room(&self) -> usize {
        self.left
    }

    /// Returns how many completions were written.
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Writes `wc`, a completion of a request posted to `qp`, into the next entry; `false` if
    /// the array is full. The consumer finds `qp` named in it: a queue pair that exists while
    /// it polls, as the reference proves.
    pub fn push<T: Driver>(&mut self, wc: WorkCompletion, qp: &Qp<T>) -> bool {
        if self.left == 0 {
            return false;
        }
        // SAFETY: `next` points to a writable entry since `left > 0` (type invariant).
        unsafe { self.next.write(wc.into_raw(qp.as_raw())) };
        // SAFETY: Still within the array or one past its end.
        self.next = unsafe { self.next.add(1) };
        // INVARIANT: One more entry written, one fewer left.
        self.left -= 1;
        self.filled += 1;
        true
    }
}
