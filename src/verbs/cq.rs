// SPDX-License-Identifier: GPL-2.0

//! Completion queues.
//!
//! A user CQ's completions live in a queue shared with the user-space provider, which polls
//! it without entering the kernel. An in-kernel consumer's CQ keeps them in kernel memory,
//! polled through `poll_cq`. Either way the driver appends completions and raises the
//! completion event the consumer armed with `req_notify_cq`.

use crate::{
    device::params,
    device::quota::QuotaSlot,
    device::{Rrxe, RrxeDevice},
    queue::in_kernel::KernelQueue,
    queue::user::{Geometry, ToUserQueue},
    queue::wqe::RequestId,
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    new_mutex, new_spinlock_irq,
    page::PAGE_SIZE,
    prelude::*,
    rdma::{
        attr::{CqInitAttr, CqNotify},
        mmap::MmapEntry,
        object::{Cq, Qp, QpRef},
        udata::UData,
        wc::{CompletionSlots, CqEvent, WorkCompletion},
    },
    sync::{
        barrier::{smp_mb, Full},
        Mutex, SpinLockIrq,
    },
};
use zerocopy_derive::Immutable;

/// Size of a completion entry as the provider reads it (`struct rxe_cqe`): a slot holds one.
const CQE_SIZE: usize = 72;

/// Where a queue is mapped (`struct mminfo`): the mmap offset and length.
#[repr(C)]
#[derive(IntoBytes, Immutable)]
pub(crate) struct MmapInfo {
    offset: u64,
    size: u32,
    pad: u32,
}

impl MmapInfo {
    /// No mapping: a queue that does not exist.
    pub(crate) const NONE: Self = Self {
        offset: 0,
        size: 0,
        pad: 0,
    };

    pub(crate) fn of(entry: &MmapEntry) -> Result<Self> {
        Ok(Self {
            offset: entry.offset(),
            size: u32::try_from(entry.len().next_multiple_of(PAGE_SIZE)).map_err(|_| EINVAL)?,
            pad: 0,
        })
    }
}

/// A completion as the provider reads it from the CQ (`struct ib_uverbs_wc`).
#[repr(C)]
#[derive(IntoBytes, Immutable, Default)]
pub(crate) struct UserCompletion {
    wr_id: u64,
    status: u32,
    opcode: u32,
    vendor_err: u32,
    byte_len: u32,
    /// Immediate data (big-endian) or the invalidated key.
    ex: u32,
    qp_num: u32,
    src_qp: u32,
    wc_flags: u32,
    pkey_index: u16,
    slid: u16,
    sl: u8,
    dlid_path_bits: u8,
    port_num: u8,
    reserved: u8,
}

impl UserCompletion {
    /// The provider's form of `wc`, naming queue pair `qp_num`.
    pub(crate) fn with_qp_num(wc: &WorkCompletion<u64>, qp_num: u32) -> Self {
        Self {
            wr_id: wc.wr_id,
            status: wc.status as u32,
            opcode: wc.opcode as u32,
            vendor_err: wc.vendor_err,
            byte_len: wc.byte_len,
            ex: wc.ex,
            qp_num,
            src_qp: wc.src_qp,
            wc_flags: wc.wc_flags,
            pkey_index: wc.pkey_index,
            port_num: u8::try_from(wc.port_num).unwrap_or(0),
            ..Self::default()
        }
    }
}

/// A completion as the driver reports it, to a user's CQ or an in-kernel consumer's.
pub(crate) type Completion = WorkCompletion<RequestId>;

/// A completion kept for an in-kernel consumer, with its queue pair: the reference keeps the
/// queue pair, which the consumer finds named in it, until the consumer polls it (or the
/// queue pair's destruction removes it).
type KernelCompletion = Option<(WorkCompletion, QpRef<Rrxe>)>;

/// Where a CQ's completions are kept.
enum Ring {
    /// Shared with the user-space provider.
    User(ToUserQueue),
    /// Kept for an in-kernel consumer's `poll_cq`.
    Kernel(KernelQueue<KernelCompletion>),
}

impl Ring {
    fn count(&self) -> u32 {
        match self {
            Ring::User(queue) => queue.count(),
            Ring::Kernel(queue) => queue.len() as u32,
        }
    }

