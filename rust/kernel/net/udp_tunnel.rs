// SPDX-License-Identifier: GPL-2.0

//! UDP tunnel sockets: one kernel UDP socket pair (IPv4 and IPv6) per network namespace, bound
//! to a port, whose datagrams go to a driver's [`Receiver`] instead of a socket queue.
//!
//! C header: [`include/net/udp_tunnel.h`](srctree/include/net/udp_tunnel.h)
//!
//! A driver registers a [`Registration`] (per-namespace operations with the core). Each
//! [`Registration::open`] in a namespace returns a [`Tunnel`]; the first creates the sockets
//! and the [`Receiver`], later ones share them, and the sockets close when the last `Tunnel`
//! of the namespace is dropped or when the namespace is dismantled, whichever comes first:
//! kernel sockets do not keep their namespace alive, so the namespace's exit closes them.

use super::{
    netdevice::NetDevice,
    route::{IpVersion, Route},
    skbuff::SkBuff,
};
use crate::{
    bindings,
    error::to_result,
    new_mutex,
    prelude::*,
    sync::{rcu, Arc, ArcBorrow, Mutex},
    types::Opaque,
};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};

/// What receives a namespace's datagrams.
pub trait Receiver: Send + Sync + Sized + 'static {
    /// The index the core gives this receiver's per-namespace data: a static of the driver's,
    /// used by one [`Registration`] at a time.
    fn pernet_id() -> &'static PernetId;

    /// Takes a datagram that arrived on the tunnel's port. Called in softirq context, so it
    /// must not sleep. The buffer's data starts at the UDP header; its
    /// [`SkBuff::pulled_headers`] are the IP header. The buffer holds no route, connection
    /// tracking entry or extensions, so that keeping it does not hold those of its namespace.
    fn receive(&self, skb: SkBuff);

    /// The send buffer of each of the tunnel's sockets, in bytes (at least 4096): how much
    /// memory the buffers sent through it (see [`Tunnel::send`]) may hold before it has no room
    /// ([`Tunnel::has_send_room`]). `None` keeps the system's default (`net.core.wmem_default`).
    const SEND_BUFFER: Option<u32> = None;

    /// Whether the IPv4 socket loops the multicast datagrams it sends back to the host's own
    /// members of their group (`IP_MULTICAST_LOOP`), as an ordinary socket does: UDP tunnel
    /// sockets do not by default. The IPv6 socket does either way.
    const MULTICAST_LOOP: bool = false;

    /// Called when the stack freed a buffer sent through the tunnel and its socket has room
    /// ([`Tunnel::has_send_room`]), and once more when the tunnel closes, so that no sender
    /// waits for a socket that is gone. Called in any context, possibly with interrupts
    /// disabled: must not sleep or take locks that such contexts may hold.
    fn write_space(&self) {}
}

/// Where the core keeps the index of a registration's per-namespace data (`pernet_operations.id`).
pub struct PernetId {
    id: UnsafeCell<c_uint>,
    in_use: AtomicBool,
}

// SAFETY: The core writes `id` while it registers the operations, before any reader of the
// index can run (readers are the operations themselves and the registration's methods), and
// `in_use` keeps a second registration from sharing it.
unsafe impl Sync for PernetId {}

impl PernetId {
    /// A new, unused index.
    pub const fn new() -> Self {
        Self {
            id: UnsafeCell::new(0),
            in_use: AtomicBool::new(false),
        }
    }

    fn get(&self) -> c_uint {
        // SAFETY: Written only during registration, which is complete whenever this is read
        // (see the `Sync` implementation).
        unsafe { *self.id.get() }
    }
}

impl Default for PernetId {
    fn default() -> Self {
        Self::new()
    }
}

/// The per-namespace data the core allocates for a registration: the namespace's tunnel,
/// if one is open. The core zeroes it, which is "none".
#[repr(C)]
struct Slot {
    /// An `Arc<Shared<T>>` turned into a raw pointer, owning one reference, or null.
    shared: AtomicPtr<c_void>,
}

/// A socket's write space callback (`sk_write_space`).
type WriteSpace = Option<unsafe extern "C" fn(*mut bindings::sock)>;

