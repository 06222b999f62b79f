// SPDX-License-Identifier: GPL-2.0

//! Moving packets: building them with their ICRC, and delivering them to the queue pair
//! they name.
//!
//! A packet for one of the device's own addresses is delivered to the destination queue
//! pair's engine directly, as it would arrive from the network; receiving checks it the same
//! way. Packets for other hosts go out as UDP datagrams ([`udp`]).

use crate::{
    device::{Counter, Rrxe},
    transport::engine::{Engine, Undelivered},
    verbs::mcast,
    verbs::qp::{state::Service, QpInfo},
    wire::{self, Headers, Operation, Route},
};
use core::ops::Range;
use kernel::{net::skbuff::SkBuff, prelude::*, rdma::Device, sync::Arc};

pub(crate) mod udp;

pub(crate) use udp::{has_send_room, RouteCache};

/// A packet on its way: its route and its transport bytes (BTH to ICRC), in a socket buffer.
///
/// A packet built here fills its buffer with exactly those bytes, with room in front for the
/// IP, UDP and link headers, so that it leaves as it was built; a packet that arrived keeps
/// the datagram's buffer as received.
pub(crate) struct Packet {
    pub(crate) route: Route,
    skb: SkBuff,
    /// Where the transport bytes lie in the buffer's linear data.
    transport: Range<usize>,
}

impl Packet {
    /// Builds a packet of `headers` with `payload_len` bytes of payload that `fill` writes,
    /// sealed with its ICRC. Does not sleep.
    pub(crate) fn build(
        route: &Route,
        headers: &Headers,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result,
    ) -> Result<Self> {
        let len = headers.packet_len(payload_len);
        let mut skb = SkBuff::alloc(udp::HEADROOM, len, GFP_ATOMIC)?;
        skb.put_with(len, |data| {
            headers.write(data, payload_len);
            let start = headers.opcode.header_len();
            let payload = data.get_mut(start..start + payload_len).ok_or(EINVAL)?;
            fill(payload)?;
            let mut ip_udp = [0u8; wire::IPV6_HEADER_LEN + wire::UDP_HEADER_LEN];
            let ip_len = route.header_len();
            route.write_headers(&mut ip_udp[..ip_len], len);
            wire::seal(&ip_udp[..ip_len], data);
            Ok(())
        })?;
        Ok(Self {
            route: *route,
            skb,
            transport: 0..len,
        })
    }

    /// Takes a datagram that arrived over `route` whose transport bytes lie at `transport` in
    /// its linear data; `None` if they do not.
    pub(crate) fn arrived(route: Route, skb: SkBuff, transport: Range<usize>) -> Option<Self> {
        skb.data().get(transport.clone())?;
        Some(Self {
            route,
            skb,
            transport,
        })
    }

    /// Returns the transport bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.skb.data().get(self.transport.clone()).unwrap_or(&[])
    }

    /// Returns the length of the transport bytes.
    pub(crate) fn len(&self) -> usize {
        self.transport.len()
    }

    /// Returns the buffer of a packet built here, holding its transport bytes and nothing
    /// else, to send; `None` for a packet that arrived.
    pub(crate) fn into_buffer(self) -> Option<(Route, SkBuff)> {
        (self.transport.start == 0 && self.transport.end == self.skb.len())
            .then_some((self.route, self.skb))
    }

    /// Returns a copy of the packet in a buffer of its own, to send twice. Does not sleep.
    pub(crate) fn try_copy(&self) -> Result<Self> {
        self.copy_with(|_| {})
    }

    /// Returns a copy of the packet with one bit of its transport bytes flipped, the bit at
    /// `bit` modulo their length, skipping the base transport header's reserved byte that the
    /// ICRC does not cover: what a bad link makes of it, which the receiver's ICRC check
    /// catches. Does not sleep.
    pub(crate) fn corrupted_copy(&self, bit: u32) -> Result<Self> {
        self.copy_with(|bytes| {
            let covered = bytes.len().saturating_sub(1) * 8;
            let mut bit = bit as usize % covered.max(1);
            if bit >= wire::BTH_RESERVED_BYTE * 8 {
                bit += 8;
            }
            if let Some(byte) = bytes.get_mut(bit / 8) {
                *byte ^= 1 << (bit % 8);
            }
        })
    }

    /// Returns a copy of the packet in a buffer of its own, which `change` may alter.
    fn copy_with(&self, change: impl FnOnce(&mut [u8])) -> Result<Self> {
        let len = self.len();
        let mut skb = SkBuff::alloc(udp::HEADROOM, len, GFP_ATOMIC)?;
        skb.put_with(len, |data| {
            data.copy_from_slice(self.bytes());
            change(data);
            Ok(())
        })?;
        Ok(Self {
            route: self.route,
            skb,
            transport: 0..len,
        })
    }

    /// Returns a second packet that shares this one's buffer, to deliver one datagram to
    /// several queue pairs. Does not sleep.
    fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            route: self.route,
            skb: self.skb.try_clone(GFP_ATOMIC)?,
            transport: self.transport.clone(),
        })
    }

    /// Checks the ICRC of a packet the device sent itself and decodes its headers, once.
    pub(crate) fn check(self) -> Result<Received> {
        let mut ip_udp = [0u8; wire::IPV6_HEADER_LEN + wire::UDP_HEADER_LEN];
        let ip_len = self.route.header_len();
        self.route.write_headers(&mut ip_udp[..ip_len], self.len());
        self.check_with(&ip_udp[..ip_len])
    }

    /// Checks the ICRC of a packet that arrived in the IP and UDP headers `ip_udp` and decodes
    /// its headers, once.
    pub(crate) fn check_with(self, ip_udp: &[u8]) -> Result<Received> {
        if !wire::icrc_is_valid(ip_udp, self.bytes()) {
            return Err(EBADMSG);
        }
        let (headers, payload) = Headers::parse(self.bytes())?;
        Ok(Received {
            packet: self,
            headers,
            payload,
        })
    }
}

