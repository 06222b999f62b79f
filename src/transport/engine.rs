// SPDX-License-Identifier: GPL-2.0

//! The per-queue-pair engine: it runs the requester, the responder and the completer of one
//! queue pair, one round at a time, over the packets delivered to the queue pair and the
//! requests posted to it: in a work item, in the poster's context (a send doorbell) and in
//! the namespace's receive worker.
//!
//! A round runs with bottom halves disabled and never sleeps (its locks are spinlocks, its
//! allocations atomic): what it sends to another namespace of this host is taken in by the
//! receive softirq when the round ends, in one go, rather than one packet at a time in the
//! middle of it.
//!
//! Packets move between queue pairs only through inboxes: an engine never holds its queue
//! pair's locks while it hands packets on, so queue pairs sending to each other (or to
//! themselves) never wait on one another.
//!
//! A copy that meets pages of a region on demand not faulted in stops its part of the round
//! where it is (a packet received waits at the head of the inbox, a packet to send is not
//! built) and notes the fault. The engine's work item resolves it, where it may sleep, before
//! its next rounds try again.

use crate::{
    device::{counters::COUNTERS, Counter, Rrxe, RrxeDevice},
    memory::{PageFault, PageFaults},
    net::{self, Outbox, Received, RouteCache, Wakeups},
    queue::user::MAX_ELEM_SIZE,
    queue::wqe::{RecvWqe, SendWqe},
    transport::completer,
    transport::faults::Faults,
    transport::psn::Psn,
    transport::requester::{self, Window},
    transport::responder,
    transport::retry::{earliest, needs_arming, AckTimer, Moment},
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::{
    impl_has_hr_timer, impl_has_work, new_spinlock_bh, new_spinlock_irq, new_work,
    prelude::*,
    rdma::{object::QpRef, Device},
    sync::{Arc, ArcBorrow, SpinLockBh, SpinLockIrq},
    time::{
        hrtimer::{
            ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext, HrTimerPointer,
            HrTimerRestart, RelativeMode,
        },
        Delta, Monotonic,
    },
    workqueue::{Work, WorkItem},
};

/// How many rounds an engine run makes before it yields the worker to other queue pairs.
const ROUNDS_PER_RUN: u32 = 16;
/// How long an engine run goes on making rounds before it yields the worker to other queue
/// pairs (a round started goes to its end).
const RUN_TIME: Delta = Delta::from_millis(2);
/// How many of the packets delivered a round takes: its acknowledgments leave once these are
/// handled, and the packets left wait for the next round.
pub(crate) const ROUND_PACKETS: usize = 32;
/// How many engine runs a send doorbell or the receive worker makes in its own context.
const INLINE_RUNS: u32 = 8;
/// How many delivered packets wait for a queue pair at most: a peer that sends faster than
/// the queue pair's engine runs loses them, as on a congested wire. A reliable connection
/// stays well below it (a requester's window of 128 packets, read responses held back at
/// [`REPLY_ROOM`], their acknowledgments); only a flood, or many senders aimed at one queue
/// pair, reaches it.
pub(crate) const INBOX_PACKETS: usize = 1024;
/// How many packets may wait in an inbox before a responder of the same device holds back
/// its read responses for the queue pair: a reader that falls behind then holds a few
/// bursts, not whatever its responder managed to send meanwhile.
pub(crate) const REPLY_ROOM: usize = 64;

/// Returns whether an inbox holding `queued` packets takes another: packets beyond
/// [`INBOX_PACKETS`] are dropped (and counted by the caller).
pub(crate) fn inbox_admits(queued: usize) -> bool {
    queued < INBOX_PACKETS
}

/// A send request the requester has started or finished sending and that waits for its
/// acknowledgment (reliable service) or its last packet (the others).
pub(crate) struct Outgoing {
    /// The request's slot in the send queue.
    pub(crate) index: u32,
    pub(crate) wqe: SendWqe,
    /// The PSN of its first packet.
    pub(crate) first_psn: u32,
    /// How many PSNs it takes: its packets, or for a read the response packets.
    pub(crate) packets: u32,
    /// Packets sent so far.
    pub(crate) sent: u32,
    /// For reads: bytes of response received so far.
    pub(crate) received: u32,
}

impl Outgoing {
    /// Returns the PSN of its last packet.
    pub(crate) fn last_psn(&self) -> u32 {
        // A local operation (no packets) ends where the request before it does.
        crate::transport::psn::Psn::new(self.first_psn)
            .add(self.packets.wrapping_sub(1) & crate::transport::psn::PSN_MASK)
            .get()
    }

    /// Returns whether the request is a local operation, carried out without packets.
    pub(crate) fn is_local(&self) -> bool {
        self.packets == 0
    }
}

/// A message the responder is receiving.
pub(crate) struct Incoming {
    /// The receive request the message lands in (sends, and writes with immediate data at
    /// their end).
    pub(crate) recv: Option<RecvWqe>,
    pub(crate) is_send: bool,
    /// Bytes received so far.
    pub(crate) offset: u32,
    /// Where a write lands: the region, the address and the length the first packet gave.
    pub(crate) write: Option<(Arc<crate::memory::MrState>, u64, u32)>,
}

/// The transport state of a queue pair: what its requester, responder and completer keep
/// between packets.
#[derive(Default)]
pub(crate) struct Transport {
    /// Requester: the PSN of the next packet.
    pub(crate) next_psn: u32,
    /// Requester (reliable service): the first PSN not acknowledged yet; the sender stays
    /// within a window from it.
    pub(crate) unacked_psn: u32,
    /// Requester: one past the last PSN sent (or taken by a read's responses), however far
    /// a resend went back.
    pub(crate) sent_end_psn: u32,
    /// Requester (reliable service): the PSNs it may keep unacknowledged.
    pub(crate) window: Window,
    /// Requester: the send queue slot of the next request to start.
    pub(crate) next_wqe: u32,
    /// Requester: the request being sent.
    pub(crate) current: Option<Outgoing>,
    /// Requester (reliable service): requests sent and not yet acknowledged, oldest first.
    pub(crate) in_flight: KVec<Outgoing>,
    /// Requester: send queue slots of local operations carried out before a rewind, so
    /// that resending does not carry them out twice.
    pub(crate) done_locally: KVec<u32>,
    /// Requester: the send queue slot of a read whose responses arrived in part before a
    /// rewind, and the bytes of it that arrived: the read is asked again for the rest only.
    pub(crate) resume_read: Option<(u32, u32)>,
    /// Requester: the send queue slot of a send or write acknowledged in part before a
    /// rewind, its first PSN and the packets of it acknowledged: it is sent again from the
    /// first packet not acknowledged.
    pub(crate) resume_message: Option<(u32, u32, u32)>,
    /// Completer: a read response beyond the one expected made the requester ask again for
    /// the rest of the read; further responses beyond it ask nothing more until one lands.
    pub(crate) read_gap_asked: bool,
    /// Completer: receiver-not-ready retries left (7 means unlimited).
    pub(crate) rnr_retries_left: u8,
    /// Completer: the requester waits for the receiver-not-ready timer.
    pub(crate) rnr_waiting: bool,
    /// Completer: when the receiver-not-ready wait ends.
    pub(crate) rnr_until: Option<Moment>,
    /// Completer (reliable service): the local ACK timeout's deadline and retries.
    pub(crate) ack_timer: AckTimer,
    /// When the engine's timer is set to expire, if it is.
    pub(crate) timer_armed: Option<Moment>,
    /// Responder: the PSN expected next.
    pub(crate) expected_psn: u32,
    /// Responder: messages completed, for acknowledgments.
    pub(crate) msn: u32,
    /// Responder: a negative acknowledgment was sent for the expected PSN; further packets
    /// out of sequence are dropped until it arrives.
    pub(crate) nak_sent: bool,
    /// Responder: the message being received.
    pub(crate) incoming: Option<Incoming>,
    /// Responder: the receive request a send or a datagram took before its first packet
    /// waited for a page fault; the next send or datagram lands in it, before any other.
    pub(crate) kept_recv: Option<RecvWqe>,
    /// Responder: the read being answered, a burst of packets per round.
    pub(crate) reply: Option<crate::transport::responder::ReadReply>,
    /// Responder: the reads and atomics answered last, at most `max_dest_rd_atomic`, oldest
    /// first, to answer their duplicates (IBTA 9.7.5.1.3).
    pub(crate) responded: KVec<crate::transport::responder::Responded>,
    /// Responder: request packets that arrived while a read is answered, oldest first; they
    /// are carried out after it.
    pub(crate) deferred: KVec<Received>,
    /// Room for one send or receive queue slot, to copy an entry out of the shared queue.
    pub(crate) slot: KVec<u8>,
    /// The page faults that copies of this round wait for, and the last that failed.
    pub(crate) page_faults: PageFaults,
    /// What the device counts, counted for this queue pair alone (kept across resets).
    pub(crate) stats: QpStats,
    /// The faults injected into the queue pair's packets (kept across resets).
    pub(crate) faults: Faults,
}

/// The device's counters, for one queue pair: those its transport and engine count.
pub(crate) struct QpStats([u64; COUNTERS]);

impl Default for QpStats {
    fn default() -> Self {
        Self([0; COUNTERS])
    }
}

impl QpStats {
    pub(crate) fn add(&mut self, counter: Counter, n: u64) {
        self.0[counter as usize] += n;
    }

    pub(crate) fn get(&self, counter: Counter) -> u64 {
        self.0[counter as usize]
    }
}

impl Transport {
    /// Starts the send queue's sequence at `psn` (`sq_psn`).
    pub(crate) fn start_sending_at(&mut self, psn: u32) {
        self.next_psn = psn;
        self.unacked_psn = psn;
        self.sent_end_psn = psn;
        // A packet timed belongs to the sequence left.
        self.ack_timer.rewound();
    }

    /// Notes that the PSNs before `next_psn` were sent.
    pub(crate) fn note_sent(&mut self) {
        if Psn::new(self.sent_end_psn).precedes(Psn::new(self.next_psn)) {
            // PSNs from `sent_end_psn` on go out for the first time.
            self.ack_timer.sent_first(Psn::new(self.sent_end_psn));
            self.sent_end_psn = self.next_psn;
        }
    }

    /// Notes that the responder acknowledged every PSN through `psn`, if it was sent and not
    /// acknowledged before: the window moves on.
    pub(crate) fn acknowledged_through(&mut self, psn: Psn) {
        let unacked = Psn::new(self.unacked_psn);
        let outstanding = unacked.distance_to(Psn::new(self.sent_end_psn)).max(0) as u32;
        if psn.is_within(unacked, outstanding) {
            self.window.grow(unacked.distance_to(psn) as u32 + 1);
            self.unacked_psn = psn.next().get();
            self.ack_timer.progressed(Moment::now(), psn);
        }
    }

    /// Returns whether PSNs were sent and not acknowledged yet (reliable service).
    pub(crate) fn awaits_acknowledgment(&self) -> bool {
        Psn::new(self.unacked_psn).precedes(Psn::new(self.sent_end_psn))
    }

    /// Counts a transport event for the device and for the queue pair.
    pub(crate) fn count(&mut self, device: &RrxeDevice, counter: Counter) {
        device.count(counter);
        self.stats.add(counter, 1);
    }

    /// Forgets everything (a reset), keeping the slot buffer, the counts and the faults.
    pub(crate) fn reset(&mut self) {
        let slot = core::mem::take(&mut self.slot);
        let stats = core::mem::take(&mut self.stats);
        let faults = core::mem::take(&mut self.faults);
        *self = Self {
            slot,
            stats,
            faults,
            ..Self::default()
        };
    }
}

/// The engine of one queue pair.
#[pin_data]
pub(crate) struct Engine {
    #[pin]
    work: Work<Engine>,
    #[pin]
    timer: HrTimer<Engine>,
    #[pin]
    inner: SpinLockIrq<Inner>,
    /// Held for a whole round, from taking the inbox to handing the round's packets on: one
    /// round at a time, and the packets of one round leave before those of the next. Between
    /// rounds bottom halves run, and with them the delivery of what the round sent.
    #[pin]
    runner: SpinLockBh<Runner>,
    /// The timer expired since the last round.
    timer_fired: AtomicBool,
    /// Runs in progress.
    running: AtomicU32,
    /// The responder answers a read, or holds requests that wait for it.
    answering: AtomicBool,
}

/// What the engine's runs keep from one to the next.
#[derive(Default)]
struct Runner {
    /// The route the queue pair's packets to other hosts last took.
    routes: RouteCache,
}

/// Why a packet was not delivered to its queue pair (and was dropped).
pub(crate) enum Undelivered {
    /// The queue pair is being destroyed.
    QpGone,
    /// Its inbox was full or could not grow.
    InboxFull,
}

struct Inner {
    /// The queue pair, from its first modification until it is destroyed.
    qp: Option<QpRef<Rrxe>>,
    /// Packets delivered to the queue pair, oldest first.
    inbox: KVec<Received>,
    /// Packets taken from the inbox that the rounds have not handled yet, newest first
    /// (older than those in the inbox).
    backlog: KVec<Received>,
    /// The armed timer: the receiver-not-ready wait or the local ACK timeout.
    timer: Option<ArcHrTimerHandle<Engine>>,
    /// Engines holding back packets for this queue pair until it takes its inbox.
    held_back: KVec<Arc<Engine>>,
    /// A page fault for the work item to resolve before its rounds.
    fault: Option<PageFault>,
}

impl Inner {
    /// Returns how many delivered packets wait for the queue pair.
    fn queued(&self) -> usize {
        self.inbox.len() + self.backlog.len()
    }
}

impl_has_work! {
    impl HasWork<Self> for Engine { self.work }
}

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Engine {
        mode: RelativeMode<Monotonic>, field: self.timer
    }
}

