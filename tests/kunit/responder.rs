// SPDX-License-Identifier: GPL-2.0

//! The responder's decisions as pure logic: a read answered a burst at a time within its
//! window, the reads and atomics kept to answer duplicates, and which duplicate sends and
//! writes are acknowledged again.

#[kernel::prelude::kunit_tests(rrxe_responder)]
mod tests {
    use crate::kunit::route;
    use crate::{
        memory::PageFaults,
        net::Outbox,
        transport::responder::{
            atomic_answered, duplicate_acknowledgment, placement_answered, read_answered, remember,
            send_reply, ReadReply, ReplyProgress, Responded,
        },
        wire::{Headers, Operation, Position},
    };
    use kernel::prelude::*;

    /// Decodes each packet: (PSN, position, payload length).
    fn decode(out: Outbox) -> Result<KVec<(u32, Position, usize)>> {
        let mut seen = KVec::new();
        for packet in out.into_packets() {
            let received = packet.check()?;
            let op = received.headers.opcode;
            assert_eq!(op.operation, Operation::ReadResponse);
            seen.push(
                (
                    received.headers.bth.psn,
                    op.position,
                    received.payload().len(),
                ),
                GFP_KERNEL,
            )?;
        }
        Ok(seen)
    }

    #[test]
    fn a_read_is_answered_a_burst_at_a_time() -> Result {
        // 40 packets of 256 bytes and one of 100, from PSN 0xfffff0 (wrapping).
        let mut reply = ReadReply::new(None, route(), 0x11, 0, 40 * 256 + 100, 256, 0xff_fff0, 7);
        let mut all = KVec::new();
        let mut bursts = 0;
        loop {
            let mut out = Outbox::new();
            let progress = send_reply(&mut reply, &mut PageFaults::default(), &mut out);
            assert!(progress != ReplyProgress::Failed(0));
            bursts += 1;
            // Never more than a burst at a time, whatever the read's size.
            assert!(out.len() <= 16);
            for seen in decode(out)? {
                all.push(seen, GFP_KERNEL)?;
            }
            if progress == ReplyProgress::Done {
                break;
            }
            assert!(bursts < 10);
        }
        assert_eq!(bursts, 3);
        assert_eq!(all.len(), 41);
        for (i, &(psn, position, len)) in all.iter().enumerate() {
            assert_eq!(psn, (0xff_fff0 + i as u32) & 0xff_ffff);
            let want = match i {
                0 => Position::First,
                40 => Position::Last,
                _ => Position::Middle,
            };
            assert_eq!(position, want);
            assert_eq!(len, if i == 40 { 100 } else { 256 });
        }
        Ok(())
    }

    #[test]
    fn a_read_of_no_bytes_is_one_packet() -> Result {
        let mut reply = ReadReply::new(None, route(), 0x11, 0, 0, 1024, 5, 1);
        let mut out = Outbox::new();
        assert_eq!(
            send_reply(&mut reply, &mut PageFaults::default(), &mut out),
            ReplyProgress::Done
        );
        let seen = decode(out)?;
        assert_eq!(seen.len(), 1);
        assert!(seen[0] == (5, Position::Only, 0));
        Ok(())
    }

    #[test]
    fn duplicates_are_found_among_those_kept() -> Result {
        let mut responded = KVec::new();
        remember(
            &mut responded,
            2,
            Responded::Read {
                first_psn: 0xff_fffe,
                packets: 4,
                msn: 8,
            },
        );
        remember(
            &mut responded,
            2,
            Responded::Atomic {
                psn: 2,
                original: 0xdead,
                msn: 9,
            },
        );
        // Every PSN of the read, across the wrap, and none beyond.
        for psn in [0xff_fffe, 0xff_ffff, 0, 1] {
            assert_eq!(read_answered(&responded, psn), Some(8));
        }
        assert_eq!(read_answered(&responded, 2), None);
        assert_eq!(read_answered(&responded, 0xff_fffd), None);
        assert_eq!(atomic_answered(&responded, 2), Some((0xdead, 9)));
        assert_eq!(atomic_answered(&responded, 1), None);
        // A third one takes the place of the oldest (max_dest_rd_atomic is 2).
        remember(
            &mut responded,
            2,
            Responded::Atomic {
                psn: 3,
                original: 1,
                msn: 10,
            },
        );
        assert_eq!(responded.len(), 2);
        assert_eq!(read_answered(&responded, 0), None);
        assert_eq!(atomic_answered(&responded, 2), Some((0xdead, 9)));
        assert_eq!(atomic_answered(&responded, 3), Some((1, 10)));
        Ok(())
    }

    #[test]
    fn atomic_writes_and_flushes_are_answered_again_not_done_again() -> Result {
        let mut responded = KVec::new();
        remember(
            &mut responded,
            2,
            Responded::Placement { psn: 0x10, msn: 3 },
        );
        remember(
            &mut responded,
            2,
            Responded::Atomic {
                psn: 0x11,
                original: 5,
                msn: 4,
            },
        );
        assert_eq!(placement_answered(&responded, 0x10), Some(3));
        assert_eq!(placement_answered(&responded, 0x11), None);
        assert_eq!(read_answered(&responded, 0x10), None);
        assert_eq!(atomic_answered(&responded, 0x10), None);
        // Forgotten once max_dest_rd_atomic newer ones are kept: then dropped as IBTA
        // allows for a duplicate no longer held.
        remember(
            &mut responded,
            2,
            Responded::Placement { psn: 0x12, msn: 5 },
        );
        assert_eq!(placement_answered(&responded, 0x10), None);
        assert_eq!(placement_answered(&responded, 0x12), Some(5));
        Ok(())
    }

    #[test]
    fn duplicates_are_acknowledged_with_their_own_psn_when_they_ask() -> Result {
        // A resent RC send: its middle packets without AckReq, its last with it; a resent
        // write's last (RDMA WRITE LAST, 0x08); a write's middle packet asked within the
        // requester's window; across the PSN wrap.
        let mut middle = Headers::new(0x01, 7, 100).ok_or(EINVAL)?;
        assert_eq!(duplicate_acknowledgment(&middle), None);
        let mut last = Headers::new(0x02, 7, 101).ok_or(EINVAL)?;
        last.bth.ack_request = true;
        assert_eq!(duplicate_acknowledgment(&last), Some(101));
        let mut write_last = Headers::new(0x08, 7, 0xff_ffff).ok_or(EINVAL)?;
        assert_eq!(duplicate_acknowledgment(&write_last), None);
        write_last.bth.ack_request = true;
        assert_eq!(duplicate_acknowledgment(&write_last), Some(0xff_ffff));
        middle.bth.ack_request = true;
        assert_eq!(duplicate_acknowledgment(&middle), Some(100));
        Ok(())
    }
}
