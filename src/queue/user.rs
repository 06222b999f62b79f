// SPDX-License-Identifier: GPL-2.0

//! Queues shared with user space in the soft-RoCE layout (`struct rxe_queue_buf` in
//! `include/uapi/rdma/rdma_user_rxe.h`).
//!
//! A queue is a header followed by a power-of-two number of fixed-size slots. One slot always
//! stays empty, so `producer == consumer` means empty. Each index has one owner: the kernel
//! produces completions and consumes work requests. The kernel keeps its own copy of the index
//! it owns and of the queue's geometry, publishes the copy with a release store, and reads the
//! user's index with an acquire load, masking it before use: whatever user space writes into
//! the queue can at worst make it see garbage entries, never reach outside the buffer.

use kernel::{prelude::*, rdma::mmap::SharedBuffer, sync::Arc};

/// Offsets of the header fields; user space maps the same layout.
pub(crate) const LOG2_ELEM_SIZE_OFFSET: usize = 0;
pub(crate) const INDEX_MASK_OFFSET: usize = 4;
pub(crate) const PRODUCER_OFFSET: usize = 128;
pub(crate) const CONSUMER_OFFSET: usize = 256;
/// Size of the header; slot 0 follows it.
pub(crate) const HEADER_LEN: usize = 384;
/// Slots are at least a cache line, so that the two sides do not share one.
const MIN_ELEM_SIZE: usize = 64;
/// The largest slot any queue uses.
pub(crate) const MAX_ELEM_SIZE: usize = 1 << 12;

/// A queue's slot count and size, and the index arithmetic over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    log2_elem_size: u32,
    index_mask: u32,
}

impl Geometry {
    /// The geometry of a queue holding at least `entries` elements of `elem_size` bytes.
    pub(crate) fn new(entries: u32, elem_size: usize) -> Result<Self> {
        if elem_size > MAX_ELEM_SIZE {
            return Err(EINVAL);
        }
        let slots = entries
            .checked_add(1)
            .and_then(u32::checked_next_power_of_two)
            .ok_or(EINVAL)?;
        let elem_size = elem_size.max(MIN_ELEM_SIZE).next_power_of_two();
        Ok(Self {
            log2_elem_size: elem_size.trailing_zeros(),
            index_mask: slots - 1,
        })
    }

    /// Returns how many elements the queue holds: one slot stays empty.
    pub(crate) fn capacity(&self) -> u32 {
        self.index_mask
    }

    /// Returns the slot size in bytes.
    pub(crate) fn elem_size(&self) -> usize {
        1 << self.log2_elem_size
    }

    /// Returns the size of the queue's buffer, header included.
    pub(crate) fn buffer_len(&self) -> usize {
        HEADER_LEN + ((self.index_mask as usize + 1) << self.log2_elem_size)
    }

    /// Returns the index after `index`.
    pub(crate) fn next(&self, index: u32) -> u32 {
        index.wrapping_add(1) & self.index_mask
    }

    /// Returns how many elements lie between `consumer` and `producer`.
    pub(crate) fn count(&self, producer: u32, consumer: u32) -> u32 {
        producer.wrapping_sub(consumer) & self.index_mask
    }

    /// Returns whether no element can be added.
    pub(crate) fn is_full(&self, producer: u32, consumer: u32) -> bool {
        self.next(producer) == consumer & self.index_mask
    }

    /// Returns the buffer offset of the slot at `index` (masked first).
    pub(crate) fn slot_offset(&self, index: u32) -> usize {
        HEADER_LEN + (((index & self.index_mask) as usize) << self.log2_elem_size)
    }

    /// Allocates a zeroed queue buffer of this geometry with its header filled in.
    fn new_buffer(&self) -> Result<Arc<SharedBuffer>> {
        let buffer = Arc::new(SharedBuffer::new(self.buffer_len())?, GFP_KERNEL)?;
        buffer.store_release(LOG2_ELEM_SIZE_OFFSET, self.log2_elem_size)?;
        buffer.store_release(INDEX_MASK_OFFSET, self.index_mask)?;
        Ok(buffer)
    }
}

/// A queue the kernel produces into and user space consumes from (a completion queue).
pub(crate) struct ToUserQueue {
    buffer: Arc<SharedBuffer>,
    geometry: Geometry,
    /// The producer index, owned by the kernel; the shared copy is only ever written.
    producer: u32,
}

impl ToUserQueue {
    /// Allocates an empty queue with the header filled in. May sleep.
    pub(crate) fn new(geometry: Geometry) -> Result<Self> {
        Ok(Self {
            buffer: geometry.new_buffer()?,
            geometry,
            producer: 0,
        })
    }

    /// Returns the shared buffer.
    pub(crate) fn buffer(&self) -> &Arc<SharedBuffer> {
        &self.buffer
    }

    /// Returns the consumer index as user space left it, masked.
    fn consumer(&self) -> u32 {
        self.buffer.load_acquire(CONSUMER_OFFSET).unwrap_or(0) & self.geometry.index_mask
    }

    /// Returns how many elements wait for user space.
    pub(crate) fn count(&self) -> u32 {
        self.geometry.count(self.producer, self.consumer())
    }

    /// Appends `elem` (at most a slot) and publishes it; `ENOSPC` if the queue is full.
    pub(crate) fn push(&mut self, elem: &[u8]) -> Result {
        if elem.len() > self.geometry.elem_size() {
            return Err(EINVAL);
        }
        if self.geometry.is_full(self.producer, self.consumer()) {
            return Err(ENOSPC);
        }
        self.buffer
            .write(self.geometry.slot_offset(self.producer), elem)?;
        self.producer = self.geometry.next(self.producer);
        self.buffer.store_release(PRODUCER_OFFSET, self.producer)
    }

