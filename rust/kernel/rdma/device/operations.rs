// SPDX-License-Identifier: GPL-2.0

//! The operations of an RDMA device driver: the [`Driver`] trait and the `struct ib_device_ops`
//! table built from it, whose entries convert the core's arguments and call the driver.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h)

use super::Device;
use crate::{
    bindings,
    error::from_result,
    net::netdevice::NetDevice,
    prelude::*,
    rdma::{
        attr::{
            AddressVector, CqInitAttr, CqNotify, DeviceAttributes, LinkLayer, PortAttributes,
            PortImmutable,
        },
        mmap,
        mr::{Access, KernelDma, Mr, MrAdvice, MrKeys, Reregistration, UserRegion},
        object::{Ah, Cq, Mw, Pd, Qp, Srq, UContext},
        post::{self, PostError, RecvRequests, SendRequests, Sge},
        qp::{self, QpAttr, QpCaps, QpCreated, QpInitAttr, SrqAttr},
        restrack::DriverDetails,
        stats::{CounterName, Mad, MadOutcome, MAD_SIZE},
        udata::UData,
        wc::CompletionSlots,
    },
    sync::aref::ARef,
};
use core::marker::PhantomData;

/// An RDMA device driver: its data and its verbs.
///
/// Methods a driver does not implement leave the corresponding `struct ib_device_ops` entry
/// unset.
#[vtable]
pub trait Driver: Sized + Send + Sync + 'static {
    /// Per-device driver data.
    type Data: Send + Sync;
    /// Per-user-context driver data.
    type UContext: Send + Sync;
    /// Per-protection-domain driver data.
    type Pd: Send + Sync;
    /// Per-address-handle driver data.
    type Ah: Send + Sync;
    /// Per-completion-queue driver data.
    type Cq: Send + Sync;
    /// Per-queue-pair driver data.
    type Qp: Send + Sync;
    /// Per-shared-receive-queue driver data.
    type Srq: Send + Sync;
    /// Per-memory-window driver data.
    type Mw: Send + Sync;
    /// Per-memory-region driver data. Dropped where the core deregisters regions, which may
    /// sleep.
    type Mr: Send + Sync;

    /// Driver identifier reported to user space (see [`super::driver_id`]).
    const DRIVER_ID: u32;
    /// Version of the driver's user ABI.
    const UVERBS_ABI_VERSION: u32;
    /// Legacy uverbs write commands to enable beyond the core's defaults, as a mask of
    /// `1 << IB_USER_VERBS_CMD_*`.
    const UVERBS_EXTRA_COMMANDS: u64 = 0;
    /// Node description (at most 63 bytes are used).
    const NODE_DESC: &'static CStr;
    /// The driver's own uverbs objects and methods, if any (see [`crate::rdma::uapi`]).
    const UAPI: Option<crate::rdma::uapi::Tree<Self>> = None;

    /// Returns the device's attributes (`query_device`).
    fn query_device(dev: &Device<Self>) -> DeviceAttributes;

    /// Returns the attributes of `port` (`query_port`). May sleep.
    fn query_port(dev: &Device<Self>, port: u32) -> Result<PortAttributes>;

    /// Returns the immutable properties of `port` (`get_port_immutable`).
    fn port_immutable(dev: &Device<Self>, port: u32) -> Result<PortImmutable>;

    /// Returns the P_Key at `index` of `port`'s table (`query_pkey`).
    fn query_pkey(dev: &Device<Self>, port: u32, index: u16) -> Result<u16>;

    /// Returns the link layer of `port` (`get_link_layer`). Must not sleep.
    fn link_layer(dev: &Device<Self>, port: u32) -> LinkLayer;

    /// Returns the network device of `port` (`get_netdev`). Must not sleep.
    ///
    /// A driver that implements this keeps the association itself instead of calling
    /// [`UnregisteredDevice::set_netdev`]. The device then stays out of the core's netdev
    /// lookup (`ib_device_get_by_netdev`), which matters when another driver shares the same
    /// driver id and casts whatever that lookup finds to its own device type. The core then no
    /// longer follows the netdev's link state for the device: the driver reports changes with
    /// [`DeviceGuard::dispatch_port_state`].
    fn get_netdev(_dev: &Device<Self>, _port: u32) -> Option<ARef<NetDevice>> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Creates a user context (`alloc_ucontext`).
    fn alloc_ucontext(
        dev: &Device<Self>,
        udata: &mut UData<'_>,
    ) -> impl PinInit<Self::UContext, Error>;

    /// Detaches a user context from the device as it is removed while the context is open
    /// (`disassociate_ucontext`). The core has then destroyed the context's objects and
    /// unmapped its mappings; the context is released later.
    fn disassociate_ucontext(_ctx: &UContext<Self>) {}

    /// Creates a protection domain (`alloc_pd`); `udata` is `None` for kernel users.
    fn alloc_pd(dev: &Device<Self>, udata: Option<&mut UData<'_>>)
        -> impl PinInit<Self::Pd, Error>;

    /// Creates a completion queue (`create_cq`); `udata` is `None` for kernel users.
    ///
    /// Returns the number of completions the queue holds, at least `attr.cqe`, and its data.
    fn create_cq(
        dev: &Device<Self>,
        attr: &CqInitAttr,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(u32, impl PinInit<Self::Cq, Error>)>;

    /// Resizes a user's completion queue to hold at least `cqe` completions (`resize_user_cq`)
    /// and returns the number it holds.
    fn resize_cq(_cq: &Cq<Self>, _cqe: u32, _udata: Option<&mut UData<'_>>) -> Result<u32> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Arms a completion queue's event for the next completion (`req_notify_cq`). Returns
    /// whether completions are already waiting if `notify.report_missed`, else `false`. Must
    /// not sleep.
    fn req_notify_cq(_cq: &Cq<Self>, _notify: CqNotify) -> Result<bool> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Creates an address handle for `av` in `pd` (`create_ah`, and `create_user_ah` with
    /// `udata`). Must not sleep unless `sleepable`; dropping `Self::Ah` must never sleep.
    fn create_ah(
        pd: &Pd<Self>,
        av: &AddressVector,
        sleepable: bool,
        udata: Option<&mut UData<'_>>,
    ) -> impl PinInit<Self::Ah, Error>;

    /// Creates a queue pair (`create_qp`); `udata` is `None` for kernel users. The number and
    /// granted sizes are reported to the consumer.
    fn create_qp(
        pd: &Pd<Self>,
        attr: &QpInitAttr<'_, Self>,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(QpCreated, impl PinInit<Self::Qp, Error>)>;

    /// Modifies a queue pair (`modify_qp`): `mask` (`IB_QP_*`) says which of `attr` are given.
    /// May sleep.
    fn modify_qp(qp: &Qp<Self>, attr: &QpAttr, mask: u32, udata: Option<&mut UData<'_>>) -> Result;

    /// Returns a queue pair's attributes, its work queue sizes and whether it signals every
    /// send (`query_qp`). May sleep.
    fn query_qp(qp: &Qp<Self>) -> Result<(QpAttr, QpCaps, bool)>;

    /// Puts a queue pair's driver-specific details into `details`, for `rdma res show qp -dd`
    /// (`fill_res_qp_entry`). May sleep.
    fn qp_details(_qp: &Qp<Self>, _details: &mut DriverDetails<'_>) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Attaches a datagram queue pair to the multicast group `gid` (`attach_mcast`): the
    /// datagrams sent to the group reach it. `lid` is the group's LID, zero on RoCE. May
    /// sleep.
    fn attach_mcast(_qp: &Qp<Self>, _gid: &[u8; 16], _lid: u16) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Detaches a queue pair from the multicast group `gid` (`detach_mcast`). Called only
    /// by drivers that implement [`Driver::attach_mcast`]. May sleep.
    fn detach_mcast(_qp: &Qp<Self>, _gid: &[u8; 16], _lid: u16) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Rings a user queue pair's send doorbell (`post_send` with no work requests): user space
    /// has placed send work requests in the queue it shares with the driver. Does not sleep.
    fn send_doorbell(_qp: &Qp<Self>) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Posts send work requests (`post_send`), in order, until one fails. Called from any
    /// context: must not sleep.
    fn post_send(_qp: &Qp<Self>, _requests: SendRequests<'_, Self>) -> Result<(), PostError> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Posts receive work requests (`post_recv`), in order, until one fails. Called from any
    /// context: must not sleep.
    fn post_recv(_qp: &Qp<Self>, _requests: RecvRequests<'_>) -> Result<(), PostError> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Posts receive work requests to an in-kernel consumer's shared receive queue
    /// (`post_srq_recv`), in order, until one fails. Called from any context: must not sleep.
    fn post_srq_recv(_srq: &Srq<Self>, _requests: RecvRequests<'_>) -> Result<(), PostError> {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Moves completions of an in-kernel consumer's CQ into `slots`, oldest first
    /// (`poll_cq`). Called from any context: must not sleep.
    fn poll_cq(_cq: &Cq<Self>, _slots: &mut CompletionSlots<'_>) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares a queue pair's destruction (`destroy_qp`). May sleep.
    ///
    /// Afterwards the abstraction waits, sleeping, until every [`QpRef`] of the queue pair is
    /// dropped, and then drops its data. The driver must therefore drop here the references it
    /// keeps, and remove the queue pair from the tables it takes new references from, or make
    /// sure that whoever holds one (a queued work item, say) drops it soon without waiting for
    /// this destruction; a reference that stays makes the destruction wait forever.
    ///
    /// [`QpRef`]: super::object::QpRef
    fn destroy_qp(_qp: &Qp<Self>) {}

    /// Creates a shared receive queue (`create_srq`) and returns the attributes granted, at
    /// least those requested; `udata` is `None` for kernel users.
    fn create_srq(
        pd: &Pd<Self>,
        attr: &SrqAttr,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(SrqAttr, impl PinInit<Self::Srq, Error>)>;

    /// Resizes a shared receive queue to hold at least `max_wr` requests if `max_wr` is given
    /// (`IB_SRQ_MAX_WR`), and sets its limit if `limit` is given (`IB_SRQ_LIMIT`)
    /// (`modify_srq`). May sleep.
    fn modify_srq(
        srq: &Srq<Self>,
        max_wr: Option<u32>,
        limit: Option<u32>,
        udata: Option<&mut UData<'_>>,
    ) -> Result;

    /// Returns a shared receive queue's attributes (`query_srq`).
    fn query_srq(srq: &Srq<Self>) -> Result<SrqAttr>;

    /// Creates a region that covers all memory for a kernel user's DMA (`get_dma_mr`); the
    /// addresses its key names are reached through `memory`. May sleep.
    fn get_dma_mr(
        pd: &Pd<Self>,
        access: Access,
        memory: KernelDma,
    ) -> Result<(MrKeys, impl PinInit<Self::Mr, Error>)>;

    /// Creates a fast-registration region (`alloc_mr` of `IB_MR_TYPE_MEM_REG`) able to map up
    /// to `max_num_sg` pages. Its pages are given by [`Driver::map_mr_page`], and a
    /// registration work request makes it usable; its pages are reached through `memory`.
    /// May sleep.
    fn alloc_mr(
        _pd: &Pd<Self>,
        _max_num_sg: u32,
        _memory: KernelDma,
    ) -> Result<(MrKeys, impl PinInit<Self::Mr, Error>)> {
        // Not called: `alloc_mr` is only set for drivers that implement it.
        Err::<(MrKeys, Result<Self::Mr>), _>(EOPNOTSUPP)
    }

    /// Starts mapping a fast-registration region's pages (`map_mr_sg`): the pages given by
    /// [`Driver::map_mr_page`] until the next start replace the region's. Must not sleep.
    fn map_mr_start(_mr: &Mr<Self>) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Appends the page at DMA address `addr` to a fast-registration region's page list
    /// (`map_mr_sg`'s `set_page`); fails when the list is full. Must not sleep.
    fn map_mr_page(_mr: &Mr<Self>, _addr: u64) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Registers user memory (`reg_user_mr`); `udata` is `None` for kernel users registering
    /// a process's memory. May sleep.
    fn reg_user_mr(
        pd: &Pd<Self>,
        region: &UserRegion,
        udata: Option<&mut UData<'_>>,
    ) -> Result<(MrKeys, impl PinInit<Self::Mr, Error>)>;

    /// Changes a user region in place (`rereg_user_mr`). `pd` is the region's protection
    /// domain after the change; the core records it once this returns success. May sleep.
    fn rereg_user_mr(
        _mr: &Mr<Self>,
        _change: &Reregistration,
        _pd: &Pd<Self>,
        _udata: Option<&mut UData<'_>>,
    ) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Prepares a region for deregistration (`dereg_mr`); on success the region's data is
    /// dropped and the region freed, on error the region stays. May sleep.
    fn dereg_mr(_mr: &Mr<Self>) -> Result {
        Ok(())
    }

    /// Takes advice on the buffers `sges` of regions of `pd` (`advise_mr`, user space's
    /// `ibv_advise_mr`): their pages are to be faulted in as `advice` says. With `flush` the
    /// pages are in place when this returns; without, the advice may be taken later, or not at
    /// all. The list has at least one element. May sleep.
    fn advise_mr(_pd: &Pd<Self>, _advice: MrAdvice, _flush: bool, _sges: &[Sge]) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Creates a memory window of `kind` (`alloc_mw`) and returns its remote key with its data.
    fn alloc_mw(
        _pd: &Pd<Self>,
        _kind: MwKind,
        _udata: Option<&mut UData<'_>>,
    ) -> Result<(u32, impl PinInit<Self::Mw, Error>)> {
        // Not called: `alloc_mw` is only set for drivers that implement it.
        Err::<(u32, Result<Self::Mw>), _>(EOPNOTSUPP)
    }

    /// The names of the counters [`Driver::read_port_counters`] reads, in its order: `rdma
    /// statistic` and each port's sysfs `hw_counters` show them.
    const PORT_COUNTERS: &'static [CounterName] = &[];

    /// Writes the values of `port`'s counters into `values`, one for each name of
    /// [`Driver::PORT_COUNTERS`], in order (`get_hw_stats`). May sleep.
    fn read_port_counters(_dev: &Device<Self>, _port: u32, _values: &mut [u64]) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Handles the management datagram `request` for `port` (`process_mad`), answering it in
    /// `reply`, which starts zeroed. The core passes the datagrams the device's QP1 receives,
    /// and its own performance management queries for the port's sysfs `counters`. May sleep.
    fn process_mad(
        _dev: &Device<Self>,
        _port: u32,
        _request: &Mad,
        _reply: &mut Mad,
    ) -> MadOutcome {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The type of a memory window (`enum ib_mw_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MwKind {
    /// Bound by a verb call, to a whole protection domain (`IB_MW_TYPE_1`).
    Type1,
    /// Bound by a work request, to one queue pair (`IB_MW_TYPE_2`).
    Type2,
}

/// The `struct ib_device_ops` table of driver `T`.
pub(super) struct OperationsVTable<T: Driver>(PhantomData<T>);

impl<T: Driver> OperationsVTable<T> {
    pub(super) const OPS: bindings::ib_device_ops = bindings::ib_device_ops {
        owner: core::ptr::null_mut(),
        driver_id: T::DRIVER_ID,
        uverbs_abi_ver: T::UVERBS_ABI_VERSION,
        query_device: Some(callbacks::query_device::<T>),
        query_port: Some(callbacks::query_port::<T>),
        get_port_immutable: Some(callbacks::get_port_immutable::<T>),
        query_pkey: Some(callbacks::query_pkey::<T>),
        get_link_layer: Some(callbacks::get_link_layer::<T>),
        get_netdev: if T::HAS_GET_NETDEV {
            Some(callbacks::get_netdev::<T>)
        } else {
            None
        },
        alloc_ucontext: Some(callbacks::alloc_ucontext::<T>),
        dealloc_ucontext: Some(callbacks::dealloc_ucontext::<T>),
        disassociate_ucontext: Some(callbacks::disassociate_ucontext::<T>),
        alloc_pd: Some(callbacks::alloc_pd::<T>),
        dealloc_pd: Some(callbacks::dealloc_pd::<T>),
        create_cq: Some(callbacks::create_cq::<T>),
        destroy_cq: Some(callbacks::destroy_cq::<T>),
        resize_user_cq: if T::HAS_RESIZE_CQ {
            Some(callbacks::resize_cq::<T>)
        } else {
            None
        },
        req_notify_cq: if T::HAS_REQ_NOTIFY_CQ {
            Some(callbacks::req_notify_cq::<T>)
        } else {
            None
        },
        create_qp: Some(callbacks::create_qp::<T>),
        modify_qp: Some(callbacks::modify_qp::<T>),
        query_qp: Some(callbacks::query_qp::<T>),
        destroy_qp: Some(callbacks::destroy_qp::<T>),
        fill_res_qp_entry: if T::HAS_QP_DETAILS {
            Some(callbacks::fill_res_qp_entry::<T>)
        } else {
            None
        },
        attach_mcast: if T::HAS_ATTACH_MCAST {
            Some(callbacks::attach_mcast::<T>)
        } else {
            None
        },
        detach_mcast: if T::HAS_ATTACH_MCAST {
            Some(callbacks::detach_mcast::<T>)
        } else {
            None
        },
        post_send: if T::HAS_SEND_DOORBELL || T::HAS_POST_SEND {
            Some(callbacks::post_send::<T>)
        } else {
            None
        },
        post_recv: if T::HAS_POST_RECV {
            Some(callbacks::post_recv::<T>)
        } else {
            None
        },
        post_srq_recv: if T::HAS_POST_SRQ_RECV {
            Some(callbacks::post_srq_recv::<T>)
        } else {
            None
        },
        poll_cq: if T::HAS_POLL_CQ {
            Some(callbacks::poll_cq::<T>)
        } else {
            None
        },
        create_srq: Some(callbacks::create_srq::<T>),
        modify_srq: Some(callbacks::modify_srq::<T>),
        query_srq: Some(callbacks::query_srq::<T>),
        destroy_srq: Some(callbacks::destroy_srq::<T>),
        get_dma_mr: Some(callbacks::get_dma_mr::<T>),
        alloc_mr: if T::HAS_ALLOC_MR {
            Some(callbacks::alloc_mr::<T>)
        } else {
            None
        },
        map_mr_sg: if T::HAS_MAP_MR_PAGE {
            Some(callbacks::map_mr_sg::<T>)
        } else {
            None
        },
        reg_user_mr: Some(callbacks::reg_user_mr::<T>),
        rereg_user_mr: if T::HAS_REREG_USER_MR {
            Some(callbacks::rereg_user_mr::<T>)
        } else {
            None
        },
        dereg_mr: Some(callbacks::dereg_mr::<T>),
        advise_mr: if T::HAS_ADVISE_MR {
            Some(callbacks::advise_mr::<T>)
        } else {
            None
        },
        alloc_mw: if T::HAS_ALLOC_MW {
            Some(callbacks::alloc_mw::<T>)
        } else {
            None
        },
        dealloc_mw: if T::HAS_ALLOC_MW {
            Some(callbacks::dealloc_mw::<T>)
        } else {
            None
        },
        create_ah: Some(callbacks::create_ah::<T>),
        create_user_ah: Some(callbacks::create_ah::<T>),
        destroy_ah: Some(callbacks::destroy_ah::<T>),
        dealloc_driver: Some(callbacks::dealloc_driver::<T>),
        alloc_hw_port_stats: if T::HAS_READ_PORT_COUNTERS {
            Some(callbacks::alloc_hw_port_stats::<T>)
        } else {
            None
        },
        get_hw_stats: if T::HAS_READ_PORT_COUNTERS {
            Some(callbacks::get_hw_stats::<T>)
        } else {
            None
        },
        process_mad: if T::HAS_PROCESS_MAD {
            Some(callbacks::process_mad::<T>)
        } else {
            None
        },
        mmap: Some(mmap::callbacks::mmap),
        mmap_free: Some(mmap::callbacks::mmap_free),
        size_ib_ucontext: UContext::<T>::alloc_size(),
        size_ib_pd: Pd::<T>::alloc_size(),
        size_ib_ah: Ah::<T>::alloc_size(),
        size_ib_cq: Cq::<T>::alloc_size(),
        size_ib_qp: Qp::<T>::alloc_size(),
        size_ib_srq: Srq::<T>::alloc_size(),
        size_ib_mw: Mw::<T>::alloc_size(),
        // SAFETY: All-zero is a valid `ib_device_ops`: no operation and no size.
        ..unsafe { core::mem::zeroed() }
    };

    /// The legacy write commands the doorbells need: user space rings the send doorbell with
    /// an empty `POST_SEND`, which the core does not enable by default.
    pub(super) const DOORBELL_COMMANDS: u64 = if T::HAS_SEND_DOORBELL {
        1 << bindings::ib_uverbs_write_cmds_IB_USER_VERBS_CMD_POST_SEND
    } else {
        0
    };
}

/// The `struct ib_device_ops` entry points.
mod callbacks {
    use super::*;

    /// # Safety
    ///
    /// `ib` is a registered (or registering) device of driver `T`, with initialised data.
    unsafe fn dev<'a, T: Driver>(ib: *mut bindings::ib_device) -> &'a Device<T> {
        // SAFETY: Guaranteed by the caller: the core calls operations only on devices set up
        // with `T`'s operations, before `dealloc_driver`.
        unsafe { Device::from_raw(ib) }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn query_device<T: Driver>(
        ib: *mut bindings::ib_device,
        attr: *mut bindings::ib_device_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Called by the core on a device of `T`, with valid `udata` if non-null.
            let (dev, udata) = unsafe { (dev::<T>(ib), UData::from_raw(udata)) };
            if let Some(mut udata) = udata {
                udata.no_driver_data()?;
            }
            // SAFETY: The core passes an attribute struct valid for writes.
            let attr = unsafe { &mut *attr };
            T::query_device(dev).write_to(attr);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn query_port<T: Driver>(
        ib: *mut bindings::ib_device,
        port: u32,
        attr: *mut bindings::ib_port_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Called by the core on a device of `T`.
            let dev = unsafe { dev::<T>(ib) };
            let attrs = T::query_port(dev, port)?;
            // SAFETY: The core passes a zeroed attribute struct valid for writes.
            attrs.write_to(unsafe { &mut *attr });
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn get_port_immutable<T: Driver>(
        ib: *mut bindings::ib_device,
        port: u32,
        imm: *mut bindings::ib_port_immutable,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Called by the core on a device of `T`.
            let dev = unsafe { dev::<T>(ib) };
            let p = T::port_immutable(dev, port)?;
            // SAFETY: The core passes a struct valid for writes.
            let imm = unsafe { &mut *imm };
            imm.pkey_tbl_len = p.pkey_tbl_len as i32;
            imm.gid_tbl_len = p.gid_tbl_len as i32;
            imm.core_cap_flags = p.core_cap_flags;
            imm.max_mad_size = p.max_mad_size;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn query_pkey<T: Driver>(
        ib: *mut bindings::ib_device,
        port: u32,
        index: u16,
        pkey: *mut u16,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Called by the core on a device of `T`.
            let dev = unsafe { dev::<T>(ib) };
            let value = T::query_pkey(dev, port, index)?;
            // SAFETY: The core passes a pointer valid for writes.
            unsafe { pkey.write(value) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn get_link_layer<T: Driver>(
        ib: *mut bindings::ib_device,
        port: u32,
    ) -> bindings::rdma_link_layer {
        // SAFETY: Called by the core on a device of `T`.
        T::link_layer(unsafe { dev::<T>(ib) }, port) as bindings::rdma_link_layer
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn get_netdev<T: Driver>(
        ib: *mut bindings::ib_device,
        port: u32,
    ) -> *mut bindings::net_device {
        // SAFETY: Called by the core on a device of `T`.
        let netdev = T::get_netdev(unsafe { dev::<T>(ib) }, port);
        // The caller receives the reference and drops it with `dev_put`.
        netdev.map_or(core::ptr::null_mut(), |n| ARef::into_raw(n).as_ptr().cast())
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn dealloc_driver<T: Driver>(ib: *mut bindings::ib_device) {
        let this = ib.cast::<Device<T>>();
        // SAFETY: The core calls this once, after the last operation and before freeing; the
        // data is initialised (set-up order in `UnregisteredDevice::new`).
        unsafe { core::ptr::drop_in_place(&raw mut (*this).data) };
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn alloc_ucontext<T: Driver>(
        uctx: *mut bindings::ib_ucontext,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a context of its device with valid `udata`.
            let (dev, udata) = unsafe { (dev::<T>((*uctx).device), UData::from_raw(udata)) };
            let mut udata = udata.ok_or(EINVAL)?;
            let init = T::alloc_ucontext(dev, &mut udata);
            // SAFETY: The core allocated `uctx` with `UContext<T>`'s size; data uninitialised.
            unsafe { UContext::<T>::init(uctx, init)? };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn dealloc_ucontext<T: Driver>(uctx: *mut bindings::ib_ucontext) {
        // SAFETY: Created by `alloc_ucontext`; the core frees it after this returns.
        unsafe { UContext::<T>::release(uctx) };
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn disassociate_ucontext<T: Driver>(
        uctx: *mut bindings::ib_ucontext,
    ) {
        // SAFETY: Created by `alloc_ucontext` and not yet deallocated.
        T::disassociate_ucontext(unsafe { UContext::<T>::from_raw(uctx) });
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn alloc_pd<T: Driver>(
        pd: *mut bindings::ib_pd,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a PD of its device, with valid `udata` if non-null.
            let (dev, mut udata) = unsafe { (dev::<T>((*pd).device), UData::from_raw(udata)) };
            let init = T::alloc_pd(dev, udata.as_mut());
            // SAFETY: The core allocated `pd` with `Pd<T>`'s size; data uninitialised.
            unsafe { Pd::<T>::init(pd, init)? };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn dealloc_pd<T: Driver>(
        pd: *mut bindings::ib_pd,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        // SAFETY: Created by `alloc_pd`; the core frees it after this returns 0.
        unsafe { Pd::<T>::drop_data(pd) };
        0
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn create_cq<T: Driver>(
        cq: *mut bindings::ib_cq,
        attr: *const bindings::ib_cq_init_attr,
        bundle: *mut bindings::uverbs_attr_bundle,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a CQ of its device and valid attributes.
            let (dev, attr) = unsafe { (dev::<T>((*cq).device), &*attr) };
            let attr = CqInitAttr {
                cqe: attr.cqe,
                comp_vector: attr.comp_vector,
                flags: attr.flags,
            };
            // SAFETY: A user verb passes its attribute bundle, valid for the call; kernel
            // users pass none.
            let mut udata = unsafe {
                match bundle.is_null() {
                    true => None,
                    false => UData::from_raw(
                        &raw mut (*bundle).__bindgen_anon_1.__bindgen_anon_1.driver_udata,
                    ),
                }
            };
            let (cqe, init) = T::create_cq(dev, &attr, udata.as_mut())?;
            let cqe = i32::try_from(cqe).map_err(|_| EINVAL)?;
            // SAFETY: The core allocated `cq` with `Cq<T>`'s size; data uninitialised.
            unsafe { Cq::<T>::init(cq, init)? };
            // SAFETY: `cq` is valid; the core reads `cqe` only after creation.
            unsafe { (*cq).cqe = cqe };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn destroy_cq<T: Driver>(
        cq: *mut bindings::ib_cq,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        // SAFETY: Created by `create_cq`; the core frees it after this returns 0.
        unsafe { Cq::<T>::drop_data(cq) };
        0
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn resize_cq<T: Driver>(
        cq: *mut bindings::ib_cq,
        cqe: c_uint,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: A CQ created by `create_cq`, with valid `udata` if non-null; the core
            // serialises resizes with destruction.
            let (this, mut udata) = unsafe { (Cq::<T>::from_raw(cq), UData::from_raw(udata)) };
            let cqe = T::resize_cq(this, cqe, udata.as_mut())?;
            let cqe = i32::try_from(cqe).map_err(|_| EINVAL)?;
            // SAFETY: `cq` is valid; the uverbs object lock serialises writers of `cqe`.
            unsafe { (*cq).cqe = cqe };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn req_notify_cq<T: Driver>(
        cq: *mut bindings::ib_cq,
        flags: bindings::ib_cq_notify_flags,
    ) -> c_int {
        let notify = CqNotify {
            solicited_only: flags & bindings::ib_cq_notify_flags_IB_CQ_SOLICITED_MASK
                == bindings::ib_cq_notify_flags_IB_CQ_SOLICITED,
            report_missed: flags & bindings::ib_cq_notify_flags_IB_CQ_REPORT_MISSED_EVENTS != 0,
        };
        // SAFETY: A CQ created by `create_cq` and not destroyed while the core calls this.
        match T::req_notify_cq(unsafe { Cq::<T>::from_raw(cq) }, notify) {
            Ok(missed) => c_int::from(missed),
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn create_ah<T: Driver>(
        ah: *mut bindings::ib_ah,
        init: *mut bindings::rdma_ah_init_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes an AH whose PD is set, valid attributes whose source GID
            // it holds for the call, and valid `udata` if non-null.
            let (pd, init, mut udata) =
                unsafe { (Pd::<T>::from_raw((*ah).pd), &*init, UData::from_raw(udata)) };
            // SAFETY: As above.
            let av = unsafe { AddressVector::from_raw(init.ah_attr) }.ok_or(EINVAL)?;
            let sleepable =
                init.flags & bindings::rdma_create_ah_flags_RDMA_CREATE_AH_SLEEPABLE != 0;
            let data = T::create_ah(pd, &av, sleepable, udata.as_mut());
            // SAFETY: The core allocated `ah` with `Ah<T>`'s size; data uninitialised.
            unsafe { Ah::<T>::init(ah, data)? };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn destroy_ah<T: Driver>(
        ah: *mut bindings::ib_ah,
        _flags: u32,
    ) -> c_int {
        // SAFETY: Created by `create_ah`; the core frees it after this returns 0. `Ah` data
        // does not sleep when dropped (a `Driver::create_ah` requirement).
        unsafe { Ah::<T>::drop_data(ah) };
        0
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn get_dma_mr<T: Driver>(
        pd: *mut bindings::ib_pd,
        access: c_int,
    ) -> *mut bindings::ib_mr {
        // SAFETY: The core passes a valid PD of its device.
        let memory = unsafe { kernel_dma(pd) };
        // SAFETY: The core passes a PD of its device.
        let pd = unsafe { Pd::<T>::from_raw(pd) };
        let res = memory
            .and_then(|memory| T::get_dma_mr(pd, Access::from_bits(access as u32), memory))
            .and_then(|(keys, init)| Mr::<T>::into_raw(keys, init));
        mr_or_err_ptr(res)
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn alloc_mr<T: Driver>(
        pd: *mut bindings::ib_pd,
        mr_type: bindings::ib_mr_type,
        max_num_sg: u32,
    ) -> *mut bindings::ib_mr {
        // Integrity and scatter/gather-gap regions are not offered.
        if mr_type != bindings::ib_mr_type_IB_MR_TYPE_MEM_REG {
            return EINVAL.to_ptr();
        }
        // SAFETY: The core passes a valid PD of its device.
        let memory = unsafe { kernel_dma(pd) };
        // SAFETY: The core passes a PD of its device.
        let pd = unsafe { Pd::<T>::from_raw(pd) };
        let res = memory
            .and_then(|memory| T::alloc_mr(pd, max_num_sg, memory))
            .and_then(|(keys, init)| Mr::<T>::into_raw(keys, init));
        mr_or_err_ptr(res)
    }

    /// Returns the capability to reach the memory of the region an in-kernel consumer is
    /// creating in `pd` (`get_dma_mr`, `alloc_mr`); `EINVAL` for a user's PD.
    ///
    /// # Safety
    ///
    /// `pd` must be a valid PD of a device of this abstraction, and the call be for its
    /// `get_dma_mr` or `alloc_mr`.
    unsafe fn kernel_dma(pd: *const bindings::ib_pd) -> Result<KernelDma> {
        // Devices of this abstraction have no `dma_device`: with virtual DMA configured, the
        // core's mapping calls give their consumers kernel virtual addresses.
        if !cfg!(CONFIG_INFINIBAND_VIRT_DMA) {
            return Err(EOPNOTSUPP);
        }
        // uverbs offers neither operation today; should it ever, a user's PD (one with a
        // user object) still never reaches kernel memory.
        // SAFETY: `pd` is valid (the caller's guarantee).
        if !unsafe { (*pd).uobject }.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: For `get_dma_mr` or `alloc_mr` (the caller's guarantee) of an in-kernel
        // consumer's PD (above), on a device that uses virtual DMA (above).
        Ok(unsafe { KernelDma::new() })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn map_mr_sg<T: Driver>(
        mr: *mut bindings::ib_mr,
        sg: *mut bindings::scatterlist,
        sg_nents: c_int,
        sg_offset: *mut c_uint,
    ) -> c_int {
        // SAFETY: A region of `T` from `alloc_mr`, which its consumer owns for the call.
        if let Err(e) = T::map_mr_start(unsafe { Mr::<T>::from_raw(mr) }) {
            return e.to_errno();
        }
        // SAFETY: The consumer's valid scatterlist of `sg_nents` entries and offset; the core
        // set the region's page size. `set_page` is called with this region only.
        unsafe { bindings::ib_sg_to_pages(mr, sg, sg_nents, sg_offset, Some(set_page::<T>)) }
    }

    /// `set_page` of `ib_sg_to_pages` for [`map_mr_sg`].
    ///
    /// # Safety
    ///
    /// `mr` must be a region of `T` from `alloc_mr`, valid for the call.
    unsafe extern "C" fn set_page<T: Driver>(mr: *mut bindings::ib_mr, addr: u64) -> c_int {
        // SAFETY: The caller's guarantee.
        let mr = unsafe { Mr::<T>::from_raw(mr) };
        match T::map_mr_page(mr, addr) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn reg_user_mr<T: Driver>(
        pd: *mut bindings::ib_pd,
        start: u64,
        length: u64,
        iova: u64,
        access: c_int,
        dmah: *mut bindings::ib_dmah,
        udata: *mut bindings::ib_udata,
    ) -> *mut bindings::ib_mr {
        if !dmah.is_null() {
            // DMA handles (TPH steering) have no meaning for a device without DMA.
            return mr_or_err_ptr(Err(EOPNOTSUPP));
        }
        // SAFETY: The core passes a PD of its device, and valid `udata` if non-null.
        let (pd, mut udata) = unsafe { (Pd::<T>::from_raw(pd), UData::from_raw(udata)) };
        let region = UserRegion {
            start,
            length,
            iova,
            access: Access::from_bits(access as u32),
        };
        let res = T::reg_user_mr(pd, &region, udata.as_mut())
            .and_then(|(keys, init)| Mr::<T>::into_raw(keys, init));
        mr_or_err_ptr(res)
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn rereg_user_mr<T: Driver>(
        mr: *mut bindings::ib_mr,
        flags: c_int,
        start: u64,
        length: u64,
        iova: u64,
        access: c_int,
        pd: *mut bindings::ib_pd,
        udata: *mut bindings::ib_udata,
    ) -> *mut bindings::ib_mr {
        let flags = flags as u32;
        let change = Reregistration {
            translation: (flags & bindings::ib_mr_rereg_flags_IB_MR_REREG_TRANS != 0)
                .then_some((start, length, iova)),
            access: (flags & bindings::ib_mr_rereg_flags_IB_MR_REREG_ACCESS != 0)
                .then_some(Access::from_bits(access as u32)),
            pd_changes: flags & bindings::ib_mr_rereg_flags_IB_MR_REREG_PD != 0,
        };
        // SAFETY: The core passes a region of `T` under its uobject's write lock, the PD the
        // region will have (valid for the call) and valid `udata` if non-null.
        let (this, pd, mut udata) = unsafe {
            (
                Mr::<T>::from_raw(mr),
                Pd::<T>::from_raw(pd),
                UData::from_raw(udata),
            )
        };
        match T::rereg_user_mr(this, &change, pd, udata.as_mut()) {
            // NULL: the region changed in place.
            Ok(()) => core::ptr::null_mut(),
            Err(e) => mr_or_err_ptr(Err(e)),
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn dereg_mr<T: Driver>(
        mr: *mut bindings::ib_mr,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: A region of `T`, valid for the call.
            T::dereg_mr(unsafe { Mr::<T>::from_raw(mr) })?;
            // SAFETY: The core forgets the region once this returns 0; it read what it needs
            // before the call.
            unsafe { Mr::<T>::free_raw(mr) };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn advise_mr<T: Driver>(
        pd: *mut bindings::ib_pd,
        advice: bindings::ib_uverbs_advise_mr_advice,
        flags: u32,
        sg_list: *mut bindings::ib_sge,
        num_sge: u32,
        _attrs: *mut bindings::uverbs_attr_bundle,
    ) -> c_int {
        from_result(|| {
            let advice = MrAdvice::from_raw(advice).ok_or(EOPNOTSUPP)?;
            // The core accepts no other flag.
            let flush =
                flags & bindings::ib_uverbs_advise_mr_flag_IB_UVERBS_ADVISE_MR_FLAG_FLUSH != 0;
            let count = num_sge as usize;
            if sg_list.is_null() || count == 0 {
                return Err(EINVAL);
            }
            let mut sges = KVec::with_capacity(count, GFP_KERNEL)?;
            for i in 0..count {
                // SAFETY: The core passes `num_sge` elements it copied from user space.
                let raw = unsafe { *sg_list.add(i) };
                sges.push(
                    Sge {
                        addr: raw.addr,
                        length: raw.length,
                        lkey: raw.lkey,
                    },
                    GFP_KERNEL,
                )?;
            }
            // SAFETY: The core passes a protection domain of the device, valid for the call.
            T::advise_mr(unsafe { Pd::<T>::from_raw(pd) }, advice, flush, &sges)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn alloc_mw<T: Driver>(
        mw: *mut bindings::ib_mw,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a window whose PD and type it set, and valid `udata` if
            // non-null.
            let (pd, kind, mut udata) = unsafe {
                (
                    Pd::<T>::from_raw((*mw).pd),
                    (*mw).type_,
                    UData::from_raw(udata),
                )
            };
            let kind = match kind {
                bindings::ib_mw_type_IB_MW_TYPE_1 => MwKind::Type1,
                bindings::ib_mw_type_IB_MW_TYPE_2 => MwKind::Type2,
                _ => return Err(EINVAL),
            };
            let (rkey, init) = T::alloc_mw(pd, kind, udata.as_mut())?;
            // SAFETY: The core allocated `mw` with `Mw<T>`'s size; data uninitialised.
            unsafe { Mw::<T>::init(mw, init)? };
            // SAFETY: `mw` is valid; the core reads `rkey` after this returns.
            unsafe { (*mw).rkey = rkey };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn dealloc_mw<T: Driver>(mw: *mut bindings::ib_mw) -> c_int {
        // SAFETY: Created by `alloc_mw`; the core frees it after this returns 0.
        unsafe { Mw::<T>::drop_data(mw) };
        0
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn create_qp<T: Driver>(
        qp: *mut bindings::ib_qp,
        init: *mut bindings::ib_qp_init_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes a QP whose PD it set, valid attributes whose CQs (of its
            // device, so of `T`) it holds for the call, and valid `udata` if non-null.
            let (pd, init, mut udata) = unsafe {
                (
                    Pd::<T>::from_raw((*qp).pd),
                    &mut *init,
                    UData::from_raw(udata),
                )
            };
            // SAFETY: As above.
            let attr = unsafe { QpInitAttr::<T>::from_raw(init) }?;
            let (created, data) = T::create_qp(pd, &attr, udata.as_mut())?;
            // SAFETY: The core allocated `qp` with `Qp<T>`'s size; data uninitialised.
            unsafe { Qp::<T>::init(qp, data)? };
            // SAFETY: `qp` is valid; the core reads the number once this returns.
            unsafe { (*qp).qp_num = created.qp_num };
            qp::write_created_caps(init, &created.caps);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn modify_qp<T: Driver>(
        qp: *mut bindings::ib_qp,
        attr: *mut bindings::ib_qp_attr,
        mask: c_int,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            let mask = mask as u32;
            // SAFETY: A QP of `T` with valid attributes, whose address vector's source GID the
            // core resolved when given, and valid `udata` if non-null.
            let (this, attr, mut udata) = unsafe {
                (
                    Qp::<T>::from_raw(qp),
                    QpAttr::from_raw(&*attr, mask)?,
                    UData::from_raw(udata),
                )
            };
            T::modify_qp(this, &attr, mask, udata.as_mut())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn attach_mcast<T: Driver>(
        qp: *mut bindings::ib_qp,
        gid: *mut bindings::ib_gid,
        lid: u16,
    ) -> c_int {
        // SAFETY: As the caller guarantees.
        unsafe { mcast_call::<T>(qp, gid, lid, T::attach_mcast) }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn detach_mcast<T: Driver>(
        qp: *mut bindings::ib_qp,
        gid: *mut bindings::ib_gid,
        lid: u16,
    ) -> c_int {
        // SAFETY: As the caller guarantees.
        unsafe { mcast_call::<T>(qp, gid, lid, T::detach_mcast) }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn fill_res_qp_entry<T: Driver>(
        msg: *mut bindings::sk_buff,
        qp: *mut bindings::ib_qp,
    ) -> c_int {
        // SAFETY: A QP of `T` the core holds for the call.
        let this = unsafe { Qp::<T>::from_raw(qp) };
        // SAFETY: `msg` is the reply the core is filling for this queue pair.
        unsafe { DriverDetails::fill(msg, |details| T::qp_details(this, details)) }
    }

    /// Calls `op` for `attach_mcast` or `detach_mcast`.
    ///
    /// # Safety
    ///
    /// `qp` is a QP of `T` and `gid` valid for reads for the call.
    unsafe fn mcast_call<T: Driver>(
        qp: *mut bindings::ib_qp,
        gid: *mut bindings::ib_gid,
        lid: u16,
        op: fn(&Qp<T>, &[u8; 16], u16) -> Result,
    ) -> c_int {
        from_result(|| {
            // SAFETY: A QP of `T`, and a GID valid for reads for the call.
            let (this, gid) = unsafe { (Qp::<T>::from_raw(qp), (*gid).raw) };
            op(this, &gid, lid)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn query_qp<T: Driver>(
        qp: *mut bindings::ib_qp,
        attr: *mut bindings::ib_qp_attr,
        _mask: c_int,
        init: *mut bindings::ib_qp_init_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: A QP of `T`.
            let (values, caps, signal_all) = T::query_qp(unsafe { Qp::<T>::from_raw(qp) })?;
            // SAFETY: The core passes attribute structures valid for writes.
            let (attr, init) = unsafe { (&mut *attr, &mut *init) };
            values.write_raw(attr);
            qp::write_query_init(init, &caps, signal_all);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn post_send<T: Driver>(
        qp: *mut bindings::ib_qp,
        wr: *const bindings::ib_send_wr,
        bad_wr: *mut *const bindings::ib_send_wr,
    ) -> c_int {
        // SAFETY: A QP of `T`, not destroyed while the core posts to it.
        let this = unsafe { Qp::<T>::from_raw(qp) };
        // SAFETY: `qp` is valid; the core sets `uobject` before the QP is created.
        let user = !unsafe { (*qp).uobject }.is_null();
        let res = if user {
            // A user's requests live in the queue it shares with the driver; its legacy
            // POST_SEND command only rings the doorbell (no requests). Requests built from
            // user input never reach the driver: their addresses are the user's to choose.
            if wr.is_null() && T::HAS_SEND_DOORBELL {
                T::send_doorbell(this)
            } else {
                Err(EINVAL)
            }
        } else if wr.is_null() {
            Ok(())
        } else if T::HAS_POST_SEND {
            // SAFETY: `wr` heads an in-kernel consumer's list (`qp` has no user object),
            // valid for the call; `qp` is valid.
            let requests = unsafe { SendRequests::from_raw(wr, (*qp).qp_type) };
            // SAFETY: `wr` heads the consumer's list; `bad_wr` is the core's.
            return unsafe { post_result(wr, bad_wr, T::post_send(this, requests)) };
        } else {
            Err(EINVAL)
        };
        match res {
            Ok(()) => 0,
            Err(e) => {
                if !bad_wr.is_null() {
                    // SAFETY: The core passes a location for the first failed request.
                    unsafe { *bad_wr = wr };
                }
                e.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn post_recv<T: Driver>(
        qp: *mut bindings::ib_qp,
        wr: *const bindings::ib_recv_wr,
        bad_wr: *mut *const bindings::ib_recv_wr,
    ) -> c_int {
        // SAFETY: `qp` is valid; the core sets `uobject` before the QP is created.
        if !unsafe { (*qp).uobject }.is_null() {
            // A user posts receives through the queue it shares with the driver. Requests
            // built from a user's legacy POST_RECV command never reach the driver: their
            // identifiers would name the user's choice as an in-kernel consumer's.
            // SAFETY: `wr` heads the list, valid for the call; `bad_wr` is the core's.
            return unsafe { post_result(wr, bad_wr, refuse_user_post()) };
        }
        // SAFETY: A QP of `T`, not destroyed while the core posts to it; `wr` heads an
        // in-kernel consumer's list (`qp` has no user object), valid for the call.
        let (this, requests) = unsafe { (Qp::<T>::from_raw(qp), RecvRequests::from_raw(wr)) };
        // SAFETY: `wr` heads the consumer's list; `bad_wr` is the core's.
        unsafe { post_result(wr, bad_wr, T::post_recv(this, requests)) }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn post_srq_recv<T: Driver>(
        srq: *mut bindings::ib_srq,
        wr: *const bindings::ib_recv_wr,
        bad_wr: *mut *const bindings::ib_recv_wr,
    ) -> c_int {
        // SAFETY: `srq` is valid; the core sets `uobject` before the SRQ is created.
        if !unsafe { (*srq).uobject }.is_null() {
            // As for a user's queue pair (see `post_recv`).
            // SAFETY: `wr` heads the list, valid for the call; `bad_wr` is the core's.
            return unsafe { post_result(wr, bad_wr, refuse_user_post()) };
        }
        // SAFETY: An SRQ of `T`, not destroyed while the core posts to it; `wr` heads an
        // in-kernel consumer's list (`srq` has no user object), valid for the call.
        let (this, requests) = unsafe { (Srq::<T>::from_raw(srq), RecvRequests::from_raw(wr)) };
        // SAFETY: `wr` heads the consumer's list; `bad_wr` is the core's.
        unsafe { post_result(wr, bad_wr, T::post_srq_recv(this, requests)) }
    }

    /// The result of a post call a user's command made: refused, at its first request.
    fn refuse_user_post() -> Result<(), PostError> {
        Err(PostError {
            posted: 0,
            error: EINVAL,
        })
    }

    /// Returns what a post call returns to the core: 0, or the driver's error with `bad_wr`
    /// (if the core passed one) pointed at the first request the driver did not post.
    ///
    /// # Safety
    ///
    /// `wr` must head the consumer's valid list of requests, and `bad_wr` be null or valid for
    /// writes.
    unsafe fn post_result<W: post::LinkedRequest>(
        wr: *const W,
        bad_wr: *mut *const W,
        result: Result<(), PostError>,
    ) -> c_int {
        match result {
            Ok(()) => 0,
            Err(failed) => {
                if !bad_wr.is_null() && !wr.is_null() {
                    // SAFETY: The list is valid and not empty, and `bad_wr` valid for writes
                    // (the caller's guarantees, checked for null above).
                    unsafe { post::set_bad_wr(wr, failed.posted, bad_wr) };
                }
                failed.error.to_errno()
            }
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn poll_cq<T: Driver>(
        cq: *mut bindings::ib_cq,
        num_entries: c_int,
        wc: *mut bindings::ib_wc,
    ) -> c_int {
        let len = usize::try_from(num_entries).unwrap_or(0);
        // SAFETY: A CQ of `T` not destroyed while its consumer polls it; the consumer lends
        // `num_entries` writable entries for the call.
        let (this, mut slots) =
            unsafe { (Cq::<T>::from_raw(cq), CompletionSlots::from_raw(wc, len)) };
        match T::poll_cq(this, &mut slots) {
            Ok(()) => c_int::try_from(slots.filled()).unwrap_or(c_int::MAX),
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn destroy_qp<T: Driver>(
        qp: *mut bindings::ib_qp,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        // SAFETY: A QP created by `create_qp`, not used by the core or its consumer any more.
        T::destroy_qp(unsafe { Qp::<T>::from_raw(qp) });
        // SAFETY: Created by `create_qp`, which took the core's count, dropped only here. The
        // core and its consumer no longer use the QP, and the driver's `&Qp` ended with
        // `T::destroy_qp`, so only `QpRef`s reach it from here on.
        unsafe { Qp::<T>::release(qp) };
        // SAFETY: No `QpRef` is left, so nothing uses the data; the core frees the QP after
        // this returns 0.
        unsafe { Qp::<T>::drop_data(qp) };
        0
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn create_srq<T: Driver>(
        srq: *mut bindings::ib_srq,
        init: *mut bindings::ib_srq_init_attr,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core passes an SRQ whose PD it set, valid attributes and valid
            // `udata` if non-null.
            let (pd, init, mut udata) = unsafe {
                (
                    Pd::<T>::from_raw((*srq).pd),
                    &mut *init,
                    UData::from_raw(udata),
                )
            };
            if init.srq_type != bindings::ib_srq_type_IB_SRQT_BASIC {
                return Err(EOPNOTSUPP);
            }
            let requested = SrqAttr::from_raw(&init.attr);
            let (granted, data) = T::create_srq(pd, &requested, udata.as_mut())?;
            // SAFETY: The core allocated `srq` with `Srq<T>`'s size; data uninitialised.
            unsafe { Srq::<T>::init(srq, data)? };
            granted.write_raw(&mut init.attr);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn modify_srq<T: Driver>(
        srq: *mut bindings::ib_srq,
        attr: *mut bindings::ib_srq_attr,
        mask: bindings::ib_srq_attr_mask,
        udata: *mut bindings::ib_udata,
    ) -> c_int {
        from_result(|| {
            if mask
                & !(bindings::ib_srq_attr_mask_IB_SRQ_MAX_WR
                    | bindings::ib_srq_attr_mask_IB_SRQ_LIMIT)
                != 0
            {
                return Err(EINVAL);
            }
            // SAFETY: An SRQ of `T` with valid attributes and valid `udata` if non-null.
            let (this, attr, mut udata) =
                unsafe { (Srq::<T>::from_raw(srq), &*attr, UData::from_raw(udata)) };
            let max_wr =
                (mask & bindings::ib_srq_attr_mask_IB_SRQ_MAX_WR != 0).then_some(attr.max_wr);
            let limit =
                (mask & bindings::ib_srq_attr_mask_IB_SRQ_LIMIT != 0).then_some(attr.srq_limit);
            T::modify_srq(this, max_wr, limit, udata.as_mut())?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn query_srq<T: Driver>(
        srq: *mut bindings::ib_srq,
        attr: *mut bindings::ib_srq_attr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: An SRQ of `T`.
            let values = T::query_srq(unsafe { Srq::<T>::from_raw(srq) })?;
            // SAFETY: The core passes an attribute structure valid for writes.
            values.write_raw(unsafe { &mut *attr });
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    pub(super) unsafe extern "C" fn destroy_srq<T: Driver>(
        srq: *mut bindings::ib_srq,
        _udata: *mut bindings::ib_udata,
    ) -> c_int {
        // SAFETY: Created by `create_srq`; the core frees it after this returns 0.
        unsafe { Srq::<T>::drop_data(srq) };
        0
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised.
    pub(super) unsafe extern "C" fn alloc_hw_port_stats<T: Driver>(
        _ib: *mut bindings::ib_device,
        _port: u32,
    ) -> *mut bindings::rdma_hw_stats {
        let names = T::PORT_COUNTERS;
        let Ok(count) = c_int::try_from(names.len()) else {
            return core::ptr::null_mut();
        };
        // SAFETY: `CounterName` is a transparent `struct rdma_stat_desc`, and the table lives
        // for the whole program, as long as the core keeps the statistics it describes. The
        // function copies nothing else and returns null or a new allocation the core frees.
        unsafe {
            bindings::rdma_alloc_hw_stats_struct(
                names.as_ptr().cast(),
                count,
                bindings::RDMA_HW_STATS_DEFAULT_LIFESPAN as c_ulong,
            )
        }
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised, with statistics that
    /// `alloc_hw_port_stats` allocated for the device, whose lock the core holds.
    pub(super) unsafe extern "C" fn get_hw_stats<T: Driver>(
        ib: *mut bindings::ib_device,
        stats: *mut bindings::rdma_hw_stats,
        port: u32,
        _index: c_int,
    ) -> c_int {
        // SAFETY: Called by the core on a device of `T`.
        let dev = unsafe { dev::<T>(ib) };
        // SAFETY: The core passes statistics it allocated through `alloc_hw_port_stats`.
        let count = unsafe { (*stats).num_counters };
        let Ok(len) = usize::try_from(count) else {
            return EINVAL.to_errno();
        };
        // SAFETY: `rdma_alloc_hw_stats_struct` allocated `num_counters` values after the
        // struct, and the core's hold of the statistics' lock keeps other writers and readers
        // away while this runs.
        let values = unsafe { (*stats).value.as_mut_slice(len) };
        T::read_port_counters(dev, port, values);
        count
    }

    /// # Safety
    ///
    /// Only called by the RDMA core, as the `struct ib_device_ops` entry of the same name, on a
    /// device set up with `T`'s operations whose data is initialised; pointers are as the core
    /// documents for that entry.
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe extern "C" fn process_mad<T: Driver>(
        ib: *mut bindings::ib_device,
        _flags: c_int,
        port: u32,
        _in_wc: *const bindings::ib_wc,
        _in_grh: *const bindings::ib_grh,
        in_mad: *const bindings::ib_mad,
        out_mad: *mut bindings::ib_mad,
        out_mad_size: *mut usize,
        _out_mad_pkey_index: *mut u16,
    ) -> c_int {
        if in_mad.is_null() || out_mad.is_null() || out_mad_size.is_null() {
            return MadOutcome::Failed.to_raw();
        }
        // SAFETY: The core passes the size of the reply buffer, valid for reads.
        if unsafe { *out_mad_size } < MAD_SIZE {
            return MadOutcome::Failed.to_raw();
        }
        // SAFETY: Called by the core on a device of `T`.
        let dev = unsafe { dev::<T>(ib) };
        // SAFETY: `in_mad` points to a whole `struct ib_mad` (`MAD_SIZE` bytes, any alignment
        // fits bytes), a received datagram's buffer or the core's query, which nothing writes
        // while the operation runs.
        let request = unsafe { &*in_mad.cast::<Mad>() };
        // SAFETY: `out_mad` is the core's reply buffer of `*out_mad_size` bytes, at least
        // `MAD_SIZE` as checked, distinct from `in_mad` and used by nobody else during the
        // operation.
        let reply = unsafe { &mut *out_mad.cast::<Mad>() };
        reply.fill(0);
        T::process_mad(dev, port, request, reply).to_raw()
    }

    /// Converts a region or an error to what the core's MR operations return.
    fn mr_or_err_ptr(res: Result<*mut bindings::ib_mr>) -> *mut bindings::ib_mr {
        match res {
            Ok(mr) => mr,
            Err(e) => e.to_ptr(),
        }
    }
}
