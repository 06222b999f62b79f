// SPDX-License-Identifier: GPL-2.0

//! The RoCEv2 packet codec: InfiniBand transport headers (IBTA vol. 1 ch. 9), the invariant
//! CRC (Annex A17.3.3) and the IP and UDP headers that carry them.
//!
//! A transport packet is the base transport header, the extension headers its opcode calls
//! for, the payload, zero to three pad bytes and the ICRC. Decoding checks every length
//! against the opcode before any field is read; a packet that fails is dropped by the caller.

use kernel::prelude::*;

mod headers;
mod icrc;
mod opcode;
mod route;

pub(crate) use self::{
    headers::{Aeth, Feth, Headers, NakCode, Syndrome},
    icrc::{icrc_is_valid, seal},
    opcode::{Opcode, Operation, Position, TransportType},
    route::{route_of, source_port, Route},
};

/// The UDP destination port of RoCEv2.
pub(crate) const ROCE_V2_PORT: u16 = 4791;
/// The default partition key, the only one the device has.
pub(crate) const DEFAULT_PKEY: u16 = 0xffff;
/// The transport header version the device sends and accepts.
const TRANSPORT_VERSION: u8 = 0;

pub(crate) const BTH_LEN: usize = 12;
/// The base transport header's byte of FECN, BECN and reserved bits, which the ICRC does not
/// cover.
pub(crate) const BTH_RESERVED_BYTE: usize = 4;
const RETH_LEN: usize = 16;
const FETH_LEN: usize = 4;
const AETH_LEN: usize = 4;
const DETH_LEN: usize = 8;
const IMMDT_LEN: usize = 4;
const IETH_LEN: usize = 4;
const ATOMIC_ETH_LEN: usize = 28;
const ATOMIC_ACK_ETH_LEN: usize = 8;
pub(crate) const ICRC_LEN: usize = 4;
/// Bytes of a GRH a datagram receive buffer starts with.
pub(crate) const GRH_LEN: usize = 40;
pub(crate) const IPV4_HEADER_LEN: usize = 20;
pub(crate) const IPV6_HEADER_LEN: usize = 40;
pub(crate) const UDP_HEADER_LEN: usize = 8;

/// Returns the pad bytes that round a payload up to a multiple of four.
pub(crate) fn pad_len(payload: usize) -> usize {
    payload.wrapping_neg() & 3
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.at..self.at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.at += bytes.len();
    }
}

/// Reads fixed-size fields; the caller checked the length against the opcode first.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        if let Some(src) = self.data.get(self.at..self.at + N) {
            out.copy_from_slice(src);
        }
        self.at += N;
        out
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.array())
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }

    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }
}
