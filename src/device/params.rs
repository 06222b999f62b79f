// SPDX-License-Identifier: GPL-2.0

//! Device and port parameters: the limits and capabilities a soft-RoCE device reports.
//!
//! The limits match the C soft-RoCE driver's, so user space sizes its resources the same way
//! on either; the capabilities are those this driver implements.

use kernel::{
    bindings,
    rdma::attr::{DeviceAttributes, OdpCaps},
};

/// Default maximum for counted objects.
const DEFAULT_MAX: u32 = 1 << 20;

/// Maximum number of protection domains.
pub(crate) const MAX_PD: u32 = DEFAULT_MAX;
/// Maximum number of user contexts.
pub(crate) const MAX_UCONTEXT: u32 = DEFAULT_MAX;
/// Maximum number of completion queues.
pub(crate) const MAX_CQ: u32 = DEFAULT_MAX;
/// Maximum number of entries of a completion queue.
pub(crate) const MAX_CQE: u32 = (1 << 15) - 1;
/// Maximum number of address handles; they are numbered from 1.
pub(crate) const MAX_AH: u32 = (1 << 15) - 1;
/// Maximum number of queue pairs.
pub(crate) const MAX_QP: u32 = DEFAULT_MAX - 16;
/// Maximum number of work requests per work queue.
pub(crate) const MAX_QP_WR: u32 = DEFAULT_MAX;
/// Maximum number of outstanding RDMA reads and atomics per queue pair, either side.
pub(crate) const MAX_QP_RD_ATOM: u32 = 128;
/// Maximum number of scatter/gather entries per work request.
pub(crate) const MAX_SGE: u32 = 32;
/// Number of GID table entries per port.
pub(crate) const GID_TABLE_LEN: u32 = 1024;
/// Largest message, in bytes.
pub(crate) const MAX_MSG_SIZE: u32 = 1 << 31;
/// Headers a RoCEv2 packet adds beyond the netdev MTU's payload: Ethernet is outside the MTU;
/// IPv6 (40) + UDP (8) + BTH (12) + the largest extended transport header (RETH 16) + ICRC (4).
pub(crate) const MAX_HEADER_LEN: u32 = 80;
/// IEEE vendor ID reported by soft-RoCE devices.
pub(crate) const VENDOR_ID: u32 = 0xffffff;
/// The default (full-membership) partition key.
pub(crate) const DEFAULT_PKEY: u16 = 0xffff;
/// `IB_PORT_CM_SUP`: the port supports connection management.
pub(crate) const PORT_CAP_CM_SUPPORTED: u32 = 1 << 16;

/// What the device does, each used by a test: RNR NAKs, resizable SRQs, fast registration
/// (memory management extensions), memory windows of both types, a GUID for the system, and
/// the memory placement extensions' atomic write and flush to global visibility. Nothing is
/// advertised before it is implemented: flush to persistence (which needs persistent
/// memory), automatic path migration and the bad P_Key/Q_Key counters are not.
const DEVICE_CAP_FLAGS: u64 = bindings::ib_device_cap_flags_IB_DEVICE_PORT_ACTIVE_EVENT as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_SYS_IMAGE_GUID as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_RC_RNR_NAK_GEN as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_SRQ_RESIZE as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_MEM_MGT_EXTENSIONS as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_MEM_WINDOW as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_MEM_WINDOW_TYPE_2B as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_FLUSH_GLOBAL as u64
    | bindings::ib_device_cap_flags_IB_DEVICE_ATOMIC_WRITE as u64;

/// What regions on demand serve, per transport service, each used by a test: sends, receives
/// (shared receive queues too), writes, reads and atomics of reliable connections, and sends
/// and receives of datagrams. Implicit on-demand paging (the whole address space as one
/// region) is not offered.
const ODP_CAPS: OdpCaps = OdpCaps {
    general: bindings::ib_odp_general_cap_bits_IB_ODP_SUPPORT as u64,
    rc: bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_SEND
        | bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_RECV
        | bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_WRITE
        | bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_READ
        | bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_ATOMIC
        | bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_SRQ_RECV,
    uc: 0,
    ud: bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_SEND
        | bindings::ib_odp_transport_cap_bits_IB_ODP_SUPPORT_RECV,
};