/// The packets an engine round sends, in order, and how many it could not for want of
/// memory.
pub(crate) struct Outbox {
    packets: KVec<Packet>,
    lost: u32,
}

impl Outbox {
    pub(crate) fn new() -> Self {
        Self {
            packets: KVec::new(),
            lost: 0,
        }
    }

    /// Queues a packet that is built again if it finds no room: `ENOMEM`, and the caller
    /// keeps its place to retry.
    pub(crate) fn push(&mut self, packet: Packet) -> Result {
        self.packets.push(packet, GFP_ATOMIC).map_err(|_| ENOMEM)
    }

    /// Queues a packet that is not built again (an acknowledgment): one that could not be
    /// built or queued is counted as lost, as the wire loses packets.
    pub(crate) fn push_once(&mut self, packet: Result<Packet>) {
        if packet.and_then(|packet| self.push(packet)).is_err() {
            self.lost += 1;
        }
    }

    /// Takes the queued packets, in order, leaving the count of those lost.
    pub(crate) fn take_packets(&mut self) -> KVec<Packet> {
        core::mem::take(&mut self.packets)
    }

    /// Returns how many packets were lost for want of memory.
    pub(crate) fn lost(&self) -> u32 {
        self.lost
    }

    /// Returns how many packets are queued.
    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    /// Returns whether no packet is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Takes the queued packets, in order.
    pub(crate) fn into_packets(self) -> KVec<Packet> {
        self.packets
    }
}

/// A packet that arrived, its ICRC checked and its headers decoded.
pub(crate) struct Received {
    pub(crate) packet: Packet,
    pub(crate) headers: Headers,
    /// Where the payload lies in the packet.
    payload: core::ops::Range<usize>,
}

impl Received {
    /// Returns a second received packet that shares this one's buffer. Does not sleep.
    fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            packet: self.packet.try_clone()?,
            headers: self.headers,
            payload: self.payload.clone(),
        })
    }

    /// Returns the payload.
    pub(crate) fn payload(&self) -> &[u8] {
        self.packet.bytes().get(self.payload.clone()).unwrap_or(&[])
    }

    /// Returns whether the packet is for a requester (a response or acknowledgment) rather
    /// than a responder.
    pub(crate) fn is_response(&self) -> bool {
        matches!(
            self.headers.opcode.operation,
            Operation::ReadResponse | Operation::Acknowledge | Operation::AtomicAcknowledge
        )
    }
}

/// The engines that received packets in one batch, each to run once the batch is delivered.
pub(crate) struct Wakeups(KVec<Arc<Engine>>);

impl Wakeups {
    pub(crate) fn new() -> Self {
        Self(KVec::new())
    }

    /// Adds an engine, once.
    pub(crate) fn add(&mut self, device: &Device<Rrxe>, engine: &Arc<Engine>) {
        if self.0.iter().any(|e| Arc::ptr_eq(e, engine)) {
            return;
        }
        if self.0.push(engine.clone(), GFP_ATOMIC).is_err() {
            // No room to defer it: run it now.
            engine.schedule(device);
        }
    }

    /// Takes an engine out.
    pub(crate) fn pop(&mut self) -> Option<Arc<Engine>> {
        self.0.pop()
    }

    /// Queues a run of each engine.
    pub(crate) fn run(self, device: &Device<Rrxe>) {
        for engine in self.0 {
            engine.schedule(device);
        }
    }

    /// Queues a run of each engine on its queue pair's device.
    pub(crate) fn wake_all(self) {
        for engine in self.0 {
            engine.wake();
        }
    }
}

