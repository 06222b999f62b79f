// SPDX-License-Identifier: GPL-2.0

//! rrxe's uverbs methods as user space calls them: the ioctl header and attributes of
//! `RDMA_VERBS_IOCTL` (include/uapi/rdma/rdma_user_ioctl_cmds.h) and the driver's structures
//! (the driver's src/control.rs).

/// `UVERBS_API_NS_FLAG`: the identifier is in the driver namespace.
pub const NS_FLAG: u16 = 1 << 12;

pub const OBJECT_TRANSPORT: u16 = NS_FLAG;

pub const METHOD_QUERY_QP: u16 = NS_FLAG;
pub const METHOD_QUERY_COUNTERS: u16 = NS_FLAG | 1;
pub const METHOD_SET_FAULTS: u16 = NS_FLAG | 2;

pub const ATTR_QPN: u16 = NS_FLAG | 1;
pub const ATTR_QP_STATE: u16 = NS_FLAG | 2;
pub const ATTR_COUNTER_VALUES: u16 = NS_FLAG | 3;
pub const ATTR_COUNTER_NAMES: u16 = NS_FLAG | 4;
pub const ATTR_FAULTS: u16 = NS_FLAG | 5;
pub const ATTR_QP_QUERY_FLAGS: u16 = NS_FLAG | 6;
pub const ATTR_COUNTER_SET: u16 = NS_FLAG | 7;

/// `ATTR_QP_QUERY_FLAGS`: start the queue pair's counts again from zero once read.
pub const QUERY_QP_RESET_COUNTS: u64 = 1 << 0;

/// `ATTR_COUNTER_SET`: every counter, or the drops by reason.
pub const COUNTER_SET_ALL: u64 = 0;
pub const COUNTER_SET_DROPS: u64 = 1;

/// `RDMA_DRIVER_RXE`, the driver id rrxe reports.
pub const RDMA_DRIVER_RXE: u32 = 14;

/// `UVERBS_ATTR_F_MANDATORY`.
pub const ATTR_F_MANDATORY: u16 = 1 << 0;

/// `RDMA_VERBS_IOCTL`: `_IOWR(0x1b, 1, struct ib_uverbs_ioctl_hdr)`.
pub const RDMA_VERBS_IOCTL: u64 = (3 << 30) | ((HEADER_LEN as u64) << 16) | (0x1b << 8) | 1;

/// `QpState::flags`.
pub const STATE_TIMER_ARMED: u32 = 1 << 0;
pub const STATE_RNR_WAITING: u32 = 1 << 1;

/// Parts per million: the unit of fault rates.
pub const PER_MILLION: u32 = 1_000_000;

/// `struct ib_uverbs_attr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr {
    pub attr_id: u16,
    pub len: u16,
    pub flags: u16,
    pub reserved: u16,
    pub data: u64,
}

/// `struct ib_uverbs_ioctl_hdr`, without its attributes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Header {
    pub length: u16,
    pub object_id: u16,
    pub method_id: u16,
    pub num_attrs: u16,
    pub reserved1: u64,
    pub driver_id: u32,
    pub reserved2: u32,
}

pub const HEADER_LEN: usize = std::mem::size_of::<Header>();

/// The faults of a queue pair, as the driver takes and reports them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub drop_ppm: u32,
    pub duplicate_ppm: u32,
    pub delay_ppm: u32,
    pub corrupt_ppm: u32,
    pub delay_us: u32,
    pub reserved: u32,
    pub seed: u64,
}

/// A queue pair's transport state, as the driver reports it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QpState {
    pub qpn: u32,
    pub qp_type: u32,
    pub state: u32,
    pub flags: u32,
    pub next_psn: u32,
    pub unacked_psn: u32,
    pub expected_psn: u32,
    pub msn: u32,
    pub window: u32,
    pub in_flight: u32,
    pub inbox: u32,
    pub deferred: u32,
    pub ack_retries_left: u32,
    pub rnr_retries_left: u32,
    pub timer_us: u32,
    pub held: u32,
    pub tx_packets: u64,
    pub rx_packets: u64,
    pub retransmitted_packets: u64,
    pub ack_timeouts: u64,
    pub retry_exceeded: u64,
    pub seq_naks_received: u64,
    pub rnr_naks_received: u64,
    pub seq_naks_sent: u64,
    pub rnr_naks_sent: u64,
    pub duplicate_requests: u64,
    pub faults: Faults,
    pub injected_drops: u64,
    pub injected_duplicates: u64,
    pub injected_delays: u64,
    pub injected_corruptions: u64,
}

