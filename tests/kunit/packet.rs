// SPDX-License-Identifier: GPL-2.0

//! The RoCEv2 packet codec: opcodes, header encoding and decoding, IPv4, IPv6 and UDP
//! headers, and the ICRC over either against vectors computed independently (zlib's CRC-32
//! over the masked fields).

#[kernel::prelude::kunit_tests(rrxe_packet)]
mod tests {
    use crate::kunit::route;
    use crate::net::udp::{addressing, HEADROOM};
    use crate::net::Packet;
    use crate::wire::{
        icrc_is_valid, pad_len, seal, Aeth, Feth, Headers, NakCode, Opcode, Operation, Position,
        Route, Syndrome, TransportType, BTH_LEN, ICRC_LEN,
    };
    use kernel::{net::skbuff::SkBuff, prelude::*};

    /// An RC SEND_ONLY to QP 0x11, PSN 0x123456, acknowledgment requested, 12 bytes.
    const SEND_ONLY: [u8; 28] = [
        0x04, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x11, 0x80, 0x12, 0x34, 0x56, b'h', b'e', b'l',
        b'l', b'o', b' ', b'r', b'r', b'x', b'e', b'!', b'!', 0x1d, 0xc5, 0x34, 0x1c,
    ];
    /// Its IPv4 header.
    const IPV4: [u8; 20] = [
        0x45, 0x00, 0x00, 0x38, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x22, 0x98, 10, 0, 2, 15, 10,
        0, 2, 15,
    ];

    #[test]
    fn ip_and_udp_headers_match_the_vector() {
        let mut out = [0u8; 28];
        route().write_headers(&mut out, SEND_ONLY.len());
        assert_eq!(out[..20], IPV4);
        assert_eq!(out[20..], [0xc1, 0x23, 0x12, 0xb7, 0x00, 0x24, 0x00, 0x00]);
    }

    #[test]
    fn icrc_matches_an_independent_computation() {
        let mut headers = [0u8; 28];
        route().write_headers(&mut headers, SEND_ONLY.len());
        assert!(icrc_is_valid(&headers, &SEND_ONLY));
        let mut packet = SEND_ONLY;
        packet[24..].fill(0);
        seal(&headers, &mut packet);
        assert_eq!(packet, SEND_ONLY);
    }

    #[test]
    fn icrc_ignores_the_masked_fields_only() {
        let mut headers = [0u8; 28];
        route().write_headers(&mut headers, SEND_ONLY.len());
        // Routers may change the TTL and the checksum, and set FECN/BECN.
        let mut changed = headers;
        changed[8] = 3;
        changed[10] = 0;
        let mut packet = SEND_ONLY;
        packet[4] = 0xc0;
        assert!(icrc_is_valid(&changed, &packet));
        // A payload byte, the PSN or an address is covered.
        for at in [13, 11] {
            let mut bad = SEND_ONLY;
            bad[at] ^= 1;
            assert!(!icrc_is_valid(&headers, &bad));
        }
        let mut other = headers;
        other[15] ^= 1;
        assert!(!icrc_is_valid(&other, &SEND_ONLY));
    }