impl Engine {
    /// Creates an engine with no queue pair attached.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                work <- new_work!("rrxe::Engine::work"),
                timer <- HrTimer::new(),
                inner <- new_spinlock_irq!(Inner {
                    qp: None,
                    inbox: KVec::new(),
                    backlog: KVec::new(),
                    timer: None,
                    held_back: KVec::new(),
                    fault: None,
                }),
                runner <- new_spinlock_bh!(Runner::default()),
                timer_fired: AtomicBool::new(false),
                running: AtomicU32::new(0),
                answering: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    /// Attaches the queue pair, if it is not attached yet.
    pub(crate) fn attach(&self, qp: &kernel::rdma::object::Qp<Rrxe>) {
        let mut inner = self.inner.lock();
        if inner.qp.is_none() {
            inner.qp = Some(qp.new_ref());
        }
    }

    /// Detaches the queue pair (it is being destroyed): later rounds find nothing to do, the
    /// timer is cancelled and the packets waiting are dropped. Returns once a round in
    /// progress has finished, so that nothing it completes is posted after the caller's
    /// cleanup. May sleep.
    pub(crate) fn detach(&self) {
        let (qp, inbox, backlog, timer, held_back, fault) = {
            let mut inner = self.inner.lock();
            (
                inner.qp.take(),
                core::mem::take(&mut inner.inbox),
                core::mem::take(&mut inner.backlog),
                inner.timer.take(),
                core::mem::take(&mut inner.held_back),
                inner.fault.take(),
            )
        };
        // Outside the lock: cancelling waits for a running callback, and the references may
        // be the last ones.
        drop(fault);
        drop(timer);
        drop(inbox);
        drop(backlog);
        if let Some(qp) = &qp {
            // Nothing waits for this queue pair any more.
            for engine in &held_back {
                engine.schedule(qp.device());
            }
        }
        drop(held_back);
        drop(qp);
        // Once the round in progress is over: the route is not needed any more.
        self.runner.lock().routes.clear();
    }

