// SPDX-License-Identifier: GPL-2.0

//! An rrxe device opened through libibverbs, and rrxe's methods issued on the command file
//! descriptor of its context.

use crate::abi;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt;

#[repr(C)]
struct IbvDevice {
    _opaque: [u8; 0],
}

/// `struct ibv_context` up to `cmd_fd`: the device, then `struct ibv_context_ops`, 32 function
/// pointers whose layout libibverbs keeps stable.
#[repr(C)]
struct IbvContext {
    device: *mut IbvDevice,
    ops: [*const c_void; 32],
    cmd_fd: c_int,
}

#[link(name = "ibverbs")]
extern "C" {
    fn ibv_get_device_list(num_devices: *mut c_int) -> *mut *mut IbvDevice;
    fn ibv_free_device_list(list: *mut *mut IbvDevice);
    fn ibv_get_device_name(device: *mut IbvDevice) -> *const c_char;
    fn ibv_open_device(device: *mut IbvDevice) -> *mut IbvContext;
    fn ibv_close_device(context: *mut IbvContext) -> c_int;
}

/// Why a call failed, in the terms of what the user asked.
#[derive(Debug)]
pub enum Error {
    NoDevice(String),
    NotRrxe(String),
    Open(String, std::io::Error),
    NoQp(String, u32),
    NotPermitted(&'static str),
    Invalid(&'static str),
    Os(&'static str, std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoDevice(name) => write!(f, "no RDMA device named {name}"),
            Error::NotRrxe(name) => write!(f, "{name} is not an rrxe device"),
            Error::Open(name, e) => write!(f, "cannot open {name}: {e}"),
            Error::NoQp(name, qpn) => write!(
                f,
                "{name} has no queue pair {qpn:#x} (or it was never modified out of reset)"
            ),
            Error::NotPermitted(what) => write!(f, "{what} needs CAP_NET_ADMIN"),
            Error::Invalid(what) => write!(f, "{what}: the driver refused the request"),
            Error::Os(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

/// An open rrxe device.
pub struct Device {
    name: String,
    context: *mut IbvContext,
}

impl Device {
    /// Opens device `name`, and checks that it answers rrxe's methods.
    pub fn open(name: &str) -> Result<Self, Error> {
        let mut count = 0;
        // SAFETY: libibverbs returns a list it owns until freed, or null.
        let list = unsafe { ibv_get_device_list(&mut count) };
        if list.is_null() {
            return Err(Error::NoDevice(name.into()));
        }
        let mut found = None;
        for i in 0..usize::try_from(count).unwrap_or(0) {
            // SAFETY: `list` holds `count` devices.
            let dev = unsafe { *list.add(i) };
            // SAFETY: A device of the list has a NUL-terminated name.
            let dev_name = unsafe { CStr::from_ptr(ibv_get_device_name(dev)) };
            if dev_name.to_bytes() == name.as_bytes() {
                found = Some(dev);
            }
        }
        let context = found.map(|dev| {
            // SAFETY: A device of the list, which is still held.
            unsafe { ibv_open_device(dev) }
        });
        let open_error = std::io::Error::last_os_error();
        // SAFETY: Freed once; an open context keeps its device.
        unsafe { ibv_free_device_list(list) };
        let context = context.ok_or_else(|| Error::NoDevice(name.into()))?;
        if context.is_null() {
            return Err(Error::Open(name.into(), open_error));
        }
        let device = Self {
            name: name.into(),
            context,
        };
        device.counters(false).map_err(|e| match e {
            // The core refuses a method it does not know with EPROTONOSUPPORT, and a
            // driver id other than the device's with EINVAL.
            Error::Os(_, ref io)
                if matches!(
                    io.raw_os_error(),
                    Some(libc::EPROTONOSUPPORT | libc::EINVAL)
                ) =>
            {
                Error::NotRrxe(name.into())
            }
            e => e,
        })?;
        Ok(device)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn cmd_fd(&self) -> c_int {
        // SAFETY: An open context, whose `cmd_fd` libibverbs set and does not change.
        unsafe { (*self.context).cmd_fd }
    }

    /// Issues a method with `attrs`; the output buffers they name must live until it returns.
    fn call(&self, method_id: u16, attrs: &[abi::Attr]) -> std::io::Result<()> {
        let mut msg = abi::message(
            abi::OBJECT_TRANSPORT,
            method_id,
            abi::RDMA_DRIVER_RXE,
            attrs,
        );
        // SAFETY: `msg` is a complete ioctl message whose length its header gives; the
        // buffers its attributes name are the caller's, alive for the call.
        let ret =
            unsafe { libc::ioctl(self.cmd_fd(), abi::RDMA_VERBS_IOCTL as _, msg.as_mut_ptr()) };
        if ret == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    fn qp_error(&self, qpn: u32, what: &'static str, e: std::io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::ENOENT) => Error::NoQp(self.name.clone(), qpn),
            Some(libc::EPERM) => Error::NotPermitted(what),
            Some(libc::EINVAL) => Error::Invalid(what),
            _ => Error::Os(what, e),
        }
    }

    /// Returns the transport state of queue pair `qpn`; its counts start again from zero if
    /// `reset_counts`.
    pub fn qp(&self, qpn: u32, reset_counts: bool) -> Result<abi::QpState, Error> {
        let mut state = abi::QpState::default();
        let flags = match reset_counts {
            true => abi::QUERY_QP_RESET_COUNTS,
            false => 0,
        };
        let attrs = [
            abi::attr_in(abi::ATTR_QP_QUERY_FLAGS, &flags, 0),
            abi::attr_in(abi::ATTR_QPN, &qpn, abi::ATTR_F_MANDATORY),
            abi::attr_out(
                abi::ATTR_QP_STATE,
                (&mut state as *mut abi::QpState).cast(),
                std::mem::size_of::<abi::QpState>(),
                abi::ATTR_F_MANDATORY,
            ),
        ];
        self.call(abi::METHOD_QUERY_QP, &attrs)
            .map_err(|e| self.qp_error(qpn, "querying a queue pair by number", e))?;
        Ok(state)
    }

    /// Sets the faults of queue pair `qpn`.
    pub fn set_faults(&self, qpn: u32, faults: &abi::Faults) -> Result<(), Error> {
        let attrs = [
            abi::attr_in(abi::ATTR_QPN, &qpn, abi::ATTR_F_MANDATORY),
            abi::attr_in(abi::ATTR_FAULTS, faults, abi::ATTR_F_MANDATORY),
        ];
        self.call(abi::METHOD_SET_FAULTS, &attrs)
            .map_err(|e| self.qp_error(qpn, "injecting faults", e))
    }

    /// Returns the device's counters by name: all of them, or the drops by reason.
    pub fn counters(&self, drops_only: bool) -> Result<Vec<(String, u64)>, Error> {
        let set = match drops_only {
            true => abi::COUNTER_SET_DROPS,
            false => abi::COUNTER_SET_ALL,
        };
        let mut values = vec![0u64; 256];
        let mut names = vec![0u8; 8192];
        let attrs = [
            abi::attr_out(
                abi::ATTR_COUNTER_VALUES,
                values.as_mut_ptr().cast(),
                values.len() * 8,
                abi::ATTR_F_MANDATORY,
            ),
            abi::attr_out(abi::ATTR_COUNTER_NAMES, names.as_mut_ptr(), names.len(), 0),
            abi::attr_in(abi::ATTR_COUNTER_SET, &set, 0),
        ];
        self.call(abi::METHOD_QUERY_COUNTERS, &attrs)
            .map_err(|e| Error::Os("querying the counters", e))?;
        Ok(abi::split_names(&names).into_iter().zip(values).collect())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: Opened by `ibv_open_device`, closed once.
        unsafe { ibv_close_device(self.context) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cmd_fd_is_where_libibverbs_puts_it() {
        // offsetof(struct ibv_context, cmd_fd) on x86-64, as <infiniband/verbs.h> lays it out.
        assert_eq!(std::mem::offset_of!(super::IbvContext, cmd_fd), 264);
    }
}
