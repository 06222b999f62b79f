// SPDX-License-Identifier: GPL-2.0

//! Injected faults: which rates are taken, that a seed makes the same faults again at the
//! rates asked, and what each fault does to the packets of an engine round; and the layout
//! of the control methods' structures, which rrxectl mirrors.

#[kernel::prelude::kunit_tests(rrxe_faults)]
mod tests {
    use crate::control::{FaultsIn, QpStateOut};
    use crate::kunit::route;
    use crate::net::{Outbox, Packet};
    use crate::transport::faults::{Fault, FaultRates, Faults, MAX_DELAYED, PER_MILLION};
    use crate::transport::retry::{before, Moment};
    use crate::wire::{icrc_is_valid, Headers, BTH_RESERVED_BYTE};
    use kernel::{prelude::*, time::Delta};

    /// An RC SEND_ONLY of 12 bytes (the packet codec suite's vector).
    const SEND_ONLY: [u8; 28] = [
        0x04, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x11, 0x80, 0x12, 0x34, 0x56, b'h', b'e', b'l',
        b'l', b'o', b' ', b'r', b'r', b'x', b'e', b'!', b'!', 0x1d, 0xc5, 0x34, 0x1c,
    ];

    fn packet() -> Result<Packet> {
        let (headers, payload) = Headers::parse(&SEND_ONLY)?;
        Packet::build(&route(), &headers, payload.len(), |buf| {
            buf.copy_from_slice(&SEND_ONLY[payload.clone()]);
            Ok(())
        })
    }

    fn outbox(n: usize) -> Result<Outbox> {
        let mut out = Outbox::new();
        for _ in 0..n {
            out.push(packet()?)?;
        }
        Ok(out)
    }

    fn rates(drop: u32, duplicate: u32, delay: u32, corrupt: u32) -> FaultRates {
        FaultRates {
            drop,
            duplicate,
            delay,
            corrupt,
            delay_us: 1000,
            seed: 7,
        }
    }

    #[test]
    fn rates_beyond_every_packet_or_a_second_are_refused() {
        assert!(rates(0, 0, 0, 0).validate().is_ok());
        assert!(rates(250_000, 250_000, 250_000, 250_000).validate().is_ok());
        assert!(rates(250_000, 250_000, 250_000, 250_001)
            .validate()
            .is_err());
        assert!(rates(u32::MAX, 1, 0, 0).validate().is_err());
        let mut slow = rates(0, 0, 1, 0);
        slow.delay_us = 1_000_001;
        assert!(slow.validate().is_err());
    }

    #[test]
    fn a_seed_draws_the_same_faults_at_the_rates_asked() {
        let mut a = Faults::default();
        let mut b = Faults::default();
        a.set(rates(50_000, 0, 0, 0));
        b.set(rates(50_000, 0, 0, 0));
        let mut drops = 0;
        for _ in 0..20_000 {
            let fault = a.draw();
            assert_eq!(fault, b.draw());
            if fault == Fault::Drop {
                drops += 1;
            }
        }
        // 5% of 20000 is 1000; a fair generator stays well within 20% of it.
        assert!((800..1200).contains(&drops));
        // Another seed draws other faults.
        let mut c = Faults::default();
        c.set(FaultRates {
            seed: 8,
            ..rates(50_000, 0, 0, 0)
        });
        a.set(rates(50_000, 0, 0, 0));
        let differ = (0..1000).filter(|_| a.draw() != c.draw()).count();
        assert!(differ > 0);
        // No rates, no faults.
        a.set(FaultRates::default());
        assert!((0..1000).all(|_| a.draw() == Fault::None));
    }

    #[test]
    fn every_packet_dropped_leaves_the_round_empty() -> Result {
        let mut faults = Faults::default();
        faults.set(rates(PER_MILLION, 0, 0, 0));
        let mut out = outbox(5)?;
        faults.apply(&mut out, Moment::now());
        assert!(out.is_empty());
        assert_eq!(faults.counts().dropped, 5);
        Ok(())
    }

    #[test]
    fn duplicates_and_corruptions_are_copies() -> Result {
        let mut faults = Faults::default();
        faults.set(rates(0, PER_MILLION, 0, 0));
        let mut out = outbox(3)?;
        faults.apply(&mut out, Moment::now());
        assert_eq!(out.len(), 6);
        assert_eq!(faults.counts().duplicated, 3);
        for p in out.into_packets().iter() {
            assert_eq!(p.bytes(), &SEND_ONLY[..]);
        }

        faults.set(rates(0, 0, 0, PER_MILLION));
        let mut out = outbox(4)?;
        faults.apply(&mut out, Moment::now());
        assert_eq!(faults.counts().corrupted, 4);
        let mut ip_udp = [0u8; 28];
        route().write_headers(&mut ip_udp, SEND_ONLY.len());
        for p in out.into_packets().iter() {
            // One bit differs, which the ICRC catches.
            let flipped: u32 = p
                .bytes()
                .iter()
                .zip(SEND_ONLY.iter())
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(flipped, 1);
            assert!(!icrc_is_valid(&ip_udp, p.bytes()));
        }
        // Never the byte the ICRC leaves out: its bits go to the next byte.
        let skipped = packet()?.corrupted_copy(8 * BTH_RESERVED_BYTE as u32)?;
        assert_eq!(
            skipped.bytes()[BTH_RESERVED_BYTE],
            SEND_ONLY[BTH_RESERVED_BYTE]
        );
        assert_eq!(
            skipped.bytes()[BTH_RESERVED_BYTE + 1],
            SEND_ONLY[BTH_RESERVED_BYTE + 1] ^ 1
        );
        Ok(())
    }

    #[test]
    fn delayed_packets_go_out_when_due_and_are_bounded() -> Result {
        let mut faults = Faults::default();
        faults.set(rates(0, 0, PER_MILLION, 0));
        let start = Moment::now();
        let mut out = outbox(2)?;
        faults.apply(&mut out, start);
        assert!(out.is_empty());
        assert_eq!(faults.held(), 2);
        let due = faults.next_release().ok_or(EINVAL)?;
        assert!(before(start, due));
        // Not yet due: nothing leaves.
        let mut out = Outbox::new();
        faults.apply(&mut out, start);
        assert!(out.is_empty());
        // Due: both leave, in order, even once the faults are cleared.
        faults.set(FaultRates::default());
        let mut out = Outbox::new();
        faults.apply(&mut out, start + Delta::from_micros(1000));
        assert_eq!(out.len(), 2);
        assert_eq!(faults.held(), 0);
        assert!(faults.next_release().is_none());
        // Beyond the bound, packets go out at once.
        faults.set(rates(0, 0, PER_MILLION, 0));
        let mut out = outbox(MAX_DELAYED + 3)?;
        faults.apply(&mut out, start);
        assert_eq!(faults.held(), MAX_DELAYED);
        assert_eq!(out.len(), 3);
        Ok(())
    }

    #[test]
    fn control_structures_have_the_layout_rrxectl_reads() {
        assert_eq!(size_of::<FaultsIn>(), 32);
        assert_eq!(size_of::<QpStateOut>(), 208);
        assert_eq!(core::mem::offset_of!(QpStateOut, tx_packets), 64);
        assert_eq!(core::mem::offset_of!(QpStateOut, faults), 144);
        assert_eq!(core::mem::offset_of!(QpStateOut, injected_drops), 176);
    }
}