    /// Queues a run of the engine on its device's queue.
    pub(crate) fn schedule(self: &Arc<Self>, device: &Device<Rrxe>) {
        // Already queued: that run will see whatever this one was for.
        let _ = device.data().queue.enqueue(self.clone());
    }

    /// Queues a run of the engine on its queue pair's device, unless the queue pair is gone.
    /// Does not sleep; usable in any context.
    pub(crate) fn wake(self: &Arc<Self>) {
        // A detached engine runs no more; the queue pair keeps its device alive.
        let qp = self.inner.lock().qp.clone();
        if let Some(qp) = qp {
            let _ = qp.device().data().queue.enqueue(self.clone());
        }
    }

    /// Delivers a packet to the queue pair and returns whether the engine is to run; `Err`
    /// with the packet dropped if the queue pair is being destroyed or its inbox is full (or
    /// cannot grow). Does not sleep.
    pub(crate) fn deliver(&self, packet: Received) -> Result<bool, Undelivered> {
        let mut inner = self.inner.lock();
        if inner.qp.is_none() {
            return Err(Undelivered::QpGone);
        }
        if !inbox_admits(inner.queued()) {
            return Err(Undelivered::InboxFull);
        }
        // Room first: a packet the push dropped would be freed with interrupts disabled,
        // which a received buffer's pages may not be; this one is freed after the lock.
        if inner.inbox.reserve(1, GFP_ATOMIC).is_err() {
            return Err(Undelivered::InboxFull);
        }
        // Within the room reserved.
        let _ = inner.inbox.push_within_capacity(packet);
        Ok(true)
    }

