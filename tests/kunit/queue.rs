// SPDX-License-Identifier: GPL-2.0

//! Shared queues: geometry, index arithmetic, a kernel-produced queue whose consumer index
//! user space controls and a user-produced one whose producer index it controls.

#[kernel::prelude::kunit_tests(rrxe_queue)]
mod tests {
    use crate::queue::user::{
        FromUserQueue, Geometry, ToUserQueue, CONSUMER_OFFSET, HEADER_LEN, INDEX_MASK_OFFSET,
        LOG2_ELEM_SIZE_OFFSET, PRODUCER_OFFSET,
    };
    use kernel::prelude::*;

    #[test]
    fn geometry_rounds_up_and_keeps_a_slot_free() -> Result {
        let g = Geometry::new(1, 72)?;
        assert_eq!(g.capacity(), 1);
        assert_eq!(g.elem_size(), 128);
        assert_eq!(g.buffer_len(), HEADER_LEN + 2 * 128);
        let g = Geometry::new(4, 8)?;
        // 5 slots round up to 8; small elements take a cache line.
        assert_eq!(g.capacity(), 7);
        assert_eq!(g.elem_size(), 64);
        let g = Geometry::new(32767, 72)?;
        assert_eq!(g.capacity(), 32767);
        Ok(())
    }

    #[test]
    fn geometry_rejects_impossible_sizes() {
        assert_eq!(Geometry::new(u32::MAX, 64).err(), Some(EINVAL));
        assert_eq!(Geometry::new(1 << 31, 64).err(), Some(EINVAL));
        assert_eq!(Geometry::new(1, 1 << 13).err(), Some(EINVAL));
    }

    #[test]
    fn indices_wrap_and_are_masked() -> Result {
        let g = Geometry::new(3, 64)?; // 4 slots
        assert_eq!(g.next(3), 0);
        assert_eq!(g.count(1, 3), 2);
        assert_eq!(g.count(2, 2), 0);
        assert!(g.is_full(2, 3));
        assert!(!g.is_full(2, 2));
        // Indices from user space are masked: a wild one still names a slot in the buffer.
        assert!(g.slot_offset(0xdead_beef) + g.elem_size() <= g.buffer_len());
        assert_eq!(g.slot_offset(5), g.slot_offset(1));
        Ok(())
    }

    #[test]
    fn header_describes_the_queue() -> Result {
        let q = ToUserQueue::new(Geometry::new(7, 72)?)?;
        let buf = q.buffer();
        assert_eq!(buf.load_acquire(LOG2_ELEM_SIZE_OFFSET)?, 7);
        assert_eq!(buf.load_acquire(INDEX_MASK_OFFSET)?, 7);
        assert_eq!(buf.load_acquire(PRODUCER_OFFSET)?, 0);
        assert_eq!(buf.len(), HEADER_LEN + 8 * 128);
        Ok(())
    }

    #[test]
    fn push_stops_when_full_and_resumes_as_user_consumes() -> Result {
        let mut q = ToUserQueue::new(Geometry::new(3, 72)?)?;
        for i in 0..3u8 {
            q.push(&[i; 72])?;
        }
        assert_eq!(q.count(), 3);
        assert_eq!(q.push(&[9; 72]).err(), Some(ENOSPC));
        assert_eq!(q.buffer().load_acquire(PRODUCER_OFFSET)?, 3);
        // User space consumed two.
        q.buffer().store_release(CONSUMER_OFFSET, 2)?;
        assert_eq!(q.count(), 1);
        q.push(&[3; 72])?;
        q.push(&[4; 72])?;
        assert_eq!(q.push(&[5; 72]).err(), Some(ENOSPC));
        // The producer wrapped: slot 0 holds the fifth element.
        assert_eq!(q.buffer().load_acquire(PRODUCER_OFFSET)?, 1);
        let mut first = [0u8; 1];
        q.buffer().read(HEADER_LEN, &mut first)?;
        assert_eq!(first[0], 4);
        Ok(())
    }

