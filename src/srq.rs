// SPDX-License-Identifier: GPL-2.0

//! Shared receive queues: a receive queue several queue pairs take requests from, shared with
//! the user-space provider like a QP's, resizable, with a limit that arms an event.

use crate::{
    cq::MmapInfo,
    device::Rrxe,
    params,
    qp::recv_wqe_size,
    queue::{FromUserQueue, Geometry},
    table::{Entry, Table},
    wqe::{self, Malformed, RecvWqe},
};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    rdma::{
        mmap::MmapEntry,
        object::{Pd, Srq},
        qp::SrqAttr,
        udata::UData,
        wc::SrqEvent,
    },
    sync::{Arc, Mutex, SpinLock},
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

/// Per-SRQ state.
#[pin_data]
pub(crate) struct RrxeSrq {
    /// The receive requests. A spinlock: the data path takes requests from it.
    #[pin]
    queue: SpinLock<FromUserQueue>,
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
    // In-kernel users come with the kernel verbs.
    let udata = udata.ok_or(EOPNOTSUPP)?;
    let max_sge = check_create(attr)?;
    if udata.out_len() < size_of::<CreateSrqResp>() {
        return Err(EINVAL);
    }
    let geometry = Geometry::new(attr.max_wr, recv_wqe_size(max_sge))?;
    let info = Arc::new(
        SrqInfo {
            pd: pd.as_raw() as usize,
        },
        GFP_KERNEL,
    )?;
    let entry = pd.device().data().srqs.insert(info, GFP_KERNEL)?;
    let queue = FromUserQueue::new(geometry)?;
    let mapping = MmapEntry::insert(udata, queue.buffer().clone())?;
    udata.respond(&CreateSrqResp {
        mi: MmapInfo::of(&mapping)?,
        srq_num: entry.index(),
        reserved: 0,
    })?;
    let granted = SrqAttr {
        max_wr: geometry.capacity(),
        max_sge,
        srq_limit: attr.srq_limit,
    };
    let limit = attr.srq_limit;
    let init = try_pin_init!(RrxeSrq {
        queue <- new_spinlock!(queue),
        mapping <- new_mutex!(Some(mapping)),
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
    let elem_size = this.queue.lock().geometry().elem_size();
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
        queue.copy_into(&mut new)?;
        core::mem::replace(&mut *queue, new)
    };
    // Freed outside the spinlock: vfree may sleep.
    drop(old);
    *mapping = Some(entry);
    Ok(())
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
    let capacity = max_wr.unwrap_or_else(|| this.queue.lock().geometry().capacity());
    if limit.unwrap_or(this.limit.load(Ordering::Relaxed)) > capacity {
        return Err(EINVAL);
    }
    if let Some(max_wr) = max_wr {
        // Resizing a kernel user's queue comes with the kernel verbs.
        resize(this, max_wr, udata.ok_or(EOPNOTSUPP)?)?;
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
        max_wr: this.queue.lock().geometry().capacity(),
        max_sge: this.max_sge,
        srq_limit: this.limit.load(Ordering::Relaxed),
    })
}

/// Takes the oldest receive request for an arriving message; `None` if there is none.
pub(crate) fn take(srq: &Srq<Rrxe>, slot: &mut [u8]) -> Option<Result<RecvWqe, Malformed>> {
    let this = srq.data();
    let mut queue = this.queue.lock();
    if queue.count() == 0 {
        return None;
    }
    let Some(slot) = slot.get_mut(..queue.geometry().elem_size()) else {
        return Some(Err(Malformed::Length));
    };
    let read = queue.read_head(slot);
    let _ = queue.advance();
    let left = queue.count();
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
    // Parsed outside the lock: the copy allocates.
    Some(match read {
        Some(Ok(())) => wqe::parse_recv(slot, this.max_sge),
        _ => Err(Malformed::Length),
    })
}
