// SPDX-License-Identifier: GPL-2.0

//! Memory regions and windows: their keys, the tables that resolve keys for the data path, and
//! the user memory regions pin or reach on demand.
//!
//! A region on demand has no page pinned: a copy that meets a page not faulted in does not
//! happen, and its caller notes a [`PageFault`] in the queue pair's [`PageFaults`] and waits.
//! The queue pair's engine resolves the fault from its work item, where it may sleep, and tries
//! again.
//!
//! A key is a table index shifted left by eight plus a key byte. Regions and windows number
//! from disjoint index ranges, so a key names at most one object. Every registration draws a
//! fresh random key byte, and indices are handed out cyclically, so a key kept after its
//! object went away does not name the object that reuses the index.

use crate::{device::params, verbs::table::Table};
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use kernel::{
    new_spinlock_bh,
    prelude::*,
    rdma::{
        mr::{self, Access, KernelDma, MrAdvice, MrMapping, Umem},
        odp::OdpUmem,
        post::Sge,
        wc::WcStatus,
        MwKind,
    },
    revocable::Revocable,
    sync::{Arc, SpinLockBh, SpinLockIrq},
};

/// The rights a region may be registered with; anything else is `EOPNOTSUPP`.
pub(crate) const SUPPORTED_MR_ACCESS: Access = Access::from_bits(
    Access::LOCAL_WRITE.bits()
        | Access::REMOTE_WRITE.bits()
        | Access::REMOTE_READ.bits()
        | Access::REMOTE_ATOMIC.bits()
        | Access::MW_BIND.bits()
        | Access::FLUSH_GLOBAL.bits()
        | Access::ON_DEMAND.bits()
        | Access::OPTIONAL.bits(),
);

/// Composes a memory key from a table index and a key byte.
pub(crate) fn make_key(index: u32, key: u8) -> u32 {
    (index << params::KEY_INDEX_SHIFT) | u32::from(key)
}

/// Returns the table index a memory key names.
pub(crate) fn key_index(key: u32) -> u32 {
    key >> params::KEY_INDEX_SHIFT
}

/// Returns whether a key names a memory window rather than a region.
pub(crate) fn is_window_key(key: u32) -> bool {
    key_index(key) >= params::MIN_MW_INDEX
}

/// Checks the rights a user region is registered with.
pub(crate) fn check_mr_access(access: Access) -> Result {
    if !SUPPORTED_MR_ACCESS.contains(access) {
        // Zero-based regions, huge-page hints and flushes to persistence are not offered.
        return Err(EOPNOTSUPP);
    }
    // Remote writes and atomics modify memory, which needs local write (IBTA o10-37).
    if access.intersects(Access::REMOTE_WRITE | Access::REMOTE_ATOMIC)
        && !access.contains(Access::LOCAL_WRITE)
    {
        return Err(EINVAL);
    }
    Ok(())
}

/// Checks a user region's range: not empty, and neither its user addresses nor its I/O
/// virtual addresses wrap.
pub(crate) fn check_region(start: u64, length: u64, iova: u64) -> Result {
    if length == 0 || start.checked_add(length).is_none() || iova.checked_add(length).is_none() {
        return Err(EINVAL);
    }
    Ok(())
}

/// What a region's keys give access to.
pub(crate) enum Memory {
    /// Kernel memory, by the addresses an in-kernel consumer's DMA mappings give
    /// (`get_dma_mr`).
    Dma(KernelDma),
    /// Pinned user memory, addressed from `iova`.
    User { umem: Umem, iova: u64, length: u64 },
    /// User memory faulted in on demand, addressed from `iova`. Shared with the faults being
    /// resolved, which may outlive the region's deregistration for as long as they sleep.
    OnDemand {
        umem: Arc<OdpUmem>,
        iova: u64,
        length: u64,
    },
    /// A fast-registration region's pages, given by `map_mr_sg`; a registration work request
    /// makes them reachable, by kernel address.
    FastReg {
        pages: Pin<KBox<SpinLockIrq<PageList>>>,
        memory: KernelDma,
    },
}

/// The DMA addresses of a fast-registration region's pages, in order, in room reserved when
/// the region is created: mapping pages happens in any context and never allocates.
pub(crate) struct PageList {
    pages: KVec<u64>,
    /// What the last registration made reachable; none while the region is invalid.
    mapping: Option<MrMapping>,
}

