// SPDX-License-Identifier: GPL-2.0

//! Device and port attributes.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)

use crate::{bindings, net::netdevice::NetDevice};

/// An IB MTU (`enum ib_mtu`): a path MTU of 256 to 4096 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Mtu {
    /// 256 bytes.
    Mtu256 = bindings::ib_mtu_IB_MTU_256,
    /// 512 bytes.
    Mtu512 = bindings::ib_mtu_IB_MTU_512,
    /// 1024 bytes.
    Mtu1024 = bindings::ib_mtu_IB_MTU_1024,
    /// 2048 bytes.
    Mtu2048 = bindings::ib_mtu_IB_MTU_2048,
    /// 4096 bytes.
    Mtu4096 = bindings::ib_mtu_IB_MTU_4096,
}

impl Mtu {
    /// Returns the largest IB MTU that fits in `bytes`, or `None` below 256.
    pub const fn fitting(bytes: u32) -> Option<Self> {
        Some(match bytes {
            4096.. => Self::Mtu4096,
            2048.. => Self::Mtu2048,
            1024.. => Self::Mtu1024,
            512.. => Self::Mtu512,
            256.. => Self::Mtu256,
            _ => return None,
        })
    }

    /// Returns the MTU in bytes.
    pub const fn bytes(self) -> u32 {
        128 << (self as u32)
    }

    /// Converts a raw `enum ib_mtu` value.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            bindings::ib_mtu_IB_MTU_256 => Self::Mtu256,
            bindings::ib_mtu_IB_MTU_512 => Self::Mtu512,
            bindings::ib_mtu_IB_MTU_1024 => Self::Mtu1024,
            bindings::ib_mtu_IB_MTU_2048 => Self::Mtu2048,
            bindings::ib_mtu_IB_MTU_4096 => Self::Mtu4096,
            _ => return None,
        })
    }
}

/// A port's logical state (`enum ib_port_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PortState {
    /// Down.
    Down = bindings::ib_port_state_IB_PORT_DOWN,
    /// Initialising.
    Init = bindings::ib_port_state_IB_PORT_INIT,
    /// Armed.
    Armed = bindings::ib_port_state_IB_PORT_ARMED,
    /// Active.
    Active = bindings::ib_port_state_IB_PORT_ACTIVE,
}

impl PortState {
    /// The state of an Ethernet port on `netdev`: active when it is running with carrier.
    pub fn of_netdev(netdev: &NetDevice) -> Self {
        if netdev.is_running() && netdev.has_carrier() {
            Self::Active
        } else {
            Self::Down
        }
    }
}

/// A port's physical state, as IBTA PortPhysicalState.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PhysState {
    /// Sleep.
    Sleep = 1,
    /// Polling: enabled, link not up.
    Polling = 2,
    /// Disabled.
    Disabled = 3,
    /// Link up.
    LinkUp = 5,
}

/// The link layer of a port (`enum rdma_link_layer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum LinkLayer {
    /// InfiniBand.
    Infiniband = bindings::rdma_link_layer_IB_LINK_LAYER_INFINIBAND,
    /// Ethernet (RoCE).
    Ethernet = bindings::rdma_link_layer_IB_LINK_LAYER_ETHERNET,
}

/// A port's properties that never change (`struct ib_port_immutable`).
#[derive(Clone, Copy, Debug)]
pub struct PortImmutable {
    /// Number of P_Key table entries.
    pub pkey_tbl_len: u32,
    /// Number of GID table entries.
    pub gid_tbl_len: u32,
    /// `RDMA_CORE_*` capability and protocol flags.
    pub core_cap_flags: u32,
    /// Largest MAD the port handles, in bytes.
    pub max_mad_size: u32,
}

impl PortImmutable {
    /// Core capability flags of a RoCEv2 port (`RDMA_CORE_PORT_IBA_ROCE_UDP_ENCAP`): the core
    /// then fills the GID table with RoCEv2 GIDs from the netdev's addresses.
    pub const ROCE_UDP_ENCAP: u32 = bindings::RDMA_CORE_PORT_IBA_ROCE_UDP_ENCAP;
    /// Size of an IB management datagram, fixed by IBTA (`IB_MGMT_MAD_SIZE`).
    pub const MGMT_MAD_SIZE: u32 = 256;
}

