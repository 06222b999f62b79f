// SPDX-License-Identifier: GPL-2.0

//! IP routes (`struct dst_entry`) and sending locally built IP packets through them.
//!
//! C headers: [`include/net/route.h`](srctree/include/net/route.h),
//! [`include/net/ip6_route.h`](srctree/include/net/ip6_route.h),
//! [`include/net/dst.h`](srctree/include/net/dst.h)
//!
//! A [`Route`] is looked up from a network device, for packets that leave through it from one
//! of its addresses; [`Route::send`] hands a buffer whose data is a complete IP packet to the
//! stack's local output (`ip_local_out`, `ip6_local_out`), netfilter and queueing disciplines
//! included.

use super::{netdevice::NetDevice, skbuff::SkBuff};
use crate::{bindings, error::from_err_ptr, prelude::*};
use core::ptr::NonNull;

/// The IP version of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// A reference to the namespace of a network device, held while a lookup runs.
///
/// # Invariants
///
/// `net` is a live network namespace this value holds a reference to (`maybe_get_net`).
struct NamespaceRef {
    net: NonNull<bindings::net>,
}

impl NamespaceRef {
    /// Takes a reference to `netdev`'s namespace; `ENODEV` if it is being dismantled.
    fn of(netdev: &NetDevice) -> Result<Self> {
        let _rcu = crate::sync::rcu::read_lock();
        // SAFETY: `netdev` is valid; under the RCU read lock its namespace is not freed.
        let net = unsafe { bindings::maybe_get_net(bindings::dev_net_rcu(netdev.as_raw())) };
        // INVARIANT: `maybe_get_net` returned a held reference, or null.
        NonNull::new(net).map(|net| Self { net }).ok_or(ENODEV)
    }
}

impl Drop for NamespaceRef {
    fn drop(&mut self) {
        // SAFETY: The reference is held (type invariant) and given up here.
        unsafe { bindings::put_net(self.net.as_ptr()) };
    }
}

/// A route: a counted reference to a destination cache entry.
///
/// A route may be kept and used for many packets: [`Route::is_current`] tells when the stack
/// has since invalidated it, and it is then to be looked up again.
///
/// # Invariants
///
/// `dst` is a valid `struct dst_entry` this value holds a reference to, of a route of
/// version `version`; `cookie` is what `dst_check` takes for it (zero for IPv4, the IPv6
/// routing table's serial number at the lookup for IPv6).
pub struct Route {
    dst: NonNull<bindings::dst_entry>,
    version: IpVersion,
    cookie: u32,
}

// SAFETY: Route entries are reference counted and used from any context.
unsafe impl Send for Route {}
// SAFETY: Shared references do not touch the entry.
unsafe impl Sync for Route {}

impl Route {
    /// Looks up the IPv4 route for UDP packets from `source` to `destination` leaving through
    /// `netdev`. Does not sleep.
    pub fn ipv4(netdev: &NetDevice, source: [u8; 4], destination: [u8; 4]) -> Result<Self> {
        let namespace = NamespaceRef::of(netdev)?;
        // SAFETY: All-zero is a valid `struct flowi4` (C initialises it with `{}`).
        let mut flow: bindings::flowi4 = unsafe { core::mem::zeroed() };
        flow.__fl_common.flowic_oif = netdev.ifindex();
        flow.__fl_common.flowic_proto = bindings::IPPROTO_UDP as u8;
        flow.saddr = u32::from_ne_bytes(source);
        flow.daddr = u32::from_ne_bytes(destination);
        // SAFETY: The namespace is held; the flow is valid for the call.
        let rt = unsafe {
            bindings::ip_route_output_flow(namespace.net.as_ptr(), &mut flow, core::ptr::null())
        };
        let rt = from_err_ptr(rt)?;
        // `dst` is the first member of `struct rtable`.
        let dst = NonNull::new(rt.cast::<bindings::dst_entry>()).ok_or(EHOSTUNREACH)?;
        // INVARIANT: The lookup returned a held reference.
        Ok(Self {
            dst,
            version: IpVersion::V4,
            cookie: 0,
        })
    }

    /// Looks up the IPv6 route for UDP packets from `source` to `destination` leaving through
    /// `netdev`. Does not sleep.
    pub fn ipv6(netdev: &NetDevice, source: [u8; 16], destination: [u8; 16]) -> Result<Self> {
        let namespace = NamespaceRef::of(netdev)?;
        // SAFETY: All-zero is a valid `struct flowi6` (C initialises it with `{}`).
        let mut flow: bindings::flowi6 = unsafe { core::mem::zeroed() };
        flow.__fl_common.flowic_oif = netdev.ifindex();
        flow.__fl_common.flowic_proto = bindings::IPPROTO_UDP as u8;
        flow.saddr.in6_u.u6_addr8 = source;
        flow.daddr.in6_u.u6_addr8 = destination;
        // SAFETY: The namespace is held; the flow is valid for the call; no socket and no final
        // destination are needed.
        let dst = unsafe {
            bindings::ip6_dst_lookup_flow(
                namespace.net.as_ptr(),
                core::ptr::null(),
                &mut flow,
                core::ptr::null(),
            )
        };
        let dst = NonNull::new(from_err_ptr(dst)?).ok_or(EHOSTUNREACH)?;
        // INVARIANT: The lookup returned a held reference.
        let mut route = Self {
            dst,
            version: IpVersion::V6,
            cookie: 0,
        };
        // SAFETY: The entry is valid (type invariant).
        if unsafe { (*route.dst.as_ptr()).error } != 0 {
            return Err(EHOSTUNREACH);
        }
        // SAFETY: The entry is valid and, as the result of an IPv6 lookup, the first member of
        // a `struct rt6_info`.
        route.cookie = unsafe { bindings::rt6_get_cookie(route.dst.as_ptr().cast()) };
        Ok(route)
    }

