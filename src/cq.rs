// SPDX-License-Identifier: GPL-2.0

//! Completion queues.
//!
//! A CQ's completions live in a queue shared with the user-space provider, which polls it
//! without entering the kernel; the kernel appends completions and raises the completion event
//! the user armed with `req_notify_cq`.

use crate::{
    device::{Rrxe, RrxeDevice},
    params,
    queue::{Geometry, ToUserQueue},
    quota::QuotaSlot,
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    new_mutex, new_spinlock,
    page::PAGE_SIZE,
    prelude::*,
    rdma::{
        attr::{CqInitAttr, CqNotify},
        mmap::MmapEntry,
        object::Cq,
        udata::UData,
        wc::{CqEvent, WcOpcode, WcStatus},
    },
    sync::{Mutex, SpinLock},
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
    /// The completion of a work request flushed from a queue pair in the error state: only
    /// the identifier, status and queue pair number are defined for the consumer.
    pub(crate) fn flushed(wr_id: u64, opcode: WcOpcode, qp_num: u32) -> Self {
        Self {
            wr_id,
            status: WcStatus::WrFlushError as u32,
            opcode: opcode as u32,
            qp_num,
            ..Self::default()
        }
    }
}

/// Armed completion event: none, the next completion, or the next solicited one.
const NOTIFY_NONE: u32 = 0;
const NOTIFY_NEXT: u32 = 1;
const NOTIFY_SOLICITED: u32 = 2;

/// Per-CQ state.
#[pin_data]
pub(crate) struct RrxeCq {
    /// The completions. A spinlock: completions are added from the data path.
    #[pin]
    ring: SpinLock<ToUserQueue>,
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
    // In-kernel users come with the kernel verbs; until then the core does not offer the
    // device to kernel clients.
    let udata = udata.ok_or(EOPNOTSUPP)?;
    if attr.flags != 0 {
        return Err(EOPNOTSUPP);
    }
    check_size(attr.cqe)?;
    if udata.out_len() < size_of::<MmapInfo>() {
        return Err(EINVAL);
    }
    let slot = dev.cqs.take()?;
    let geometry = Geometry::new(attr.cqe, CQE_SIZE)?;
    let queue = ToUserQueue::new(geometry)?;
    let entry = MmapEntry::insert(udata, queue.buffer().clone())?;
    udata.respond(&MmapInfo::of(&entry)?)?;
    let init = try_pin_init!(RrxeCq {
        ring <- new_spinlock!(queue),
        mapping <- new_mutex!(Some(entry)),
        notify: AtomicU32::new(NOTIFY_NONE),
        overrun: AtomicBool::new(false),
        _slot: slot,
    });
    Ok((geometry.capacity(), init))
}

/// Resizes a CQ (`resize_cq`), keeping its waiting completions; returns its new size.
pub(crate) fn resize(cq: &Cq<Rrxe>, cqe: u32, udata: Option<&mut UData<'_>>) -> Result<u32> {
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
        ring.copy_into(&mut queue)?;
        core::mem::replace(&mut *ring, queue)
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
    Ok(notify.report_missed && this.ring.lock().count() > 0)
}

/// Appends a completion and raises the armed completion event if it is due. Does not sleep.
///
/// A completion that finds the CQ full is not written: the CQ enters the error state and its
/// consumer gets a CQ error event, once (IBTA: a CQ overrun leaves the CQ unusable). Every
/// later completion is refused with `ENOSPC` as well.
pub(crate) fn post(cq: &Cq<Rrxe>, completion: &UserCompletion, solicited: bool) -> Result {
    let this = cq.data();
    {
        let mut ring = this.ring.lock();
        if this.overrun.load(Ordering::Relaxed) {
            return Err(ENOSPC);
        }
        if let Err(e) = ring.push(completion.as_bytes()) {
            if e == ENOSPC {
                this.overrun.store(true, Ordering::Relaxed);
                drop(ring);
                cq.report_event(CqEvent::Error);
            }
            return Err(e);
        }
    }
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