/// A port's attributes (`struct ib_port_attr`), as reported by `query_port`.
#[derive(Clone, Copy, Debug)]
pub struct PortAttributes {
    /// Logical state.
    pub state: PortState,
    /// Largest MTU the port supports.
    pub max_mtu: Mtu,
    /// MTU in use.
    pub active_mtu: Mtu,
    /// Number of GID table entries.
    pub gid_tbl_len: u32,
    /// `IB_PORT_*` capability flags.
    pub port_cap_flags: u32,
    /// Largest message, in bytes.
    pub max_msg_sz: u32,
    /// Number of P_Key table entries.
    pub pkey_tbl_len: u16,
    /// Number of virtual lanes.
    pub max_vl_num: u8,
    /// Active link width (`enum ib_port_width`).
    pub active_width: u8,
    /// Active link speed (`enum ib_port_speed`).
    pub active_speed: u16,
    /// Physical state.
    pub phys_state: PhysState,
}

impl PortAttributes {
    pub(crate) fn write_to(&self, raw: &mut bindings::ib_port_attr) {
        raw.state = self.state as u32;
        raw.max_mtu = self.max_mtu as u32;
        raw.active_mtu = self.active_mtu as u32;
        raw.phys_mtu = self.max_mtu.bytes();
        raw.gid_tbl_len = self.gid_tbl_len as i32;
        raw.port_cap_flags = self.port_cap_flags;
        raw.max_msg_sz = self.max_msg_sz;
        raw.pkey_tbl_len = self.pkey_tbl_len;
        raw.max_vl_num = self.max_vl_num;
        raw.active_width = self.active_width;
        raw.active_speed = self.active_speed;
        raw.phys_state = self.phys_state as u8;
    }
}

/// A device's attributes and limits (`struct ib_device_attr`), as reported by `query_device`.
///
/// Fields left at their default (zero) report the capability as absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeviceAttributes {
    /// Firmware version.
    pub fw_ver: u64,
    /// System image GUID, in network byte order.
    pub sys_image_guid: u64,
    /// Largest memory region, in bytes.
    pub max_mr_size: u64,
    /// Supported page sizes, as a bit mask.
    pub page_size_cap: u64,
    /// IEEE vendor ID.
    pub vendor_id: u32,
    /// Vendor part ID.
    pub vendor_part_id: u32,
    /// Hardware version.
    pub hw_ver: u32,
    /// Maximum number of QPs.
    pub max_qp: u32,
    /// Maximum number of work requests per queue.
    pub max_qp_wr: u32,
    /// `IB_DEVICE_*` capability flags.
    pub device_cap_flags: u64,
    /// `IBK_*` kernel capability flags.
    pub kernel_cap_flags: u64,
    /// Maximum number of scatter/gather entries per send work request.
    pub max_send_sge: u32,
    /// Maximum number of scatter/gather entries per receive work request.
    pub max_recv_sge: u32,
    /// Maximum number of scatter/gather entries for RDMA reads.
    pub max_sge_rd: u32,
    /// Maximum number of CQs.
    pub max_cq: u32,
    /// Maximum number of entries per CQ.
    pub max_cqe: u32,
    /// Maximum number of memory regions.
    pub max_mr: u32,
    /// Maximum number of protection domains.
    pub max_pd: u32,
    /// Maximum outstanding RDMA reads and atomics a QP responds to.
    pub max_qp_rd_atom: u32,
    /// Maximum responder resources for RDMA reads and atomics.
    pub max_res_rd_atom: u32,
    /// Maximum outstanding RDMA reads and atomics a QP initiates.
    pub max_qp_init_rd_atom: u32,
    /// Atomic operation support (`enum ib_atomic_cap`).
    pub atomic_cap: u32,
    /// Maximum number of multicast groups.
    pub max_mcast_grp: u32,
    /// Maximum number of QPs per multicast group.
    pub max_mcast_qp_attach: u32,
    /// Maximum number of QPs attached to multicast groups.
    pub max_total_mcast_qp_attach: u32,
    /// Maximum number of address handles.
    pub max_ah: u32,
    /// Maximum number of shared receive queues.
    pub max_srq: u32,
    /// Maximum number of work requests per SRQ.
    pub max_srq_wr: u32,
    /// Maximum number of scatter/gather entries per SRQ work request.
    pub max_srq_sge: u32,
    /// Maximum number of memory windows.
    pub max_mw: u32,
    /// Maximum page list length of a fast-registration work request.
    pub max_fast_reg_page_list_len: u32,
    /// Maximum number of P_Keys.
    pub max_pkeys: u16,
    /// Local CA ACK delay.
    pub local_ca_ack_delay: u8,
    /// On-demand paging: what the device does with such regions.
    pub odp_caps: OdpCaps,
}

/// A device's on-demand paging capabilities (`struct ib_odp_caps`): `IB_ODP_SUPPORT*` bits in
/// general, and `IB_ODP_SUPPORT_*` operations per transport service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OdpCaps {
    /// `IB_ODP_SUPPORT` (regions may be registered on demand) and `IB_ODP_SUPPORT_IMPLICIT`.
    pub general: u64,
    /// Operations of reliable connections that may use regions on demand.
    pub rc: u32,
    /// Operations of unreliable connections that may use regions on demand.
    pub uc: u32,
    /// Operations of unreliable datagrams that may use regions on demand.
    pub ud: u32,
}