/// A tunnel socket, with the write space callback it had before the tunnel's own.
struct TunnelSocket {
    sock: NonNull<bindings::socket>,
    default_write_space: WriteSpace,
}

impl TunnelSocket {
    /// Returns the socket's `struct sock`.
    fn sk(&self) -> *mut bindings::sock {
        // SAFETY: The socket is open until `Sockets::release`, which consumes it.
        unsafe { (*self.sock.as_ptr()).sk }
    }
}

/// The sockets of a namespace.
struct Sockets {
    v4: TunnelSocket,
    /// `None` if the kernel has no IPv6.
    v6: Option<TunnelSocket>,
}

// SAFETY: Kernel sockets may be released from any thread.
unsafe impl Send for Sockets {}

impl Sockets {
    /// Closes the sockets (`udp_tunnel_sock_release`): no datagram reaches the receiver, and
    /// no callback runs the tunnel's code, once an RCU grace period has passed.
    fn release(self) {
        for socket in [Some(self.v4), self.v6].into_iter().flatten() {
            let sk = socket.sk();
            // Buffers sent through the socket may outlive it, and the tunnel's callback, which
            // is the driver's code: they find the socket's own callback from now on.
            let mut tunnel_write_space = None;
            // SAFETY: The socket is open; the stack reads its write space callback with
            // `READ_ONCE`, and the helper writes it with `WRITE_ONCE`. The previous callback is
            // written to a local.
            unsafe {
                bindings::sk_replace_write_space(
                    sk,
                    socket.default_write_space,
                    &mut tunnel_write_space,
                )
            };
            // SAFETY: The socket was created by `udp_sock_create*` and is released once, here.
            unsafe { bindings::udp_tunnel_sock_release(sk) };
        }
    }
}

/// The state of a namespace's tunnel.
struct State {
    /// Open sockets; `None` once closed.
    sockets: Option<Sockets>,
    /// How many [`Tunnel`]s share them.
    users: usize,
    /// The namespace; valid while `sockets` is `Some` (its exit takes them first).
    net: *mut bindings::net,
}

// SAFETY: `net` is only a key into the core's data, used under the lock.
unsafe impl Send for State {}

/// A namespace's tunnel, shared by its [`Tunnel`]s and the namespace's slot.
#[pin_data]
struct Shared<T: Receiver> {
    /// The registration's lock, which orders openings and last closes.
    opening: Arc<Mutex<()>>,
    #[pin]
    state: Mutex<State>,
    receiver: T,
    /// The sockets' `struct sock`s for sending (IPv4, IPv6), read under the RCU read lock:
    /// set once the sockets are open, cleared a grace period before they are released.
    senders: [AtomicPtr<bindings::sock>; 2],
}

impl<T: Receiver> Shared<T> {
    /// Stops senders from using the sockets; they may be released once a grace period has
    /// passed.
    fn clear_senders(&self) {
        for sender in &self.senders {
            sender.store(core::ptr::null_mut(), Ordering::Release);
        }
    }
}

/// Closes `sockets` of `shared`: no sender uses them and no callback runs for them once this
/// returns. Sleeps.
fn close<T: Receiver>(shared: &Shared<T>, sockets: Sockets) {
    shared.clear_senders();
    // Senders that wait for room go on, and find the tunnel closed.
    shared.receiver.write_space();
    rcu::synchronize_rcu();
    sockets.release();
    // No receive or write space callback that found the user data still runs once the grace
    // period ends.
    rcu::synchronize_rcu();
}

/// A driver's UDP tunnels, one per network namespace.
///
/// # Invariants
///
/// While it exists, `ops` is registered with the core with the index `T::pernet_id()`,
/// which no other registration uses.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Receiver> {
    #[pin]
    ops: Opaque<bindings::pernet_operations>,
    /// Serialises openings and last closes, so that an opening never finds a tunnel its last
    /// user is freeing.
    opening: Arc<Mutex<()>>,
    _receiver: PhantomData<T>,
}

// SAFETY: The operations are only used by the core after registration; methods synchronise.
unsafe impl<T: Receiver> Send for Registration<T> {}
// SAFETY: See `Send`.
unsafe impl<T: Receiver> Sync for Registration<T> {}

