// SPDX-License-Identifier: GPL-2.0

//! The device's counters and the performance management answers behind a port's sysfs
//! `counters`: names and order, the values read out, and each query's reply (IBTA 16.1.3).

#[kernel::prelude::kunit_tests(rrxe_counters)]
mod tests {
    use crate::device::counters::{
        answer_mad, Counter, Counters, Traffic, ATTR_CLASS_PORT_INFO, ATTR_PORT_COUNTERS,
        ATTR_PORT_COUNTERS_EXT, CAP_EXTENDED_WIDTH, CLASS_PERF_MGMT, COUNTERS, CPI_CAPABILITY_MASK,
        EXT_RCV_DATA, EXT_RCV_PACKETS, EXT_XMIT_DATA, EXT_XMIT_PACKETS, METHOD_GET, PORT_SELECT,
        STATUS_UNSUPPORTED_ATTRIBUTE, STATUS_UNSUPPORTED_METHOD,
    };
    use kernel::rdma::stats::{Mad, MadOutcome, MAD_SIZE};

    /// A query of `class`, `method` and `attr` with a transaction id, for port 1.
    fn query(class: u8, method: u8, attr: u16) -> Mad {
        let mut mad = [0u8; MAD_SIZE];
        mad[0] = 1; // base version
        mad[1] = class;
        mad[2] = 1; // class version
        mad[3] = method;
        mad[8..16].copy_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        mad[16..18].copy_from_slice(&attr.to_be_bytes());
        mad[PORT_SELECT] = 1;
        mad
    }

    fn be16(mad: &Mad, at: usize) -> u16 {
        u16::from_be_bytes([mad[at], mad[at + 1]])
    }

    fn be64(mad: &Mad, at: usize) -> u64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&mad[at..at + 8]);
        u64::from_be_bytes(bytes)
    }

    #[test]
    fn drops_are_the_rx_and_tx_counters_of_packets_lost() {
        let drops: usize = Counter::ALL.iter().filter(|c| c.is_drop()).count();
        assert_eq!(drops, 9);
        for counter in Counter::ALL {
            let name = counter.name().to_bytes();
            let lost = name.starts_with(b"rx_") && name != b"rx_packets" && name != b"rx_bytes"
                || [&b"tx_unroutable"[..], b"tx_no_memory", b"tx_dropped"].contains(&name);
            assert_eq!(counter.is_drop(), lost);
        }
    }

    const TRAFFIC: Traffic = Traffic {
        tx_bytes: 4_000_004,
        rx_bytes: 8_000,
        tx_packets: 77,
        rx_packets: 1 << 40,
    };

    #[test]
    fn each_counter_sits_at_its_index_with_a_name_of_its_own() {
        for (i, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(*counter as usize, i);
            let name = counter.name().to_bytes();
            assert!(!name.is_empty());
            for other in &Counter::ALL[i + 1..] {
                assert_ne!(name, other.name().to_bytes());
            }
        }
    }

    #[test]
    fn counters_are_read_out_in_order() {
        let counters = Counters::default();
        counters.add(Counter::TxPackets, 3);
        counters.add(Counter::TxDropped, 1);
        counters.add(Counter::RetransmittedPackets, 5);
        counters.add(Counter::RetransmittedPackets, 2);
        let mut values = [u64::MAX; COUNTERS];
        counters.read_into(&mut values);
        for counter in Counter::ALL {
            let expected = match counter {
                Counter::TxPackets => 3,
                Counter::TxDropped => 1,
                Counter::RetransmittedPackets => 7,
                _ => 0,
            };
            assert_eq!(values[counter as usize], expected);
        }
        // A shorter table gets what fits.
        let mut first = [u64::MAX; 1];
        counters.read_into(&mut first);
        assert_eq!(first, [3]);
    }

    #[test]
    fn class_port_info_announces_the_extended_counters() {
        let request = query(CLASS_PERF_MGMT, METHOD_GET, ATTR_CLASS_PORT_INFO);
        let mut reply = [0u8; MAD_SIZE];
        assert_eq!(answer_mad(&request, TRAFFIC, &mut reply), MadOutcome::Reply);
        assert_eq!(reply[3], 0x81);
        assert_eq!(be16(&reply, 4), 0);
        assert_eq!(reply[8..16], request[8..16]);
        assert_eq!(be16(&reply, 16), ATTR_CLASS_PORT_INFO);
        assert_eq!(be16(&reply, CPI_CAPABILITY_MASK), CAP_EXTENDED_WIDTH);
    }

    #[test]
    fn extended_port_counters_carry_the_traffic_in_words_and_packets() {
        let request = query(CLASS_PERF_MGMT, METHOD_GET, ATTR_PORT_COUNTERS_EXT);
        let mut reply = [0u8; MAD_SIZE];
        assert_eq!(answer_mad(&request, TRAFFIC, &mut reply), MadOutcome::Reply);
        assert_eq!(be16(&reply, 4), 0);
        assert_eq!(reply[PORT_SELECT], 1);
        assert_eq!(be64(&reply, EXT_XMIT_DATA), 1_000_001);
        assert_eq!(be64(&reply, EXT_RCV_DATA), 2_000);
        assert_eq!(be64(&reply, EXT_XMIT_PACKETS), 77);
        assert_eq!(be64(&reply, EXT_RCV_PACKETS), 1 << 40);
    }

    #[test]
    fn port_counters_answer_with_no_errors_counted() {
        let request = query(CLASS_PERF_MGMT, METHOD_GET, ATTR_PORT_COUNTERS);
        let mut reply = [0u8; MAD_SIZE];
        assert_eq!(answer_mad(&request, TRAFFIC, &mut reply), MadOutcome::Reply);
        assert_eq!(be16(&reply, 4), 0);
        assert_eq!(reply[PORT_SELECT], 1);
        assert!(reply[PORT_SELECT + 1..].iter().all(|&b| b == 0));
    }

    #[test]
    fn unknown_methods_and_attributes_get_their_status() {
        let mut reply = [0u8; MAD_SIZE];
        let set = query(CLASS_PERF_MGMT, 0x02, ATTR_PORT_COUNTERS_EXT);
        assert_eq!(answer_mad(&set, TRAFFIC, &mut reply), MadOutcome::Reply);
        assert_eq!(be16(&reply, 4), STATUS_UNSUPPORTED_METHOD);
        assert_eq!(be64(&reply, EXT_XMIT_DATA), 0);
        let mut reply = [0u8; MAD_SIZE];
        let unknown = query(CLASS_PERF_MGMT, METHOD_GET, 0x0099);
        assert_eq!(answer_mad(&unknown, TRAFFIC, &mut reply), MadOutcome::Reply);
        assert_eq!(be16(&reply, 4), STATUS_UNSUPPORTED_ATTRIBUTE);
        assert_eq!(reply[3], 0x81);
    }

    #[test]
    fn other_classes_are_left_to_the_mad_layer() {
        // The communication manager's class: its agents answer.
        let request = query(0x07, METHOD_GET, ATTR_PORT_COUNTERS_EXT);
        let mut reply = [0u8; MAD_SIZE];
        assert_eq!(
            answer_mad(&request, TRAFFIC, &mut reply),
            MadOutcome::NotHandled
        );
        assert!(reply.iter().all(|&b| b == 0));
    }
}