    #[test]
    fn oversized_element_is_refused() -> Result {
        let mut q = ToUserQueue::new(Geometry::new(1, 64)?)?;
        assert_eq!(q.push(&[0; 65]).err(), Some(EINVAL));
        assert_eq!(q.count(), 0);
        Ok(())
    }

    #[test]
    fn garbage_consumer_index_stays_in_bounds() -> Result {
        let mut q = ToUserQueue::new(Geometry::new(3, 64)?)?; // 4 slots
        q.buffer().store_release(CONSUMER_OFFSET, 0xffff_fff1)?;
        // Masked to slot 1: the queue looks like it holds 3 and is full.
        assert_eq!(q.count(), 3);
        assert_eq!(q.push(&[1; 64]).err(), Some(ENOSPC));
        assert_eq!(q.buffer().load_acquire(PRODUCER_OFFSET)?, 0);
        // Masked to slot 0: empty, and the next element goes to slot 0, inside the buffer.
        q.buffer().store_release(CONSUMER_OFFSET, 0xffff_fff0)?;
        assert_eq!(q.count(), 0);
        q.push(&[7; 64])?;
        assert_eq!(q.count(), 1);
        assert_eq!(q.buffer().load_acquire(PRODUCER_OFFSET)?, 1);
        let mut slot = [0u8; 64];
        q.buffer().read(HEADER_LEN, &mut slot)?;
        assert!(slot == [7; 64]);
        Ok(())
    }

    #[test]
    fn copy_into_keeps_order_and_checks_room() -> Result {
        let mut q = ToUserQueue::new(Geometry::new(3, 72)?)?; // 4 slots
        q.push(&[0; 72])?;
        q.push(&[0; 72])?;
        q.buffer().store_release(CONSUMER_OFFSET, 2)?;
        // Slots 2, 3 and then 0: the waiting elements wrap.
        for tag in 10..13u8 {
            q.push(&[tag; 72])?;
        }
        assert_eq!(q.count(), 3);
        let mut big = ToUserQueue::new(Geometry::new(7, 72)?)?;
        q.copy_into(&mut big)?;
        assert_eq!(q.count(), 3);
        assert_eq!(big.count(), 3);
        assert_eq!(big.buffer().load_acquire(PRODUCER_OFFSET)?, 3);
        let mut tag = [0u8; 1];
        for (i, want) in (10..13u8).enumerate() {
            big.buffer().read(HEADER_LEN + i * 128, &mut tag)?;
            assert_eq!(tag[0], want);
        }
        // Three waiting do not fit a queue of one.
        let mut small = ToUserQueue::new(Geometry::new(1, 72)?)?;
        assert_eq!(big.copy_into(&mut small).err(), Some(EINVAL));
        assert_eq!(big.count(), 3);
        Ok(())
    }

    #[test]
    fn from_user_queue_counts_masked_user_producer() -> Result {
        let q = FromUserQueue::new(Geometry::new(7, 64)?)?;
        assert_eq!(q.count(), 0);
        q.buffer().store_release(PRODUCER_OFFSET, 5)?;
        assert_eq!(q.count(), 5);
        // A wild producer index is masked into the ring: never more than it holds.
        q.buffer().store_release(PRODUCER_OFFSET, u32::MAX)?;
        assert!(q.count() <= q.geometry().capacity());
        Ok(())
    }