impl<T: Receiver> Registration<T> {
    /// Registers the per-namespace operations; `EBUSY` if `T::pernet_id()` is in use. Sleeps.
    pub fn new() -> impl PinInit<Self, Error> {
        // The operations come last: a registration that fails after them would leave them
        // registered.
        try_pin_init!(Self {
            opening: Arc::pin_init(new_mutex!(()), GFP_KERNEL)?,
            _receiver: PhantomData,
            ops <- Opaque::try_ffi_init(|ops: *mut bindings::pernet_operations| {
                let id = T::pernet_id();
                if id.in_use.swap(true, Ordering::AcqRel) {
                    return Err(EBUSY);
                }
                // SAFETY: `ops` is valid for writes; all-zero is a valid value before the
                // fields are set.
                unsafe {
                    ops.write(core::mem::zeroed());
                    (*ops).exit = Some(Self::exit_namespace);
                    (*ops).id = id.id.get();
                    (*ops).size = core::mem::size_of::<Slot>();
                }
                // SAFETY: `ops` is pinned and lives until `drop` unregisters it.
                let registered = to_result(unsafe { bindings::register_pernet_subsys(ops) });
                if registered.is_err() {
                    id.in_use.store(false, Ordering::Release);
                }
                registered
            }),
        })
    }

    /// The namespace's slot.
    ///
    /// # Safety
    ///
    /// `net` must be a namespace whose data for this registration is not freed yet: alive, or
    /// in its exit before this registration's exit returned.
    unsafe fn slot<'a>(net: *mut bindings::net) -> &'a Slot {
        // SAFETY: The registration's index is valid (type invariant of the registration, which
        // exists whenever a namespace's data for it does); the data is a `Slot`.
        unsafe { &*bindings::net_generic(net, T::pernet_id().get()).cast::<Slot>() }
    }

    /// Opens the tunnel of `netdev`'s namespace on UDP `port`, or shares the one open there.
    /// `make_receiver` makes the receiver of a new one. Fails with `EADDRINUSE` if another
    /// socket holds the port in that namespace, `ENODEV` if the namespace is being
    /// dismantled. Sleeps.
    pub fn open(
        &self,
        netdev: &NetDevice,
        port: u16,
        make_receiver: impl FnOnce() -> Result<T>,
    ) -> Result<Tunnel<T>> {
        let _opening = self.opening.lock();
        let net = {
            let _rcu = rcu::read_lock();
            // SAFETY: `netdev` is valid; under the RCU read lock its namespace is not freed.
            unsafe { bindings::maybe_get_net(bindings::dev_net_rcu(netdev.as_raw())) }
        };
        let net = NonNull::new(net).ok_or(ENODEV)?;
        let opened = self.open_in(net.as_ptr(), port, make_receiver);
        // SAFETY: The reference taken above.
        unsafe { bindings::put_net(net.as_ptr()) };
        opened
    }

    /// Opens or shares the tunnel of `net`, which the caller holds, with `opening` locked.
    fn open_in(
        &self,
        net: *mut bindings::net,
        port: u16,
        make_receiver: impl FnOnce() -> Result<T>,
    ) -> Result<Tunnel<T>> {
        // SAFETY: `net` is alive (held by the caller).
        let slot = unsafe { Self::slot(net) };
        let existing = slot.shared.load(Ordering::Acquire);
        if !existing.is_null() {
            // Only the namespace's exit (not while `net` is held) or the last `Tunnel` (under
            // `opening`, which this caller holds) clears the slot and drops its reference.
            // SAFETY: So the slot still owns a reference to this `Shared<T>`.
            let shared = unsafe { ArcBorrow::<Shared<T>>::from_raw(existing.cast()) };
            let mut state = shared.state.lock();
            if state.sockets.is_some() {
                state.users += 1;
                drop(state);
                return Ok(Tunnel {
                    shared: shared.into(),
                });
            }
            // Closed by the namespace's exit, which cleared the slot.
        }
        let shared = Arc::pin_init(
            try_pin_init!(Shared {
                opening: self.opening.clone(),
                state <- new_mutex!(State {
                    sockets: None,
                    users: 1,
                    net,
                }),
                receiver: make_receiver()?,
                senders: [const { AtomicPtr::new(core::ptr::null_mut()) }; 2],
            }),
            GFP_KERNEL,
        )?;
        let sockets = Self::create_sockets(net, port, &shared)?;
        for (sender, socket) in shared
            .senders
            .iter()
            .zip([Some(&sockets.v4), sockets.v6.as_ref()])
        {
            if let Some(socket) = socket {
                sender.store(socket.sk(), Ordering::Release);
            }
        }
        shared.state.lock().sockets = Some(sockets);
        slot.shared.store(
            Arc::into_raw(shared.clone()).cast_mut().cast(),
            Ordering::Release,
        );
        Ok(Tunnel { shared })
    }

