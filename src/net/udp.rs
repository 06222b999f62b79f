// SPDX-License-Identifier: GPL-2.0

//! The UDP wire: packets for other hosts leave as RoCEv2 datagrams through the IP route to
//! their destination, and datagrams arriving on UDP port 4791 of a network namespace reach
//! the device whose network device they arrived on.
//!
//! One socket pair (IPv4 and IPv6) serves all of a namespace's devices; it opens with the
//! namespace's first device and closes with its last. Its receive callback runs in softirq
//! context and only queues the datagram, up to a bound; a work item takes the queue, checks
//! and delivers each datagram in process context, as the device's own packets are, and runs
//! the engines of the queue pairs that received them.

use super::{receive_checked, Packet, Wakeups};
use crate::{
    device::{registry::Devices, Counter, Rrxe},
    transport::engine::Engine,
    verbs::mcast,
    wire::{self, Route},
};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    c_str, impl_has_work,
    net::{
        netdevice::NetDevice,
        route::{self, IpVersion},
        skbuff::SkBuff,
        udp_tunnel::{self, PernetId},
    },
    new_spinlock_irq, new_work,
    prelude::*,
    rdma::Device,
    sync::{Arc, SpinLockIrq},
    workqueue::{OwnedQueue, QueueFlags, Work, WorkItem},
};

/// The index of the driver's per-namespace data.
static PERNET_ID: PernetId = PernetId::new();

/// The driver's sockets, one pair per namespace.
pub(crate) type Tunnels = udp_tunnel::Registration<Inbound>;
/// A device's share of its namespace's sockets.
pub(crate) type Tunnel = udp_tunnel::Tunnel<Inbound>;

/// Datagrams a namespace's sockets received and not yet delivered: beyond this many, more
/// are dropped and counted.
const INBOUND_LIMIT: usize = 4096;

/// Room in front of a packet's IP header for the link layer's header.
const LINK_HEADROOM: usize = 64;

/// Room a packet is built with in front of its transport bytes: its IP and UDP headers and
/// the link layer's header.
pub(crate) const HEADROOM: usize = LINK_HEADROOM + wire::IPV6_HEADER_LEN + wire::UDP_HEADER_LEN;

/// Datagrams waiting for delivery: those received since the worker last took them, and the
/// (empty) buffer it hands back, so that receiving never allocates.
struct Pending {
    received: KVec<SkBuff>,
    spare: KVec<SkBuff>,
}

/// The receiving side of a namespace's sockets.
#[pin_data]
pub(crate) struct InboundQueue {
    #[pin]
    pending: SpinLockIrq<Pending>,
    #[pin]
    work: Work<InboundQueue>,
    devices: Arc<Devices>,
    /// The namespace's cookie.
    namespace: u64,
    /// Datagrams dropped because the queue was full.
    dropped_full: AtomicU64,
    /// Datagrams dropped because no device of the namespace runs on the network device they
    /// arrived on.
    dropped_no_device: AtomicU64,
}

impl_has_work! {
    impl HasWork<Self> for InboundQueue { self.work }
}

/// What receives a namespace's datagrams: the queue and the worker that empties it; and the
/// engines waiting for room in its sockets' send buffers.
pub(crate) struct Inbound {
    queue: Arc<InboundQueue>,
    /// Runs the queue's work item; dropped (drained) after the sockets are closed.
    worker: OwnedQueue,
    /// Engines that stopped sending for want of room, each once; woken when there is room.
    waiting: Pin<KBox<SpinLockIrq<KVec<Arc<Engine>>>>>,
}