/// Returns whether `sender` may send a burst of packets to queue pair `dest_qpn` over
/// `route` now. A queue pair of this device whose inbox has fallen behind takes no more
/// until its engine takes the inbox, and `sender` then runs again; packets for other hosts
/// wait for room in the namespace's socket ([`udp::has_send_room`]).
pub(crate) fn has_room(
    device: &Device<Rrxe>,
    route: &Route,
    dest_qpn: u32,
    sender: &Arc<Engine>,
) -> bool {
    if route.destination != route.source {
        return udp::has_send_room(device, route, sender);
    }
    match device.data().qps.get(dest_qpn) {
        Some(info) => info.engine.has_room_for(sender),
        // Nobody to hold back for: the packets are dropped and counted on arrival.
        None => true,
    }
}

/// Hands packets to where they go, in order, and counts those lost for want of memory; the
/// engines that receive them join `wakeups`. Packets for other hosts take the route `routes`
/// keeps.
pub(crate) fn transmit(
    device: &Device<Rrxe>,
    out: Outbox,
    wakeups: &mut Wakeups,
    routes: &mut RouteCache,
) {
    for _ in 0..out.lost() {
        device.data().count(Counter::TxNoMemory);
    }
    for packet in out.packets {
        let len = packet.len() as u64;
        let sent = if packet.route.destination == packet.route.source {
            receive(device, packet, wakeups);
            true
        } else {
            udp::send(device, packet, routes)
        };
        if sent {
            let counters = device.data().counters();
            counters.add(Counter::TxPackets, 1);
            counters.add(Counter::TxBytes, len);
        }
    }
}

/// Takes a packet the device sent itself to the queue pair it names; the queue pair's engine
/// joins `wakeups`. Packets that are malformed or name no queue pair are counted and dropped.
pub(crate) fn receive(device: &Device<Rrxe>, packet: Packet, wakeups: &mut Wakeups) {
    dispatch(device, packet.check(), wakeups);
}

/// Takes a packet that arrived in the IP and UDP headers `ip_udp` to the queue pair it names,
/// with exactly the checks of [`receive`].
pub(crate) fn receive_checked(
    device: &Device<Rrxe>,
    packet: Packet,
    ip_udp: &[u8],
    wakeups: &mut Wakeups,
) {
    dispatch(device, packet.check_with(ip_udp), wakeups);
}

fn dispatch(device: &Device<Rrxe>, checked: Result<Received>, wakeups: &mut Wakeups) {
    let data = device.data();
    let Ok(received) = checked else {
        data.count(Counter::RxMalformed);
        return;
    };
    let headers = &received.headers;
    if headers.bth.dest_qpn == mcast::MULTICAST_QPN {
        deliver_to_group(device, received, wakeups);
        return;
    }
    let Some(info) = data.qps.get(headers.bth.dest_qpn) else {
        data.count(Counter::RxNoQp);
        return;
    };
    deliver(device, &info, received, wakeups);
}

/// Delivers a datagram sent to a multicast group to every queue pair attached to the group
/// (IBTA 10.5.2.1), each its own reference to the one buffer.
fn deliver_to_group(device: &Device<Rrxe>, received: Received, wakeups: &mut Wakeups) {
    let data = device.data();
    let group = received.packet.route.destination;
    let datagram = received.headers.opcode.transport == wire::TransportType::Ud;
    if !datagram || !mcast::is_multicast(&group) {
        data.count(Counter::RxMalformed);
        return;
    }
    let members = data.mcast.members(&group);
    if members.is_empty() {
        data.count(Counter::RxNoQp);
        return;
    }
    let mut received = Some(received);
    let last = members.len() - 1;
    for (i, qpn) in members.iter().enumerate() {
        let Some(info) = data.qps.get(*qpn) else {
            continue;
        };
        let copy = match i == last {
            true => received.take(),
            false => received.as_ref().and_then(|r| r.try_clone().ok()),
        };
        match copy {
            Some(copy) => deliver(device, &info, copy, wakeups),
            // Lost like a datagram on the wire.
            None => data.count(Counter::RxInboxFull),
        }
    }
}

/// Delivers a packet to the queue pair `info` describes, if its service matches.
fn deliver(device: &Device<Rrxe>, info: &QpInfo, received: Received, wakeups: &mut Wakeups) {
    let data = device.data();
    let datagram = matches!(
        info.service,
        Service::UnreliableDatagram | Service::GeneralServices
    );
    if datagram != (received.headers.opcode.transport == wire::TransportType::Ud) {
        data.count(Counter::RxMalformed);
        return;
    }
    let len = received.packet.len() as u64;
    let delivered = info.engine.deliver(received);
    if delivered.is_ok() {
        let counters = data.counters();
        counters.add(Counter::RxPackets, 1);
        counters.add(Counter::RxBytes, len);
    }
    match delivered {
        Ok(true) => wakeups.add(device, &info.engine),
        Ok(false) => {}
        Err(Undelivered::QpGone) => data.count(Counter::RxNoQp),
        Err(Undelivered::InboxFull) => data.count(Counter::RxInboxFull),
    }
}
