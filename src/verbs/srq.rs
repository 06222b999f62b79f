// SPDX-License-Identifier: GPL-2.0

//! Shared receive queues: a receive queue several queue pairs take requests from, shared with
//! the user-space provider like a QP's or kept in the kernel for in-kernel consumers,
//! resizable, with a limit that arms an event.

use crate::{
    device::params,
    device::Rrxe,
    queue::in_kernel::{self, RecvQueue},
    queue::user::{FromUserQueue, Geometry},
    queue::wqe::{self, Malformed, RecvWqe},
    verbs::cq::MmapInfo,
    verbs::qp::recv_wqe_size,
    verbs::table::{Entry, Table},
};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    new_mutex, new_spinlock_irq,
    prelude::*,
    rdma::{
        mmap::MmapEntry,
        object::{Pd, Srq},
        post::{PostError, RecvRequests},
        qp::SrqAttr,
        udata::UData,
        wc::SrqEvent,
    },
    sync::{Arc, Mutex, SpinLockIrq},
    uaccess::{UserPtr, UserSlice},
};
use zerocopy_derive::Immutable;

/// What the data path needs to find a shared receive queue by number.
pub(crate) struct SrqInfo {
    /// The protection domain's identity.
    #[allow(dead_code, reason = "checked by the data path")]
    pub(crate) pd: usize,
}

/// The device's shared receive queues by number.
pub(crate) type SrqTable = Table<SrqInfo>;

/// Creates the table of shared receive queues.
pub(crate) fn new_table() -> impl PinInit<SrqTable> {
    Table::new(
        params::MIN_SRQ_NUM,
        params::MIN_SRQ_NUM + params::MAX_SRQ - 1,
    )
}

/// The receive requests of a shared receive queue.
enum Requests {
    /// Shared with the user-space provider.
    User(FromUserQueue),
    /// An in-kernel consumer's.
    Kernel(RecvQueue),
}

impl Requests {
    /// Returns how many requests the queue holds at most.
    fn capacity(&self) -> u32 {
        match self {
            Self::User(queue) => queue.geometry().capacity(),
            Self::Kernel(queue) => queue.capacity() as u32,
        }
    }
}

/// Per-SRQ state.
#[pin_data]
pub(crate) struct RrxeSrq {
    /// The receive requests. A spinlock that disables interrupts: the data path takes requests
    /// from it, and in-kernel consumers post from any context.
    #[pin]
    queue: SpinLockIrq<Requests>,
    /// The queue's user mapping; replaced on resize.
    #[pin]
    mapping: Mutex<Option<MmapEntry>>,
    max_sge: u32,
    /// The armed limit; 0 when disarmed.
    limit: AtomicU32,
    _entry: Entry<SrqInfo>,
}

/// The response to a user SRQ creation (`struct rxe_create_srq_resp`).
#[repr(C)]
#[derive(IntoBytes, Immutable)]
struct CreateSrqResp {
    mi: MmapInfo,
    srq_num: u32,
    reserved: u32,
}

/// The provider's modify request (`struct rxe_modify_srq_cmd`): where to write the resized
/// queue's mapping information.
#[repr(C)]
#[derive(FromBytes, IntoBytes, Default)]
struct ModifySrqCmd {
    mmap_info_addr: u64,
}

/// Checks a requested size; returns the number of entries to allocate.
pub(crate) fn check_max_wr(max_wr: u32) -> Result<u32> {
    match max_wr {
        1..=params::MAX_SRQ_WR => Ok(max_wr),
        _ => Err(EINVAL),
    }
}

/// Checks requested creation attributes; returns the scatter/gather entries to allow (at least
/// one).
pub(crate) fn check_create(attr: &SrqAttr) -> Result<u32> {
    check_max_wr(attr.max_wr)?;
    if attr.max_sge > params::MAX_SRQ_SGE || attr.srq_limit > attr.max_wr {
        return Err(EINVAL);
    }
    Ok(attr.max_sge.max(1))
}

/// Creates a shared receive queue (`create_srq`).
pub(crate) fn create(
    pd: &Pd<Rrxe>,
    attr: &SrqAttr,
    udata: Option<&mut UData<'_>>,
) -> Result<(SrqAttr, impl PinInit<RrxeSrq, Error>)> {
    let max_sge = check_create(attr)?;
    if udata
        .as_ref()
        .is_some_and(|udata| udata.out_len() < size_of::<CreateSrqResp>())
    {
        return Err(EINVAL);
    }
    let info = Arc::new(
        SrqInfo {
            pd: pd.as_raw() as usize,
        },
        GFP_KERNEL,
    )?;
    let entry = pd.device().data().srqs.insert(info, GFP_KERNEL)?;
    let (queue, mapping) = match udata {
        Some(udata) => {
            let geometry = Geometry::new(attr.max_wr, recv_wqe_size(max_sge))?;
            let queue = FromUserQueue::new(geometry)?;
            let mapping = MmapEntry::insert(udata, queue.buffer().clone())?;
            udata.respond(&CreateSrqResp {
                mi: MmapInfo::of(&mapping)?,
                srq_num: entry.index(),
                reserved: 0,
            })?;
            (Requests::User(queue), Some(mapping))
        }
        // An in-kernel consumer's sizes are granted as requested.
        None => (
            Requests::Kernel(in_kernel::recv_queue(attr.max_wr, max_sge)?),
            None,
        ),
    };
    let granted = SrqAttr {
        max_wr: queue.capacity(),
        max_sge,
        srq_limit: attr.srq_limit,
    };
    let limit = attr.srq_limit;
    let init = try_pin_init!(RrxeSrq {
        queue <- new_spinlock_irq!(queue),
        mapping <- new_mutex!(mapping),
        max_sge,
        limit: AtomicU32::new(limit),
        _entry: entry,
    });
    Ok((granted, init))
}

