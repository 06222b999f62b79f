// SPDX-License-Identifier: GPL-2.0

//! Address handles.
//!
//! Each handle gets a number (`ah_num`) that the user-space provider writes into UD work
//! requests; the device's table maps it back to the address, and to the protection domain the
//! requester must share.

use crate::{
    device::params,
    device::Rrxe,
    verbs::table::{Entry, Table},
};
use kernel::{
    prelude::*,
    rdma::{
        attr::{AddressVector, NetworkType},
        object::Pd,
        udata::UData,
    },
    sync::Arc,
};
use zerocopy_derive::Immutable;

/// An address handle's address and protection domain.
pub(crate) struct AhInfo {
    pub(crate) av: AddressVector,
    /// The protection domain's identity.
    pub(crate) pd: usize,
}

/// The device's address handles, by number.
pub(crate) type AhTable = Table<AhInfo>;

/// Creates the table of address handles, numbered from 1.
pub(crate) fn new_table() -> impl PinInit<AhTable> {
    Table::new(1, params::MAX_AH)
}

/// Per-AH state: its entry in the table, removed on drop.
pub(crate) struct RrxeAh {
    entry: Entry<AhInfo>,
}

impl RrxeAh {
    /// Returns the handle's number, which send requests name it by.
    pub(crate) fn number(&self) -> u32 {
        self.entry.index()
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
    let entry = table.insert(info, gfp)?;
    let num = entry.index();
    let ah = RrxeAh { entry };
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