    #[test]
    fn from_user_resize_copies_posted_entries_in_order() -> Result {
        let old = FromUserQueue::new(Geometry::new(3, 64)?)?;
        for i in 0..3u8 {
            old.buffer()
                .write(old.geometry().slot_offset(u32::from(i)), &[i + 1; 8])?;
        }
        old.buffer().store_release(PRODUCER_OFFSET, 3)?;
        let mut bigger = FromUserQueue::new(Geometry::new(15, 64)?)?;
        old.copy_into(&mut bigger)?;
        assert_eq!(bigger.count(), 3);
        assert_eq!(bigger.buffer().load_acquire(PRODUCER_OFFSET)?, 3);
        for i in 0..3u8 {
            let mut got = [0u8; 8];
            bigger
                .buffer()
                .read(bigger.geometry().slot_offset(u32::from(i)), &mut got)?;
            assert_eq!(got, [i + 1; 8]);
        }
        // Three posted entries do not fit a queue of one.
        let mut small = FromUserQueue::new(Geometry::new(1, 64)?)?;
        assert_eq!(old.copy_into(&mut small), Err(EINVAL));
        Ok(())
    }
    #[test]
    fn from_user_consumption_reads_in_order_and_publishes() -> Result {
        let mut q = FromUserQueue::new(Geometry::new(3, 64)?)?; // 4 slots
        let g = q.geometry();
        for i in 0..3u8 {
            q.buffer()
                .write(g.slot_offset(u32::from(i)), &[10 + i; 8])?;
        }
        let mut head = [0u8; 8];
        // Nothing posted yet.
        assert!(q.read_head(&mut head).is_none());
        q.buffer().store_release(PRODUCER_OFFSET, 2)?;
        assert!(matches!(q.read_head(&mut head), Some(Ok(()))));
        assert_eq!(head, [10; 8]);
        q.advance()?;
        assert_eq!(q.buffer().load_acquire(CONSUMER_OFFSET)?, 1);
        assert!(matches!(q.read_head(&mut head), Some(Ok(()))));
        assert_eq!(head, [11; 8]);
        q.advance()?;
        // Empty again: advancing past the producer does nothing.
        q.advance()?;
        assert_eq!(q.count(), 0);
        assert_eq!(q.buffer().load_acquire(CONSUMER_OFFSET)?, 2);
        // A read longer than a slot is refused rather than reaching into the next one.
        q.buffer().store_release(PRODUCER_OFFSET, 3)?;
        let mut big = [0u8; 65];
        assert_eq!(q.read_head(&mut big).map(|r| r.err()), Some(Some(EINVAL)));
        Ok(())
    }

    #[test]
    fn from_user_take_copies_a_slot_and_consumes_it() -> Result {
        let mut q = FromUserQueue::new(Geometry::new(3, 64)?)?;
        let g = q.geometry();
        q.buffer().write(g.slot_offset(0), &[7; 64])?;
        q.buffer().write(g.slot_offset(1), &[8; 64])?;
        let mut slot = [0u8; 128];
        assert!(q.take_head(&mut slot).is_none());
        q.buffer().store_release(PRODUCER_OFFSET, 2)?;
        // Room for less than a slot: refused, and the entry stays posted.
        assert_eq!(
            q.take_head(&mut slot[..63]).map(|r| r.err()),
            Some(Some(EINVAL))
        );
        assert_eq!(q.count(), 2);
        // The copy is one slot long, whatever room the caller gave.
        assert_eq!(q.take_head(&mut slot), Some(Ok(&[7u8; 64][..])));
        assert_eq!(q.buffer().load_acquire(CONSUMER_OFFSET)?, 1);
        assert_eq!(q.take_head(&mut slot), Some(Ok(&[8u8; 64][..])));
        assert!(q.take_head(&mut slot).is_none());
        Ok(())
    }

    #[test]
    fn from_user_discard_skips_to_the_masked_producer() -> Result {
        let mut q = FromUserQueue::new(Geometry::new(7, 64)?)?; // 8 slots
        q.buffer().store_release(PRODUCER_OFFSET, 0xdead_0005)?;
        assert_eq!(q.count(), 5);
        q.discard_all()?;
        assert_eq!(q.count(), 0);
        assert_eq!(q.buffer().load_acquire(CONSUMER_OFFSET)?, 5);
        // User space resumes posting from where it was.
        q.buffer().store_release(PRODUCER_OFFSET, 7)?;
        assert_eq!(q.count(), 2);
        Ok(())
    }
}