    /// Returns how many delivered packets wait for the queue pair. Does not sleep.
    pub(crate) fn queued(&self) -> usize {
        self.inner.lock().queued()
    }

    /// Returns the queue pair the engine runs, once it was first modified and until it is
    /// destroyed. Does not sleep.
    pub(crate) fn qp(&self) -> Option<QpRef<Rrxe>> {
        self.inner.lock().qp.clone()
    }

    /// Returns whether `sender` may send the queue pair a burst of packets now. If
    /// [`REPLY_ROOM`] packets or more wait for it, it may not: `sender` runs again once the
    /// queue pair has taken them. Does not sleep.
    pub(crate) fn has_room_for(&self, sender: &Arc<Engine>) -> bool {
        let mut inner = self.inner.lock();
        if inner.qp.is_none() || inner.queued() < REPLY_ROOM {
            return true;
        }
        if inner.held_back.iter().any(|e| Arc::ptr_eq(e, sender)) {
            return false;
        }
        // With no room to note the sender, it sends rather than wait for a wakeup that
        // would not come.
        inner.held_back.push(sender.clone(), GFP_ATOMIC).is_err()
    }

    /// Returns whether the engine still holds work that the queue pair's peer waits for:
    /// packets delivered and not handled, a read being answered or requests waiting for it,
    /// or (unless `ignore_running`, for the caller's own engine) a run in progress. Does not
    /// sleep.
    pub(crate) fn holds_work(&self, ignore_running: bool) -> bool {
        self.running.load(Ordering::Acquire) > u32::from(ignore_running)
            || self.answering.load(Ordering::Acquire)
            || self.inner.lock().queued() > 0
    }

