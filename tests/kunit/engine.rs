// SPDX-License-Identifier: GPL-2.0

//! The engine's and the requester's flow decisions as pure logic: which packets an inbox
//! takes, how far a reliable sender runs ahead of its acknowledgments, that an acknowledgment
//! lost for want of memory is counted, and when a read or atomic may start.

#[kernel::prelude::kunit_tests(rrxe_flow)]
mod tests {
    use crate::net::Outbox;
    use crate::queue::wqe::SendOpcode;
    use crate::transport::{
        engine::{inbox_admits, INBOX_PACKETS, REPLY_ROOM},
        psn::{Psn, PSN_MASK},
        requester::{
            answered_by_read_response, asks_ack, flush_is_valid, needs_response, read_gate,
            window_open, ReadGate, Window, MAX_UNACKNOWLEDGED, MIN_WINDOW,
        },
    };
    use crate::wire::Feth;
    use kernel::prelude::*;

    #[test]
    fn an_inbox_drops_packets_beyond_its_cap() {
        assert!(inbox_admits(0));
        assert!(inbox_admits(INBOX_PACKETS - 1));
        assert!(!inbox_admits(INBOX_PACKETS));
        assert!(!inbox_admits(usize::MAX));
        // A reliable sender's window and a reader's held-back responses fit, with room.
        assert!(MAX_UNACKNOWLEDGED as usize + REPLY_ROOM + 64 < INBOX_PACKETS);
    }

    #[test]
    fn an_acknowledgment_without_memory_is_counted_lost() {
        let mut out = Outbox::new();
        out.push_once(Err(ENOMEM));
        assert_eq!(out.lost(), 1);
        assert!(out.is_empty());
    }

    #[test]
    fn a_reliable_sender_stays_within_its_window() {
        let oldest = Psn::new(PSN_MASK - 10);
        let full = Window::default();
        assert_eq!(full.size(), MAX_UNACKNOWLEDGED);
        assert!(window_open(oldest, oldest, full));
        assert!(window_open(
            oldest,
            oldest.add(MAX_UNACKNOWLEDGED - 1),
            full
        ));
        // Across the wrap.
        assert!(!window_open(oldest, oldest.add(MAX_UNACKNOWLEDGED), full));
        assert!(!window_open(
            oldest,
            oldest.add(MAX_UNACKNOWLEDGED + 500),
            full
        ));
        let mut small = full;
        small.shrink();
        assert!(window_open(oldest, oldest.add(63), small));
        assert!(!window_open(oldest, oldest.add(64), small));
    }

    #[test]
    fn losses_halve_the_window_and_acknowledgments_grow_it_back() {
        let mut window = Window::default();
        window.shrink();
        assert_eq!(window.size(), MAX_UNACKNOWLEDGED / 2);
        for _ in 0..10 {
            window.shrink();
        }
        assert_eq!(window.size(), MIN_WINDOW);
        // A window's worth of acknowledgments doubles it.
        window.grow(MIN_WINDOW);
        assert_eq!(window.size(), 2 * MIN_WINDOW);
        window.grow(u32::MAX);
        assert_eq!(window.size(), MAX_UNACKNOWLEDGED);
    }

    #[test]
    fn a_long_message_asks_for_acknowledgments_every_half_window() {
        let unacked = Psn::new(PSN_MASK - 10);
        let full = Window::default();
        let mut asked = [0u32; 4];
        let mut count = 0;
        for n in (0..300).filter(|&n| asks_ack(unacked, unacked.add(n), full)) {
            if let Some(slot) = asked.get_mut(count) {
                *slot = n;
            }
            count += 1;
        }
        // The packet that fills the window asks, and so does the one half a window earlier.
        assert_eq!(count, 4);
        assert_eq!(asked, [63, 127, 191, 255]);
        assert!(asks_ack(unacked, unacked.add(MAX_UNACKNOWLEDGED - 1), full));
        // The smallest window's last packet asks too.
        let mut small = full;
        for _ in 0..10 {
            small.shrink();
        }
        assert!(asks_ack(unacked, unacked.add(MIN_WINDOW - 1), small));
        assert!(asks_ack(unacked, unacked.add(MIN_WINDOW / 2 - 1), small));
        assert!(!asks_ack(unacked, unacked.add(MIN_WINDOW / 2), small));
    }

    #[test]
    fn reads_start_within_max_rd_atomic() {
        assert_eq!(read_gate(0, 1), ReadGate::Start);
        assert_eq!(read_gate(1, 1), ReadGate::Wait);
        assert_eq!(read_gate(15, 16), ReadGate::Start);
        assert_eq!(read_gate(16, 16), ReadGate::Wait);
        assert_eq!(read_gate(0, 0), ReadGate::Never);
    }

    #[test]
    fn atomic_writes_and_flushes_wait_for_a_read_response() {
        // They hold a responder resource, as reads and atomics do, and complete on a read
        // response of no bytes.
        for opcode in [SendOpcode::AtomicWrite, SendOpcode::Flush] {
            assert!(needs_response(opcode));
            assert!(answered_by_read_response(opcode));
        }
        assert!(answered_by_read_response(SendOpcode::RdmaRead));
        assert!(!answered_by_read_response(SendOpcode::AtomicFetchAdd));
        assert!(!needs_response(SendOpcode::RdmaWrite));
    }

    #[test]
    fn a_flush_names_a_placement_type_and_a_selectivity_level_that_exist() {
        let both = Feth::GLOBAL | Feth::PERSISTENT;
        for placement in [Feth::GLOBAL, Feth::PERSISTENT, both] {
            assert!(flush_is_valid(placement, Feth::RANGE));
            assert!(flush_is_valid(placement, Feth::REGION));
            assert!(!flush_is_valid(placement, 2));
            assert!(!flush_is_valid(placement, 3));
        }
        assert!(!flush_is_valid(0, Feth::RANGE));
        assert!(!flush_is_valid(1 << 2, Feth::RANGE));
        assert!(!flush_is_valid(0xf, Feth::REGION));
    }
}