/// An attribute carrying `value` inline or by address, as the core reads pointers: values
/// of up to eight bytes travel in `data` itself.
pub fn attr_in<T: Copy>(attr_id: u16, value: &T, flags: u16) -> Attr {
    let len = std::mem::size_of::<T>();
    let data = if len <= 8 {
        let mut data = [0u8; 8];
        // SAFETY: `T` is `Copy` plain data of `len <= 8` bytes, read as bytes.
        let bytes = unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), len) };
        data[..len].copy_from_slice(bytes);
        u64::from_ne_bytes(data)
    } else {
        value as *const T as u64
    };
    Attr {
        attr_id,
        len: len as u16,
        flags,
        reserved: 0,
        data,
    }
}

/// An output attribute: the driver writes up to `len` bytes at `addr`.
pub fn attr_out(attr_id: u16, addr: *mut u8, len: usize, flags: u16) -> Attr {
    Attr {
        attr_id,
        len: len as u16,
        flags,
        reserved: 0,
        data: addr as u64,
    }
}

/// Lays out the ioctl buffer: the header, then the attributes, as 64-bit words (the header's
/// alignment).
pub fn message(object_id: u16, method_id: u16, driver_id: u32, attrs: &[Attr]) -> Vec<u64> {
    let attr_len = std::mem::size_of::<Attr>();
    let length = HEADER_LEN + std::mem::size_of_val(attrs);
    let mut words = vec![0u64; length / 8];
    let header = Header {
        length: length as u16,
        object_id,
        method_id,
        num_attrs: attrs.len() as u16,
        reserved1: 0,
        driver_id,
        reserved2: 0,
    };
    // SAFETY: `words` holds `length` bytes; the header and the attributes are plain data
    // written at their offsets, 8-byte aligned.
    unsafe {
        let base = words.as_mut_ptr().cast::<u8>();
        std::ptr::write(base.cast::<Header>(), header);
        for (i, attr) in attrs.iter().enumerate() {
            std::ptr::write(base.add(HEADER_LEN + i * attr_len).cast::<Attr>(), *attr);
        }
    }
    words
}

/// Splits the counter names the driver wrote (each ended by a NUL) into strings.
pub fn split_names(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .take_while(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_driver() {
        assert_eq!(HEADER_LEN, 24);
        assert_eq!(std::mem::size_of::<Attr>(), 16);
        assert_eq!(std::mem::size_of::<Faults>(), 32);
        assert_eq!(std::mem::size_of::<QpState>(), 208);
        assert_eq!(RDMA_VERBS_IOCTL, 0xc018_1b01);
    }

    #[test]
    fn small_inputs_travel_inline() {
        let a = attr_in(ATTR_QPN, &0x11u32, ATTR_F_MANDATORY);
        assert_eq!((a.attr_id, a.len, a.flags, a.data), (0x1001, 4, 1, 0x11));
        let faults = Faults::default();
        let b = attr_in(ATTR_FAULTS, &faults, 0);
        assert_eq!(b.len, 32);
        assert_eq!(b.data, &faults as *const Faults as u64);
    }

    #[test]
    fn message_lays_out_header_and_attributes() {
        let attrs = [
            attr_in(ATTR_QPN, &7u32, 0),
            attr_out(ATTR_QP_STATE, std::ptr::null_mut(), 208, 1),
        ];
        let words = message(OBJECT_TRANSPORT, METHOD_QUERY_QP, RDMA_DRIVER_RXE, &attrs);
        assert_eq!(words.len() * 8, 24 + 32);
        let w0 = words[0];
        assert_eq!(w0 & 0xffff, 56);
        assert_eq!((w0 >> 16) & 0xffff, 0x1000);
        assert_eq!((w0 >> 32) & 0xffff, 0x1000);
        assert_eq!(w0 >> 48, 2);
        assert_eq!(words[2] & 0xffff_ffff, 14);
        assert_eq!(words[3] & 0xffff, 0x1001);
        assert_eq!(words[4], 7);
        assert_eq!(words[5] & 0xffff, 0x1002);
        assert_eq!((words[5] >> 16) & 0xffff, 208);
    }

    #[test]
    fn names_split_at_each_nul() {
        assert_eq!(
            split_names(b"tx_packets\0rx_packets\0"),
            ["tx_packets", "rx_packets"]
        );
        assert_eq!(split_names(b"a\0b\0\0\0"), ["a", "b"]);
        assert!(split_names(b"").is_empty());
    }
}