impl DeviceAttributes {
    pub(crate) fn write_to(&self, raw: &mut bindings::ib_device_attr) {
        raw.fw_ver = self.fw_ver;
        raw.sys_image_guid = self.sys_image_guid;
        raw.max_mr_size = self.max_mr_size;
        raw.page_size_cap = self.page_size_cap;
        raw.vendor_id = self.vendor_id;
        raw.vendor_part_id = self.vendor_part_id;
        raw.hw_ver = self.hw_ver;
        raw.max_qp = self.max_qp;
        raw.max_qp_wr = self.max_qp_wr;
        raw.device_cap_flags = self.device_cap_flags;
        raw.kernel_cap_flags = self.kernel_cap_flags;
        raw.max_send_sge = self.max_send_sge;
        raw.max_recv_sge = self.max_recv_sge;
        raw.max_sge_rd = self.max_sge_rd;
        raw.max_cq = self.max_cq;
        raw.max_cqe = self.max_cqe;
        raw.max_mr = self.max_mr;
        raw.max_pd = self.max_pd;
        raw.max_qp_rd_atom = self.max_qp_rd_atom;
        raw.max_res_rd_atom = self.max_res_rd_atom;
        raw.max_qp_init_rd_atom = self.max_qp_init_rd_atom;
        raw.atomic_cap = self.atomic_cap;
        raw.max_mcast_grp = self.max_mcast_grp;
        raw.max_mcast_qp_attach = self.max_mcast_qp_attach;
        raw.max_total_mcast_qp_attach = self.max_total_mcast_qp_attach;
        raw.max_ah = self.max_ah;
        raw.max_srq = self.max_srq;
        raw.max_srq_wr = self.max_srq_wr;
        raw.max_srq_sge = self.max_srq_sge;
        raw.max_mw = self.max_mw;
        raw.max_fast_reg_page_list_len = self.max_fast_reg_page_list_len;
        raw.max_pkeys = self.max_pkeys;
        raw.local_ca_ack_delay = self.local_ca_ack_delay;
        raw.odp_caps.general_caps = self.odp_caps.general;
        raw.odp_caps.per_transport_caps.rc_odp_caps = self.odp_caps.rc;
        raw.odp_caps.per_transport_caps.uc_odp_caps = self.odp_caps.uc;
        raw.odp_caps.per_transport_caps.ud_odp_caps = self.odp_caps.ud;
    }
}

/// A GID (`union ib_gid`): a port's 128-bit address; on RoCE an IPv6 or IPv4-mapped address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Gid(pub [u8; 16]);

impl Gid {
    /// Returns the IPv4 address if this is an IPv4-mapped GID (`::ffff:a.b.c.d`).
    pub fn ipv4(&self) -> Option<[u8; 4]> {
        let g = &self.0;
        (g[..10].iter().all(|&b| b == 0) && g[10] == 0xff && g[11] == 0xff)
            .then(|| [g[12], g[13], g[14], g[15]])
    }
}

/// The type of a GID table entry (`enum ib_gid_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GidType {
    /// InfiniBand.
    Ib,
    /// RoCE v1 (Ethernet, Ethertype 0x8915).
    RoceV1,
    /// RoCE v2 (UDP/IP encapsulation).
    RoceV2,
}

impl GidType {
    pub(crate) fn from_raw(raw: bindings::ib_gid_type) -> Option<Self> {
        match raw {
            bindings::ib_gid_type_IB_GID_TYPE_IB => Some(Self::Ib),
            bindings::ib_gid_type_IB_GID_TYPE_ROCE => Some(Self::RoceV1),
            bindings::ib_gid_type_IB_GID_TYPE_ROCE_UDP_ENCAP => Some(Self::RoceV2),
            _ => None,
        }
    }
}

/// The attributes of a completion queue to create (`struct ib_cq_init_attr`).
#[derive(Clone, Copy, Debug)]
pub struct CqInitAttr {
    /// The number of completions it must hold at least.
    pub cqe: u32,
    /// The completion vector its events go to.
    pub comp_vector: u32,
    /// `IB_UVERBS_CQ_FLAGS_*` creation flags.
    pub flags: u32,
}

/// What a CQ notification request asks for (`enum ib_cq_notify_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqNotify {
    /// Notify only for solicited completions (else for any).
    pub solicited_only: bool,
    /// Report whether completions are already waiting, which the caller would miss.
    pub report_missed: bool,
}