/// Resizes the queue to hold at least `max_wr` requests: the new queue is built and mapped
/// first, its mapping reported where the provider asked, and only then are the posted
/// requests moved over.
fn resize(this: &RrxeSrq, max_wr: u32, udata: &mut UData<'_>) -> Result {
    let cmd: ModifySrqCmd = udata.read(size_of::<ModifySrqCmd>())?;
    if !udata.input_is_zero_from(size_of::<ModifySrqCmd>()) {
        return Err(EINVAL);
    }
    let elem_size = match &*this.queue.lock() {
        Requests::User(queue) => queue.geometry().elem_size(),
        Requests::Kernel(_) => return Err(EINVAL),
    };
    let mut new = FromUserQueue::new(Geometry::new(max_wr, elem_size)?)?;
    let entry = MmapEntry::insert(udata, new.buffer().clone())?;
    let info = MmapInfo::of(&entry)?;
    let addr = usize::try_from(cmd.mmap_info_addr).map_err(|_| EFAULT)?;
    UserSlice::new(UserPtr::from_addr(addr), size_of::<MmapInfo>())
        .writer()
        .write_slice(info.as_bytes())?;
    let mut mapping = this.mapping.lock();
    let old = {
        let mut queue = this.queue.lock();
        let Requests::User(queue) = &mut *queue else {
            return Err(EINVAL);
        };
        queue.copy_into(&mut new)?;
        core::mem::replace(queue, new)
    };
    // Freed outside the spinlock: vfree may sleep.
    drop(old);
    *mapping = Some(entry);
    Ok(())
}

/// Resizes an in-kernel consumer's queue to hold `max_wr` requests: the new queue is built
/// first, and the posted requests are moved over (`EINVAL` if they do not fit).
fn resize_kernel(this: &RrxeSrq, max_wr: u32) -> Result {
    let mut new = in_kernel::recv_queue(max_wr, this.max_sge)?;
    let mut queue = this.queue.lock();
    let Requests::Kernel(queue) = &mut *queue else {
        return Err(EINVAL);
    };
    queue.move_into(&mut new)?;
    let old = core::mem::replace(queue, new);
    drop(old);
    Ok(())
}

/// Posts an in-kernel consumer's receive requests (`post_srq_recv`).
pub(crate) fn post_recv(srq: &Srq<Rrxe>, requests: RecvRequests<'_>) -> Result<(), PostError> {
    let this = srq.data();
    let mut queue = this.queue.lock();
    let Requests::Kernel(queue) = &mut *queue else {
        // A user's requests belong in the queue shared with its provider.
        return Err(PostError {
            posted: 0,
            error: EINVAL,
        });
    };
    in_kernel::post_recvs(queue, requests, this.max_sge)
}

/// Modifies a shared receive queue (`modify_srq`): resizes it and sets its limit.
pub(crate) fn modify(
    srq: &Srq<Rrxe>,
    max_wr: Option<u32>,
    limit: Option<u32>,
    udata: Option<&mut UData<'_>>,
) -> Result {
    let this = srq.data();
    if let Some(max_wr) = max_wr {
        check_max_wr(max_wr)?;
    }
    // The limit, new or kept, must stay within the queue's size, new or kept.
    let capacity = max_wr.unwrap_or_else(|| this.queue.lock().capacity());
    if limit.unwrap_or(this.limit.load(Ordering::Relaxed)) > capacity {
        return Err(EINVAL);
    }
    if let Some(max_wr) = max_wr {
        match udata {
            Some(udata) => resize(this, max_wr, udata)?,
            None => resize_kernel(this, max_wr)?,
        }
    }
    if let Some(limit) = limit {
        this.limit.store(limit, Ordering::Relaxed);
    }
    Ok(())
}

/// Returns a shared receive queue's attributes (`query_srq`).
pub(crate) fn query(srq: &Srq<Rrxe>) -> Result<SrqAttr> {
    let this = srq.data();
    Ok(SrqAttr {
        max_wr: this.queue.lock().capacity(),
        max_sge: this.max_sge,
        srq_limit: this.limit.load(Ordering::Relaxed),
    })
}

/// Takes the oldest receive request for an arriving message; `None` if there is none.
pub(crate) fn take(srq: &Srq<Rrxe>, slot: &mut [u8]) -> Option<Result<RecvWqe, Malformed>> {
    let this = srq.data();
    let mut queue = this.queue.lock();
    let (taken, left) = match &mut *queue {
        Requests::User(queue) => {
            let taken = queue.take_head(slot)?;
            (Taken::User(taken), queue.count())
        }
        Requests::Kernel(queue) => {
            let taken = in_kernel::take_recv(queue)?;
            (Taken::Kernel(taken), queue.len() as u32)
        }
    };
    drop(queue);
    // An armed limit fires once when the posted requests fall below it, and is disarmed.
    let limit = this.limit.load(Ordering::Relaxed);
    if limit != 0
        && left < limit
        && this
            .limit
            .compare_exchange(limit, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    {
        srq.report_event(SrqEvent::LimitReached);
    }
    Some(match taken {
        // Parsed outside the lock: the copy allocates.
        Taken::User(Ok(slot)) => wqe::parse_recv(slot, this.max_sge),
        Taken::User(Err(_)) => Err(Malformed::Length),
        Taken::Kernel(taken) => taken,
    })
}

/// A request taken from a shared receive queue.
enum Taken<'a> {
    /// Copied out of the queue shared with user space into the slot, if it could be read.
    User(Result<&'a [u8]>),
    /// Copied out of an in-kernel consumer's queue.
    Kernel(Result<RecvWqe, Malformed>),
}
