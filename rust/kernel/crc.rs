// SPDX-License-Identifier: GPL-2.0

//! Cyclic redundancy checks.
//!
//! C header: [`include/linux/crc32.h`](srctree/include/linux/crc32.h)

use crate::bindings;

/// Updates the IEEE CRC-32 `crc` with `data` (`crc32_le`) and returns the result.
///
/// This is the CRC of IEEE 802.3 (Ethernet), computed least significant bit first with the
/// bit-reflected polynomial `0xedb88320`. Like the kernel's function it inverts neither at the
/// start nor at the end: start from `!0` (recommended) or `0`, continue from a previous result
/// to checksum data in pieces, and invert the final result where the protocol does (Ethernet's
/// FCS and the RoCE ICRC are the inverted value).
///
/// May be called in any context.
///
/// # Examples
///
/// ```
/// use kernel::crc::crc32_le;
///
/// // The standard check value of CRC-32.
/// assert_eq!(!crc32_le(!0, b"123456789"), 0xcbf4_3926);
/// // Data may be checksummed in pieces.
/// assert_eq!(crc32_le(crc32_le(!0, b"1234"), b"56789"), crc32_le(!0, b"123456789"));
/// ```
#[inline]
pub fn crc32_le(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `data` is valid for reads of `data.len()` bytes for the call; `crc32_le` has no
    // other requirement and may be called in any context.
    unsafe { bindings::crc32_le(crc, data.as_ptr().cast(), data.len()) }
}