/// The network protocol an address uses (`enum rdma_network_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkType {
    /// InfiniBand.
    Ib,
    /// RoCE v1.
    RoceV1,
    /// RoCE v2 over IPv4.
    Ipv4,
    /// RoCE v2 over IPv6.
    Ipv6,
}

impl NetworkType {
    /// Returns the C value (`enum rdma_network_type`), as in a completion's
    /// `network_hdr_type`.
    pub fn to_raw(self) -> u8 {
        let raw = match self {
            Self::Ib => bindings::rdma_network_type_RDMA_NETWORK_IB,
            Self::RoceV1 => bindings::rdma_network_type_RDMA_NETWORK_ROCE_V1,
            Self::Ipv4 => bindings::rdma_network_type_RDMA_NETWORK_IPV4,
            Self::Ipv6 => bindings::rdma_network_type_RDMA_NETWORK_IPV6,
        };
        raw as u8
    }
}

/// A RoCE address vector (`struct rdma_ah_attr` of type RoCE, with its GRH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressVector {
    /// The port.
    pub port: u32,
    /// The service level.
    pub sl: u8,
    /// The static rate (`enum ib_rate`).
    pub static_rate: u8,
    /// The destination GID.
    pub dgid: Gid,
    /// The source GID.
    pub sgid: Gid,
    /// The source GID's index in the port's table.
    pub sgid_index: u8,
    /// The protocol, from the source GID's type and address.
    pub network_type: NetworkType,
    /// The IPv6 flow label (20 bits).
    pub flow_label: u32,
    /// The IP hop limit (TTL).
    pub hop_limit: u8,
    /// The IP traffic class.
    pub traffic_class: u8,
    /// The destination MAC address, resolved by the core.
    pub dmac: [u8; 6],
}

impl AddressVector {
    /// Reads a RoCE address vector; `None` unless it is RoCE with a GRH and a source GID.
    ///
    /// # Safety
    ///
    /// `attr` must be valid for reads, with `grh.sgid_attr` null or a held GID attribute.
    pub(crate) unsafe fn from_raw(attr: *const bindings::rdma_ah_attr) -> Option<Self> {
        // SAFETY: Valid per the caller.
        let attr = unsafe { &*attr };
        if attr.type_ != bindings::rdma_ah_attr_type_RDMA_AH_ATTR_TYPE_ROCE
            || u32::from(attr.ah_flags) & bindings::ib_ah_flags_IB_AH_GRH == 0
            || attr.grh.sgid_attr.is_null()
        {
            return None;
        }
        // SAFETY: Non-null, so held per the caller; held entries are not changed.
        let sgid_attr = unsafe { &*attr.grh.sgid_attr };
        // SAFETY: Every bit pattern of the unions is a valid byte array.
        let (sgid, dgid, dmac) = unsafe {
            (
                Gid(sgid_attr.gid.raw),
                Gid(attr.grh.dgid.raw),
                attr.__bindgen_anon_1.roce.dmac,
            )
        };
        let network_type = match GidType::from_raw(sgid_attr.gid_type)? {
            GidType::Ib => NetworkType::Ib,
            GidType::RoceV1 => NetworkType::RoceV1,
            GidType::RoceV2 if sgid.ipv4().is_some() => NetworkType::Ipv4,
            GidType::RoceV2 => NetworkType::Ipv6,
        };
        Some(Self {
            port: attr.port_num,
            sl: attr.sl,
            static_rate: attr.static_rate,
            dgid,
            sgid,
            sgid_index: attr.grh.sgid_index,
            network_type,
            flow_label: attr.grh.flow_label,
            hop_limit: attr.grh.hop_limit,
            traffic_class: attr.grh.traffic_class,
            dmac,
        })
    }

    /// Writes the address vector as a RoCE `struct rdma_ah_attr` with a GRH, without a source
    /// GID attribute (as queries return it).
    pub(crate) fn write_raw(&self, attr: &mut bindings::rdma_ah_attr) {
        attr.type_ = bindings::rdma_ah_attr_type_RDMA_AH_ATTR_TYPE_ROCE;
        attr.ah_flags = bindings::ib_ah_flags_IB_AH_GRH as u8;
        attr.port_num = self.port;
        attr.sl = self.sl;
        attr.static_rate = self.static_rate;
        attr.grh.dgid.raw = self.dgid.0;
        attr.grh.sgid_index = self.sgid_index;
        attr.grh.flow_label = self.flow_label;
        attr.grh.hop_limit = self.hop_limit;
        attr.grh.traffic_class = self.traffic_class;
        attr.grh.sgid_attr = core::ptr::null();
        attr.__bindgen_anon_1.roce.dmac = self.dmac;
    }
}
