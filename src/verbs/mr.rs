// SPDX-License-Identifier: GPL-2.0

//! The memory verbs: registering, re-registering and deregistering regions (DMA, fast
//! registration, pinned user memory and user memory on demand) and allocating windows. What the data path uses of
//! them lives in [`crate::memory`].

use crate::{
    device::{params, Rrxe},
    memory::{check_mr_access, check_region, make_key, Memory, MrState, MwState, PageList},
    verbs::table::Entry,
};
use kernel::{
    new_spinlock_irq,
    prelude::*,
    rdma::{
        mr::{self, Access, KernelDma, Mr, MrAdvice, MrKeys, Reregistration, Umem, UserRegion},
        object::Pd,
        odp::OdpUmem,
        post::Sge,
        udata::UData,
        MwKind,
    },
    sync::Arc,
};

/// Per-region state: the data path's view and its place in the table.
pub(crate) struct RrxeMr {
    state: Arc<MrState>,
    entry: Entry<MrState>,
}

impl RrxeMr {
    /// Returns the region's keys.
    fn keys(&self) -> MrKeys {
        let key = make_key(self.entry.index(), self.state.key_byte());
        // The remote key equals the local one; remote rights are checked on use.
        MrKeys {
            lkey: key,
            rkey: key,
        }
    }
}

/// Registers a region for `memory` in `pd` with `access`.
fn register(pd: &Pd<Rrxe>, access: Access, memory: Memory) -> Result<(MrKeys, RrxeMr)> {
    let state = MrState::new(pd.as_raw() as usize, access, memory)?;
    let tables = &pd.device().data().memory;
    let entry = tables.regions.insert(state.clone(), GFP_KERNEL)?;
    let region = RrxeMr { state, entry };
    Ok((region.keys(), region))
}

/// Creates a DMA region for a kernel user (`get_dma_mr`).
pub(crate) fn get_dma(
    pd: &Pd<Rrxe>,
    access: Access,
    memory: KernelDma,
) -> Result<(MrKeys, RrxeMr)> {
    check_mr_access(access)?;
    register(pd, access, Memory::Dma(memory))
}

/// Creates a fast-registration region (`alloc_mr`) for up to `max_pages` pages. It grants
/// nothing until a registration work request gives it rights.
pub(crate) fn alloc_fast_reg(
    pd: &Pd<Rrxe>,
    max_pages: u32,
    memory: KernelDma,
) -> Result<(MrKeys, RrxeMr)> {
    if max_pages == 0 || max_pages > params::MAX_FAST_REG_PAGES {
        return Err(EINVAL);
    }
    let pages = KBox::pin_init(new_spinlock_irq!(PageList::new(max_pages)?), GFP_KERNEL)?;
    register(pd, Access::default(), Memory::FastReg { pages, memory })
}

/// Returns the data path's view of a region.
pub(crate) fn state_of(region: &Mr<Rrxe>) -> Arc<MrState> {
    region.data().state.clone()
}

/// Runs `f` on the page list of a fast-registration region; `EINVAL` for other regions.
fn with_page_list(region: &Mr<Rrxe>, f: impl FnOnce(&mut PageList) -> Result) -> Result {
    region
        .data()
        .state
        .with_memory(EINVAL, |memory| match memory {
            Memory::FastReg { pages, .. } => f(&mut pages.lock()),
            _ => Err(EINVAL),
        })
}

/// Starts a new mapping of a fast-registration region's pages (`map_mr_sg`).
pub(crate) fn map_start(region: &Mr<Rrxe>) -> Result {
    with_page_list(region, |pages| {
        pages.clear();
        Ok(())
    })
}

/// Appends a page to a fast-registration region's mapping (`map_mr_sg`).
pub(crate) fn map_page(region: &Mr<Rrxe>, addr: u64) -> Result {
    with_page_list(region, |pages| pages.push(addr))
}

/// Registers user memory (`reg_user_mr`): pins it, or with [`Access::ON_DEMAND`] registers it
/// to be faulted in as the data path needs it, and gives it keys.
pub(crate) fn register_user(
    pd: &Pd<Rrxe>,
    region: &UserRegion,
    _udata: Option<&mut UData<'_>>,
) -> Result<(MrKeys, RrxeMr)> {
    check_mr_access(region.access)?;
    check_region(region.start, region.length, region.iova)?;
    let (iova, length) = (region.iova, region.length);
    let memory = match region.access.contains(Access::ON_DEMAND) {
        true => Memory::OnDemand {
            umem: Arc::new(
                OdpUmem::new(pd.device(), region.start, length, region.access)?,
                GFP_KERNEL,
            )?,
            iova,
            length,
        },
        false => Memory::User {
            umem: Umem::pin(pd.device(), region.start, length, region.access)?,
            iova,
            length,
        },
    };
    register(pd, region.access, memory)
}

