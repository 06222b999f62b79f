// SPDX-License-Identifier: GPL-2.0

//! Queues of in-kernel consumers: completions and receive requests kept in kernel memory.
//!
//! A queue is a fixed ring of slots allocated when it is created, so that posting and
//! completing, which happen in any context, never allocate: a slot is overwritten in place.

use crate::queue::wqe::{Malformed, RecvWqe, RequestId};
use kernel::{
    prelude::*,
    rdma::post::{PostError, RecvRequests, Sge},
};

/// A fixed-capacity ring of `T`, oldest first.
pub(crate) struct KernelQueue<T> {
    slots: KVec<T>,
    /// The slot of the oldest element.
    head: usize,
    len: usize,
}

impl<T> KernelQueue<T> {
    /// Creates an empty queue of `capacity` slots, each made by `make`. May sleep.
    pub(crate) fn new(capacity: usize, mut make: impl FnMut() -> Result<T>) -> Result<Self> {
        let mut slots = KVec::with_capacity(capacity, GFP_KERNEL)?;
        for _ in 0..capacity {
            slots.push(make()?, GFP_KERNEL)?;
        }
        Ok(Self {
            slots,
            head: 0,
            len: 0,
        })
    }

    /// Returns how many elements the queue holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Returns how many elements wait.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Returns whether the queue is full.
    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Returns the slot of the element at `position` (at most the capacity) from the oldest.
    fn slot(&self, position: usize) -> usize {
        let slot = self.head + position;
        match slot.checked_sub(self.capacity()) {
            Some(wrapped) => wrapped,
            None => slot,
        }
    }

    /// Appends an element that `fill` writes into the next free slot; `ENOMEM` if the queue is
    /// full, and nothing is appended if `fill` fails.
    pub(crate) fn push_with(&mut self, fill: impl FnOnce(&mut T) -> Result) -> Result {
        if self.is_full() {
            return Err(ENOMEM);
        }
        let slot = self.slot(self.len);
        fill(&mut self.slots[slot])?;
        self.len += 1;
        Ok(())
    }

    /// Returns the oldest element.
    pub(crate) fn front(&self) -> Option<&T> {
        (self.len > 0).then(|| &self.slots[self.head])
    }

    /// Returns the oldest element, to change.
    pub(crate) fn front_mut(&mut self) -> Option<&mut T> {
        (self.len > 0).then(|| &mut self.slots[self.head])
    }

    /// Returns the element at `position` from the oldest.
    pub(crate) fn get(&self, position: usize) -> Option<&T> {
        (position < self.len).then(|| &self.slots[self.slot(position)])
    }

    /// Removes the oldest element; its slot is reused.
    pub(crate) fn pop_front(&mut self) {
        if self.len > 0 {
            self.head = self.slot(1);
            self.len -= 1;
        }
    }

    /// Removes every element.
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Keeps only the elements `keep` accepts, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut kept = 0;
        for position in 0..self.len {
            let from = self.slot(position);
            if keep(&self.slots[from]) {
                let to = self.slot(kept);
                self.slots.swap(from, to);
                kept += 1;
            }
        }
        self.len = kept;
    }
}

impl<T> KernelQueue<T> {
    /// Moves every element into `other`, oldest first, behind what it holds; `EINVAL`, and
    /// nothing moved, if `other` has no room for them all. Does not allocate.
    pub(crate) fn move_into(&mut self, other: &mut Self) -> Result {
        if other.capacity() - other.len() < self.len {
            return Err(EINVAL);
        }
        for position in 0..self.len {
            let from = self.slot(position);
            let to = other.slot(other.len);
            core::mem::swap(&mut self.slots[from], &mut other.slots[to]);
            other.len += 1;
        }
        self.clear();
        Ok(())
    }
}

impl<T: Default> KernelQueue<T> {
    /// Takes the oldest element out, leaving its slot at the default value.
    pub(crate) fn take_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let taken = core::mem::take(&mut self.slots[self.head]);
        self.pop_front();
        Some(taken)
    }

    /// Keeps only the elements `keep` accepts, in order, and drops the others.
    pub(crate) fn retain_dropping(&mut self, keep: impl FnMut(&T) -> bool) {
        let before = self.len;
        self.retain(keep);
        // `retain` leaves the elements it did not keep right after those it kept.
        for position in self.len..before {
            let slot = self.slot(position);
            self.slots[slot] = T::default();
        }
    }
}

/// A receive request of an in-kernel consumer, kept until it is consumed or flushed.
pub(crate) struct KernelRecv {
    /// The request's identifier, until the request is taken or flushed.
    pub(crate) wr_id: RequestId,
    /// Room for the queue's `max_sge` elements, reserved when the queue is created.
    sges: KVec<Sge>,
}

/// An in-kernel consumer's receive queue, of a queue pair or a shared receive queue.
pub(crate) type RecvQueue = KernelQueue<KernelRecv>;

/// Creates a receive queue of `capacity` requests of up to `max_sge` elements. May sleep.
pub(crate) fn recv_queue(capacity: u32, max_sge: u32) -> Result<RecvQueue> {
    KernelQueue::new(capacity as usize, || {
        Ok(KernelRecv {
            wr_id: RequestId::UNSET,
            sges: KVec::with_capacity(max_sge as usize, GFP_KERNEL)?,
        })
    })
}

/// Appends a consumer's receive requests, in order, until one has more than `max_sge`
/// elements (`EINVAL`) or the queue is full (`ENOMEM`). Does not allocate.
pub(crate) fn post_recvs(
    queue: &mut RecvQueue,
    requests: RecvRequests<'_>,
    max_sge: u32,
) -> Result<(), PostError> {
    for (posted, request) in requests.enumerate() {
        let fail = |error| PostError { posted, error };
        if request.num_sge() > max_sge {
            return Err(fail(EINVAL));
        }
        queue
            .push_with(|slot| {
                slot.sges.clear();
                for sge in request.sges() {
                    slot.sges.push_within_capacity(sge).map_err(|_| EINVAL)?;
                }
                slot.wr_id = RequestId::Kernel(request.into_wr_id());
                Ok(())
            })
            .map_err(fail)?;
    }
    Ok(())
}

/// Takes the oldest receive request, copied for the responder; `None` if there is none.
/// Does not sleep.
pub(crate) fn take_recv(queue: &mut RecvQueue) -> Option<Result<RecvWqe, Malformed>> {
    let request = queue.front_mut()?;
    let wr_id = request.wr_id.take();
    let mut sges = KVec::new();
    let copied = sges.extend_from_slice(&request.sges, GFP_ATOMIC);
    queue.pop_front();
    Some(match copied {
        Ok(()) => Ok(RecvWqe { wr_id, sges }),
        Err(_) => Err(Malformed::NoMemory),
    })
}