    /// Runs the queue pair after `delay` (none if negative): the engine's timer.
    pub(crate) fn schedule_after(self: &Arc<Self>, delay: Delta) {
        // The previous wait's handle goes first: dropping a handle cancels the timer, which
        // the new wait reuses.
        let old = self.inner.lock().timer.take();
        drop(old);
        let delay = match delay.is_negative() {
            true => Delta::from_nanos(0),
            false => delay,
        };
        let handle = self.clone().start(delay);
        let mut inner = self.inner.lock();
        if inner.qp.is_some() {
            inner.timer = Some(handle);
            return;
        }
        // Detached meanwhile: the wait is cancelled with its handle, outside the lock.
        drop(inner);
        drop(handle);
    }

    /// Runs the engine in the caller's context (the send doorbell, a process context),
    /// together with the engines of the queue pairs its packets reach and theirs in turn
    /// ([`Engine::run_woken`]): a loopback exchange then costs no worker wakeups.
    pub(crate) fn run_inline(self: &Arc<Self>, device: &Device<Rrxe>) {
        let mut wakeups = Wakeups::new();
        wakeups.add(device, self);
        Self::run_woken(wakeups);
    }

    /// Runs the engines of `wakeups` in the caller's process context, and the engines their
    /// packets reach in turn, [`INLINE_RUNS`] runs at most. An engine another context is
    /// running a round of, and whatever is left at the bound, goes to its device's workqueue.
    pub(crate) fn run_woken(mut wakeups: Wakeups) {
        for _ in 0..INLINE_RUNS {
            let Some(engine) = wakeups.pop() else {
                return;
            };
            engine.rounds(false, &mut wakeups);
        }
        wakeups.wake_all();
    }

