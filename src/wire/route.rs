// SPDX-License-Identifier: GPL-2.0

//! The IP and UDP headers a RoCEv2 packet travels in (Annex A17.4).

use super::*;

/// The network addresses a packet travels between: IPv4 (as mapped GIDs) or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) source: [u8; 16],
    pub(crate) destination: [u8; 16],
    pub(crate) ipv4: bool,
    pub(crate) traffic_class: u8,
    pub(crate) hop_limit: u8,
    pub(crate) flow_label: u32,
    pub(crate) source_port: u16,
}

impl Route {
    /// Returns the route back to the sender, from `source_port`.
    pub(crate) fn reversed(&self, source_port: u16) -> Self {
        Self {
            source: self.destination,
            destination: self.source,
            source_port,
            ..*self
        }
    }

    /// Returns the length of the IP and UDP headers.
    pub(crate) fn header_len(&self) -> usize {
        UDP_HEADER_LEN
            + if self.ipv4 {
                IPV4_HEADER_LEN
            } else {
                IPV6_HEADER_LEN
            }
    }

    /// Writes the IP and UDP headers of a transport packet of `transport_len` bytes into
    /// `out` ([`Self::header_len`] bytes). The IPv4 identification is left zero and the UDP
    /// checksum is not computed (RoCEv2 relies on the ICRC).
    pub(crate) fn write_headers(&self, out: &mut [u8], transport_len: usize) {
        let udp_len = (UDP_HEADER_LEN + transport_len) as u16;
        let mut w = Writer { out, at: 0 };
        if self.ipv4 {
            let total = IPV4_HEADER_LEN as u16 + udp_len;
            let mut ip = [0u8; IPV4_HEADER_LEN];
            ip[0] = 0x45;
            ip[1] = self.traffic_class;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            // Don't fragment.
            ip[6] = 0x40;
            ip[8] = self.hop_limit;
            ip[9] = 17;
            ip[12..16].copy_from_slice(&self.source[12..]);
            ip[16..20].copy_from_slice(&self.destination[12..]);
            let sum = ipv4_checksum(&ip);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            w.put(&ip);
        } else {
            let word = (6u32 << 28)
                | (u32::from(self.traffic_class) << 20)
                | (self.flow_label & 0x000f_ffff);
            w.put(&word.to_be_bytes());
            w.put(&udp_len.to_be_bytes());
            w.put(&[17, self.hop_limit]);
            w.put(&self.source);
            w.put(&self.destination);
        }
        w.put(&self.source_port.to_be_bytes());
        w.put(&ROCE_V2_PORT.to_be_bytes());
        w.put(&udp_len.to_be_bytes());
        w.put(&[0, 0]);
    }
}

/// The IPv4 header checksum (RFC 791) of a header whose checksum field is zero.
pub(crate) fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|pair| u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The source UDP port of a queue pair's packets: spread over 0xc000..0xffff by its number,
/// so that flows of different queue pairs may take different paths.
pub(crate) fn source_port(qpn: u32) -> u16 {
    0xc000 | ((qpn.wrapping_mul(0x9e37_79b1) >> 18) as u16 & 0x3fff)
}

/// Returns the route of an address vector.
pub(crate) fn route_of(av: &kernel::rdma::attr::AddressVector, qpn: u32) -> Route {
    Route {
        source: av.sgid.0,
        destination: av.dgid.0,
        ipv4: av.network_type == kernel::rdma::attr::NetworkType::Ipv4,
        traffic_class: av.traffic_class,
        hop_limit: av.hop_limit,
        flow_label: av.flow_label,
        source_port: source_port(qpn),
    }
}