    /// Appends a completion of a request posted to `qp`; `ENOSPC` if the ring is full,
    /// `EINVAL` if the request's identifier is not the CQ's consumer's kind (a user never sees
    /// a kernel identifier).
    fn push(&mut self, wc: Completion, qp: &Qp<Rrxe>) -> Result {
        let (wc, id) = wc.split_id();
        match (self, id) {
            (Ring::User(queue), RequestId::User(id)) => {
                queue.push(UserCompletion::with_qp_num(&wc.with_id(id), qp.qp_num()).as_bytes())
            }
            (Ring::Kernel(queue), RequestId::Kernel(id)) => queue
                .push_with(|slot| {
                    *slot = Some((wc.with_id(id), qp.new_ref()));
                    Ok(())
                })
                .map_err(|_| ENOSPC),
            _ => Err(EINVAL),
        }
    }
}

/// Creates a kernel ring of `capacity` completions.
fn kernel_ring(capacity: u32) -> Result<KernelQueue<KernelCompletion>> {
    KernelQueue::new(capacity as usize, || Ok(None))
}

/// Armed completion event: none, the next completion, or the next solicited one.
const NOTIFY_NONE: u32 = 0;
const NOTIFY_NEXT: u32 = 1;
const NOTIFY_SOLICITED: u32 = 2;

/// Per-CQ state.
#[pin_data]
pub(crate) struct RrxeCq {
    /// The completions. Completions are added, and kernel CQs polled, in any context.
    #[pin]
    ring: SpinLockIrq<Ring>,
    /// The ring's user mapping; replaced on resize.
    #[pin]
    mapping: Mutex<Option<MmapEntry>>,
    notify: AtomicU32,
    /// Set when a completion found the CQ full: the CQ is in error and takes no more.
    overrun: AtomicBool,
    _slot: QuotaSlot,
}

/// Checks a requested size against the device's limit.
fn check_size(cqe: u32) -> Result {
    match cqe {
        1..=params::MAX_CQE => Ok(()),
        _ => Err(EINVAL),
    }
}

/// Creates a CQ (`create_cq`); returns its size and state.
pub(crate) fn create(
    dev: &RrxeDevice,
    attr: &CqInitAttr,
    udata: Option<&mut UData<'_>>,
) -> Result<(u32, impl PinInit<RrxeCq, Error>)> {
    if attr.flags != 0 {
        return Err(EOPNOTSUPP);
    }
    check_size(attr.cqe)?;
    let slot = dev.cqs.take()?;
    let (capacity, ring, mapping) = match udata {
        Some(udata) => {
            if udata.out_len() < size_of::<MmapInfo>() {
                return Err(EINVAL);
            }
            let geometry = Geometry::new(attr.cqe, CQE_SIZE)?;
            let queue = ToUserQueue::new(geometry)?;
            let entry = MmapEntry::insert(udata, queue.buffer().clone())?;
            udata.respond(&MmapInfo::of(&entry)?)?;
            (geometry.capacity(), Ring::User(queue), Some(entry))
        }
        None => (attr.cqe, Ring::Kernel(kernel_ring(attr.cqe)?), None),
    };
    let init = try_pin_init!(RrxeCq {
        ring <- new_spinlock_irq!(ring),
        mapping <- new_mutex!(mapping),
        notify: AtomicU32::new(NOTIFY_NONE),
        overrun: AtomicBool::new(false),
        _slot: slot,
    });
    Ok((capacity, init))
}

/// Resizes a CQ (`resize_cq`), keeping its waiting completions; returns its new size.
pub(crate) fn resize(cq: &Cq<Rrxe>, cqe: u32, udata: Option<&mut UData<'_>>) -> Result<u32> {
    // In-kernel consumers cannot resize: the core offers them no call for it.
    let udata = udata.ok_or(EOPNOTSUPP)?;
    check_size(cqe)?;
    if udata.out_len() < size_of::<MmapInfo>() {
        return Err(EINVAL);
    }
    let this = cq.data();
    let geometry = Geometry::new(cqe, CQE_SIZE)?;
    // Fail early if the completions waiting now would not fit; checked again below.
    if this.ring.lock().count() > geometry.capacity() {
        return Err(EINVAL);
    }
    let mut queue = ToUserQueue::new(geometry)?;
    let entry = MmapEntry::insert(udata, queue.buffer().clone())?;
    udata.respond(&MmapInfo::of(&entry)?)?;

    let mut mapping = this.mapping.lock();
    let old_queue = {
        let mut ring = this.ring.lock();
        let Ring::User(current) = &mut *ring else {
            return Err(EINVAL);
        };
        current.copy_into(&mut queue)?;
        core::mem::replace(current, queue)
    };
    let old_entry = mapping.replace(entry);
    drop(mapping);
    // Freed outside the spinlock: freeing the buffer may sleep.
    drop(old_queue);
    drop(old_entry);
    Ok(geometry.capacity())
}

