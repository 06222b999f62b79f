// SPDX-License-Identifier: GPL-2.0

//! Address handles.
//!
//! Each handle gets a number (`ah_num`) that the user-space provider writes into UD work
//! requests; the device's table maps it back to the address, and to the protection domain the
//! requester must share.

use crate::{device::Rrxe, params};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    prelude::*,
    rdma::{
        attr::{AddressVector, NetworkType},
        object::Pd,
        udata::UData,
    },
    sync::Arc,
    xarray::{AllocKind, XArray},
};
use zerocopy_derive::Immutable;

/// An address handle's address and protection domain.
#[allow(dead_code, reason = "read by the UD send path")]
pub(crate) struct AhInfo {
    pub(crate) av: AddressVector,
    /// The protection domain's identity.
    pub(crate) pd: usize,
}

/// The device's address handles by number.
#[pin_data]
pub(crate) struct AhTable {
    #[pin]
    handles: XArray<Arc<AhInfo>>,
    /// Where the next number search starts, so numbers are not reused at once.
    next: AtomicU32,
}

impl AhTable {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            handles <- XArray::new(AllocKind::Alloc1),
            next: AtomicU32::new(1),
        })
    }

    /// Returns the handle numbered `num`.
    #[allow(dead_code, reason = "used by the UD send path")]
    pub(crate) fn get(&self, num: u32) -> Option<Arc<AhInfo>> {
        let handles = self.handles.lock();
        handles.get(num as usize).map(|info| info.into())
    }
}

/// Per-AH state: its entry in the table, removed on drop.
pub(crate) struct RrxeAh {
    num: u32,
    table: Arc<AhTable>,
}

impl Drop for RrxeAh {
    fn drop(&mut self) {
        // Does not sleep: the table's lock is a spinlock and freeing the entry is `kfree`.
        drop(self.table.handles.lock().remove(self.num as usize));
    }
}

/// The response to a user AH creation (`struct rxe_create_ah_resp`).
#[repr(C)]
#[derive(IntoBytes, Immutable)]
struct CreateAhResp {
    ah_num: u32,
    reserved: u32,
}

/// Creates an address handle (`create_ah` and `create_user_ah`).
pub(crate) fn create(
    pd: &Pd<Rrxe>,
    av: &AddressVector,
    sleepable: bool,
    udata: Option<&mut UData<'_>>,
) -> Result<RrxeAh> {
    if av.port != 1 {
        return Err(EINVAL);
    }
    // RoCE v2 only: the source GID must be an IPv4 or IPv6 one.
    if !matches!(av.network_type, NetworkType::Ipv4 | NetworkType::Ipv6) {
        return Err(EINVAL);
    }
    let gfp = if sleepable { GFP_KERNEL } else { GFP_ATOMIC };
    let table = pd.device().data().ahs.clone();
    let info = Arc::new(
        AhInfo {
            av: *av,
            pd: pd.as_raw() as usize,
        },
        gfp,
    )?;
    let num = {
        let mut handles = table.handles.lock();
        // The table's lock serialises users of `next`.
        let mut next = table.next.load(Ordering::Relaxed);
        let num = handles
            .alloc(1, params::MAX_AH, Some(&mut next), info, gfp)
            .map_err(|e| match e.error {
                e if e == EBUSY => ENOMEM,
                e => e,
            })?;
        table.next.store(next, Ordering::Relaxed);
        num
    };
    let ah = RrxeAh { num, table };
    if let Some(udata) = udata {
        // A provider without room for the number does not use it (the older ABI).
        if udata.out_len() >= size_of::<CreateAhResp>() {
            udata.respond(&CreateAhResp {
                ah_num: num,
                reserved: 0,
            })?;
        }
    }
    Ok(ah)
}