impl PageList {
    /// Creates an empty list with room for `max_pages` pages. May sleep.
    pub(crate) fn new(max_pages: u32) -> Result<Self> {
        Ok(Self {
            pages: KVec::with_capacity(max_pages as usize, GFP_KERNEL)?,
            mapping: None,
        })
    }

    /// Forgets the pages: a new mapping starts.
    pub(crate) fn clear(&mut self) {
        self.pages.clear();
    }

    /// Appends a page; `ENOMEM` once the reserved room is used.
    pub(crate) fn push(&mut self, addr: u64) -> Result {
        self.pages.push_within_capacity(addr).map_err(|_| ENOMEM)
    }

    /// Returns the pages.
    pub(crate) fn pages(&self) -> &[u64] {
        &self.pages
    }

    /// Makes the region valid for `mapping` (a registration): its page size must be a power of
    /// two, and its span fit the pages mapped. `EINVAL` if not, or if the region is valid
    /// already (IBTA 10.6.3.7).
    pub(crate) fn set_mapping(&mut self, mapping: MrMapping) -> Result {
        let page_size = u64::from(mapping.page_size);
        if self.mapping.is_some() || !page_size.is_power_of_two() {
            return Err(EINVAL);
        }
        let span = (mapping.iova & (page_size - 1))
            .checked_add(mapping.length)
            .ok_or(EINVAL)?;
        let room = (self.pages.len() as u64)
            .checked_mul(page_size)
            .ok_or(EINVAL)?;
        if span > room {
            return Err(EINVAL);
        }
        self.mapping = Some(mapping);
        Ok(())
    }

    /// Makes the region invalid (an invalidation); `EINVAL` if it is not valid.
    pub(crate) fn take_mapping(&mut self) -> Result {
        self.mapping.take().map(|_| ()).ok_or(EINVAL)
    }

    /// Calls `f` with the DMA address of each piece of the `len` bytes at `addr` that lies
    /// within one page, and the range of the caller's buffer it covers; `EFAULT` unless the
    /// region is valid and its mapping holds them all.
    pub(crate) fn translate(
        &self,
        addr: u64,
        len: usize,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> Result,
    ) -> Result {
        let mapping = self.mapping.as_ref().ok_or(EFAULT)?;
        let start = addr.checked_sub(mapping.iova).ok_or(EFAULT)?;
        if start.checked_add(len as u64).ok_or(EFAULT)? > mapping.length {
            return Err(EFAULT);
        }
        // Checked to be a power of two by the registration.
        let page_size = u64::from(mapping.page_size);
        // The first page starts before the region's first byte.
        let first = mapping.iova & (page_size - 1);
        let mut done = 0usize;
        while done < len {
            let at = first + start + done as u64;
            let within = at & (page_size - 1);
            let page = usize::try_from(at / page_size).map_err(|_| EFAULT)?;
            let base = *self.pages.get(page).ok_or(EFAULT)?;
            let take = ((page_size - within) as usize).min(len - done);
            f(base + within, done..done + take)?;
            done += take;
        }
        Ok(())
    }
}

/// A registration work request (`IB_WR_REG_MR`): the region's mapped pages become reachable
/// by `key` with `access`.
#[derive(Clone)]
pub(crate) struct FastRegistration {
    pub(crate) region: Arc<MrState>,
    pub(crate) key: u32,
    pub(crate) access: Access,
    pub(crate) mapping: MrMapping,
}

/// A region as the data path sees it.
pub(crate) struct MrState {
    /// The key byte of both keys; a fast-registration region's changes with each
    /// registration.
    key: AtomicU8,
    /// The protection domain's identity; changes on re-registration.
    pd: AtomicUsize,
    /// The rights, as `IB_ACCESS_*` bits; change on re-registration.
    access: AtomicU32,
    /// Memory windows bound to the region, which keep it from being deregistered.
    bound_windows: AtomicU32,
    /// The memory, until the region is deregistered: queue pairs may hold the region longer,
    /// but no longer reach the memory, and the pins of a user region are released by the
    /// deregistration itself (it may sleep; the last reference may be dropped anywhere).
    memory: Pin<KBox<Revocable<Memory>>>,
}

impl MrState {
    /// Creates the state of a region of `pd`, with a fresh random key byte.
    pub(crate) fn new(pd: usize, access: Access, memory: Memory) -> Result<Arc<Self>> {
        let state = Arc::new(
            MrState {
                key: AtomicU8::new(mr::random_key()),
                pd: AtomicUsize::new(pd),
                access: AtomicU32::new(access.bits()),
                bound_windows: AtomicU32::new(0),
                memory: KBox::pin_init(Revocable::new(Ok::<_, Error>(memory)), GFP_KERNEL)?,
            },
            GFP_KERNEL,
        )?;
        Ok(state)
    }

