// SPDX-License-Identifier: GPL-2.0

//! The RoCEv2 packet codec: InfiniBand transport headers (IBTA vol. 1 ch. 9), the invariant
//! CRC (Annex A17.3.3) and the IP and UDP headers that carry them.
//!
//! A transport packet is the base transport header, the extension headers its opcode calls
//! for, the payload, zero to three pad bytes and the ICRC. Decoding checks every length
//! against the opcode before any field is read; a packet that fails is dropped by the caller.

use crate::psn::PSN_MASK;
use kernel::prelude::*;

/// The UDP destination port of RoCEv2.
pub(crate) const ROCE_V2_PORT: u16 = 4791;
/// The default partition key, the only one the device has.
pub(crate) const DEFAULT_PKEY: u16 = 0xffff;
/// The transport header version the device sends and accepts.
const TRANSPORT_VERSION: u8 = 0;

pub(crate) const BTH_LEN: usize = 12;
const RETH_LEN: usize = 16;
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

/// The transport service of an opcode (its top three bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Rc = 0,
    Uc = 1,
    Ud = 3,
}

/// What a packet does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Send,
    Write,
    ReadRequest,
    ReadResponse,
    Acknowledge,
    AtomicAcknowledge,
    CompareSwap,
    FetchAdd,
}

/// Where a packet sits in its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Position {
    First,
    Middle,
    Last,
    Only,
}

impl Position {
    /// Returns whether the packet starts a message.
    pub(crate) fn starts(self) -> bool {
        matches!(self, Self::First | Self::Only)
    }

    /// Returns whether the packet ends a message.
    pub(crate) fn ends(self) -> bool {
        matches!(self, Self::Last | Self::Only)
    }

    /// The position of packet `index` of a message of `count` packets.
    pub(crate) fn of(index: u32, count: u32) -> Self {
        match (index == 0, index + 1 == count) {
            (true, true) => Self::Only,
            (true, false) => Self::First,
            (false, true) => Self::Last,
            (false, false) => Self::Middle,
        }
    }
}

/// Extension header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Extensions(u8);

impl Extensions {
    const RETH: u8 = 1 << 0;
    const AETH: u8 = 1 << 1;
    const DETH: u8 = 1 << 2;
    const IMMDT: u8 = 1 << 3;
    const IETH: u8 = 1 << 4;
    const ATOMIC_ETH: u8 = 1 << 5;
    const ATOMIC_ACK_ETH: u8 = 1 << 6;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// A decoded opcode: service, operation, position and which headers follow the BTH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Opcode {
    pub(crate) transport: Transport,
    pub(crate) operation: Operation,
    pub(crate) position: Position,
    extensions: Extensions,
    payload: bool,
}

impl Opcode {
    /// Decodes an opcode byte; `None` for reserved values and services the device lacks.
    pub(crate) fn decode(raw: u8) -> Option<Self> {
        use Extensions as E;
        use Operation::*;
        use Position::*;
        let transport = match raw >> 5 {
            0 => Transport::Rc,
            1 => Transport::Uc,
            3 => Transport::Ud,
            _ => return None,
        };
        let (operation, position, ext, payload) = match raw & 0x1f {
            0x00 => (Send, First, 0, true),
            0x01 => (Send, Middle, 0, true),
            0x02 => (Send, Last, 0, true),
            0x03 => (Send, Last, E::IMMDT, true),
            0x04 => (Send, Only, 0, true),
            0x05 => (Send, Only, E::IMMDT, true),
            0x06 => (Write, First, E::RETH, true),
            0x07 => (Write, Middle, 0, true),
            0x08 => (Write, Last, 0, true),
            0x09 => (Write, Last, E::IMMDT, true),
            0x0a => (Write, Only, E::RETH, true),
            0x0b => (Write, Only, E::RETH | E::IMMDT, true),
            0x0c => (ReadRequest, Only, E::RETH, false),
            0x0d => (ReadResponse, First, E::AETH, true),
            0x0e => (ReadResponse, Middle, 0, true),
            0x0f => (ReadResponse, Last, E::AETH, true),
            0x10 => (ReadResponse, Only, E::AETH, true),
            0x11 => (Acknowledge, Only, E::AETH, false),
            0x12 => (AtomicAcknowledge, Only, E::AETH | E::ATOMIC_ACK_ETH, false),
            0x13 => (CompareSwap, Only, E::ATOMIC_ETH, false),
            0x14 => (FetchAdd, Only, E::ATOMIC_ETH, false),
            0x16 => (Send, Last, E::IETH, true),
            0x17 => (Send, Only, E::IETH, true),
            _ => return None,
        };
        let allowed = match transport {
            Transport::Rc => true,
            Transport::Uc => matches!(operation, Send | Write) && ext & E::IETH == 0,
            Transport::Ud => operation == Send && position == Only && ext & E::IETH == 0,
        };
        if !allowed {
            return None;
        }
        let ext = if transport == Transport::Ud {
            ext | E::DETH
        } else {
            ext
        };
        Some(Self {
            transport,
            operation,
            position,
            extensions: Extensions(ext),
            payload,
        })
    }

