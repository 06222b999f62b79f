// SPDX-License-Identifier: GPL-2.0

//! Kernel-side queues of in-kernel consumers: ring order, fullness, wrap-around, and the
//! removal of a destroyed queue pair's completions; which operations each service posts.

#[kernel::prelude::kunit_tests(rrxe_kqueue)]
mod tests {
    use crate::{
        queue::in_kernel::KernelQueue,
        queue::wqe::SendOpcode,
        verbs::qp::state::Service,
        verbs::qp::{send_opcode_of, service_allows},
    };
    use core::sync::atomic::{AtomicUsize, Ordering};
    use kernel::{
        prelude::*,
        rdma::{post::WrOpcode, wc::WcOpcode},
    };

    fn queue(capacity: usize) -> Result<KernelQueue<u32>> {
        KernelQueue::new(capacity, || Ok(0))
    }

    fn push(q: &mut KernelQueue<u32>, value: u32) -> Result {
        q.push_with(|slot| {
            *slot = value;
            Ok(())
        })
    }

    fn drain(q: &mut KernelQueue<u32>) -> Result<KVec<u32>> {
        let mut out = KVec::new();
        while let Some(&v) = q.front() {
            out.push(v, GFP_KERNEL)?;
            q.pop_front();
        }
        Ok(out)
    }

    #[test]
    fn fills_to_capacity_then_refuses() -> Result {
        let mut q = queue(3)?;
        for v in 1..=3 {
            push(&mut q, v)?;
        }
        assert!(q.is_full());
        assert_eq!(push(&mut q, 4), Err(ENOMEM));
        assert_eq!(q.len(), 3);
        assert_eq!(&drain(&mut q)?[..], &[1, 2, 3]);
        assert_eq!(q.len(), 0);
        Ok(())
    }

    #[test]
    fn a_failed_fill_appends_nothing() -> Result {
        let mut q = queue(2)?;
        assert_eq!(q.push_with(|_| Err(EINVAL)), Err(EINVAL));
        assert_eq!(q.len(), 0);
        assert!(q.front().is_none());
        Ok(())
    }

    #[test]
    fn wraps_around_in_order() -> Result {
        let mut q = queue(3)?;
        for round in 0..5u32 {
            push(&mut q, round * 10)?;
            push(&mut q, round * 10 + 1)?;
            assert_eq!(q.front(), Some(&(round * 10)));
            q.pop_front();
            assert_eq!(q.front(), Some(&(round * 10 + 1)));
            q.pop_front();
        }
        assert_eq!(q.len(), 0);
        Ok(())
    }

    #[test]
    fn retain_keeps_order_across_the_wrap() -> Result {
        let mut q = queue(4)?;
        for v in [90, 91, 92] {
            push(&mut q, v)?;
        }
        q.pop_front();
        q.pop_front();
        // Head at slot 2: elements in slots 2, 3, 0, 1.
        for v in [1, 2, 3] {
            push(&mut q, v)?;
        }
        q.retain(|&v| v != 2 && v != 92);
        assert_eq!(q.len(), 2);
        push(&mut q, 4)?;
        push(&mut q, 5)?;
        assert_eq!(push(&mut q, 6), Err(ENOMEM));
        assert_eq!(&drain(&mut q)?[..], &[1, 3, 4, 5]);
        Ok(())
    }

