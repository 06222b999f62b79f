// SPDX-License-Identifier: GPL-2.0

//! Work queues owned by their creator.
//!
//! An [`OwnedQueue`] is a workqueue created with `alloc_workqueue` and destroyed with
//! `destroy_workqueue` when it is dropped. Destroying a workqueue drains it, so a driver whose
//! work items run its own code drops its queues before the module goes away and thereby knows
//! that none of that code is still queued or running.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use super::{
    Queue,
    RawWorkItem, //
};
use crate::{
    alloc::{
        AllocError,
        Flags, //
    },
    bindings,
    prelude::*, //
};
use core::{
    ops::{
        BitOr,
        BitOrAssign, //
    },
    ptr::NonNull,
};

/// Flags of a workqueue created by [`OwnedQueue::new`] (the `WQ_*` flags).
///
/// Flags combine with `|`. Exactly one of [`QueueFlags::PERCPU`] and [`QueueFlags::UNBOUND`]
/// should be given: with neither, the kernel warns once and makes the queue per-CPU; with both,
/// it warns once and makes it unbound. [`QueueFlags::empty`] is the value without any flag.
///
/// Only flags that are valid for a non-BH workqueue can be expressed; the kernel's internal
/// `__WQ_*` flags cannot.
///
/// For details, see `Documentation/core-api/workqueue.rst`.
///
/// # Invariants
///
/// Only bits of the flags defined below are set.
///
/// # Examples
///
/// ```
/// use kernel::workqueue::QueueFlags;
///
/// let flags = QueueFlags::UNBOUND | QueueFlags::MEM_RECLAIM;
/// assert!(flags.contains(QueueFlags::UNBOUND));
/// assert!(!flags.contains(QueueFlags::HIGHPRI));
/// assert_eq!(QueueFlags::empty().as_raw(), 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueFlags(u32);

impl QueueFlags {
    /// Work items run on the CPU they were queued on (`WQ_PERCPU`).
    pub const PERCPU: Self = Self(bindings::wq_flags_WQ_PERCPU);

    /// Work items are not bound to any CPU (`WQ_UNBOUND`).
    pub const UNBOUND: Self = Self(bindings::wq_flags_WQ_UNBOUND);

    /// The queue is frozen during system suspend (`WQ_FREEZABLE`).
    pub const FREEZABLE: Self = Self(bindings::wq_flags_WQ_FREEZABLE);

    /// The queue may be used during memory reclaim and has a rescuer thread to guarantee forward
    /// progress under memory pressure (`WQ_MEM_RECLAIM`).
    pub const MEM_RECLAIM: Self = Self(bindings::wq_flags_WQ_MEM_RECLAIM);

    /// Work items run on high priority workers (`WQ_HIGHPRI`).
    pub const HIGHPRI: Self = Self(bindings::wq_flags_WQ_HIGHPRI);

    /// Work items are CPU intensive and do not take part in concurrency management
    /// (`WQ_CPU_INTENSIVE`).
    pub const CPU_INTENSIVE: Self = Self(bindings::wq_flags_WQ_CPU_INTENSIVE);

    /// The queue is visible in sysfs (`WQ_SYSFS`).
    pub const SYSFS: Self = Self(bindings::wq_flags_WQ_SYSFS);

    /// The queue is per-CPU but becomes unbound when the `workqueue.power_efficient` kernel
    /// parameter is set (`WQ_POWER_EFFICIENT`, given together with [`QueueFlags::PERCPU`]).
    pub const POWER_EFFICIENT: Self = Self(bindings::wq_flags_WQ_POWER_EFFICIENT);

    /// Returns the value without any flag set (`0`).
    #[inline]
    pub const fn empty() -> Self {
        // INVARIANT: No bit is set.
        Self(0)
    }

    /// Returns the `WQ_*` bits.
    #[inline]
    pub const fn as_raw(self) -> u32 {
        self.0
    }