    /// Encodes the opcode of a request or response; `None` for combinations without one.
    pub(crate) fn encode(
        transport: Transport,
        operation: Operation,
        position: Position,
        immediate: bool,
        invalidate: bool,
    ) -> Option<u8> {
        use Operation::*;
        use Position::*;
        let low = match (operation, position, immediate, invalidate) {
            (Send, First, false, false) => 0x00,
            (Send, Middle, false, false) => 0x01,
            (Send, Last, false, false) => 0x02,
            (Send, Last, true, false) => 0x03,
            (Send, Only, false, false) => 0x04,
            (Send, Only, true, false) => 0x05,
            (Send, Last, false, true) => 0x16,
            (Send, Only, false, true) => 0x17,
            (Write, First, false, false) => 0x06,
            (Write, Middle, false, false) => 0x07,
            (Write, Last, false, false) => 0x08,
            (Write, Last, true, false) => 0x09,
            (Write, Only, false, false) => 0x0a,
            (Write, Only, true, false) => 0x0b,
            (ReadRequest, Only, false, false) => 0x0c,
            (ReadResponse, First, false, false) => 0x0d,
            (ReadResponse, Middle, false, false) => 0x0e,
            (ReadResponse, Last, false, false) => 0x0f,
            (ReadResponse, Only, false, false) => 0x10,
            (Acknowledge, Only, false, false) => 0x11,
            (AtomicAcknowledge, Only, false, false) => 0x12,
            (CompareSwap, Only, false, false) => 0x13,
            (FetchAdd, Only, false, false) => 0x14,
            _ => return None,
        };
        let raw = ((transport as u8) << 5) | low;
        // Only opcodes the decoder accepts for the service.
        Self::decode(raw).map(|_| raw)
    }

    /// Returns the length of the headers the opcode calls for, BTH included.
    pub(crate) fn header_len(&self) -> usize {
        let e = self.extensions;
        let mut len = BTH_LEN;
        for (bit, bytes) in [
            (Extensions::DETH, DETH_LEN),
            (Extensions::RETH, RETH_LEN),
            (Extensions::ATOMIC_ETH, ATOMIC_ETH_LEN),
            (Extensions::AETH, AETH_LEN),
            (Extensions::ATOMIC_ACK_ETH, ATOMIC_ACK_ETH_LEN),
            (Extensions::IMMDT, IMMDT_LEN),
            (Extensions::IETH, IETH_LEN),
        ] {
            if e.has(bit) {
                len += bytes;
            }
        }
        len
    }

    /// Returns whether the packet carries immediate data.
    pub(crate) fn has_immediate(&self) -> bool {
        self.extensions.has(Extensions::IMMDT)
    }

    /// Returns whether the packet carries a key to invalidate.
    pub(crate) fn has_invalidate(&self) -> bool {
        self.extensions.has(Extensions::IETH)
    }

    /// Returns whether the packet may carry a payload.
    pub(crate) fn has_payload(&self) -> bool {
        self.payload
    }
}

/// The base transport header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bth {
    pub(crate) opcode: u8,
    pub(crate) solicited: bool,
    pub(crate) pad: u8,
    pub(crate) pkey: u16,
    pub(crate) dest_qpn: u32,
    pub(crate) ack_request: bool,
    pub(crate) psn: u32,
}

/// A remote address, key and length (RETH).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reth {
    pub(crate) va: u64,
    pub(crate) rkey: u32,
    pub(crate) length: u32,
}