/// Arms the CQ's completion event (`req_notify_cq`); returns whether completions wait if
/// asked to report them.
pub(crate) fn req_notify(cq: &Cq<Rrxe>, notify: CqNotify) -> Result<bool> {
    let this = cq.data();
    let want = if notify.solicited_only {
        NOTIFY_SOLICITED
    } else {
        NOTIFY_NEXT
    };
    // A request for any completion is not narrowed by a later one for solicited ones.
    let _ = this
        .notify
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
            (cur != NOTIFY_NEXT).then_some(want)
        });
    // Armed before the consumer looks at the queue again: pairs with the barrier in `post`.
    smp_mb(Full);
    Ok(notify.report_missed && this.ring.lock().count() > 0)
}

/// Appends a completion of a request posted to `qp` and raises the armed completion event if
/// it is due. Does not sleep.
///
/// A completion that finds the CQ full is not written: the CQ enters the error state and its
/// consumer gets a CQ error event, once (IBTA: a CQ overrun leaves the CQ unusable). Every
/// later completion is refused with `ENOSPC` as well.
pub(crate) fn post(
    cq: &Cq<Rrxe>,
    qp: &Qp<Rrxe>,
    completion: Completion,
    solicited: bool,
) -> Result {
    let this = cq.data();
    {
        let mut ring = this.ring.lock();
        if this.overrun.load(Ordering::Relaxed) {
            return Err(ENOSPC);
        }
        if let Err(e) = ring.push(completion, qp) {
            if e == ENOSPC {
                this.overrun.store(true, Ordering::Relaxed);
                drop(ring);
                cq.report_event(CqEvent::Error);
            }
            return Err(e);
        }
    }
    // The completion is written before the armed state is read, as `req_notify` arms it
    // before the consumer polls again: else each could miss the other's store, and the
    // consumer would wait for an event for a completion it did not see.
    smp_mb(Full);
    let armed = this.notify.load(Ordering::Acquire);
    let due = armed == NOTIFY_NEXT || (armed == NOTIFY_SOLICITED && solicited);
    // Disarmed by whoever reports it: a request re-arming it meanwhile is served by this one.
    if due
        && this
            .notify
            .compare_exchange(armed, NOTIFY_NONE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        cq.notify_completion();
    }
    Ok(())
}

/// Moves the oldest completions of an in-kernel consumer's CQ into `slots` (`poll_cq`).
pub(crate) fn poll(cq: &Cq<Rrxe>, slots: &mut CompletionSlots<'_>) -> Result {
    let mut ring = cq.data().ring.lock();
    // User CQs are polled by user space, in the shared queue.
    let Ring::Kernel(queue) = &mut *ring else {
        return Err(EINVAL);
    };
    while slots.room() > 0 {
        let Some(entry) = queue.take_front() else {
            break;
        };
        if let Some((wc, qp)) = entry {
            slots.push(wc, &qp);
        }
    }
    Ok(())
}

/// Removes the completions of queue pair `qp` from an in-kernel consumer's CQ: the queue pair
/// is being destroyed, which waits for the references they hold, and its consumer must not
/// find it named in a later poll.
pub(crate) fn remove_completions_of(cq: &Cq<Rrxe>, qp: &Qp<Rrxe>) {
    if let Ring::Kernel(queue) = &mut *cq.data().ring.lock() {
        queue.retain_dropping(|entry| {
            entry
                .as_ref()
                .is_some_and(|(_, of)| !core::ptr::eq::<Qp<Rrxe>>(&**of, qp))
        });
    }
}
