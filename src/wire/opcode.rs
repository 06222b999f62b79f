// SPDX-License-Identifier: GPL-2.0

//! Opcodes (IBTA vol. 1 9.2.1): the transport service, the operation and the packet's place
//! in its message, and the extension headers each one calls for.

use super::*;

/// The transport service of an opcode (its top three bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransportType {
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
    /// Makes memory written before it visible or persistent (IBTA Memory Placement
    /// Extensions, FLUSH), answered by a read response of no bytes.
    Flush,
    /// Writes eight bytes at once (IBTA Memory Placement Extensions, ATOMIC WRITE),
    /// answered by a read response of no bytes.
    AtomicWrite,
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
pub(super) struct Extensions(u8);

impl Extensions {
    pub(super) const RETH: u8 = 1 << 0;
    pub(super) const AETH: u8 = 1 << 1;
    pub(super) const DETH: u8 = 1 << 2;
    pub(super) const IMMDT: u8 = 1 << 3;
    pub(super) const IETH: u8 = 1 << 4;
    pub(super) const ATOMIC_ETH: u8 = 1 << 5;
    pub(super) const ATOMIC_ACK_ETH: u8 = 1 << 6;
    pub(super) const FETH: u8 = 1 << 7;

    pub(super) fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// A decoded opcode: service, operation, position and which headers follow the BTH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Opcode {
    pub(crate) transport: TransportType,
    pub(crate) operation: Operation,
    pub(crate) position: Position,
    pub(super) extensions: Extensions,
    payload: bool,
}

impl Opcode {
    /// Decodes an opcode byte; `None` for reserved values and services the device lacks.
    pub(crate) fn decode(raw: u8) -> Option<Self> {
        use Extensions as E;
        use Operation::*;
        use Position::*;
        let transport = match raw >> 5 {
            0 => TransportType::Rc,
            1 => TransportType::Uc,
            3 => TransportType::Ud,
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
            0x1c => (Flush, Only, E::FETH | E::RETH, false),
            0x1d => (AtomicWrite, Only, E::RETH, true),
            _ => return None,
        };
        let allowed = match transport {
            TransportType::Rc => true,
            TransportType::Uc => matches!(operation, Send | Write) && ext & E::IETH == 0,
            TransportType::Ud => operation == Send && position == Only && ext & E::IETH == 0,
        };
        if !allowed {
            return None;
        }
        let ext = if transport == TransportType::Ud {
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
        transport: TransportType,
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
            (Flush, Only, false, false) => 0x1c,
            (AtomicWrite, Only, false, false) => 0x1d,
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
            (Extensions::FETH, FETH_LEN),
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
