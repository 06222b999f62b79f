// SPDX-License-Identifier: GPL-2.0

//! The transport headers (IBTA vol. 1 9.2-9.5) and their codec: a packet's headers are
//! decoded only once their lengths are checked against the opcode.

use super::{opcode::Extensions, *};
use crate::transport::psn::PSN_MASK;

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

/// What a flush makes of the memory written before it (FETH, IBTA Memory Placement
/// Extensions): its placement type and selectivity level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Feth {
    /// The placement type (bits 3..0): [`Feth::GLOBAL`], [`Feth::PERSISTENT`] or both.
    pub(crate) placement: u8,
    /// The selectivity level (bits 5..4): [`Feth::RANGE`] or [`Feth::REGION`].
    pub(crate) selectivity: u8,
}

impl Feth {
    /// Placement type: visible to every reader of the memory (`IB_FLUSH_GLOBAL`).
    pub(crate) const GLOBAL: u8 = 1 << 0;
    /// Placement type: persistent (`IB_FLUSH_PERSISTENT`).
    pub(crate) const PERSISTENT: u8 = 1 << 1;
    /// Selectivity: the range the RETH names (`IB_FLUSH_RANGE`).
    pub(crate) const RANGE: u8 = 0;
    /// Selectivity: the whole region the RETH's key names (`IB_FLUSH_MR`).
    pub(crate) const REGION: u8 = 1;

    fn encode(self) -> u32 {
        (u32::from(self.selectivity & 0x3) << 4) | u32::from(self.placement & 0xf)
    }

    fn decode(word: u32) -> Self {
        Self {
            placement: (word & 0xf) as u8,
            selectivity: ((word >> 4) & 0x3) as u8,
        }
    }
}

/// An atomic operation's operands (AtomicETH).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AtomicEth {
    pub(crate) va: u64,
    pub(crate) rkey: u32,
    pub(crate) swap_add: u64,
    pub(crate) compare: u64,
}

/// The acknowledgment syndrome (AETH bits 31..24), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syndrome {
    /// A positive acknowledgment with the responder's credit count.
    Ack(u8),
    /// Receiver not ready, with the encoded timer to wait.
    RnrNak(u8),
    /// A negative acknowledgment.
    Nak(NakCode),
}

/// The negative acknowledgment codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NakCode {
    PsnSequenceError = 0,
    InvalidRequest = 1,
    RemoteAccessError = 2,
    RemoteOperationalError = 3,
    InvalidRdRequest = 4,
}

impl Syndrome {
    /// Credits are not tracked: an acknowledgment advertises the invalid credit count.
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

/// An acknowledgment (AETH).
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
    pub(crate) flush: Feth,
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
            flush: Feth::default(),
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
        if e.has(Extensions::FETH) {
            w.put(&self.flush.encode().to_be_bytes());
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
        if e.has(Extensions::FETH) {
            headers.flush = Feth::decode(r.u32());
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
