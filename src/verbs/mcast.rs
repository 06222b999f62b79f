// SPDX-License-Identifier: GPL-2.0

//! Multicast groups (IBTA vol. 1 10.5): the datagram queue pairs attached to each group a
//! device has, which every datagram sent to the group reaches, and the Ethernet multicast
//! address each group adds to the device's network device so that its frames come in.
//!
//! On RoCE a group is an IP multicast address, its GID the IPv6 address or the IPv4 one
//! mapped into IPv6. Joining the group at the IP layer (IGMP, MLD) is the RDMA CM's part.

use crate::device::params;
use kernel::{
    net::netdevice::NetDevice,
    new_mutex,
    prelude::*,
    sync::{Mutex, SpinLockBh},
};

/// A group and the queue pairs attached to it.
pub(crate) struct Group {
    gid: [u8; 16],
    qpns: KVec<u32>,
}

/// A device's multicast groups.
#[pin_data]
pub(crate) struct McastGroups {
    /// Serialises attaching and detaching, each a change of the table and of the network
    /// device's address list: a group's Ethernet address is added once, with its first queue
    /// pair, and removed with its last.
    #[pin]
    setup: Mutex<()>,
    /// The groups, read by the data path (with bottom halves disabled).
    #[pin]
    groups: SpinLockBh<KVec<Group>>,
}

/// The QPN datagrams to a multicast group are sent to (IBTA 10.5.2.1).
pub(crate) const MULTICAST_QPN: u32 = 0x00ff_ffff;

/// Returns whether `gid` is an IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`).
fn is_ipv4_mapped(gid: &[u8; 16]) -> bool {
    gid[..10].iter().all(|&b| b == 0) && gid[10] == 0xff && gid[11] == 0xff
}

/// Returns whether `gid` is a multicast address: IPv6 `ff00::/8`, or IPv4 `224.0.0.0/4`
/// mapped into IPv6.
pub(crate) fn is_multicast(gid: &[u8; 16]) -> bool {
    match is_ipv4_mapped(gid) {
        true => gid[12] & 0xf0 == 0xe0,
        false => gid[0] == 0xff,
    }
}

/// Returns the Ethernet address frames to group `gid` are sent to: `01:00:5e` and the low 23
/// bits of an IPv4 group (RFC 1112), `33:33` and the low 32 bits of an IPv6 one (RFC 2464).
pub(crate) fn ethernet_address(gid: &[u8; 16]) -> [u8; 6] {
    match is_ipv4_mapped(gid) {
        true => [0x01, 0x00, 0x5e, gid[13] & 0x7f, gid[14], gid[15]],
        false => [0x33, 0x33, gid[12], gid[13], gid[14], gid[15]],
    }
}

/// What attaching a queue pair changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attached {
    /// The queue pair was attached already: nothing.
    Already,
    /// It joins a group that has members.
    Joined,
    /// It is the group's first: the group's Ethernet address is to be added.
    Created,
}

/// What detaching a queue pair changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Detached {
    /// Others remain in the group.
    Left,
    /// It was the group's last: the group's Ethernet address is to be removed.
    Emptied,
}

/// Attaches `qpn` to group `gid` in `groups`, within the device's limits (`ENOMEM` beyond
/// them). Does not allocate once the group and its room exist.
pub(crate) fn attach_to(groups: &mut KVec<Group>, gid: &[u8; 16], qpn: u32) -> Result<Attached> {
    let total: usize = groups.iter().map(|g| g.qpns.len()).sum();
    let at = groups.iter().position(|g| g.gid == *gid);
    if let Some(group) = at.and_then(|at| groups.get(at)) {
        if group.qpns.contains(&qpn) {
            return Ok(Attached::Already);
        }
    }
    if total >= params::MAX_TOTAL_MCAST_QP_ATTACH as usize {
        return Err(ENOMEM);
    }
    match at {
        Some(at) => {
            let group = groups.get_mut(at).ok_or(EINVAL)?;
            if group.qpns.len() >= params::MAX_MCAST_QP_ATTACH as usize {
                return Err(ENOMEM);
            }
            group.qpns.push(qpn, GFP_ATOMIC)?;
            Ok(Attached::Joined)
        }
        None => {
            if groups.len() >= params::MAX_MCAST_GRP as usize {
                return Err(ENOMEM);
            }
            let mut qpns = KVec::with_capacity(1, GFP_ATOMIC)?;
            qpns.push(qpn, GFP_ATOMIC)?;
            groups.push(Group { gid: *gid, qpns }, GFP_ATOMIC)?;
            Ok(Attached::Created)
        }
    }
}

/// Detaches `qpn` from group `gid` in `groups`; `EINVAL` if it is not attached.
pub(crate) fn detach_from(groups: &mut KVec<Group>, gid: &[u8; 16], qpn: u32) -> Result<Detached> {
    let at = groups.iter().position(|g| g.gid == *gid).ok_or(EINVAL)?;
    let group = groups.get_mut(at).ok_or(EINVAL)?;
    let member = group.qpns.iter().position(|&q| q == qpn).ok_or(EINVAL)?;
    group.qpns.remove(member).map_err(|_| EINVAL)?;
    if !group.qpns.is_empty() {
        return Ok(Detached::Left);
    }
    groups.remove(at).map_err(|_| EINVAL)?;
    Ok(Detached::Emptied)
}

impl McastGroups {
    /// A device's groups: none.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            setup <- new_mutex!(()),
            groups <- kernel::new_spinlock_bh!(KVec::new()),
        })
    }

    /// Attaches datagram queue pair `qpn` to group `gid`, adding the group's Ethernet address
    /// to `netdev` with the group's first queue pair. `EINVAL` unless `gid` is multicast,
    /// `ENOMEM` beyond the device's limits. May sleep.
    pub(crate) fn attach(&self, netdev: &NetDevice, gid: &[u8; 16], qpn: u32) -> Result {
        if !is_multicast(gid) {
            return Err(EINVAL);
        }
        let _setup = self.setup.lock();
        let attached = attach_to(&mut self.groups.lock(), gid, qpn)?;
        if attached == Attached::Created {
            if let Err(e) = netdev.add_multicast(&ethernet_address(gid)) {
                let _ = detach_from(&mut self.groups.lock(), gid, qpn);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Detaches queue pair `qpn` from group `gid`, removing the group's Ethernet address from
    /// `netdev` with its last queue pair; `EINVAL` if it is not attached. May sleep.
    pub(crate) fn detach(&self, netdev: &NetDevice, gid: &[u8; 16], qpn: u32) -> Result {
        let _setup = self.setup.lock();
        let detached = detach_from(&mut self.groups.lock(), gid, qpn)?;
        if detached == Detached::Emptied {
            // The address was added with the group; the list cannot have lost it.
            let _ = netdev.remove_multicast(&ethernet_address(gid));
        }
        Ok(())
    }

    /// Returns whether the device has group `gid`. Does not sleep.
    pub(crate) fn has(&self, gid: &[u8; 16]) -> bool {
        self.groups.lock().iter().any(|g| g.gid == *gid)
    }

    /// Returns the queue pairs attached to group `gid`: none if the device has no such group
    /// or memory for the list runs out. Does not sleep.
    pub(crate) fn members(&self, gid: &[u8; 16]) -> KVec<u32> {
        let groups = self.groups.lock();
        let mut qpns = KVec::new();
        if let Some(group) = groups.iter().find(|g| g.gid == *gid) {
            if qpns.extend_from_slice(&group.qpns, GFP_ATOMIC).is_err() {
                qpns.clear();
            }
        }
        qpns
    }
}