    /// Creates the IPv4 and IPv6 sockets of `net` on `port`, delivering to `shared`.
    fn create_sockets(
        net: *mut bindings::net,
        port: u16,
        shared: &Arc<Shared<T>>,
    ) -> Result<Sockets> {
        let v4 = Self::create_socket(net, port, shared, false)?;
        let v6 = match Self::create_socket(net, port, shared, true) {
            Ok(v6) => Some(v6),
            Err(e) if e == EAFNOSUPPORT => None,
            Err(e) => {
                Sockets { v4, v6: None }.release();
                // The receive callback may have started with `shared`, which the caller drops.
                rcu::synchronize_rcu();
                return Err(e);
            }
        };
        Ok(Sockets { v4, v6 })
    }

    fn create_socket(
        net: *mut bindings::net,
        port: u16,
        shared: &Arc<Shared<T>>,
        ipv6: bool,
    ) -> Result<TunnelSocket> {
        // SAFETY: All-zero is a valid configuration (C initialises it with `{}`).
        let mut config: bindings::udp_port_cfg = unsafe { core::mem::zeroed() };
        config.local_udp_port = port.to_be();
        let mut sock: *mut bindings::socket = core::ptr::null_mut();
        // SAFETY: `net` is alive (held by the caller of `open`); the configuration and the
        // result pointer are valid for the call.
        let created = unsafe {
            if ipv6 {
                config.family = bindings::AF_INET6 as u8;
                config.set_ipv6_v6only(1);
                bindings::udp_sock_create6(net, &mut config, &mut sock)
            } else {
                config.family = bindings::AF_INET as u8;
                bindings::udp_sock_create4(net, &mut config, &mut sock)
            }
        };
        to_result(created)?;
        let sock = NonNull::new(sock).ok_or(ENOMEM)?;
        // SAFETY: All-zero is a valid configuration (C initialises it with `{}`).
        let mut tunnel: bindings::udp_tunnel_sock_cfg = unsafe { core::mem::zeroed() };
        tunnel.sk_user_data = Arc::as_ptr(shared).cast_mut().cast();
        // Any non-zero type makes the socket an encapsulation socket.
        tunnel.encap_type = 1;
        tunnel.encap_rcv = Some(Self::encap_receive);
        // SAFETY: A new socket of `net`. Its user data points to `shared`, which outlives
        // the socket plus an RCU grace period: every path that releases the sockets waits for
        // one before giving up its reference to `shared`.
        unsafe { bindings::setup_udp_tunnel_sock(net, (*sock.as_ptr()).sk, &mut tunnel) };
        if T::MULTICAST_LOOP && !ipv6 {
            let on: c_int = 1;
            let mut value = bindings::sockptr_t::default();
            value.__bindgen_anon_1.kernel = (&raw const on).cast_mut().cast();
            value.set_is_kernel(true);
            // SAFETY: A new socket of `net`; the option's value is a kernel `int` that lives
            // for the call. The option is set without the socket lock, as the stack does.
            let set = unsafe {
                bindings::ip_setsockopt(
                    (*sock.as_ptr()).sk,
                    bindings::SOL_IP as c_int,
                    bindings::IP_MULTICAST_LOOP as c_int,
                    value,
                    core::mem::size_of::<c_int>() as c_uint,
                )
            };
            if let Err(e) = to_result(set) {
                // SAFETY: The socket was created above, has received nothing that reaches
                // `shared` after the grace period the release waits for, and is not used
                // after this.
                unsafe { bindings::udp_tunnel_sock_release((*sock.as_ptr()).sk) };
                return Err(e);
            }
        }
        // SAFETY: `sock` was created above and is open.
        let sk = unsafe { (*sock.as_ptr()).sk };
        // The fields of `struct sock` are set through helpers, which write them with
        // `WRITE_ONCE` as the stack reads them with `READ_ONCE` (bindgen's layout of the
        // structure is wrong past `sk_lock`: see `rust/helpers/udp_tunnel.c`). The callback reads
        // the user data as the receive callback does; `Sockets::release` puts the socket's own
        // back first.
        let mut default_write_space = None;
        // SAFETY: A new socket that has sent nothing: its callback may be set. The previous
        // callback is written to a local.
        unsafe {
            bindings::sk_replace_write_space(sk, Some(Self::write_space), &mut default_write_space)
        };
        if let Some(bytes) = T::SEND_BUFFER {
            // The kernel doubles the size for its own overhead, and the size is locked against
            // the kernel's own tuning. At least 4 KiB, so that a socket with nothing in flight
            // has room.
            let bytes = c_int::try_from(bytes).unwrap_or(c_int::MAX).max(4096);
            // SAFETY: A new socket that has sent nothing: its send buffer may be set.
            unsafe { bindings::sk_lock_sndbuf(sk, bytes) };
        }
        Ok(TunnelSocket {
            sock,
            default_write_space,
        })
    }

