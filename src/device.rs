// SPDX-License-Identifier: GPL-2.0

//! The rrxe device: creation, queries, user contexts and protection domains.

pub(crate) mod counters;
pub(crate) mod params;
pub(crate) mod quota;
pub(crate) mod registry;

pub(crate) use counters::Counter;

use crate::{
    device::{
        counters::Counters,
        quota::{Quota, QuotaSlot},
        registry::{DataDropNotice, DataDropped, Devices},
    },
    memory::MemoryTables,
    net::udp::{self, Tunnel, Tunnels},
    verbs::ah::{self, AhTable, RrxeAh},
    verbs::cq::{self, RrxeCq},
    verbs::mcast::McastGroups,
    verbs::mr::{self, RrxeMr, RrxeMw},
    verbs::qp::{self, QpTable, RrxeQp},
    verbs::srq::{self, RrxeSrq, SrqTable},
    wire,
};
use kernel::{
    c_str,
    net::netdevice::NetDevice,
    new_spinlock_bh,
    prelude::*,
    rdma::{
        self,
        attr::{
            AddressVector, CqInitAttr, CqNotify, DeviceAttributes, LinkLayer, Mtu, PhysState,
            PortAttributes, PortImmutable, PortState,
        },
        mr::{Access, KernelDma, Mr, MrAdvice, MrKeys, Reregistration, UserRegion},
        object::{Cq, Pd, Qp, Srq},
        post::{PostError, RecvRequests, SendRequests, Sge},
        qp::{QpAttr, QpCaps, QpCreated, QpInitAttr, SrqAttr},
        restrack::DriverDetails,
        stats::{CounterName, Mad, MadOutcome},
        udata::UData,
        wc::CompletionSlots,
        Device, MwKind, UnregisteredDevice,
    },
    sync::{aref::ARef, Arc, SpinLockBh},
    workqueue::{OwnedQueue, QueueFlags},
};

/// The rrxe driver.
pub(crate) struct Rrxe;

/// Per-device state.
#[pin_data]
pub(crate) struct RrxeDevice {
    /// The network device the device runs on, held until the core drops the device's data.
    netdev: ARef<NetDevice>,
    /// The device's share of its namespace's UDP sockets.
    tunnel: Tunnel,
    /// System image and node GUID, in network order.
    guid: u64,
    ucontexts: Arc<Quota>,
    pds: Arc<Quota>,
    pub(crate) cqs: Arc<Quota>,
    pub(crate) ahs: Arc<AhTable>,
    pub(crate) memory: MemoryTables,
    pub(crate) qps: Arc<QpTable>,
    pub(crate) srqs: Arc<SrqTable>,
    /// Runs the queue pairs' engines; dropped (and so drained) with the device, after every
    /// queue pair is gone.
    pub(crate) queue: OwnedQueue,
    /// Serialises atomic operations, each a read and a write of the target (within an engine
    /// round, whose locks disable bottom halves).
    #[pin]
    pub(crate) atomic_lock: SpinLockBh<()>,
    /// The multicast groups and the queue pairs attached to each.
    #[pin]
    pub(crate) mcast: McastGroups,
    counters: Counters,
    /// Tells the registry, when dropped, that the core is done with the device.
    _drop_notice: DataDropNotice,
}

impl RrxeDevice {
    /// Counts a data path event.
    pub(crate) fn count(&self, counter: Counter) {
        self.counters.add(counter, 1);
    }

    /// Returns the device's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Reads every counter into `values`, in [`Counter::ALL`]'s order.
    pub(crate) fn read_counters(&self, values: &mut [u64]) {
        self.counters.read_into(values);
        // The namespace's drops before delivery, which no one device owns.
        let (queue_full, no_device) = self.tunnel().receiver().dropped();
        for (counter, value) in [
            (Counter::RxSocketQueueFull, queue_full),
            (Counter::RxNoDevice, no_device),
        ] {
            if let Some(v) = values.get_mut(counter as usize) {
                *v = value;
            }
        }
    }

    /// Returns the device's share of its namespace's UDP sockets.
    pub(crate) fn tunnel(&self) -> &Tunnel {
        &self.tunnel
    }

    /// Returns the network device the device runs on.
    pub(crate) fn netdev(&self) -> &NetDevice {
        &self.netdev
    }

    /// Returns whether the device runs on `netdev`.
    pub(crate) fn is_on(&self, netdev: &NetDevice) -> bool {
        core::ptr::eq(self.netdev.as_raw(), netdev.as_raw())
    }
}