/// An atomic operation's operands (AtomicETH).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AtomicEth {
    pub(crate) va: u64,
    pub(crate) rkey: u32,
    pub(crate) swap_add: u64,
    pub(crate) compare: u64,
}

/// The acknowledgement syndrome (AETH bits 31..24), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syndrome {
    /// A positive acknowledgement with the responder's credit count.
    Ack(u8),
    /// Receiver not ready, with the encoded timer to wait.
    RnrNak(u8),
    /// A negative acknowledgement.
    Nak(NakCode),
}

/// The negative acknowledgement codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NakCode {
    PsnSequenceError = 0,
    InvalidRequest = 1,
    RemoteAccessError = 2,
    RemoteOperationalError = 3,
    InvalidRdRequest = 4,
}

impl Syndrome {
    /// Credits are not tracked: an acknowledgement advertises the invalid credit count.
    pub(crate) const ACK: Self = Self::Ack(0x1f);

    fn encode(self) -> u8 {
        match self {
            Self::Ack(credits) => credits & 0x1f,
            Self::RnrNak(timer) => 0x20 | (timer & 0x1f),
            Self::Nak(code) => 0x60 | code as u8,
        }
    }

    fn decode(raw: u8) -> Option<Self> {
        Some(match raw >> 5 {
            0 => Self::Ack(raw & 0x1f),
            1 => Self::RnrNak(raw & 0x1f),
            3 => Self::Nak(match raw & 0x1f {
                0 => NakCode::PsnSequenceError,
                1 => NakCode::InvalidRequest,
                2 => NakCode::RemoteAccessError,
                3 => NakCode::RemoteOperationalError,
                4 => NakCode::InvalidRdRequest,
                _ => return None,
            }),
            _ => return None,
        })
    }
}

/// An acknowledgement (AETH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Aeth {
    pub(crate) syndrome: Syndrome,
    pub(crate) msn: u32,
}

/// A datagram's queue key and source (DETH).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Deth {
    pub(crate) qkey: u32,
    pub(crate) src_qpn: u32,
}

/// A transport packet's headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Headers {
    pub(crate) opcode: Opcode,
    pub(crate) bth: Bth,
    pub(crate) reth: Reth,
    pub(crate) atomic: AtomicEth,
    pub(crate) aeth: Option<Aeth>,
    pub(crate) atomic_ack: u64,
    pub(crate) deth: Deth,
    /// Immediate data, in network order as the consumer gave it.
    pub(crate) immediate: u32,
    /// The key a send with invalidate names.
    pub(crate) invalidate_rkey: u32,
}

impl Headers {
    /// Headers for `opcode` with every field zero but the BTH's opcode, partition and PSN.
    pub(crate) fn new(opcode: u8, dest_qpn: u32, psn: u32) -> Option<Self> {
        let bth = Bth {
            opcode,
            pkey: DEFAULT_PKEY,
            dest_qpn,
            psn: psn & PSN_MASK,
            ..Bth::default()
        };
        Some(Self::with_bth(Opcode::decode(opcode)?, bth))
    }

    /// Headers of `bth` whose extension headers are all zero.
    fn with_bth(opcode: Opcode, bth: Bth) -> Self {
        Self {
            opcode,
            bth,
            reth: Reth::default(),
            atomic: AtomicEth::default(),
            aeth: None,
            atomic_ack: 0,
            deth: Deth::default(),
            immediate: 0,
            invalidate_rkey: 0,
        }
    }

    /// Returns the length of the whole transport packet for `payload` bytes: headers,
    /// payload, pad and ICRC.
    pub(crate) fn packet_len(&self, payload: usize) -> usize {
        self.opcode.header_len() + payload + pad_len(payload) + ICRC_LEN
    }