    /// `encap_rcv`: a datagram arrived on a tunnel socket.
    ///
    /// # Safety
    ///
    /// Called by the UDP receive path, in softirq context under the RCU read lock, with a
    /// tunnel socket of this registration and a buffer whose reference it gives.
    unsafe extern "C" fn encap_receive(
        sk: *mut bindings::sock,
        skb: *mut bindings::sk_buff,
    ) -> c_int {
        // SAFETY: `sk` is a tunnel socket, valid for the call; its user data is read under the
        // RCU read lock the caller holds.
        let shared = unsafe { bindings::rcu_dereference_sk_user_data(sk) };
        let Some(skb) = NonNull::new(skb) else {
            return 0;
        };
        // The buffer's route may be one that only the RCU read lock held here keeps, and a
        // connection tracking entry or extension (a security path) would hold its namespace's
        // state: they are dropped before the buffer outlives this call.
        // SAFETY: The UDP layer gives the buffer, and its reference, to this callback.
        unsafe {
            bindings::skb_dst_drop(skb.as_ptr());
            bindings::nf_reset_ct(skb.as_ptr());
            bindings::skb_ext_reset(skb.as_ptr());
        }
        // SAFETY: The buffer's reference is given here (see above); its destructor, if any, is
        // the stack's own.
        let skb = unsafe { SkBuff::from_raw(skb) };
        if shared.is_null() {
            // Being released: the datagram is dropped with the buffer.
            return 0;
        }
        // SAFETY: The user data of a tunnel socket points to its `Shared<T>`, which stays
        // valid for an RCU grace period after the socket is released (see `create_socket`).
        let shared = unsafe { &*shared.cast::<Shared<T>>() };
        shared.receiver.receive(skb);
        0
    }

    /// `sk_write_space`: the stack freed a buffer sent through a tunnel socket.
    ///
    /// # Safety
    ///
    /// Called by the stack (`sock_wfree`) with a tunnel socket of this registration whose
    /// memory the buffer's charge still keeps.
    unsafe extern "C" fn write_space(sk: *mut bindings::sock) {
        // The grace period `Sockets::release` waits for after putting the socket's own
        // callback back covers this one's whole run.
        let _rcu = rcu::read_lock();
        // SAFETY: `sk` is valid for the call.
        if !unsafe { bindings::sock_writeable(sk) } {
            return;
        }
        // SAFETY: `sk` is valid for the call; its user data is read under the RCU read lock.
        let shared = unsafe { bindings::rcu_dereference_sk_user_data(sk) };
        if shared.is_null() {
            // Released: nobody waits for room any more.
            return;
        }
        // SAFETY: The user data of a tunnel socket points to its `Shared<T>`, which stays
        // valid for an RCU grace period after the socket is released (see `close`).
        let shared = unsafe { &*shared.cast::<Shared<T>>() };
        shared.receiver.write_space();
    }

