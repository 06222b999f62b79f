// SPDX-License-Identifier: GPL-2.0

//! The invariant CRC (Annex A17.3.3): a CRC-32 over the packet with the fields routers may
//! change counted as ones.

use super::*;

/// The CRC-32 of eight bytes of ones, the masked local route header RoCEv2 replaces.
fn icrc_seed() -> u32 {
    kernel::crc::crc32_le(!0, &[0xff; 8])
}

/// Computes the ICRC of a packet: `ip_udp` is its IP and UDP headers and `transport` the
/// transport packet without its ICRC. The fields routers may change are counted as ones.
pub(crate) fn icrc(ip_udp: &[u8], transport: &[u8]) -> u32 {
    let mut masked = [0u8; IPV6_HEADER_LEN + UDP_HEADER_LEN + BTH_LEN];
    let ip_len = ip_udp.len().saturating_sub(UDP_HEADER_LEN);
    let len = ip_udp.len() + BTH_LEN;
    if len > masked.len() || transport.len() < BTH_LEN {
        return 0;
    }
    masked[..ip_udp.len()].copy_from_slice(ip_udp);
    masked[ip_udp.len()..len].copy_from_slice(&transport[..BTH_LEN]);
    if ip_len == IPV4_HEADER_LEN {
        // Type of service, time to live, header checksum.
        masked[1] = 0xff;
        masked[8] = 0xff;
        masked[10] = 0xff;
        masked[11] = 0xff;
    } else {
        // Traffic class and flow label, hop limit.
        masked[0] |= 0x0f;
        masked[1..4].fill(0xff);
        masked[7] = 0xff;
    }
    // UDP checksum.
    masked[ip_len + 6] = 0xff;
    masked[ip_len + 7] = 0xff;
    // The BTH's FECN, BECN and reserved bits.
    masked[ip_udp.len() + BTH_RESERVED_BYTE] = 0xff;
    let crc = kernel::crc::crc32_le(icrc_seed(), &masked[..len]);
    !kernel::crc::crc32_le(crc, &transport[BTH_LEN..])
}

/// Writes a packet's ICRC into its last four bytes.
pub(crate) fn seal(ip_udp: &[u8], packet: &mut [u8]) {
    let Some(body) = packet.len().checked_sub(ICRC_LEN) else {
        return;
    };
    let crc = icrc(ip_udp, &packet[..body]);
    packet[body..].copy_from_slice(&crc.to_le_bytes());
}

/// Returns whether a packet's ICRC is right.
pub(crate) fn icrc_is_valid(ip_udp: &[u8], packet: &[u8]) -> bool {
    let Some(body) = packet.len().checked_sub(ICRC_LEN) else {
        return false;
    };
    packet[body..] == icrc(ip_udp, &packet[..body]).to_le_bytes()
}