    /// Writes the headers into the start of `out`, which holds at least
    /// [`Opcode::header_len`] bytes, for a payload of `payload` bytes.
    pub(crate) fn write(&self, out: &mut [u8], payload: usize) {
        let b = &self.bth;
        let mut w = Writer { out, at: 0 };
        w.put(&[
            b.opcode,
            (u8::from(b.solicited) << 7) | ((pad_len(payload) as u8) << 4) | TRANSPORT_VERSION,
        ]);
        w.put(&b.pkey.to_be_bytes());
        w.put(&(b.dest_qpn & 0x00ff_ffff).to_be_bytes());
        w.put(&((u32::from(b.ack_request) << 31) | (b.psn & PSN_MASK)).to_be_bytes());
        let e = self.opcode.extensions;
        if e.has(Extensions::DETH) {
            w.put(&self.deth.qkey.to_be_bytes());
            w.put(&(self.deth.src_qpn & 0x00ff_ffff).to_be_bytes());
        }
        if e.has(Extensions::RETH) {
            w.put(&self.reth.va.to_be_bytes());
            w.put(&self.reth.rkey.to_be_bytes());
            w.put(&self.reth.length.to_be_bytes());
        }
        if e.has(Extensions::ATOMIC_ETH) {
            w.put(&self.atomic.va.to_be_bytes());
            w.put(&self.atomic.rkey.to_be_bytes());
            w.put(&self.atomic.swap_add.to_be_bytes());
            w.put(&self.atomic.compare.to_be_bytes());
        }
        if e.has(Extensions::AETH) {
            let aeth = self.aeth.unwrap_or(Aeth {
                syndrome: Syndrome::ACK,
                msn: 0,
            });
            let word = (u32::from(aeth.syndrome.encode()) << 24) | (aeth.msn & 0x00ff_ffff);
            w.put(&word.to_be_bytes());
        }
        if e.has(Extensions::ATOMIC_ACK_ETH) {
            w.put(&self.atomic_ack.to_be_bytes());
        }
        if e.has(Extensions::IMMDT) {
            w.put(&self.immediate.to_ne_bytes());
        }
        if e.has(Extensions::IETH) {
            w.put(&self.invalidate_rkey.to_be_bytes());
        }
    }

    /// Decodes a transport packet; returns its headers and the range of its payload.
    /// The ICRC is checked separately.
    pub(crate) fn parse(packet: &[u8]) -> Result<(Self, core::ops::Range<usize>)> {
        if packet.len() < BTH_LEN + ICRC_LEN {
            return Err(EINVAL);
        }
        let mut r = Reader {
            data: packet,
            at: 0,
        };
        let opcode_raw = r.u8();
        let flags = r.u8();
        let opcode = Opcode::decode(opcode_raw).ok_or(EINVAL)?;
        if flags & 0x0f != TRANSPORT_VERSION {
            return Err(EINVAL);
        }
        let pkey = r.u16();
        let dest_qpn = r.u32() & 0x00ff_ffff;
        let word = r.u32();
        let bth = Bth {
            opcode: opcode_raw,
            solicited: flags & 0x80 != 0,
            pad: (flags >> 4) & 3,
            pkey,
            dest_qpn,
            ack_request: word & (1 << 31) != 0,
            psn: word & PSN_MASK,
        };
        let header_len = opcode.header_len();
        let end = packet.len() - ICRC_LEN;
        if header_len + usize::from(bth.pad) > end {
            return Err(EINVAL);
        }
        let mut headers = Self::with_bth(opcode, bth);
        let e = opcode.extensions;
        if e.has(Extensions::DETH) {
            headers.deth.qkey = r.u32();
            headers.deth.src_qpn = r.u32() & 0x00ff_ffff;
        }
        if e.has(Extensions::RETH) {
            headers.reth = Reth {
                va: r.u64(),
                rkey: r.u32(),
                length: r.u32(),
            };
        }
        if e.has(Extensions::ATOMIC_ETH) {
            headers.atomic = AtomicEth {
                va: r.u64(),
                rkey: r.u32(),
                swap_add: r.u64(),
                compare: r.u64(),
            };
        }
        if e.has(Extensions::AETH) {
            let word = r.u32();
            headers.aeth = Some(Aeth {
                syndrome: Syndrome::decode((word >> 24) as u8).ok_or(EINVAL)?,
                msn: word & 0x00ff_ffff,
            });
        }
        if e.has(Extensions::ATOMIC_ACK_ETH) {
            headers.atomic_ack = r.u64();
        }
        if e.has(Extensions::IMMDT) {
            headers.immediate = u32::from_ne_bytes(r.array());
        }
        if e.has(Extensions::IETH) {
            headers.invalidate_rkey = r.u32();
        }
        let payload = header_len..end - usize::from(bth.pad);
        if !opcode.has_payload() && !payload.is_empty() {
            return Err(EINVAL);
        }
        Ok((headers, payload))
    }
}

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
    masked[ip_udp.len() + 4] = 0xff;
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