    /// `exit`: the namespace is being dismantled; its tunnel, if open, closes now.
    ///
    /// # Safety
    ///
    /// Called by the core, for a namespace whose data for this registration is still
    /// allocated, while the registration is registered.
    unsafe extern "C" fn exit_namespace(net: *mut bindings::net) {
        // SAFETY: The core calls the exit of a registered registration with the namespace's
        // data still allocated.
        let slot = unsafe { Self::slot(net) };
        let shared = slot.shared.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if shared.is_null() {
            return;
        }
        // SAFETY: The slot owned this reference, given up here.
        let shared = unsafe { Arc::<Shared<T>>::from_raw(shared.cast()) };
        let sockets = shared.state.lock().sockets.take();
        if let Some(sockets) = sockets {
            close(&shared, sockets);
        }
    }
}

#[pinned_drop]
impl<T: Receiver> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered (type invariant); unregistering runs every namespace's exit,
        // which closes every tunnel still open.
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
        T::pernet_id().in_use.store(false, Ordering::Release);
    }
}

/// A user of its namespace's tunnel. The sockets close when the last one is dropped (unless
/// the namespace's exit closed them first). Dropping it may sleep.
pub struct Tunnel<T: Receiver> {
    shared: Arc<Shared<T>>,
}

impl<T: Receiver> Tunnel<T> {
    /// Returns the receiver of the tunnel's namespace.
    pub fn receiver(&self) -> &T {
        &self.shared.receiver
    }

    /// Returns the `struct sock` that sends packets of `version`, if open, for use under the
    /// RCU read lock.
    fn sender(&self, version: IpVersion) -> *mut bindings::sock {
        let index = match version {
            IpVersion::V4 => 0,
            IpVersion::V6 => 1,
        };
        self.shared.senders[index].load(Ordering::Acquire)
    }

    /// Returns whether the socket sending packets of `version` has room: the buffers it sent
    /// that the stack still holds take less than half its send buffer (`sock_writeable`, as
    /// `poll` reports it). A closed tunnel has room: sending fails at once. Does not sleep.
    pub fn has_send_room(&self, version: IpVersion) -> bool {
        let _rcu = rcu::read_lock();
        let sk = self.sender(version);
        // SAFETY: Senders are cleared a grace period before their sockets are released.
        sk.is_null() || unsafe { bindings::sock_writeable(sk) }
    }

    /// Sends `skb` through `route` as [`Route::send`] does, from the tunnel's socket of the
    /// route's IP version: the buffer is charged to that socket's send buffer until the stack
    /// frees it, and the receiver's [`Receiver::write_space`] is called then. `ENOTCONN` if
    /// the namespace's exit closed the tunnel. The socket is the one the tunnel's first
    /// opener created, so the packets pass its cgroup's egress filters. Does not sleep.
    pub fn send(&self, route: &Route, skb: SkBuff) -> Result {
        let _rcu = rcu::read_lock();
        let sk = self.sender(route.version());
        if sk.is_null() {
            return Err(ENOTCONN);
        }
        // SAFETY: Senders are cleared a grace period before their sockets are released, so
        // `sk` is valid until the RCU read lock is released; it is a full UDP socket whose
        // write space callback only reads its user data under the RCU read lock.
        unsafe { route.send_from(skb, sk) }
    }
}

impl<T: Receiver> Drop for Tunnel<T> {
    fn drop(&mut self) {
        let opening = self.shared.opening.clone();
        let _opening = opening.lock();
        let mut state = self.shared.state.lock();
        state.users -= 1;
        if state.users > 0 {
            return;
        }
        let Some(sockets) = state.sockets.take() else {
            return;
        };
        // SAFETY: The sockets were still open under the lock, so the namespace's exit for
        // this registration has not taken them: its data is still allocated.
        let slot = unsafe { Registration::<T>::slot(state.net) };
        let own = Arc::as_ptr(&self.shared).cast_mut().cast::<c_void>();
        let cleared = slot
            .shared
            .compare_exchange(
                own,
                core::ptr::null_mut(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        drop(state);
        close(&self.shared, sockets);
        if cleared {
            // SAFETY: The slot owned this reference; clearing the slot gave it to us.
            drop(unsafe { Arc::<Shared<T>>::from_raw(own.cast()) });
        }
    }
}