    /// Returns the key byte of the region's keys.
    pub(crate) fn key_byte(&self) -> u8 {
        self.key.load(Ordering::Relaxed)
    }

    /// Changes the region's rights (re-registration).
    pub(crate) fn set_access(&self, access: Access) {
        self.access.store(access.bits(), Ordering::Relaxed);
    }

    /// Moves the region to another protection domain (re-registration).
    pub(crate) fn set_pd(&self, pd: usize) {
        self.pd.store(pd, Ordering::Relaxed);
    }

    /// Returns whether memory windows are bound to the region.
    pub(crate) fn has_bound_windows(&self) -> bool {
        self.bound_windows.load(Ordering::Acquire) > 0
    }

    /// Ends access to the memory: waits for copies in progress (an RCU grace period), then
    /// drops it, which unpins a user region's pages. May sleep.
    pub(crate) fn revoke(&self) {
        self.memory.revoke();
    }

    /// Returns the region's rights.
    pub(crate) fn access(&self) -> Access {
        Access::from_bits(self.access.load(Ordering::Relaxed))
    }

    /// Returns the identity of the region's protection domain.
    pub(crate) fn pd(&self) -> usize {
        self.pd.load(Ordering::Relaxed)
    }

    /// Runs `f` on the memory, which stays while it runs; `revoked` once the region is
    /// deregistered. `f` must not sleep (it runs in an RCU read-side section).
    pub(crate) fn with_memory<R>(
        &self,
        revoked: Error,
        f: impl FnOnce(&Memory) -> Result<R>,
    ) -> Result<R> {
        self.memory.try_access_with(f).unwrap_or(Err(revoked))
    }

    /// Returns where the `len` bytes at `addr` are, if the region holds them all. A DMA
    /// region holds any address; whether it is memory is checked on access. A
    /// fast-registration region holds nothing until a registration makes it valid.
    fn locate(memory: &Memory, addr: u64, len: usize) -> Option<Place<'_>> {
        match memory {
            Memory::User { umem, iova, length } => {
                let start = offset_within(*iova, *length, addr, len)?;
                Some(Place::User(umem, start))
            }
            Memory::OnDemand { umem, iova, length } => {
                let start = offset_within(*iova, *length, addr, len)?;
                Some(Place::OnDemand(umem, start))
            }
            Memory::Dma(memory) => {
                addr.checked_add(len as u64)?;
                Some(Place::Kernel(*memory, addr))
            }
            Memory::FastReg { pages, memory } => Some(Place::Pages(pages, *memory, addr)),
        }
    }

    /// Returns whether the region holds the `len` bytes at `addr`.
    pub(crate) fn holds(&self, addr: u64, len: usize) -> bool {
        self.with_memory(EFAULT, |memory| match Self::locate(memory, addr, len) {
            Some(Place::Pages(pages, _, addr)) => pages.lock().translate(addr, len, |_, _| Ok(())),
            Some(_) => Ok(()),
            None => Err(EFAULT),
        })
        .is_ok()
    }

    /// Copies the bytes at `addr` into `dst`; `EFAULT` outside the region or once it is
    /// deregistered, `EAGAIN` (nothing copied) if a page on demand is not faulted in. Does not
    /// sleep.
    pub(crate) fn read(&self, addr: u64, dst: &mut [u8]) -> Result {
        self.with_memory(EFAULT, |memory| {
            match Self::locate(memory, addr, dst.len()).ok_or(EFAULT)? {
                Place::User(umem, offset) => umem.read(offset, dst),
                Place::OnDemand(umem, offset) => umem.read(offset, dst),
                Place::Kernel(memory, addr) => memory.read(addr, dst),
                Place::Pages(pages, memory, addr) => {
                    pages.lock().translate(addr, dst.len(), |at, range| {
                        memory.read(at, &mut dst[range])
                    })
                }
            }
        })
    }

    /// Copies `src` to `addr`; `EFAULT` outside the region or once it is deregistered, `EAGAIN`
    /// (nothing copied) if a page on demand is not faulted in for writing. Does
    /// not sleep.
    pub(crate) fn write(&self, addr: u64, src: &[u8]) -> Result {
        self.with_memory(EFAULT, |memory| {
            match Self::locate(memory, addr, src.len()).ok_or(EFAULT)? {
                Place::User(umem, offset) => umem.write(offset, src),
                Place::OnDemand(umem, offset) => umem.write(offset, src),
                Place::Kernel(memory, addr) => memory.write(addr, src),
                Place::Pages(pages, memory, addr) => {
                    pages
                        .lock()
                        .translate(addr, src.len(), |at, range| memory.write(at, &src[range]))
                }
            }
        })
    }

    /// Stores `value` in the eight bytes at `addr` with one aligned 64-bit store (an atomic
    /// write): `EINVAL` if they are not aligned in memory, `EFAULT` outside the region or once
    /// it is deregistered, `EAGAIN` if the page is on demand and not faulted in for writing.
    /// Does not sleep.
    pub(crate) fn store_u64(&self, addr: u64, value: u64) -> Result {
        self.with_memory(EFAULT, |memory| {
            match Self::locate(memory, addr, 8).ok_or(EFAULT)? {
                Place::User(umem, offset) => umem.store_u64(offset, value),
                Place::OnDemand(umem, offset) => umem.store_u64(offset, value),
                Place::Kernel(memory, addr) => memory.store_u64(addr, value),
                Place::Pages(pages, memory, addr) => {
                    let mut target = None;
                    pages.lock().translate(addr, 8, |at, range| {
                        // Aligned bytes lie in one page: one piece.
                        if range.len() != 8 {
                            return Err(EINVAL);
                        }
                        target = Some(at);
                        Ok(())
                    })?;
                    memory.store_u64(target.ok_or(EFAULT)?, value)
                }
            }
        })
    }
}