/// Per-user-context state: its place in the device's quota.
pub(crate) struct RrxeUContext {
    _slot: QuotaSlot,
}

/// Per-protection-domain state: its place in the device's quota.
pub(crate) struct RrxePd {
    _slot: QuotaSlot,
}

/// Creates and registers a device named `name` on `netdev` (`rdma link add`). Fails with
/// `EADDRINUSE` if something else (rdma_rxe) holds UDP port 4791 in `netdev`'s namespace.
pub(crate) fn create(
    module: &'static ThisModule,
    devices: &Arc<Devices>,
    tunnels: &Tunnels,
    name: &CStr,
    netdev: &NetDevice,
) -> Result {
    devices.prune();
    if netdev.is_vlan() {
        // Soft-RoCE runs on the real device; VLANs reach it through its GIDs.
        return Err(EPERM);
    }
    if devices.exists_on(netdev) {
        return Err(EEXIST);
    }
    // A device without a hardware address (a tun device) gets the GUID of an all-zero one.
    let mac = netdev.ethernet_address().unwrap_or([0; 6]);
    let guid = u64::from_ne_bytes(params::eui64(mac));
    let tunnel = tunnels
        .open(netdev, wire::ROCE_V2_PORT, || {
            udp::Inbound::new(devices.clone(), netdev)
        })
        .inspect_err(|e| {
            if *e == EADDRINUSE {
                pr_err!(
                    "UDP port {} is in use in this namespace\n",
                    wire::ROCE_V2_PORT
                );
            }
        })?;
    let (drop_notice, dropped) = DataDropped::new()?;
    let data = try_pin_init!(RrxeDevice {
        netdev: netdev.into(),
        tunnel,
        guid,
        ucontexts: Arc::new(Quota::new(params::MAX_UCONTEXT), GFP_KERNEL)?,
        pds: Arc::new(Quota::new(params::MAX_PD), GFP_KERNEL)?,
        cqs: Arc::new(Quota::new(params::MAX_CQ), GFP_KERNEL)?,
        ahs: Arc::pin_init(ah::new_table(), GFP_KERNEL)?,
        memory: MemoryTables::new()?,
        qps: Arc::pin_init(qp::new_table(), GFP_KERNEL)?,
        srqs: Arc::pin_init(srq::new_table(), GFP_KERNEL)?,
        // High priority, as the core's completion queues: a peer's requester times out if
        // the acknowledgments its packets are owed wait behind busy user processes.
        queue: OwnedQueue::new(c_str!("rrxe"), QueueFlags::UNBOUND | QueueFlags::HIGHPRI, 0)?,
        atomic_lock <- new_spinlock_bh!(()),
        mcast <- McastGroups::new(),
        counters: Default::default(),
        _drop_notice: drop_notice,
    }? Error);
    // The device keeps its netdev itself (`get_netdev`) rather than through the core's netdev
    // association: rdma_rxe looks devices up there by the driver id both drivers share and
    // would take this device for one of its own.
    let mut dev = UnregisteredDevice::<Rrxe>::new(module, guid, data)?;
    dev.mark_name_assigned_by_user();
    let handle = dev.register(name)?;
    if let Err(e) = devices.add(handle.clone(), dropped, netdev) {
        handle.unregister();
        return Err(e);
    }
    Ok(())
}

#[vtable]
impl rdma::Driver for Rrxe {
    type Data = RrxeDevice;
    type UContext = RrxeUContext;
    type Pd = RrxePd;
    type Ah = RrxeAh;
    type Cq = RrxeCq;
    type Qp = RrxeQp;
    type Srq = RrxeSrq;
    type Mw = RrxeMw;
    type Mr = RrxeMr;

    const DRIVER_ID: u32 = rdma::driver_id::RXE;
    // rdma-core's librxe accepts ABI versions 1 and 2.
    const UVERBS_ABI_VERSION: u32 = 2;
    const NODE_DESC: &'static CStr = c"rrxe";
    const UAPI: Option<rdma::uapi::Tree<Self>> = Some(crate::control::TREE);
    // librxe arms CQ events through the legacy write command.
    const UVERBS_EXTRA_COMMANDS: u64 =
        1 << kernel::bindings::ib_uverbs_write_cmds_IB_USER_VERBS_CMD_REQ_NOTIFY_CQ;

    fn query_device(dev: &Device<Self>) -> DeviceAttributes {
        params::device_attributes(dev.data().guid)
    }