    /// Copies the waiting elements into `new`, which must be empty and have room for them:
    /// the contents of a queue that replaces this one.
    pub(crate) fn copy_into(&self, new: &mut ToUserQueue) -> Result {
        let count = self.count();
        if count > new.geometry.capacity() || new.producer != 0 {
            return Err(EINVAL);
        }
        let elem_size = self.geometry.elem_size().min(new.geometry.elem_size());
        let mut index = self.consumer();
        for _ in 0..count {
            self.buffer.copy_to(
                self.geometry.slot_offset(index),
                &new.buffer,
                new.geometry.slot_offset(new.producer),
                elem_size,
            )?;
            new.producer = new.geometry.next(new.producer);
            index = self.geometry.next(index);
        }
        new.buffer.store_release(PRODUCER_OFFSET, new.producer)
    }
}

/// A queue user space produces into and the kernel consumes from (send and receive queues).
///
/// The producer index belongs to user space and is read with acquire ordering and masked;
/// the consumer index is the kernel's, kept privately and published with release ordering.
pub(crate) struct FromUserQueue {
    buffer: Arc<SharedBuffer>,
    geometry: Geometry,
    consumer: u32,
}

impl FromUserQueue {
    /// Creates an empty queue of `geometry`, its header filled in.
    pub(crate) fn new(geometry: Geometry) -> Result<Self> {
        Ok(Self {
            buffer: geometry.new_buffer()?,
            geometry,
            consumer: 0,
        })
    }

    /// Returns the queue's memory, to map for user space.
    pub(crate) fn buffer(&self) -> &Arc<SharedBuffer> {
        &self.buffer
    }

    /// Returns the queue's geometry.
    pub(crate) fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn producer(&self) -> u32 {
        self.buffer.load_acquire(PRODUCER_OFFSET).unwrap_or(0) & self.geometry.index_mask
    }

    /// Returns how many entries user space has posted that the kernel has not consumed.
    pub(crate) fn count(&self) -> u32 {
        self.geometry.count(self.producer(), self.consumer)
    }

    /// Reads the start of the oldest posted entry into `dst` (at most a slot); `None` if
    /// nothing is posted. The entry stays posted until [`Self::advance`].
    pub(crate) fn read_head(&self, dst: &mut [u8]) -> Option<Result> {
        if self.count() == 0 {
            return None;
        }
        if dst.len() > self.geometry.elem_size() {
            return Some(Err(EINVAL));
        }
        Some(
            self.buffer
                .read(self.geometry.slot_offset(self.consumer), dst),
        )
    }

    /// Copies the oldest posted entry into the start of `slot` and consumes it; returns the
    /// copy (a slot's size), or `None` if nothing is posted. `EINVAL`, and nothing consumed,
    /// if `slot` is smaller than a slot.
    pub(crate) fn take_head<'a>(&mut self, slot: &'a mut [u8]) -> Option<Result<&'a [u8]>> {
        if self.count() == 0 {
            return None;
        }
        let Some(slot) = slot.get_mut(..self.geometry.elem_size()) else {
            return Some(Err(EINVAL));
        };
        let read = self.read_head(slot)?;
        let _ = self.advance();
        Some(read.map(|()| &*slot))
    }

    /// Returns how many posted entries lie at `index` and after it.
    pub(crate) fn posted_from(&self, index: u32) -> u32 {
        self.geometry.count(self.producer(), index)
    }

    /// Reads the start of the entry at `index` into `dst` (at most a slot).
    pub(crate) fn read_at(&self, index: u32, dst: &mut [u8]) -> Result {
        if dst.len() > self.geometry.elem_size() {
            return Err(EINVAL);
        }
        self.buffer.read(self.geometry.slot_offset(index), dst)
    }

    /// Consumes the oldest posted entry, if any, and publishes the new consumer index.
    pub(crate) fn advance(&mut self) -> Result {
        if self.count() == 0 {
            return Ok(());
        }
        self.consumer = self.geometry.next(self.consumer);
        self.buffer.store_release(CONSUMER_OFFSET, self.consumer)
    }

    /// Consumes every posted entry without looking at it (a reset of the queue).
    pub(crate) fn discard_all(&mut self) -> Result {
        self.consumer = self.producer();
        self.buffer.store_release(CONSUMER_OFFSET, self.consumer)
    }

    /// Copies the posted entries, oldest first, to the start of the empty queue `new` and
    /// publishes them there (a resize, while user space waits for it). Fails with `EINVAL` if
    /// they do not fit.
    pub(crate) fn copy_into(&self, new: &mut FromUserQueue) -> Result {
        let count = self.count();
        if count > new.geometry.capacity() || new.count() != 0 || new.consumer != 0 {
            return Err(EINVAL);
        }
        let elem_size = self.geometry.elem_size().min(new.geometry.elem_size());
        let mut index = self.consumer;
        for slot in 0..count {
            self.buffer.copy_to(
                self.geometry.slot_offset(index),
                &new.buffer,
                new.geometry.slot_offset(slot),
                elem_size,
            )?;
            index = self.geometry.next(index);
        }
        // User space resumes producing from the new queue's header.
        new.buffer.store_release(PRODUCER_OFFSET, count)
    }
}