/// Returns the offset of the `len` bytes at `addr` from the first byte of a region of `length`
/// bytes at `iova`, if it holds them all.
fn offset_within(iova: u64, length: u64, addr: u64, len: usize) -> Option<usize> {
    let start = addr.checked_sub(iova)?;
    let end = start.checked_add(len as u64)?;
    if end > length {
        return None;
    }
    usize::try_from(start).ok()
}

/// Bytes of a region on demand that a copy needs faulted in.
pub(crate) struct PageFault {
    pub(crate) region: Arc<MrState>,
    /// The address of the first byte, in the region's address space.
    pub(crate) addr: u64,
    pub(crate) len: usize,
    /// Whether the copy writes them.
    pub(crate) write: bool,
}

/// The bytes from the first a copy needs that a fault takes in at once, if they are all mapped
/// in the process: the next packets of a message find their pages.
pub(crate) const FAULT_WINDOW: usize = 64 * 1024;

/// Faults in a row that failed for a passing reason (`EBUSY`: the mappings kept changing;
/// `ENOMEM`; `EINTR`) after which the copy fails all the same.
pub(crate) const FAULT_RETRIES: u8 = 4;

impl PageFault {
    /// Returns whether this fault is for the same region as `other` and overlaps it.
    fn overlaps(&self, other: &PageFault) -> bool {
        let (a, b) = (self.addr, other.addr);
        Arc::ptr_eq(&self.region, &other.region)
            && a < b.saturating_add(other.len as u64)
            && b < a.saturating_add(self.len as u64)
    }

    /// Faults in the [`FAULT_WINDOW`] bytes from the first one needed (within the region),
    /// allocating their pages and, for a write, breaking their copy-on-write sharing as the
    /// process's own write would; if one of them is not mapped in the process, only the bytes
    /// needed. May sleep. `EFAULT` once the region is deregistered, or as [`OdpUmem::fault`]
    /// fails.
    pub(crate) fn resolve(&self) -> Result {
        let found = self.region.with_memory(EFAULT, |memory| match memory {
            Memory::OnDemand { umem, iova, length } => {
                let offset = offset_within(*iova, *length, self.addr, self.len).ok_or(EFAULT)?;
                Ok((umem.clone(), offset))
            }
            // Only regions on demand miss pages.
            _ => Err(EFAULT),
        });
        // The memory stays while the fault sleeps, even if the region is deregistered.
        let (umem, offset) = found?;
        let window = (umem.len() - offset).min(self.len.max(FAULT_WINDOW));
        if window > self.len && umem.fault(offset, window, self.write).is_ok() {
            return Ok(());
        }
        umem.fault(offset, self.len, self.write)
    }
}

/// A queue pair's page faults: the one its engine is to resolve, and the last one that could
/// not be resolved.
#[derive(Default)]
pub(crate) struct PageFaults {
    /// The first fault a copy met since the engine last took one to resolve.
    pub(crate) pending: Option<PageFault>,
    /// A fault that could not be resolved: the copy it was for fails instead of waiting again.
    pub(crate) failed: Option<PageFault>,
    /// Faults in a row that failed for a passing reason.
    passing_failures: u8,
}