    /// Runs the engine from its work item: resolves the page fault its rounds wait for, if
    /// any, then makes its rounds.
    fn run(self: &Arc<Self>) {
        // Resolved before the queue pair is taken: its destruction does not wait for a fault
        // that sleeps.
        let fault = self.inner.lock().fault.take();
        // Sleeps: no lock is held.
        let resolved = fault.map(|fault| {
            let result = fault.resolve();
            (fault, result)
        });
        let qp = self.inner.lock().qp.clone();
        let Some(qp) = qp else {
            return;
        };
        if let Some((fault, result)) = resolved {
            let mut transport = qp.data().transport.lock();
            transport.count(qp.device().data(), Counter::PageFaults);
            // The copy that waited for it is tried again, and fails if it could not be
            // resolved.
            transport.page_faults.resolved(fault, result);
        }
        let mut wakeups = Wakeups::new();
        self.rounds(true, &mut wakeups);
        wakeups.run(qp.device());
    }

    /// Handles the packets delivered and the requests posted, round after round, until a round
    /// finds nothing to do, [`ROUNDS_PER_RUN`] are spent or the run has taken [`RUN_TIME`]: a
    /// run holds its worker briefly, so that the engines of other queue pairs (and the
    /// acknowledgments they send) wait little for it. A round waits for another context's
    /// round to end if `wait`; otherwise the engine is queued to run from its work item, which
    /// waits. Engines that receive packets, and this one if work is left, join `wakeups`.
    fn rounds(self: &Arc<Self>, wait: bool, wakeups: &mut Wakeups) {
        self.running.fetch_add(1, Ordering::AcqRel);
        self.make_rounds(wait, wakeups);
        self.running.fetch_sub(1, Ordering::AcqRel);
    }

    /// Makes the rounds of a run ([`Engine::rounds`]).
    fn make_rounds(self: &Arc<Self>, wait: bool, wakeups: &mut Wakeups) {
        let started = Moment::now();
        for _ in 0..ROUNDS_PER_RUN {
            let runner = match wait {
                true => Some(self.runner.lock()),
                false => self.runner.try_lock(),
            };
            let Some(mut runner) = runner else {
                // That round may have looked at the inbox before this run's packets came.
                self.wake();
                return;
            };
            // Detached: the queue pair is being destroyed, and waits for this round only.
            let qp = self.inner.lock().qp.clone();
            let Some(qp) = qp else {
                return;
            };
            let busy = self.round(&qp, &mut runner, wakeups);
            // Bottom halves run again here: what the round sent to other namespaces of this
            // host is taken in now, in this context.
            drop(runner);
            if !busy {
                return;
            }
            if started.elapsed() >= RUN_TIME {
                break;
            }
        }
        // More to do: let other work run first.
        self.wake_into(wakeups);
    }