impl Inbound {
    /// Creates the receiving side of `netdev`'s namespace. Sleeps.
    pub(crate) fn new(devices: Arc<Devices>, netdev: &NetDevice) -> Result<Self> {
        let queue = Arc::pin_init(
            try_pin_init!(InboundQueue {
                pending <- new_spinlock_irq!(Pending {
                    received: KVec::with_capacity(INBOUND_LIMIT, GFP_KERNEL)?,
                    spare: KVec::with_capacity(INBOUND_LIMIT, GFP_KERNEL)?,
                }),
                work <- new_work!("rrxe::InboundQueue::work"),
                devices,
                namespace: netdev.namespace_cookie(),
                dropped_full: AtomicU64::new(0),
                dropped_no_device: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        Ok(Self {
            queue,
            // High priority as the engines' queue (`RrxeDevice::queue`).
            worker: OwnedQueue::new(
                c_str!("rrxe_rx"),
                QueueFlags::UNBOUND | QueueFlags::HIGHPRI,
                1,
            )?,
            waiting: KBox::pin_init(new_spinlock_irq!(KVec::new()), GFP_KERNEL)?,
        })
    }

    /// Returns the datagrams the namespace's sockets dropped before they reached a device:
    /// for want of room in the queue, and for want of a device on the network device they
    /// arrived on.
    pub(crate) fn dropped(&self) -> (u64, u64) {
        (
            self.queue.dropped_full.load(Ordering::Relaxed),
            self.queue.dropped_no_device.load(Ordering::Relaxed),
        )
    }

    /// Records that `engine` waits for room in the send buffers; `false` if it cannot be
    /// recorded (it then sends anyway, rather than wait for a wakeup that would not come).
    fn wait_for_room(&self, engine: &Arc<Engine>) -> bool {
        let mut waiting = self.waiting.lock();
        if waiting.iter().any(|e| Arc::ptr_eq(e, engine)) {
            return true;
        }
        waiting.push(engine.clone(), GFP_ATOMIC).is_ok()
    }
}

impl udp_tunnel::Receiver for Inbound {
    fn pernet_id() -> &'static PernetId {
        &PERNET_ID
    }

    fn receive(&self, skb: SkBuff) {
        let queued = self.queue.pending.lock().received.push_within_capacity(skb);
        if queued.is_err() {
            self.queue.dropped_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Already queued or running: it takes this datagram too.
        let _ = self.worker.enqueue(self.queue.clone());
    }

    /// A sender's bound on what it may have in the stack at once, per namespace and IP
    /// version: thirty-odd packets of a 4096-byte path MTU (each in a buffer of 8 KiB).
    /// Beyond it senders wait (see [`has_send_room`]), so that the queueing discipline below
    /// does not drop their packets and nothing grows without bound.
    const SEND_BUFFER: Option<u32> = Some(256 * 1024);

    // Queue pairs of the host, this device's among them, may be members of the groups a
    // device sends datagrams to.
    const MULTICAST_LOOP: bool = true;

    fn write_space(&self) {
        let waiting = core::mem::take(&mut *self.waiting.lock());
        for engine in waiting {
            if let Some(qp) = engine.qp() {
                qp.device().data().count(Counter::TxWakeups);
            }
            engine.wake();
        }
    }
}

/// Returns whether a sender on `device` may send packets over `route` now: always to the
/// device's own address, and to other hosts while the namespace's socket for the route's IP
/// version has room in its send buffer. Otherwise `engine` runs again when there is room.
/// Does not sleep.
pub(crate) fn has_send_room(device: &Device<Rrxe>, route: &Route, engine: &Arc<Engine>) -> bool {
    if route.destination == route.source {
        return true;
    }
    let data = device.data();
    let version = match route.ipv4 {
        true => IpVersion::V4,
        false => IpVersion::V6,
    };
    if data.tunnel().has_send_room(version) || !data.tunnel().receiver().wait_for_room(engine) {
        return true;
    }
    // Room may have come between the two looks, its wakeup gone before the engine waited:
    // look again. The engine then runs once more for nothing, at worst.
    if data.tunnel().has_send_room(version) {
        return true;
    }
    data.count(Counter::TxWaits);
    false
}

impl WorkItem for InboundQueue {
    type Pointer = Arc<InboundQueue>;

    fn run(this: Arc<InboundQueue>) {
        let mut batch = {
            let mut pending = this.pending.lock();
            let spare = core::mem::take(&mut pending.spare);
            core::mem::replace(&mut pending.received, spare)
        };
        let mut wakeups = Wakeups::new();
        for skb in batch.drain_all() {
            if !this.deliver(skb, &mut wakeups) {
                this.dropped_no_device.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Emptied, with its room kept, for the next turn.
        let more = {
            let mut pending = this.pending.lock();
            pending.spare = batch;
            !pending.received.is_empty()
        };
        if more {
            // Datagrams wait: the worker goes back to them (its queue drops what it cannot
            // hold), and the engines run on the devices' workqueues meanwhile.
            wakeups.wake_all();
        } else {
            // The queue pairs that received packets take them here, as a send doorbell's
            // engine runs in the poster's context: a packet then costs one worker wakeup on
            // its way in, not two. Only a bounded number of runs is made here; the rest go
            // to the devices' workqueues.
            Engine::run_woken(wakeups);
        }
    }
}

/// The addresses and ports of a datagram, read from its IP and UDP headers.
pub(crate) struct Addressing {
    /// The route the datagram came by: from its sender to the device.
    pub(crate) route: Route,
    /// The IP and UDP headers as received, which the ICRC covers.
    pub(crate) headers: [u8; wire::IPV6_HEADER_LEN + wire::UDP_HEADER_LEN],
    pub(crate) headers_len: usize,
    /// The transport packet's length (the UDP payload).
    pub(crate) transport_len: usize,
}

/// Reads the addressing of a datagram whose IP header is `ip` and whose UDP header and payload
/// are `udp`; `None` if the headers are malformed or carry IP options.
pub(crate) fn addressing(ip: &[u8], udp: &[u8]) -> Option<Addressing> {
    let udp_header = udp.get(..wire::UDP_HEADER_LEN)?;
    let udp_len = usize::from(u16::from_be_bytes([udp_header[4], udp_header[5]]));
    let transport_len = udp_len.checked_sub(wire::UDP_HEADER_LEN)?;
    if udp.len() < udp_len {
        return None;
    }
    let source_port = u16::from_be_bytes([udp_header[0], udp_header[1]]);
    let mut route = Route {
        source: [0; 16],
        destination: [0; 16],
        ipv4: false,
        traffic_class: 0,
        hop_limit: 0,
        flow_label: 0,
        source_port,
    };
    match ip.first()? >> 4 {
        4 if ip.len() == wire::IPV4_HEADER_LEN && ip[0] == 0x45 => {
            route.ipv4 = true;
            route.traffic_class = ip[1];
            route.hop_limit = ip[8];
            route.source = ipv4_mapped(&ip[12..16]);
            route.destination = ipv4_mapped(&ip[16..20]);
        }
        6 if ip.len() == wire::IPV6_HEADER_LEN => {
            let word = u32::from_be_bytes([ip[0], ip[1], ip[2], ip[3]]);
            route.traffic_class = (word >> 20) as u8;
            route.flow_label = word & 0x000f_ffff;
            route.hop_limit = ip[7];
            route.source.copy_from_slice(&ip[8..24]);
            route.destination.copy_from_slice(&ip[24..40]);
        }
        _ => return None,
    }
    let mut headers = [0; wire::IPV6_HEADER_LEN + wire::UDP_HEADER_LEN];
    let headers_len = ip.len() + wire::UDP_HEADER_LEN;
    headers[..ip.len()].copy_from_slice(ip);
    headers[ip.len()..headers_len].copy_from_slice(udp_header);
    Some(Addressing {
        route,
        headers,
        headers_len,
        transport_len,
    })
}

/// The GID of an IPv4 address: the address mapped into IPv6 (`::ffff:a.b.c.d`).
fn ipv4_mapped(address: &[u8]) -> [u8; 16] {
    let mut gid = [0; 16];
    gid[10] = 0xff;
    gid[11] = 0xff;
    gid[12..].copy_from_slice(address);
    gid
}

impl InboundQueue {
    /// Checks a datagram and delivers it to the device it arrived for; `false` if no device
    /// of the namespace took it. The engine of the queue pair it reached joins `wakeups`.
    fn deliver(&self, mut skb: SkBuff, wakeups: &mut Wakeups) -> bool {
        if skb.linearize().is_err() {
            return false;
        }
        let Some(device) = self
            .devices
            .find_by_ifindex(self.namespace, skb.ingress_ifindex())
        else {
            return false;
        };
        let Some(device) = device.try_get() else {
            return false;
        };
        let data = device.data();
        let Some(addressing) = addressing(skb.pulled_headers(), skb.data()) else {
            data.count(Counter::RxMalformed);
            return true;
        };
        let destination = &addressing.route.destination;
        let for_device = match mcast::is_multicast(destination) {
            true => data.mcast.has(destination),
            false => device.has_roce_v2_gid(1, destination),
        };
        if !for_device {
            data.count(Counter::RxNotForDevice);
            return true;
        }
        let start = wire::UDP_HEADER_LEN;
        let transport = start..start + addressing.transport_len;
        let Some(packet) = Packet::arrived(addressing.route, skb, transport) else {
            data.count(Counter::RxMalformed);
            return true;
        };
        receive_checked(
            &device,
            packet,
            &addressing.headers[..addressing.headers_len],
            wakeups,
        );
        true
    }
}

/// The IP route a queue pair's packets to other hosts last took, kept while the stack holds
/// it current: a connection's packets all go one way, and each looked up anew would walk the
/// routing tables once per packet.
#[derive(Default)]
pub(crate) struct RouteCache(Option<CachedRoute>);

struct CachedRoute {
    source: [u8; 16],
    destination: [u8; 16],
    ipv4: bool,
    route: route::Route,
}

impl RouteCache {
    /// Returns the IP route for packets over `r` leaving by `device`'s network device: the
    /// one kept if it goes between the same addresses and is still current, else one looked
    /// up (and counted on `device`) and kept. Does not sleep.
    fn route(&mut self, device: &Device<Rrxe>, r: &Route) -> Result<&route::Route, Counter> {
        let kept = self.0.take().filter(|c| {
            c.source == r.source
                && c.destination == r.destination
                && c.ipv4 == r.ipv4
                && c.route.is_current()
        });
        let cached = match kept {
            Some(cached) => cached,
            None => {
                let data = device.data();
                data.count(Counter::RouteLookups);
                let route = match r.ipv4 {
                    true => {
                        let address = |gid: &[u8; 16]| [gid[12], gid[13], gid[14], gid[15]];
                        route::Route::ipv4(
                            data.netdev(),
                            address(&r.source),
                            address(&r.destination),
                        )
                    }
                    false => route::Route::ipv6(data.netdev(), r.source, r.destination),
                }
                .map_err(|_| Counter::TxUnroutable)?;
                CachedRoute {
                    source: r.source,
                    destination: r.destination,
                    ipv4: r.ipv4,
                    route,
                }
            }
        };
        Ok(&self.0.insert(cached).route)
    }

    /// Forgets the route kept.
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }
}

/// Sends `packet` to its destination over the device's network device, by the route `routes`
/// keeps for it; returns whether it left. A packet that cannot be routed or that the stack
/// drops is counted.
pub(crate) fn send(device: &Device<Rrxe>, packet: Packet, routes: &mut RouteCache) -> bool {
    match try_send(device, packet, routes) {
        Ok(()) => true,
        Err(counter) => {
            device.data().count(counter);
            false
        }
    }
}

/// Puts the IP and UDP headers in front of a packet built with room for them, and hands it to
/// the IP layer: the payload was copied into the buffer once, when the packet was built.
fn try_send(device: &Device<Rrxe>, packet: Packet, routes: &mut RouteCache) -> Result<(), Counter> {
    let (r, mut skb) = packet.into_buffer().ok_or(Counter::TxDropped)?;
    let path = routes.route(device, &r)?;
    let headers_len = r.header_len();
    let mut headers = [0; wire::IPV6_HEADER_LEN + wire::UDP_HEADER_LEN];
    r.write_headers(&mut headers[..headers_len], skb.len());
    skb.push_slice(&headers[..headers_len])
        .map_err(|_| Counter::TxNoMemory)?;
    device
        .data()
        .tunnel()
        .send(path, skb)
        .map_err(|_| Counter::TxDropped)
}