    /// Returns whether all flags set in `other` are set in `self`.
    #[inline]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for QueueFlags {
    type Output = Self;

    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        // INVARIANT: Only bits set in `self` or `rhs` are set, and by the type invariants those
        // are bits of the defined flags.
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for QueueFlags {
    #[inline]
    fn bitor_assign(&mut self, rhs: Self) {
        *self = *self | rhs;
    }
}

/// A workqueue owned by this value and destroyed when it is dropped.
///
/// Work items are queued on it with [`OwnedQueue::enqueue`] and [`OwnedQueue::try_spawn`].
/// Delayed work is not offered: `destroy_workqueue` does not wait for pending timers, so a
/// timer expiring after the drop would queue its work item on the freed workqueue.
///
/// # Dropping
///
/// Dropping the queue calls `destroy_workqueue`, which drains it: it returns once every work
/// item queued on it has run to completion. While it drains, work items running on the queue may
/// queue further work items on it (chained work), and those run before the drop returns too;
/// anything else that tries to queue work on it at that point is refused by the kernel with a
/// warning, and that work item never runs. Dropping may sleep, so it must happen in process
/// context. Dropping it from one of its own work items (for example by dropping the last
/// `Arc<OwnedQueue>` there) deadlocks: the drain waits for that work item.
///
/// # Invariants
///
/// `ptr` points at a valid workqueue created by `alloc_workqueue`; it stays valid until this
/// value is dropped, and nothing other than this value destroys it.
///
/// # Examples
///
/// ```
/// use kernel::workqueue::{OwnedQueue, QueueFlags};
///
/// let wq = OwnedQueue::new(c"rust-example", QueueFlags::UNBOUND, 0)?;
/// wq.try_spawn(GFP_KERNEL, || pr_info!("Running on rust-example\n"))?;
/// // Waits for the closure to have run.
/// drop(wq);
/// # Ok::<(), Error>(())
/// ```
pub struct OwnedQueue {
    ptr: NonNull<bindings::workqueue_struct>,
}

// SAFETY: A workqueue is not tied to the thread that created it: any thread may queue work on
// it, and `destroy_workqueue` may be called from any thread in process context, so the
// `OwnedQueue` may be moved to, and dropped on, another thread.
unsafe impl Send for OwnedQueue {}

// SAFETY: A shared reference to an `OwnedQueue` only queues work on it, which is thread-safe.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Creates a workqueue (`alloc_workqueue`).
    ///
    /// `name` names the queue (in sysfs, in the name of its rescuer thread, in warnings); it is
    /// used verbatim, never as a format string, and truncated to 31 bytes with a warning if
    /// longer. `max_active` limits the number of the queue's work items that run at the same
    /// time, per CPU for a per-CPU queue and for the whole system for an unbound one: `0`
    /// selects the default (1024), and values outside `1..=2048` (`WQ_MAX_ACTIVE`) are clamped
    /// with a warning.
    ///
    /// May sleep. Fails with `ENOMEM` if the workqueue cannot be allocated.
    pub fn new(name: &CStr, flags: QueueFlags, max_active: i32) -> Result<Self> {
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call, and the
        // helper passes it as the argument of a `"%s"` format. `flags` only holds public `WQ_*`
        // flags of non-BH workqueues (type invariant of `QueueFlags`).
        let ptr = unsafe {
            bindings::alloc_workqueue_named(name.as_char_ptr(), flags.as_raw(), max_active)
        };
        let ptr = NonNull::new(ptr).ok_or(ENOMEM)?;
        // INVARIANT: `ptr` was just returned by `alloc_workqueue` and is owned by nothing else.
        Ok(Self { ptr })
    }
}

impl OwnedQueue {
    /// Returns the queue as the kernel's [`Queue`], for queueing work only.
    #[inline]
    fn queue(&self) -> &Queue {
        // SAFETY: By the type invariants, `self.ptr` points at a valid workqueue that stays valid
        // until `self` is dropped, which cannot happen while the returned reference is alive.
        unsafe { Queue::from_raw(self.ptr.as_ptr()) }
    }

    /// Queues work item `w` ([`Queue::enqueue`]).
    #[inline]
    pub fn enqueue<W, const ID: u64>(&self, w: W) -> W::EnqueueOutput
    where
        W: RawWorkItem<ID> + Send + 'static,
    {
        self.queue().enqueue(w)
    }

    /// Allocates a work item that runs `func` and queues it ([`Queue::try_spawn`]).
    #[inline]
    pub fn try_spawn<T: 'static + Send + FnOnce()>(
        &self,
        flags: Flags,
        func: T,
    ) -> Result<(), AllocError> {
        self.queue().try_spawn(flags, func)
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // The drain inside `destroy_workqueue` makes sure that no work item queued on the queue
        // still runs afterwards; no delayed work can be pending (none is offered).
        //
        // SAFETY: By the type invariants, `self.ptr` points at a valid workqueue that only `self`
        // destroys, and it is not used after this: `self` is going away, and every `&Queue`
        // derived from it borrowed `self` and has therefore ended.
        unsafe { bindings::destroy_workqueue(self.ptr.as_ptr()) };
    }
}