    fn query_port(dev: &Device<Self>, port: u32) -> Result<PortAttributes> {
        if port != 1 {
            return Err(EINVAL);
        }
        let netdev = dev.netdev(port).ok_or(ENODEV)?;
        let (active_speed, active_width) = dev.eth_speed(port)?;
        let state = PortState::of_netdev(&netdev);
        let phys_state = match state {
            PortState::Active => PhysState::LinkUp,
            _ if netdev.is_running() => PhysState::Polling,
            _ => PhysState::Disabled,
        };
        Ok(PortAttributes {
            state,
            max_mtu: Mtu::Mtu4096,
            active_mtu: active_mtu(netdev.mtu()),
            gid_tbl_len: params::GID_TABLE_LEN,
            port_cap_flags: params::PORT_CAP_CM_SUPPORTED,
            max_msg_sz: params::MAX_MSG_SIZE,
            pkey_tbl_len: 1,
            max_vl_num: 1,
            active_width,
            active_speed,
            phys_state,
        })
    }

    fn port_immutable(_dev: &Device<Self>, port: u32) -> Result<PortImmutable> {
        if port != 1 {
            return Err(EINVAL);
        }
        Ok(PortImmutable {
            pkey_tbl_len: 1,
            gid_tbl_len: params::GID_TABLE_LEN,
            core_cap_flags: PortImmutable::ROCE_UDP_ENCAP,
            max_mad_size: PortImmutable::MGMT_MAD_SIZE,
        })
    }

    fn query_pkey(_dev: &Device<Self>, port: u32, index: u16) -> Result<u16> {
        match (port, index) {
            (1, 0) => Ok(params::DEFAULT_PKEY),
            _ => Err(EINVAL),
        }
    }

    fn link_layer(_dev: &Device<Self>, _port: u32) -> LinkLayer {
        LinkLayer::Ethernet
    }

    fn get_netdev(dev: &Device<Self>, port: u32) -> Option<ARef<NetDevice>> {
        (port == 1).then(|| dev.data().netdev.clone())
    }

    const PORT_COUNTERS: &'static [CounterName] = &counters::NAMES;

    fn read_port_counters(dev: &Device<Self>, _port: u32, values: &mut [u64]) {
        dev.data().read_counters(values);
    }

    fn process_mad(dev: &Device<Self>, port: u32, request: &Mad, reply: &mut Mad) -> MadOutcome {
        if port != 1 {
            return MadOutcome::Failed;
        }
        counters::answer_mad(request, dev.data().counters.traffic(), reply)
    }

    fn alloc_ucontext(
        dev: &Device<Self>,
        udata: &mut UData<'_>,
    ) -> impl PinInit<Self::UContext, Error> {
        // librxe sends no driver data with GET_CONTEXT and expects none back.
        let res = udata
            .no_driver_data()
            .and_then(|()| dev.data().ucontexts.take());
        res.map(|slot| RrxeUContext { _slot: slot })
    }

    fn alloc_pd(
        dev: &Device<Self>,
        udata: Option<&mut UData<'_>>,
    ) -> impl PinInit<Self::Pd, Error> {
        let res = match udata {
            Some(udata) => udata.no_driver_data(),
            None => Ok(()),
        };
        res.and_then(|()| dev.data().pds.take())
            .map(|slot| RrxePd { _slot: slot })
    }