impl PageFaults {
    /// Takes the outcome of resolving `fault`. One that failed makes the copy that waited for
    /// it fail when it is tried again, unless the failure may pass and has not lasted
    /// [`FAULT_RETRIES`] faults in a row: then the copy waits for the fault again.
    pub(crate) fn resolved(&mut self, fault: PageFault, result: Result) {
        match result {
            Ok(()) => self.passing_failures = 0,
            Err(e)
                if [EBUSY, ENOMEM, EINTR].contains(&e) && self.passing_failures < FAULT_RETRIES =>
            {
                self.passing_failures += 1;
            }
            Err(_) => {
                self.passing_failures = 0;
                self.failed = Some(fault);
            }
        }
    }

    /// Notes that a copy met pages not faulted in: it waits for `fault` to be resolved
    /// ([`Missed::Waits`]), unless a fault of those bytes could not be, and then it fails
    /// (`EFAULT`).
    pub(crate) fn note(&mut self, fault: PageFault) -> Missed<Error> {
        if self
            .failed
            .as_ref()
            .is_some_and(|failed| failed.overlaps(&fault))
        {
            self.failed = None;
            return Missed::Failed(EFAULT);
        }
        if self.pending.is_none() {
            self.pending = Some(fault);
        }
        Missed::Waits
    }
}

/// Why a copy between a region and the data path did not happen.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Missed<E> {
    /// It cannot: the error says why.
    Failed(E),
    /// Its pages are on demand and not faulted in: it waits for the fault noted, and is tried
    /// again once it is resolved.
    Waits,
}

impl<E> From<E> for Missed<E> {
    fn from(e: E) -> Self {
        Missed::Failed(e)
    }
}

impl<E> Missed<E> {
    /// Returns the same wait, or a failure with `failure` as its reason.
    pub(crate) fn failing_as<F>(self, failure: F) -> Missed<F> {
        match self {
            Missed::Waits => Missed::Waits,
            Missed::Failed(_) => Missed::Failed(failure),
        }
    }
}

impl MrState {
    /// Faults in the pages of the `len` bytes at `addr` as `advice` says, if the region is on
    /// demand (`ibv_advise_mr`); a region of any other kind has them in place already. May
    /// sleep. `EFAULT` outside the region or once it is deregistered, or as
    /// [`OdpUmem::fault`] fails.
    pub(crate) fn prefetch(&self, addr: u64, len: usize, advice: MrAdvice) -> Result {
        let found = self.with_memory(EFAULT, |memory| match memory {
            Memory::OnDemand { umem, iova, length } => {
                let offset = offset_within(*iova, *length, addr, len).ok_or(EFAULT)?;
                Ok(Some((umem.clone(), offset)))
            }
            _ => Ok(None),
        });
        // The memory stays while the fault sleeps, even if the region is deregistered.
        let Some((umem, offset)) = found? else {
            return Ok(());
        };
        match advice {
            MrAdvice::Prefetch => umem.fault(offset, len, false),
            MrAdvice::PrefetchWrite => umem.fault(offset, len, true),
            MrAdvice::PrefetchNoFault => umem.map_present(offset, len),
        }
    }

    /// Copies the bytes at `addr` into `dst`, as [`MrState::read`] does, noting in `faults`
    /// the fault it waits for if its pages are on demand and not faulted in.
    pub(crate) fn read_or_wait(
        self: &Arc<Self>,
        addr: u64,
        dst: &mut [u8],
        faults: &mut PageFaults,
    ) -> Result<(), Missed<Error>> {
        let len = dst.len();
        self.read(addr, dst)
            .map_err(|e| self.missed(e, addr, len, false, faults))
    }

    /// Copies `src` to `addr`, as [`MrState::write`] does, noting in `faults` the fault it
    /// waits for if its pages are on demand and not faulted in for writing.
    pub(crate) fn write_or_wait(
        self: &Arc<Self>,
        addr: u64,
        src: &[u8],
        faults: &mut PageFaults,
    ) -> Result<(), Missed<Error>> {
        self.write(addr, src)
            .map_err(|e| self.missed(e, addr, src.len(), true, faults))
    }