    /// An IPv6 route: 2001:db8::1 to 2001:db8::2, traffic class 0x12, flow label 0x12345.
    fn route6() -> Route {
        let mut source = [0u8; 16];
        source[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        let mut destination = source;
        source[15] = 1;
        destination[15] = 2;
        Route {
            source,
            destination,
            ipv4: false,
            traffic_class: 0x12,
            hop_limit: 64,
            flow_label: 0x12345,
            source_port: 0xc123,
        }
    }

    #[test]
    fn ipv6_and_udp_headers_match_the_vector() {
        let mut out = [0u8; 48];
        let route = route6();
        assert_eq!(route.header_len(), 48);
        route.write_headers(&mut out, SEND_ONLY.len());
        // Version, traffic class and flow label; payload length 36; UDP; hop limit 64.
        assert_eq!(out[..8], [0x61, 0x21, 0x23, 0x45, 0x00, 0x24, 0x11, 0x40]);
        assert_eq!(out[8..24], route.source);
        assert_eq!(out[24..40], route.destination);
        assert_eq!(out[40..], [0xc1, 0x23, 0x12, 0xb7, 0x00, 0x24, 0x00, 0x00]);
    }

    #[test]
    fn icrc_over_ipv6_matches_an_independent_computation() {
        let mut headers = [0u8; 48];
        route6().write_headers(&mut headers, SEND_ONLY.len());
        // zlib's CRC-32 over 8 bytes of 0xff, the headers with the traffic class, flow label,
        // hop limit, UDP checksum and BTH reserved byte set to ones, then the payload.
        let mut packet = SEND_ONLY;
        packet[24..].copy_from_slice(&[0xc4, 0xc9, 0x14, 0x34]);
        assert!(icrc_is_valid(&headers, &packet));
        let mut sealed = packet;
        sealed[24..].fill(0);
        seal(&headers, &mut sealed);
        assert_eq!(sealed, packet);
        // Routers may change the traffic class, flow label and hop limit; not the addresses.
        let mut changed = headers;
        changed[1] ^= 0xff;
        changed[3] ^= 0xff;
        changed[7] = 1;
        assert!(icrc_is_valid(&changed, &packet));
        let mut other = headers;
        other[39] ^= 1;
        assert!(!icrc_is_valid(&other, &packet));
    }

    /// A route from 10.0.2.15 to 10.0.2.16.
    fn route_between() -> Route {
        let mut r = route();
        r.destination[15] = 16;
        r.traffic_class = 0x28;
        r
    }

    #[test]
    fn a_received_datagram_gives_back_its_route() -> Result {
        for sent in [route_between(), route6()] {
            let mut datagram = [0u8; 48 + SEND_ONLY.len()];
            let len = sent.header_len();
            sent.write_headers(&mut datagram[..len], SEND_ONLY.len());
            datagram[len..len + SEND_ONLY.len()].copy_from_slice(&SEND_ONLY);
            let ip_len = len - 8;
            let udp = &datagram[ip_len..len + SEND_ONLY.len()];
            let got = addressing(&datagram[..ip_len], udp).ok_or(EINVAL)?;
            assert_eq!(got.route, sent);
            assert_eq!(got.transport_len, SEND_ONLY.len());
            assert_eq!(got.headers_len, len);
            assert_eq!(got.headers[..len], datagram[..len]);
        }
        Ok(())
    }

    #[test]
    fn malformed_datagrams_give_no_route() {
        let mut datagram = [0u8; 28 + SEND_ONLY.len()];
        route().write_headers(&mut datagram[..28], SEND_ONLY.len());
        datagram[28..].copy_from_slice(&SEND_ONLY);
        let (ip, udp) = datagram.split_at(20);
        assert!(addressing(ip, udp).is_some());
        // A UDP length beyond the datagram, or shorter than the UDP header.
        for udp_len in [8 + SEND_ONLY.len() as u16 + 1, 7] {
            let mut bad = datagram;
            bad[24..26].copy_from_slice(&udp_len.to_be_bytes());
            assert!(addressing(&bad[..20], &bad[20..]).is_none());
        }
        // IP options, or not IP at all.
        for first in [0x46, 0x55] {
            let mut bad = datagram;
            bad[0] = first;
            assert!(addressing(&bad[..20], &bad[20..]).is_none());
        }
        // A truncated UDP header, an IPv4 header of the wrong length.
        assert!(addressing(ip, &udp[..6]).is_none());
        assert!(addressing(&ip[..19], udp).is_none());
    }

    #[test]
    fn the_icrc_covers_the_ipv4_identification_as_received() {
        let mut headers = [0u8; 28];
        route().write_headers(&mut headers, SEND_ONLY.len());
        // A peer that numbers its datagrams seals them over its identification.
        headers[4..6].copy_from_slice(&[0x12, 0x34]);
        let mut packet = SEND_ONLY;
        seal(&headers, &mut packet);
        assert!(icrc_is_valid(&headers, &packet));
        let mut renumbered = headers;
        renumbered[5] = 0x35;
        assert!(!icrc_is_valid(&renumbered, &packet));
        assert!(!icrc_is_valid(&headers, &SEND_ONLY));
    }

    #[test]
    fn headers_encode_as_the_vector_and_decode_back() -> Result {
        let mut headers = Headers::new(0x04, 0x11, 0x123456).ok_or(EINVAL)?;
        headers.bth.ack_request = true;
        let mut out = [0u8; 28];
        headers.write(&mut out, 12);
        assert_eq!(out[..BTH_LEN], SEND_ONLY[..BTH_LEN]);
        let (parsed, payload) = Headers::parse(&SEND_ONLY)?;
        assert_eq!(parsed, headers);
        assert_eq!(&SEND_ONLY[payload], b"hello rrxe!!");
        Ok(())
    }

    #[test]
    fn flush_and_atomic_write_are_laid_out_as_the_placement_extensions_say() -> Result {
        // RC FLUSH: BTH, then the FETH (selectivity in bits 5..4, placement type in 3..0),
        // then the RETH; no payload.
        let raw = Opcode::encode(
            TransportType::Rc,
            Operation::Flush,
            Position::Only,
            false,
            false,
        )
        .ok_or(EINVAL)?;
        assert_eq!(raw, 0x1c);
        let mut flush = Headers::new(raw, 0x12, 5).ok_or(EINVAL)?;
        flush.flush = Feth {
            placement: Feth::GLOBAL,
            selectivity: Feth::REGION,
        };
        flush.reth.va = 0x1122_3344_5566_7788;
        flush.reth.rkey = 0xabcd;
        flush.reth.length = 0x1000;
        assert_eq!(flush.packet_len(0), BTH_LEN + 4 + 16 + ICRC_LEN);
        let mut out = [0u8; BTH_LEN + 4 + 16 + ICRC_LEN];
        flush.write(&mut out, 0);
        assert_eq!(out[BTH_LEN..BTH_LEN + 4], [0, 0, 0, 0x11]);
        assert_eq!(out[BTH_LEN + 4], 0x11);
        assert_eq!(out[BTH_LEN + 12..BTH_LEN + 16], [0, 0, 0xab, 0xcd]);
        assert_eq!(Headers::parse(&out)?.0, flush);
        // A flush carries no payload.
        let mut long = [0u8; BTH_LEN + 4 + 16 + 4 + ICRC_LEN];
        flush.write(&mut long, 4);
        assert!(Headers::parse(&long).is_err());
        // RC ATOMIC WRITE: BTH, RETH, then the eight bytes.
        let raw = Opcode::encode(
            TransportType::Rc,
            Operation::AtomicWrite,
            Position::Only,
            false,
            false,
        )
        .ok_or(EINVAL)?;
        assert_eq!(raw, 0x1d);
        let mut write = Headers::new(raw, 0x12, 6).ok_or(EINVAL)?;
        write.reth.va = 0x1000;
        write.reth.rkey = 7;
        write.reth.length = 8;
        let mut out = [0u8; BTH_LEN + 16 + 8 + ICRC_LEN];
        write.write(&mut out, 8);
        let (parsed, payload) = Headers::parse(&out)?;
        assert_eq!(parsed, write);
        assert_eq!(payload, BTH_LEN + 16..BTH_LEN + 24);
        // Both are reliable-connection operations only.
        for service in [TransportType::Uc, TransportType::Ud] {
            for operation in [Operation::Flush, Operation::AtomicWrite] {
                assert_eq!(
                    Opcode::encode(service, operation, Position::Only, false, false),
                    None
                );
            }
        }
        assert_eq!(Opcode::decode(0x3c), None);
        assert_eq!(Opcode::decode(0x3d), None);
        Ok(())
    }

    #[test]
    fn every_extension_round_trips() -> Result {
        // RDMA WRITE ONLY with immediate: RETH then ImmDt; a 5-byte payload pads by 3.
        let raw = Opcode::encode(
            TransportType::Rc,
            Operation::Write,
            Position::Only,
            true,
            false,
        );
        let mut headers = Headers::new(raw.ok_or(EINVAL)?, 0xabcdef, 7).ok_or(EINVAL)?;
        headers.reth.va = 0x1122_3344_5566_7788;
        headers.reth.rkey = 0x1234_5678;
        headers.reth.length = 5;
        headers.immediate = 0xdead_beef;
        let len = headers.packet_len(5);
        assert_eq!(len, BTH_LEN + 16 + 4 + 5 + 3 + ICRC_LEN);
        let mut out = [0u8; 44];
        headers.write(&mut out, 5);
        let (parsed, payload) = Headers::parse(&out)?;
        // The pad count is derived from the payload length when the headers are written.
        assert_eq!(parsed.bth.pad, 3);
        headers.bth.pad = 3;
        assert_eq!(parsed, headers);
        assert_eq!(payload.len(), 5);
        // An acknowledgment carries its syndrome and MSN.
        let raw = Opcode::encode(
            TransportType::Rc,
            Operation::Acknowledge,
            Position::Only,
            false,
            false,
        );
        let mut ack = Headers::new(raw.ok_or(EINVAL)?, 3, 9).ok_or(EINVAL)?;
        ack.aeth = Some(Aeth {
            syndrome: Syndrome::Nak(NakCode::RemoteAccessError),
            msn: 0x42,
        });
        let mut out = [0u8; 20];
        ack.write(&mut out, 0);
        assert_eq!(out[BTH_LEN], 0x62);
        assert_eq!(Headers::parse(&out)?.0, ack);
        // A datagram carries its DETH.
        let raw = Opcode::encode(
            TransportType::Ud,
            Operation::Send,
            Position::Only,
            false,
            false,
        );
        let mut datagram = Headers::new(raw.ok_or(EINVAL)?, 1, 0).ok_or(EINVAL)?;
        datagram.deth.qkey = 0x8001_0000;
        datagram.deth.src_qpn = 0x10;
        let mut out = [0u8; 24];
        datagram.write(&mut out, 0);
        assert_eq!(Headers::parse(&out)?.0, datagram);
        Ok(())
    }

    #[test]
    fn malformed_packets_are_refused() {
        // Too short for its headers, a reserved opcode, RD, a bad version, a payload on an
        // acknowledgment, a pad longer than the payload.
        assert!(Headers::parse(&SEND_ONLY[..BTH_LEN + 3]).is_err());
        for (at, value) in [(0, 0x15), (0, 0x44), (1, 0x01)] {
            let mut bad = SEND_ONLY;
            bad[at] = value;
            assert!(Headers::parse(&bad).is_err());
        }
        let mut ack = SEND_ONLY;
        ack[0] = 0x11;
        assert!(Headers::parse(&ack).is_err());
        let mut padded = [0u8; 16];
        padded[0] = 0x04;
        padded[1] = 0x30;
        assert!(Headers::parse(&padded).is_err());
    }

    #[test]
    fn opcodes_follow_the_service() -> Result {
        // UC has no reads or atomics, UD only sends of one packet, and only RC invalidates.
        assert!(Opcode::encode(
            TransportType::Uc,
            Operation::ReadRequest,
            Position::Only,
            false,
            false
        )
        .is_none());
        assert!(Opcode::encode(
            TransportType::Ud,
            Operation::Send,
            Position::First,
            false,
            false
        )
        .is_none());
        assert!(Opcode::encode(
            TransportType::Uc,
            Operation::Send,
            Position::Only,
            false,
            true
        )
        .is_none());
        assert_eq!(
            Opcode::encode(
                TransportType::Uc,
                Operation::Send,
                Position::Last,
                true,
                false
            ),
            Some(0x23)
        );
        assert_eq!(
            Opcode::encode(
                TransportType::Rc,
                Operation::Send,
                Position::Only,
                false,
                true
            ),
            Some(0x17)
        );
        let op = Opcode::decode(0x0d).ok_or(EINVAL)?;
        assert_eq!(
            (op.operation, op.position),
            (Operation::ReadResponse, Position::First)
        );
        assert_eq!(Position::of(0, 1), Position::Only);
        assert_eq!(Position::of(2, 3), Position::Last);
        assert_eq!(Position::of(1, 3), Position::Middle);
        assert_eq!(
            (pad_len(0), pad_len(1), pad_len(4), pad_len(7)),
            (0, 3, 0, 1)
        );
        Ok(())
    }

    #[test]
    fn a_packet_is_built_in_its_buffer_with_room_for_its_headers() -> Result {
        let (headers, payload) = Headers::parse(&SEND_ONLY)?;
        let packet = Packet::build(&route(), &headers, payload.len(), |buf| {
            buf.copy_from_slice(&SEND_ONLY[payload.clone()]);
            Ok(())
        })?;
        // Headers, payload and ICRC as the independent vector has them.
        assert_eq!(packet.bytes(), &SEND_ONLY[..]);
        let (_, skb) = packet.into_buffer().ok_or(EINVAL)?;
        assert_eq!(skb.len(), SEND_ONLY.len());
        assert!(skb.headroom() >= HEADROOM);
        // A fill that fails fails the build.
        let failed = Packet::build(&route(), &headers, payload.len(), |_| Err(EFAULT));
        assert!(failed.is_err_and(|e| e == EFAULT));
        Ok(())
    }

    #[test]
    fn an_arrived_packet_is_its_transport_bytes_in_the_buffer_it_came_in() -> Result {
        let mut ip_udp = [0u8; 28];
        route().write_headers(&mut ip_udp, SEND_ONLY.len());
        let datagram = || -> Result<SkBuff> {
            let mut skb = SkBuff::alloc(0, 8 + SEND_ONLY.len(), GFP_KERNEL)?;
            skb.put_slice(&ip_udp[20..])?;
            skb.put_slice(&SEND_ONLY)?;
            Ok(skb)
        };
        let packet = Packet::arrived(route(), datagram()?, 8..8 + SEND_ONLY.len()).ok_or(EINVAL)?;
        assert_eq!(packet.bytes(), &SEND_ONLY[..]);
        assert_eq!(packet.len(), SEND_ONLY.len());
        let received = packet.check_with(&ip_udp).map_err(|_| EINVAL)?;
        assert_eq!(received.payload(), b"hello rrxe!!");
        // Transport bytes past the buffer's end are refused; a packet that arrived is never
        // sent as it is.
        assert!(Packet::arrived(route(), datagram()?, 8..9 + SEND_ONLY.len()).is_none());
        let packet = Packet::arrived(route(), datagram()?, 8..8 + SEND_ONLY.len()).ok_or(EINVAL)?;
        assert!(packet.into_buffer().is_none());
        Ok(())
    }
}