    fn create_cq(
        dev: &Device<Self>,
        attr: &CqInitAttr,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(u32, impl PinInit<Self::Cq, Error>)> {
        cq::create(dev.data(), attr, udata)
    }

    fn resize_cq(cq: &Cq<Self>, cqe: u32, udata: Option<&mut UData<'_>>) -> Result<u32> {
        cq::resize(cq, cqe, udata)
    }

    fn req_notify_cq(cq: &Cq<Self>, notify: CqNotify) -> Result<bool> {
        cq::req_notify(cq, notify)
    }

    fn post_srq_recv(srq: &Srq<Self>, requests: RecvRequests<'_>) -> Result<(), PostError> {
        srq::post_recv(srq, requests)
    }

    fn poll_cq(cq: &Cq<Self>, slots: &mut CompletionSlots<'_>) -> Result {
        cq::poll(cq, slots)
    }

    fn create_ah(
        pd: &Pd<Self>,
        av: &AddressVector,
        sleepable: bool,
        udata: Option<&mut UData<'_>>,
    ) -> impl PinInit<Self::Ah, Error> {
        ah::create(pd, av, sleepable, udata)
    }

    fn create_qp(
        pd: &Pd<Self>,
        attr: &QpInitAttr<'_, Self>,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(QpCreated, impl PinInit<Self::Qp, Error>)> {
        qp::create(pd, attr, udata)
    }

    fn modify_qp(qp: &Qp<Self>, attr: &QpAttr, mask: u32, udata: Option<&mut UData<'_>>) -> Result {
        qp::modify(qp, attr, mask, udata)
    }

    fn query_qp(qp: &Qp<Self>) -> Result<(QpAttr, QpCaps, bool)> {
        qp::query(qp)
    }

    fn send_doorbell(qp: &Qp<Self>) -> Result {
        qp::send_doorbell(qp)
    }

    fn post_send(qp: &Qp<Self>, requests: SendRequests<'_, Self>) -> Result<(), PostError> {
        qp::post_send(qp, requests)
    }

    fn post_recv(qp: &Qp<Self>, requests: RecvRequests<'_>) -> Result<(), PostError> {
        qp::post_recv(qp, requests)
    }

    fn destroy_qp(qp: &Qp<Self>) {
        qp::destroy(qp)
    }

    fn qp_details(qp: &Qp<Self>, details: &mut DriverDetails<'_>) -> Result {
        qp::details(qp, details)
    }

    fn attach_mcast(qp: &Qp<Self>, gid: &[u8; 16], _lid: u16) -> Result {
        // Only datagrams are sent to groups (IBTA 10.5.2.1).
        if !qp.data().is_datagram() {
            return Err(EINVAL);
        }
        let data = qp.device().data();
        data.mcast.attach(data.netdev(), gid, qp.qp_num())
    }

    fn detach_mcast(qp: &Qp<Self>, gid: &[u8; 16], _lid: u16) -> Result {
        let data = qp.device().data();
        data.mcast.detach(data.netdev(), gid, qp.qp_num())
    }

    fn create_srq(
        pd: &Pd<Self>,
        attr: &SrqAttr,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(SrqAttr, impl PinInit<Self::Srq, Error>)> {
        srq::create(pd, attr, udata)
    }

    fn modify_srq(
        srq: &Srq<Self>,
        max_wr: Option<u32>,
        limit: Option<u32>,
        udata: Option<&mut UData<'_>>,
    ) -> Result {
        srq::modify(srq, max_wr, limit, udata)
    }

    fn query_srq(srq: &Srq<Self>) -> Result<SrqAttr> {
        srq::query(srq)
    }

    fn get_dma_mr(
        pd: &Pd<Self>,
        access: Access,
        memory: KernelDma,
    ) -> Result<(MrKeys, impl PinInit<Self::Mr, Error>)> {
        mr::get_dma(pd, access, memory).map(|(keys, region)| (keys, Ok::<_, Error>(region)))
    }

    fn alloc_mr(
        pd: &Pd<Self>,
        max_num_sg: u32,
        memory: KernelDma,
    ) -> Result<(MrKeys, impl PinInit<Self::Mr, Error>)> {
        mr::alloc_fast_reg(pd, max_num_sg, memory)
            .map(|(keys, region)| (keys, Ok::<_, Error>(region)))
    }

    fn map_mr_start(region: &Mr<Self>) -> Result {
        mr::map_start(region)
    }

    fn map_mr_page(region: &Mr<Self>, addr: u64) -> Result {
        mr::map_page(region, addr)
    }

    fn reg_user_mr(
        pd: &Pd<Self>,
        region: &UserRegion,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(MrKeys, impl PinInit<Self::Mr, Error>)> {
        mr::register_user(pd, region, udata).map(|(keys, region)| (keys, Ok::<_, Error>(region)))
    }

    fn rereg_user_mr(
        region: &Mr<Self>,
        change: &Reregistration,
        pd: &Pd<Self>,
        _udata: Option<&mut UData<'_>>,
    ) -> Result {
        mr::reregister(region, change, pd)
    }

    fn dereg_mr(region: &Mr<Self>) -> Result {
        mr::deregister(region)
    }

    fn advise_mr(pd: &Pd<Self>, advice: MrAdvice, flush: bool, sges: &[Sge]) -> Result {
        mr::advise(pd, advice, flush, sges)
    }

    fn alloc_mw(
        pd: &Pd<Self>,
        kind: MwKind,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(u32, impl PinInit<Self::Mw, Error>)> {
        mr::alloc_window(pd, kind, udata).map(|(rkey, window)| (rkey, Ok::<_, Error>(window)))
    }
}

/// The active path MTU for a netdev MTU: the largest IB MTU that fits with RoCEv2's headers.
pub(crate) fn active_mtu(netdev_mtu: u32) -> Mtu {
    Mtu::fitting(netdev_mtu.saturating_sub(params::MAX_HEADER_LEN)).unwrap_or(Mtu::Mtu256)
}