/// Returns the attributes of a device whose system image GUID is `guid` (network order).
pub(crate) fn device_attributes(guid: u64) -> DeviceAttributes {
    DeviceAttributes {
        sys_image_guid: guid,
        max_mr_size: u64::MAX,
        page_size_cap: 0xffff_f000,
        vendor_id: VENDOR_ID,
        max_qp: MAX_QP,
        max_qp_wr: MAX_QP_WR,
        device_cap_flags: DEVICE_CAP_FLAGS,
        // `rdma link del` may remove the device; user regions may be on demand.
        kernel_cap_flags: u64::from(
            bindings::ib_kernel_cap_flags_IBK_ALLOW_USER_UNREG
                | bindings::ib_kernel_cap_flags_IBK_ON_DEMAND_PAGING,
        ),
        max_send_sge: MAX_SGE,
        max_recv_sge: MAX_SGE,
        max_sge_rd: MAX_SGE,
        max_cq: MAX_CQ,
        max_cqe: MAX_CQE,
        max_mr: MAX_MR_INDEX,
        max_mw: MAX_MW_INDEX - MIN_MW_INDEX + 1,
        max_pd: MAX_PD,
        max_qp_rd_atom: MAX_QP_RD_ATOM,
        max_res_rd_atom: 0x3f000,
        max_qp_init_rd_atom: MAX_QP_RD_ATOM,
        atomic_cap: bindings::ib_atomic_cap_IB_ATOMIC_HCA,
        max_ah: MAX_AH,
        max_srq: MAX_SRQ,
        max_srq_wr: MAX_SRQ_WR,
        max_srq_sge: MAX_SRQ_SGE,
        max_fast_reg_page_list_len: MAX_FAST_REG_PAGES,
        max_pkeys: 64,
        max_mcast_grp: MAX_MCAST_GRP,
        max_mcast_qp_attach: MAX_MCAST_QP_ATTACH,
        max_total_mcast_qp_attach: MAX_TOTAL_MCAST_QP_ATTACH,
        local_ca_ack_delay: 15,
        odp_caps: ODP_CAPS,
        ..Default::default()
    }
}

/// Returns the modified EUI-64 of an Ethernet address (RFC 4291 appendix A), in network order:
/// the GUID of a device on that Ethernet interface.
pub(crate) fn eui64(mac: [u8; 6]) -> [u8; 8] {
    [
        mac[0] ^ 2,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]
}

/// Memory keys are a table index shifted left by this, plus a key byte.
pub(crate) const KEY_INDEX_SHIFT: u32 = 8;
/// Memory region indices run from 1 to this.
pub(crate) const MAX_MR_INDEX: u32 = (1 << 19) - 1;
/// The most pages a fast-registration region maps.
pub(crate) const MAX_FAST_REG_PAGES: u32 = 512;
/// Memory window indices run from this to [`MAX_MW_INDEX`], above the regions' so that a key
/// names one or the other.
pub(crate) const MIN_MW_INDEX: u32 = (1 << 19) + 1;
/// The last memory window index.
pub(crate) const MAX_MW_INDEX: u32 = (1 << 20) - 1;

/// Multicast groups a device has at most.
pub(crate) const MAX_MCAST_GRP: u32 = 8192;
/// Queue pairs attached to one multicast group at most.
pub(crate) const MAX_MCAST_QP_ATTACH: u32 = 56;
/// Attachments of queue pairs to groups a device has at most.
pub(crate) const MAX_TOTAL_MCAST_QP_ATTACH: u32 = 0x70000;

/// Maximum number of shared receive queues.
pub(crate) const MAX_SRQ: u32 = DEFAULT_MAX - MIN_SRQ_NUM;
/// Shared receive queue numbers start here, as in rxe.
pub(crate) const MIN_SRQ_NUM: u32 = 0x20001;
/// Maximum number of work requests of a shared receive queue.
pub(crate) const MAX_SRQ_WR: u32 = DEFAULT_MAX;
/// Maximum number of scatter/gather entries per shared receive queue request.
pub(crate) const MAX_SRQ_SGE: u32 = 27;