    /// Stores `value` at `addr`, as [`MrState::store_u64`] does, noting in `faults` the fault
    /// it waits for if its page is on demand and not faulted in for writing.
    pub(crate) fn store_u64_or_wait(
        self: &Arc<Self>,
        addr: u64,
        value: u64,
        faults: &mut PageFaults,
    ) -> Result<(), Missed<Error>> {
        self.store_u64(addr, value)
            .map_err(|e| self.missed(e, addr, 8, true, faults))
    }

    /// Turns a copy's error into why it missed: `EAGAIN` (pages not faulted in) waits.
    fn missed(
        self: &Arc<Self>,
        e: Error,
        addr: u64,
        len: usize,
        write: bool,
        faults: &mut PageFaults,
    ) -> Missed<Error> {
        if e != EAGAIN {
            return Missed::Failed(e);
        }
        faults.note(PageFault {
            region: self.clone(),
            addr,
            len,
            write,
        })
    }
}

/// Where bytes of a region are.
enum Place<'a> {
    /// In pinned user memory, at an offset from its first byte.
    User(&'a Umem, usize),
    /// In user memory on demand, at an offset from its first byte.
    OnDemand(&'a Arc<OdpUmem>, usize),
    /// In kernel memory, at a DMA address.
    Kernel(KernelDma, u64),
    /// In a fast-registration region's pages, at an address of its mapping.
    Pages(&'a SpinLockIrq<PageList>, KernelDma, u64),
}

/// A window's hold on the region it is bound to: the region cannot be deregistered while a
/// window is bound to it (IBTA 10.6.7.2.6).
pub(crate) struct BoundRegion(Arc<MrState>);

impl BoundRegion {
    fn new(region: Arc<MrState>) -> Self {
        region.bound_windows.fetch_add(1, Ordering::AcqRel);
        Self(region)
    }
}

impl Drop for BoundRegion {
    fn drop(&mut self) {
        self.0.bound_windows.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a window grants access to, once bound.
pub(crate) struct Binding {
    /// The key byte of the window's current rkey; changes with each bind.
    key: u8,
    /// The region and range it is bound to; none while unbound.
    region: Option<BoundRegion>,
    addr: u64,
    length: u64,
    access: Access,
    /// The queue pair a type 2 window is bound to.
    qpn: u32,
}

/// A window as the data path sees it.
#[pin_data]
pub(crate) struct MwState {
    pd: usize,
    kind: MwKind,
    /// Changed by binds and invalidations, which the data path runs in process context.
    #[pin]
    binding: SpinLockBh<Binding>,
}

impl MwState {
    /// Creates the state of an unbound window of `pd` whose rkey ends in `key`.
    pub(crate) fn new(pd: usize, kind: MwKind, key: u8) -> impl PinInit<Self> {
        pin_init!(MwState {
            pd,
            kind,
            binding <- new_spinlock_bh!(Binding {
                key,
                region: None,
                addr: 0,
                length: 0,
                access: Access::default(),
                qpn: 0,
            }),
        })
    }
}

/// A bind request (`IBV_WR_BIND_MW`, and what `ibv_bind_mw` posts for a type 1 window).
#[derive(Clone)]
pub(crate) struct BindRequest {
    pub(crate) mw_rkey: u32,
    pub(crate) new_rkey: u32,
    pub(crate) mr_lkey: u32,
    pub(crate) addr: u64,
    pub(crate) length: u64,
    pub(crate) access: Access,
}

/// The rights a window may be bound with: the remote ones it grants, and local write, which a
/// window does not use.
const WINDOW_ACCESS: Access = Access::from_bits(
    Access::LOCAL_WRITE.bits()
        | Access::REMOTE_READ.bits()
        | Access::REMOTE_WRITE.bits()
        | Access::REMOTE_ATOMIC.bits(),
);

/// The device's regions and windows by key index.
pub(crate) struct MemoryTables {
    pub(crate) regions: Arc<Table<MrState>>,
    pub(crate) windows: Arc<Table<MwState>>,
}

impl MemoryTables {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            regions: Arc::pin_init(Table::new(1, params::MAX_MR_INDEX), GFP_KERNEL)?,
            windows: Arc::pin_init(
                Table::new(params::MIN_MW_INDEX, params::MAX_MW_INDEX),
                GFP_KERNEL,
            )?,
        })
    }

    /// Binds a window for a queue pair `qpn` of protection domain `pd` (IBTA 10.6.7.3):
    /// the window and the region must belong to `pd`, the region must allow binding and hold
    /// the range, and remote writes or atomics need a locally writable region. A type 2
    /// window must be free and get a new key byte. A zero length unbinds.
    pub(crate) fn bind(&self, request: &BindRequest, pd: usize, qpn: u32) -> Result {
        let window = self.windows.get(key_index(request.mw_rkey)).ok_or(EINVAL)?;
        if window.pd != pd
            || key_index(request.new_rkey) != key_index(request.mw_rkey)
            || !WINDOW_ACCESS.contains(request.access.without(Access::OPTIONAL))
        {
            return Err(EINVAL);
        }
        let region = if request.length == 0 {
            None
        } else {
            let region = self.region(request.mr_lkey).ok_or(EINVAL)?;
            let fits =
                usize::try_from(request.length).is_ok_and(|len| region.holds(request.addr, len));
            let writes = request
                .access
                .intersects(Access::REMOTE_WRITE | Access::REMOTE_ATOMIC);
            if region.pd() != pd
                || !region.access().contains(Access::MW_BIND)
                || !fits
                || (writes && !region.access().contains(Access::LOCAL_WRITE))
            {
                return Err(EACCES);
            }
            Some(region)
        };
        let mut binding = window.binding.lock();
        if u32::from(binding.key) != request.mw_rkey & 0xff {
            return Err(EINVAL);
        }
        if window.kind == MwKind::Type2
            && (binding.region.is_some() || request.new_rkey & 0xff == request.mw_rkey & 0xff)
        {
            return Err(EINVAL);
        }
        let old = core::mem::replace(
            &mut *binding,
            Binding {
                key: request.new_rkey as u8,
                region: None,
                addr: request.addr,
                length: request.length,
                access: request.access,
                qpn,
            },
        );
        binding.region = region.map(BoundRegion::new);
        drop(binding);
        drop(old);
        Ok(())
    }

    /// Carries out a registration work request of a queue pair of protection domain `pd`:
    /// the region must be that of the key's index, of `pd`, invalid, and its mapping must fit
    /// its pages (IBTA 10.6.3.7).
    pub(crate) fn register_fast(&self, request: &FastRegistration, pd: usize) -> Result {
        let region = &request.region;
        let in_table = self.regions.get(key_index(request.key)).ok_or(EINVAL)?;
        if !Arc::ptr_eq(&in_table, region)
            || region.pd() != pd
            || check_mr_access(request.access).is_err()
        {
            return Err(EINVAL);
        }
        region.with_memory(EINVAL, |memory| match memory {
            Memory::FastReg { pages, .. } => pages.lock().set_mapping(request.mapping),
            _ => Err(EINVAL),
        })?;
        region.key.store(request.key as u8, Ordering::Relaxed);
        region
            .access
            .store(request.access.bits(), Ordering::Relaxed);
        Ok(())
    }

    /// Invalidates the fast-registration region or type 2 window `rkey` names (a local
    /// invalidate or a send with invalidate), for a queue pair of protection domain `pd`.
    pub(crate) fn invalidate(&self, rkey: u32, pd: usize) -> Result {
        if !is_window_key(rkey) {
            let region = self.region(rkey).ok_or(EINVAL)?;
            if region.pd() != pd || region.bound_windows.load(Ordering::Acquire) > 0 {
                return Err(EINVAL);
            }
            return region.with_memory(EINVAL, |memory| match memory {
                Memory::FastReg { pages, .. } => pages.lock().take_mapping(),
                _ => Err(EINVAL),
            });
        }
        let window = self.windows.get(key_index(rkey)).ok_or(EINVAL)?;
        if window.pd != pd || window.kind != MwKind::Type2 {
            return Err(EINVAL);
        }
        let mut binding = window.binding.lock();
        if u32::from(binding.key) != rkey & 0xff || binding.region.is_none() {
            return Err(EINVAL);
        }
        let old = binding.region.take();
        drop(binding);
        drop(old);
        Ok(())
    }

    /// Resolves a remote key for `len` bytes at `addr` on behalf of queue pair `qpn` of
    /// protection domain `pd` that needs `rights`: a region's key as [`Self::resolve`] does,
    /// or a bound window's, whose range and rights bound the access (type 2 windows serve only
    /// the queue pair they are bound to).
    pub(crate) fn resolve_remote(
        &self,
        key: u32,
        pd: usize,
        qpn: u32,
        addr: u64,
        len: usize,
        rights: Access,
    ) -> Option<Arc<MrState>> {
        self.resolve_key(key, pd, qpn, rights, Some((addr, len)))
    }

    /// Resolves a remote key for a flush of its whole region (IBTA oA19-16, selectivity
    /// "memory region") on behalf of queue pair `qpn` of protection domain `pd` that needs
    /// `rights`: as [`Self::resolve_remote`] without a range, which the whole region is.
    pub(crate) fn resolve_whole(
        &self,
        key: u32,
        pd: usize,
        qpn: u32,
        rights: Access,
    ) -> Option<Arc<MrState>> {
        self.resolve_key(key, pd, qpn, rights, None)
    }

    /// Resolves a remote key for the bytes `range` names, if it names any.
    fn resolve_key(
        &self,
        key: u32,
        pd: usize,
        qpn: u32,
        rights: Access,
        range: Option<(u64, usize)>,
    ) -> Option<Arc<MrState>> {
        if !is_window_key(key) {
            return match range {
                Some((addr, len)) => self.resolve(key, pd, addr, len, rights),
                None => {
                    let region = self.region(key)?;
                    (region.pd() == pd && region.access().contains(rights)).then_some(region)
                }
            };
        }
        let window = self.windows.get(key_index(key))?;
        let binding = window.binding.lock();
        let region = binding.region.as_ref()?;
        let within = match range {
            Some((addr, len)) => {
                let end = addr.checked_add(len as u64)?;
                addr >= binding.addr
                    && end <= binding.addr.checked_add(binding.length)?
                    && region.0.holds(addr, len)
            }
            None => true,
        };
        let allowed = window.pd == pd
            && u32::from(binding.key) == key & 0xff
            && (window.kind == MwKind::Type1 || binding.qpn == qpn)
            && binding.access.contains(rights)
            && within;
        allowed.then(|| region.0.clone())
    }

    /// Returns the live region `key` names.
    pub(crate) fn region(&self, key: u32) -> Option<Arc<MrState>> {
        let state = self.regions.get(key_index(key))?;
        (u32::from(state.key.load(Ordering::Relaxed)) == key & 0xff).then_some(state)
    }

    /// Resolves a key for `len` bytes at `addr` on behalf of a queue pair of protection
    /// domain `pd` that needs `rights`: the region must exist, be of the same protection
    /// domain, grant the rights and hold the whole range. Local reads need no right.
    pub(crate) fn resolve(
        &self,
        key: u32,
        pd: usize,
        addr: u64,
        len: usize,
        rights: Access,
    ) -> Option<Arc<MrState>> {
        let region = self.region(key)?;
        let allowed =
            region.pd() == pd && region.access().contains(rights) && region.holds(addr, len);
        allowed.then_some(region)
    }
}

/// Copies `data` into a scatter/gather list from byte `offset`, through regions of protection
/// domain `pd` that allow local writes: where responses and received messages land. Pages on
/// demand not faulted in make it wait, with the fault noted in `faults`; the pieces before
/// them may have been copied.
pub(crate) fn scatter(
    tables: &MemoryTables,
    pd: usize,
    sges: &[Sge],
    offset: u32,
    data: &[u8],
    faults: &mut PageFaults,
) -> Result<(), Missed<WcStatus>> {
    for_each_piece(sges, offset, data.len(), |sge, at, range| {
        let region = tables
            .resolve(sge.lkey, pd, at, range.len(), Access::LOCAL_WRITE)
            .ok_or(WcStatus::LocalProtectionError)?;
        region
            .write_or_wait(at, &data[range], faults)
            .map_err(|missed| missed.failing_as(WcStatus::LocalProtectionError))
    })
}

/// Walks the scatter/gather list from byte `offset` for `len` bytes: calls `f` with each
/// element met, the address in it and the range of the caller's buffer it covers, until it
/// fails. A list shorter than that is a local length error.
pub(crate) fn for_each_piece<E: From<WcStatus>>(
    sges: &[Sge],
    offset: u32,
    len: usize,
    mut f: impl FnMut(&Sge, u64, core::ops::Range<usize>) -> Result<(), E>,
) -> Result<(), E> {
    let mut skip = u64::from(offset);
    let mut done = 0usize;
    for sge in sges {
        if done == len {
            break;
        }
        let sge_len = u64::from(sge.length);
        if skip >= sge_len {
            skip -= sge_len;
            continue;
        }
        let take = ((sge_len - skip) as usize).min(len - done);
        f(sge, sge.addr.wrapping_add(skip), done..done + take)?;
        done += take;
        skip = 0;
    }
    if done < len {
        return Err(WcStatus::LocalLengthError.into());
    }
    Ok(())
}