    /// Returns whether the route is still current: `false` once the stack has invalidated it
    /// since the lookup (a change of the routing tables, of an address, or of the device it
    /// leaves by), when it is to be looked up again. Does not sleep.
    pub fn is_current(&self) -> bool {
        // SAFETY: The entry is valid (type invariant) and the cookie is its own; `dst_check`
        // neither takes nor gives up a reference, and returns null for a stale entry.
        let checked = unsafe { bindings::dst_check(self.dst.as_ptr(), self.cookie) };
        !checked.is_null()
    }

    /// Sends `skb`, whose data is a whole IP packet of the route's version with a header
    /// without options, through the route (`ip_local_out`, `ip6_local_out`). The stack sets
    /// the IPv4 total length and header checksum, or the IPv6 payload length; every other
    /// field is sent as written. `EINVAL` if the data does not start with such a header (the
    /// buffer is dropped), `ENOBUFS` if the stack dropped the packet.
    pub fn send(&self, skb: SkBuff) -> Result {
        // SAFETY: No socket is given.
        unsafe { self.send_from(skb, core::ptr::null_mut()) }
    }

    /// Returns the route's IP version.
    pub fn version(&self) -> IpVersion {
        self.version
    }

    /// [`Self::send`], with the buffer charged to the send buffer of `sk` (`skb_set_owner_w`)
    /// unless it is null.
    ///
    /// # Safety
    ///
    /// `sk` must be null or a full socket that stays valid for the call, whose
    /// `sk_write_space`, if set, may be called whenever the stack frees the buffer (the charge
    /// keeps the socket's memory until then).
    pub(crate) unsafe fn send_from(&self, skb: SkBuff, sk: *mut bindings::sock) -> Result {
        let header_len = match self.version {
            IpVersion::V4 => 20,
            IpVersion::V6 => 40,
        };
        let data = skb.data();
        let version_ok = match self.version {
            IpVersion::V4 => data.first() == Some(&0x45),
            IpVersion::V6 => data.first().is_some_and(|b| b >> 4 == 6),
        };
        if data.len() < header_len || !version_ok {
            return Err(EINVAL);
        }
        let protocol = match self.version {
            IpVersion::V4 => bindings::ETH_P_IP,
            IpVersion::V6 => bindings::ETH_P_IPV6,
        };
        let skb = skb.into_raw();
        // The control block is cleared (the stack reads it as `IPCB`/`IP6CB`),
        // `skb_scrub_packet` drops any previous route and connection tracking entry, and the
        // route reference taken here is given to the buffer.
        // SAFETY: `skb` is owned and valid, its data starting with a checked IP header; it has
        // no socket and no destructor (`SkBuff`'s invariant). `sk` is null or valid for the
        // call (the caller's contract).
        let sent = unsafe {
            bindings::skb_scrub_packet(skb, false);
            core::ptr::write_bytes((*skb).cb.as_mut_ptr(), 0, (*skb).cb.len());
            (*skb).__bindgen_anon_4.headers.as_mut().protocol = (protocol as u16).to_be();
            bindings::skb_reset_network_header(skb);
            bindings::skb_set_transport_header(skb, header_len as c_int);
            bindings::dst_hold(self.dst.as_ptr());
            bindings::skb_dst_set(skb, self.dst.as_ptr());
            if !sk.is_null() {
                // The buffer had no socket and no destructor (`SkBuff`'s invariant); the
                // caller's socket is valid and lets its destructor run at any time.
                bindings::skb_set_owner_w(skb, sk);
            }
            let net = bindings::dev_net(bindings::dst_dev(self.dst.as_ptr()));
            match self.version {
                IpVersion::V4 => bindings::ip_local_out(net, sk, skb),
                IpVersion::V6 => bindings::ip6_local_out(net, sk, skb),
            }
        };
        match sent {
            0 => Ok(()),
            x if x == bindings::NET_XMIT_CN as c_int => Ok(()),
            x if x < 0 => Err(Error::from_errno(x)),
            _ => Err(ENOBUFS),
        }
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        // SAFETY: The reference is held (type invariant) and given up here.
        unsafe { bindings::dst_release(self.dst.as_ptr()) };
    }
}