/// Re-registers a user region in place (`rereg_user_mr`): new rights and protection domain.
///
/// A new translation would need new pages under the same keys while work may be using the old
/// ones; it is refused (`EOPNOTSUPP`), and user space registers a new region instead.
pub(crate) fn reregister(region: &Mr<Rrxe>, change: &Reregistration, pd: &Pd<Rrxe>) -> Result {
    if change.translation.is_some() {
        return Err(EOPNOTSUPP);
    }
    let state = &region.data().state;
    if let Some(access) = change.access {
        check_mr_access(access)?;
        // Whether a region is on demand is fixed at registration.
        if (access.bits() ^ state.access().bits()) & Access::ON_DEMAND.bits() != 0 {
            return Err(EINVAL);
        }
        state.with_memory(EINVAL, |memory| match memory {
            Memory::User { umem, .. } => umem.check_access_change(access),
            Memory::OnDemand { umem, .. } => match access.intersects(Access::WRITABLE) {
                true if !umem.writable() => Err(EACCES),
                _ => Ok(()),
            },
            Memory::Dma(_) | Memory::FastReg { .. } => Err(EINVAL),
        })?;
    }
    // Validated before anything changes, so a refused change leaves the region as it was.
    if let Some(access) = change.access {
        state.set_access(access);
    }
    if change.pd_changes {
        state.set_pd(pd.as_raw() as usize);
    }
    Ok(())
}

/// Lets a region go (`dereg_mr`): not while windows are bound to it (IBTA 10.6.7.2.6).
/// Once this returns its memory is no longer read or written, though queue pairs may still
/// hold the region, and a user region's pages are unpinned: the consumer may reuse the memory
/// at once. Waits for copies in progress (an RCU grace period). May sleep.
pub(crate) fn deregister(region: &Mr<Rrxe>) -> Result {
    let state = &region.data().state;
    if state.has_bound_windows() {
        return Err(EINVAL);
    }
    state.revoke();
    Ok(())
}

/// Takes advice on buffers of regions of `pd` (`advise_mr`): faults in the pages of those on
/// demand, at once, whether or not `flush` asks for it (a pinned region's pages are in place
/// already). `EINVAL` if a key names no region of `pd` holding the buffer, `EPERM` for a
/// prefetch for writing into a region without local write; with `flush`, the first fault that
/// fails ends the call with its error, without it faults are only tried. May sleep.
pub(crate) fn advise(pd: &Pd<Rrxe>, advice: MrAdvice, flush: bool, sges: &[Sge]) -> Result {
    let tables = &pd.device().data().memory;
    let pd = pd.as_raw() as usize;
    let mut regions = KVec::with_capacity(sges.len(), GFP_KERNEL)?;
    // Every key is checked before any page is faulted in.
    for sge in sges {
        let region = tables
            .resolve(
                sge.lkey,
                pd,
                sge.addr,
                sge.length as usize,
                Access::default(),
            )
            .ok_or(EINVAL)?;
        if advice == MrAdvice::PrefetchWrite && !region.access().contains(Access::LOCAL_WRITE) {
            return Err(EPERM);
        }
        regions.push(region, GFP_KERNEL)?;
    }
    for (sge, region) in sges.iter().zip(&regions) {
        let prefetched = region.prefetch(sge.addr, sge.length as usize, advice);
        if flush {
            prefetched?;
        }
    }
    Ok(())
}

/// Per-window state: its place in the table. A bound window lets its region go when the
/// window is deallocated.
pub(crate) struct RrxeMw {
    _entry: Entry<MwState>,
}

/// Creates a memory window (`alloc_mw`). Type 1 windows are bound by verb calls and type 2
/// windows by work requests; both start unbound.
pub(crate) fn alloc_window(
    pd: &Pd<Rrxe>,
    kind: MwKind,
    _udata: Option<&mut UData<'_>>,
) -> Result<(u32, RrxeMw)> {
    let key = mr::random_key();
    let state = Arc::pin_init(MwState::new(pd.as_raw() as usize, kind, key), GFP_KERNEL)?;
    let entry = pd
        .device()
        .data()
        .memory
        .windows
        .insert(state, GFP_KERNEL)?;
    let rkey = make_key(entry.index(), key);
    Ok((rkey, RrxeMw { _entry: entry }))
}