    /// Counts the drops of elements that held a value: a completion's queue pair reference
    /// must go when the completion leaves the queue, not when its slot is next reused.
    static HELD_DROPPED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Default)]
    struct Held(Option<u32>);

    impl Drop for Held {
        fn drop(&mut self) {
            if self.0.is_some() {
                HELD_DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[test]
    fn taken_and_removed_elements_are_dropped_at_once() -> Result {
        HELD_DROPPED.store(0, Ordering::Relaxed);
        let mut q = KernelQueue::new(4, || Ok(Held::default()))?;
        for v in 1..=3 {
            q.push_with(|slot| {
                *slot = Held(Some(v));
                Ok(())
            })?;
        }
        let first = q.take_front().ok_or(EINVAL)?;
        assert_eq!(first.0, Some(1));
        assert_eq!(HELD_DROPPED.load(Ordering::Relaxed), 0);
        drop(first);
        assert_eq!(HELD_DROPPED.load(Ordering::Relaxed), 1);
        q.retain_dropping(|held| held.0 != Some(2));
        assert_eq!(q.len(), 1);
        assert_eq!(HELD_DROPPED.load(Ordering::Relaxed), 2);
        assert_eq!(q.take_front().and_then(|held| held.0), Some(3));
        assert_eq!(HELD_DROPPED.load(Ordering::Relaxed), 3);
        assert!(q.take_front().is_none());
        drop(q);
        // Every slot left holds nothing.
        assert_eq!(HELD_DROPPED.load(Ordering::Relaxed), 3);
        Ok(())
    }

    #[test]
    fn clear_empties() -> Result {
        let mut q = queue(2)?;
        push(&mut q, 1)?;
        q.clear();
        assert!(q.front().is_none());
        push(&mut q, 7)?;
        push(&mut q, 8)?;
        assert_eq!(&drain(&mut q)?[..], &[7, 8]);
        Ok(())
    }

    #[test]
    fn an_empty_queue_takes_nothing() -> Result {
        let mut q = queue(0)?;
        assert_eq!(push(&mut q, 1), Err(ENOMEM));
        q.pop_front();
        q.retain(|_| true);
        assert!(q.front().is_none());
        Ok(())
    }

    #[test]
    fn datagram_services_only_send() {
        for service in [Service::UnreliableDatagram, Service::GeneralServices] {
            assert!(service_allows(service, WrOpcode::Send));
            assert!(service_allows(service, WrOpcode::SendWithImm));
            assert!(!service_allows(service, WrOpcode::RdmaWrite));
            assert!(!service_allows(service, WrOpcode::RdmaRead));
            assert!(!service_allows(service, WrOpcode::RegMr));
        }
        assert!(service_allows(
            Service::UnreliableConnected,
            WrOpcode::RdmaWrite
        ));
        assert!(!service_allows(
            Service::UnreliableConnected,
            WrOpcode::RdmaRead
        ));
        assert!(!service_allows(
            Service::UnreliableConnected,
            WrOpcode::AtomicFetchAdd
        ));
        assert!(service_allows(
            Service::ReliableConnected,
            WrOpcode::AtomicCompareSwap
        ));
    }

    #[test]
    fn kernel_sends_carry_their_operation() {
        let expected = [
            (
                WrOpcode::RdmaWrite,
                SendOpcode::RdmaWrite,
                WcOpcode::RdmaWrite,
            ),
            (
                WrOpcode::RdmaWriteWithImm,
                SendOpcode::RdmaWriteWithImm,
                WcOpcode::RdmaWrite,
            ),
            (WrOpcode::Send, SendOpcode::Send, WcOpcode::Send),
            (
                WrOpcode::SendWithImm,
                SendOpcode::SendWithImm,
                WcOpcode::Send,
            ),
            (WrOpcode::RdmaRead, SendOpcode::RdmaRead, WcOpcode::RdmaRead),
            (
                WrOpcode::AtomicCompareSwap,
                SendOpcode::AtomicCompareSwap,
                WcOpcode::CompareSwap,
            ),
            (
                WrOpcode::AtomicFetchAdd,
                SendOpcode::AtomicFetchAdd,
                WcOpcode::FetchAdd,
            ),
            (
                WrOpcode::LocalInvalidate,
                SendOpcode::LocalInvalidate,
                WcOpcode::LocalInvalidate,
            ),
            (
                WrOpcode::SendWithInvalidate,
                SendOpcode::SendWithInvalidate,
                WcOpcode::Send,
            ),
            (WrOpcode::RegMr, SendOpcode::RegMr, WcOpcode::RegMr),
        ];
        for (posted, carried, completed) in expected {
            assert_eq!(send_opcode_of(posted), carried);
            assert_eq!(carried.completion_opcode(), completed);
        }
        // The registration is the kernel's alone: user space cannot name it.
        assert_eq!(SendOpcode::from_raw(SendOpcode::RegMr as u32), None);
    }

    #[test]
    fn a_resize_moves_the_requests_in_order() -> Result {
        let mut old = queue(3)?;
        for v in [7, 8, 9] {
            push(&mut old, v)?;
        }
        old.pop_front();
        push(&mut old, 10)?;
        // The old ring has wrapped: 8, 9, 10 from slot 1.
        let mut small = queue(2)?;
        assert_eq!(old.move_into(&mut small), Err(EINVAL));
        assert_eq!(old.len(), 3);
        assert_eq!(small.len(), 0);
        let mut large = queue(4)?;
        old.move_into(&mut large)?;
        assert!(old.front().is_none());
        push(&mut large, 11)?;
        assert_eq!(push(&mut large, 12), Err(ENOMEM));
        assert_eq!(&drain(&mut large)?[..], &[8, 9, 10, 11]);
        Ok(())
    }
}