    /// Adds the engine to `wakeups`, unless its queue pair is gone.
    fn wake_into(self: &Arc<Self>, wakeups: &mut Wakeups) {
        let qp = self.inner.lock().qp.clone();
        if let Some(qp) = qp {
            wakeups.add(qp.device(), self);
        }
    }

    /// Makes one round over the packets delivered, the timer and the requests posted, and
    /// hands the packets it makes on; returns whether it did anything, so that another round
    /// may find more. `runner` is what the caller holds of `self.runner`.
    fn round(
        self: &Arc<Self>,
        qp: &QpRef<Rrxe>,
        runner: &mut Runner,
        wakeups: &mut Wakeups,
    ) -> bool {
        // A queue pair in an error state flushes its user queues a batch per round.
        let flushing = crate::verbs::qp::flush_more(qp);
        let (inbox, held_back, drained) = self.take_inbox();
        // The inbox has room again: those holding back packets for it go on.
        for engine in held_back {
            wakeups.add(qp.device(), &engine);
        }
        let mut out = Outbox::new();
        let received = !inbox.is_empty();
        let received_packets = inbox.len() as u64;
        let requests_sent;
        let deferred_due;
        let fault;
        {
            let this = qp.data();
            let mut transport = this.transport.lock();
            if transport.slot.len() < MAX_ELEM_SIZE
                && transport.slot.resize(MAX_ELEM_SIZE, 0, GFP_ATOMIC).is_err()
            {
                // Tried again on the next run (the packets taken are lost, as on a wire).
                drop(transport);
                wakeups.add(qp.device(), self);
                return false;
            }
            if self.timer_fired.swap(false, Ordering::AcqRel) {
                transport.timer_armed = None;
            }
            // Faults noted before are noted again by the copies that still wait for them.
            transport.page_faults.pending = None;
            completer::end_rnr_wait(&mut transport, Moment::now());
            // Oldest last, so that each is taken off the end.
            let mut inbox = inbox;
            inbox.reverse();
            while let Some(packet) = inbox.pop() {
                let waiting = match packet.is_response() {
                    true => completer::receive(qp, &mut transport, packet),
                    false => responder::receive(qp, &mut transport, packet, &mut out),
                };
                if let Some(packet) = waiting {
                    // It waits for a page fault, and those after it wait behind it. Within
                    // the room of the one just taken.
                    let _ = inbox.push_within_capacity(packet);
                    break;
                }
            }
            let waiting = inbox;
            // Judged only once every packet that arrived was handled: an acknowledgment that
            // waited in the inbox is progress, not a timeout.
            if drained && waiting.is_empty() {
                completer::check_ack_timeout(qp, &mut transport, Moment::now());
            }
            responder::run(qp, &mut transport, &mut out);
            let answering = transport.reply.is_some() || !transport.deferred.is_empty();
            self.answering.store(answering, Ordering::Release);
            // Requests left waiting with no read to wait for: the next round carries them out.
            deferred_due = transport.reply.is_none() && !transport.deferred.is_empty();
            requests_sent = requester::run(qp, &mut transport, &mut out);
            transport.faults.apply(&mut out, Moment::now());
            transport.stats.add(Counter::RxPackets, received_packets);
            transport.stats.add(Counter::TxPackets, out.len() as u64);
            fault = transport.page_faults.pending.take();
            // A fault that failed was for a copy this round tried again.
            transport.page_faults.failed = None;
            self.hold(waiting);
        }
        let waits = fault.is_some();
        if let Some(fault) = fault {
            self.resolve_later(qp, fault);
        }
        let sent = !out.is_empty();
        net::transmit(qp.device(), out, wakeups, &mut runner.routes);
        // The deadlines count from now, when the packets sent have reached their queue pairs.
        self.set_timer(qp, requests_sent);
        // Rounds waiting for a fault would find the same: the work item runs once it is
        // resolved.
        !waits && (received || sent || flushing || deferred_due)
    }

    /// Puts packets taken from the inbox back, before those delivered since: `packets`, newest
    /// first, are the first the next round takes. Those there is no room for are lost, as on a
    /// wire.
    fn hold(&self, packets: KVec<Received>) {
        if packets.is_empty() {
            return;
        }
        let mut inner = self.inner.lock();
        if inner.backlog.reserve(packets.len(), GFP_ATOMIC).is_err() {
            drop(inner);
            // Freed outside the interrupt-disabling lock.
            drop(packets);
            return;
        }
        for packet in packets {
            // Within the room reserved.
            let _ = inner.backlog.push_within_capacity(packet);
        }
    }

    /// Hands `fault` to the engine's work item, which resolves it before its rounds, unless a
    /// fault waits for it already (that one is resolved first, and the round that waits for
    /// this one notes it again).
    fn resolve_later(self: &Arc<Self>, qp: &QpRef<Rrxe>, fault: PageFault) {
        let mut inner = self.inner.lock();
        if inner.fault.is_some() || inner.qp.is_none() {
            drop(inner);
            drop(fault);
            return;
        }
        inner.fault = Some(fault);
        drop(inner);
        self.schedule(qp.device());
    }

    /// Takes at most [`ROUND_PACKETS`] of the packets delivered, oldest first, with the
    /// engines holding back packets for the queue pair if it has room for them again; tells
    /// whether no packet is left.
    fn take_inbox(&self) -> (KVec<Received>, KVec<Arc<Engine>>, bool) {
        // Without memory for a batch, the packets are taken in one piece.
        let batch = KVec::with_capacity(ROUND_PACKETS, GFP_ATOMIC);
        let mut inner = self.inner.lock();
        let taken = match batch {
            Ok(mut batch) => {
                if inner.backlog.is_empty() {
                    // Oldest last, so that each is taken off the end.
                    inner.backlog = core::mem::take(&mut inner.inbox);
                    inner.backlog.reverse();
                }
                while batch.len() < ROUND_PACKETS {
                    let Some(packet) = inner.backlog.pop() else {
                        break;
                    };
                    // Within the capacity reserved.
                    let _ = batch.push_within_capacity(packet);
                }
                batch
            }
            Err(_) => {
                let mut all = core::mem::take(&mut inner.backlog);
                all.reverse();
                let newer = core::mem::take(&mut inner.inbox);
                if all.is_empty() {
                    newer
                } else {
                    // The rest wait, as they arrived.
                    inner.inbox = newer;
                    all
                }
            }
        };
        let queued = inner.queued();
        let held_back = match queued < REPLY_ROOM {
            true => core::mem::take(&mut inner.held_back),
            false => KVec::new(),
        };
        (taken, held_back, queued == 0)
    }

    /// Sets the local ACK timeout's deadline at the end of a round (`requests_sent` tells
    /// whether it sent request packets) and the engine's timer for the earliest deadline.
    fn set_timer(self: &Arc<Self>, qp: &QpRef<Rrxe>, requests_sent: bool) {
        let now = Moment::now();
        let due = {
            let mut transport = qp.data().transport.lock();
            let due = completer::settle_deadlines(qp, &mut transport, now, requests_sent);
            // Packets held back by an injected delay go out when due.
            let due = earliest(due, transport.faults.next_release());
            if !needs_arming(due, transport.timer_armed) {
                return;
            }
            transport.timer_armed = due;
            due
        };
        if let Some(due) = due {
            self.schedule_after(due - now);
        }
    }
}

impl WorkItem for Engine {
    type Pointer = Arc<Engine>;

    fn run(this: Arc<Engine>) {
        Engine::run(&this);
    }
}

impl HrTimerCallback for Engine {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        this.timer_fired.store(true, Ordering::Release);
        // A detached engine's timer was cancelled.
        Arc::from(this).wake();
        HrTimerRestart::NoRestart
    }
}
