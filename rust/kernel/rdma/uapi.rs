// SPDX-License-Identifier: GPL-2.0

//! Driver-specific uverbs methods: objects, methods and attributes in the driver's namespace
//! of the uverbs ioctl interface (`RDMA_VERBS_IOCTL`).
//!
//! C headers: [`include/rdma/uverbs_ioctl.h`](srctree/include/rdma/uverbs_ioctl.h),
//! [`include/uapi/rdma/rdma_user_ioctl_cmds.h`](srctree/include/uapi/rdma/rdma_user_ioctl_cmds.h)
//!
//! A driver declares its attributes ([`Attr`]), methods ([`MethodDef`]) and objects
//! ([`ObjectDef`]) as `static`s, gathers the objects in [`Definitions`] and hands them to the
//! core through [`Driver::UAPI`]. The core builds its method tree from them when it adds the
//! device's uverbs interface and checks every call against it before the driver sees it: the
//! driver id, the attribute lengths, mandatory attributes, and that object handles name objects
//! of the caller's own context. A method's handler, [`Method::handle`], then reads and answers
//! the attributes through a [`Call`], which only hands out attributes of that method, each as
//! what it was declared to be: fixed-size inputs and outputs, outputs of variable size, flags,
//! values of a numbered set, and queue pairs of the caller's context.
//!
//! Identifiers are those of the driver namespace (`UVERBS_API_NS_FLAG` set): see [`driver_id`].

use super::{object::Qp, object::UContext, Device, Driver};
use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    prelude::*,
};
use core::{marker::PhantomData, ptr};
use zerocopy::Immutable;

// `Attr::new` sets the `mandatory` bit field where a little-endian target has it.
#[cfg(target_endian = "big")]
compile_error!("driver uverbs attributes are laid out for little-endian targets only");

/// The flag that puts an identifier into the driver namespace.
const NS_FLAG: u16 = bindings::uapi_radix_data_UVERBS_API_NS_FLAG as u16;

/// Driver objects the core's method tree has room for (`UVERBS_API_OBJ_KEY_NUM_DRIVER`).
const MAX_DRIVER_OBJECTS: u16 = bindings::uapi_radix_data_UVERBS_API_OBJ_KEY_NUM_DRIVER as u16;
/// Driver methods per object (`UVERBS_API_METHOD_KEY_NUM_DRIVER`).
const MAX_DRIVER_METHODS: u16 = bindings::uapi_radix_data_UVERBS_API_METHOD_KEY_NUM_DRIVER as u16;
/// Driver attributes per method (see `uapi_key_attr`).
const MAX_DRIVER_ATTRS: u16 = (1 << (bindings::uapi_radix_data_UVERBS_API_ATTR_KEY_BITS - 1)) - 1;

/// Returns identifier `n` of the driver namespace, as user space passes it.
pub const fn driver_id(n: u16) -> u16 {
    NS_FLAG | n
}

/// Whether a caller must give an attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The call fails with `EINVAL` without it (`UA_MANDATORY`).
    Mandatory,
    /// The caller may leave it out (`UA_OPTIONAL`).
    Optional,
}

/// What an attribute carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Bytes from the caller (`UVERBS_ATTR_PTR_IN`).
    In,
    /// Bytes to the caller (`UVERBS_ATTR_PTR_OUT`).
    Out,
    /// Flags from the caller, 32 or 64 bits (`UVERBS_ATTR_FLAGS_IN`).
    Flags,
    /// A value from the caller, one of a set numbered from zero (`UVERBS_ATTR_CONST_IN`).
    Constant,
    /// A queue pair of the caller's context (`UVERBS_ATTR_IDR` of `UVERBS_OBJECT_QP`).
    QueuePair,
}

/// An attribute of a driver method (`struct uverbs_attr_def`).
///
/// Declare attributes as `static`s: [`Call`] recognises a method's attributes by their
/// address, so a `const` attribute, copied at each use, is refused with `EINVAL`.
///
/// # Invariants
///
/// `def` describes an attribute of kind `kind` in the driver namespace, numbered below
/// `MAX_DRIVER_ATTRS`: for [`Kind::In`] a fixed size (`len == min_len`) and no trailing bytes;
/// for [`Kind::Out`] a size from `min_len` to `len`; for [`Kind::Flags`] 4 to 8 bytes, and
/// `limit` the flags allowed; for [`Kind::Constant`] 8 bytes, and `limit` the largest value;
/// each of these four with `u` initialised as `ptr`. For [`Kind::QueuePair`] an IDR of
/// `UVERBS_OBJECT_QP` with read access.
#[repr(C)]
pub struct Attr {
    def: bindings::uverbs_attr_def,
    kind: Kind,
    limit: u64,
}

// SAFETY: An `Attr` is never changed after its constant initialisation; its only pointer
// (`u2`) is null.
unsafe impl Sync for Attr {}

impl Attr {
    const fn new(
        n: u16,
        kind: Kind,
        presence: Presence,
        u: bindings::uverbs_attr_spec__bindgen_ty_1,
    ) -> Self {
        assert!(
            n < MAX_DRIVER_ATTRS,
            "attribute number out of the driver namespace"
        );
        let type_ = match kind {
            Kind::In | Kind::Flags | Kind::Constant => {
                bindings::uverbs_attr_type_UVERBS_ATTR_TYPE_PTR_IN
            }
            Kind::Out => bindings::uverbs_attr_type_UVERBS_ATTR_TYPE_PTR_OUT,
            Kind::QueuePair => bindings::uverbs_attr_type_UVERBS_ATTR_TYPE_IDR,
        };
        // The bit fields `zero_trailing`, `alloc_and_copy`, `mandatory`, `is_udata`, from bit 0
        // of the first byte, as a little-endian target lays them out (the only targets built).
        let mandatory = match presence {
            Presence::Mandatory => 1 << 2,
            Presence::Optional => 0,
        };
        // INVARIANT: The number is checked above, `u` is each kind's, as its constructors give
        // it, and the type follows the kind.
        Self {
            def: bindings::uverbs_attr_def {
                id: driver_id(n),
                attr: bindings::uverbs_attr_spec {
                    type_: type_ as u8,
                    _bitfield_1: bindings::__BindgenBitfieldUnit::new([mandatory]),
                    u,
                    u2: bindings::uverbs_attr_spec__bindgen_ty_2 {
                        enum_def: bindings::uverbs_attr_spec__bindgen_ty_2__bindgen_ty_1 {
                            ids: ptr::null(),
                        },
                    },
                },
            },
            kind,
            limit: 0,
        }
    }

    const fn sized(len: usize) -> bindings::uverbs_attr_spec__bindgen_ty_1 {
        assert!(len <= u16::MAX as usize, "attribute too large");
        bindings::uverbs_attr_spec__bindgen_ty_1 {
            ptr: bindings::uverbs_attr_spec__bindgen_ty_1__bindgen_ty_1 {
                len: len as u16,
                min_len: len as u16,
            },
        }
    }

    /// An input of exactly `size_of::<V>()` bytes, attribute `n` of the driver namespace.
    pub const fn input<V: FromBytes>(n: u16, presence: Presence) -> Self {
        Self::new(n, Kind::In, presence, Self::sized(size_of::<V>()))
    }

    /// An output of exactly `size_of::<V>()` bytes, attribute `n` of the driver namespace.
    pub const fn output<V: IntoBytes>(n: u16, presence: Presence) -> Self {
        Self::new(n, Kind::Out, presence, Self::sized(size_of::<V>()))
    }

    /// An output of at least `min_len` bytes and at most 65535, attribute `n` of the driver
    /// namespace: the caller's buffer takes what fits of [`Call::write_bytes`].
    pub const fn output_bytes(n: u16, min_len: u16, presence: Presence) -> Self {
        Self::new(
            n,
            Kind::Out,
            presence,
            bindings::uverbs_attr_spec__bindgen_ty_1 {
                ptr: bindings::uverbs_attr_spec__bindgen_ty_1__bindgen_ty_1 {
                    len: u16::MAX,
                    min_len,
                },
            },
        )
    }

    /// Flags of up to 64 bits, attribute `n` of the driver namespace, of which only those in
    /// `allowed` may be set; the caller gives 4 or 8 bytes.
    pub const fn flags(n: u16, allowed: u64, presence: Presence) -> Self {
        let mut attr = Self::new(
            n,
            Kind::Flags,
            presence,
            bindings::uverbs_attr_spec__bindgen_ty_1 {
                ptr: bindings::uverbs_attr_spec__bindgen_ty_1__bindgen_ty_1 {
                    len: size_of::<u64>() as u16,
                    min_len: size_of::<u32>() as u16,
                },
            },
        );
        attr.limit = allowed;
        attr
    }

    /// A value from `0` to `max`, attribute `n` of the driver namespace: one of a set the
    /// driver numbers, such as a C enum; the caller gives 8 bytes.
    pub const fn constant(n: u16, max: u64, presence: Presence) -> Self {
        let mut attr = Self::new(n, Kind::Constant, presence, Self::sized(size_of::<u64>()));
        attr.limit = max;
        attr
    }

    /// A handle of one of the caller's queue pairs, attribute `n` of the driver namespace; the
    /// queue pair cannot be destroyed during the call.
    pub const fn queue_pair(n: u16, presence: Presence) -> Self {
        Self::new(
            n,
            Kind::QueuePair,
            presence,
            bindings::uverbs_attr_spec__bindgen_ty_1 {
                obj: bindings::uverbs_attr_spec__bindgen_ty_1__bindgen_ty_2 {
                    obj_type: bindings::uverbs_default_objects_UVERBS_OBJECT_QP as u16,
                    access: bindings::uverbs_obj_access_UVERBS_ACCESS_READ as u8,
                },
            },
        )
    }

    fn id(&self) -> usize {
        self.def.id.into()
    }

    /// Returns the size of an input or output attribute; callers check the kind first.
    fn len(&self) -> usize {
        if !matches!(
            self.kind,
            Kind::In | Kind::Out | Kind::Flags | Kind::Constant
        ) {
            return 0;
        }
        // SAFETY: Every kind but queue pairs initialises `u` as `ptr` (type invariant).
        unsafe { self.def.attr.u.ptr.len }.into()
    }
}

/// A driver method, with its attributes and its handler.
pub trait Method: 'static {
    /// The driver whose devices offer the method.
    type Driver: Driver;
    /// The method's attributes; [`Call`] hands out no others.
    const ATTRS: &'static [&'static Attr];
    /// Carries out a call, whose attributes the core has checked against [`Method::ATTRS`].
    /// Runs in the caller's process context and may sleep. An `EPROTONOSUPPORT` it returns,
    /// which the core reserves for calls it cannot route, reaches the caller as `EINVAL`.
    fn handle(call: &mut Call<'_, Self::Driver>) -> Result;
}

/// A method of driver `T` (`struct uverbs_method_def`).
///
/// # Invariants
///
/// `def` is the method of a [`Method`] `M` with `M::Driver = T`, numbered below
/// `MAX_DRIVER_METHODS`: its handler is `handle::<M>` and its attributes are `M::ATTRS`, at
/// most `MAX_DRIVER_ATTRS` of them, each numbered once.
#[repr(transparent)]
pub struct MethodDef<T: Driver> {
    def: bindings::uverbs_method_def,
    _driver: PhantomData<fn() -> T>,
}

// SAFETY: Never changed after its constant initialisation; it points only to `'static`
// attributes, which are `Sync`, and to a function.
unsafe impl<T: Driver> Sync for MethodDef<T> {}

impl<T: Driver> MethodDef<T> {
    /// Method `n` of the driver namespace, carried out by `M`.
    pub const fn new<M: Method<Driver = T>>(n: u16) -> Self {
        assert!(
            n < MAX_DRIVER_METHODS,
            "method number out of the driver namespace"
        );
        assert!(
            M::ATTRS.len() <= MAX_DRIVER_ATTRS as usize,
            "too many attributes"
        );
        // The core would refuse the whole tree (`EEXIST`).
        let mut i = 0;
        while i < M::ATTRS.len() {
            let mut j = i + 1;
            while j < M::ATTRS.len() {
                assert!(
                    M::ATTRS[i].def.id != M::ATTRS[j].def.id,
                    "attribute given twice"
                );
                j += 1;
            }
            i += 1;
        }
        // INVARIANT: Number and attributes are checked above; the handler is `M`'s.
        Self {
            def: bindings::uverbs_method_def {
                id: driver_id(n),
                flags: 0,
                num_attrs: M::ATTRS.len(),
                // `&Attr` has the layout of a pointer to its first field, the C definition.
                attrs: M::ATTRS.as_ptr().cast(),
                handler: Some(handle::<M>),
            },
            _driver: PhantomData,
        }
    }
}

/// An object of driver `T` with methods only, no instances (`DECLARE_UVERBS_GLOBAL_METHODS`).
///
/// # Invariants
///
/// `def` is an object numbered below `MAX_DRIVER_OBJECTS` whose methods are `'static`
/// methods of driver `T`, each numbered once.
#[repr(transparent)]
pub struct ObjectDef<T: Driver> {
    def: bindings::uverbs_object_def,
    _driver: PhantomData<fn() -> T>,
}

// SAFETY: Never changed after its constant initialisation; it points only to `'static`
// methods, which are `Sync`.
unsafe impl<T: Driver> Sync for ObjectDef<T> {}

impl<T: Driver> ObjectDef<T> {
    /// Object `n` of the driver namespace with `methods`.
    pub const fn new(n: u16, methods: &'static [&'static MethodDef<T>]) -> Self {
        assert!(
            n < MAX_DRIVER_OBJECTS,
            "object number out of the driver namespace"
        );
        // The core would warn and refuse the whole tree.
        let mut i = 0;
        while i < methods.len() {
            let mut j = i + 1;
            while j < methods.len() {
                assert!(
                    methods[i].def.id != methods[j].def.id,
                    "method number given twice"
                );
                j += 1;
            }
            i += 1;
        }
        // INVARIANT: Number and methods are checked above; the methods are of `T` by type.
        Self {
            def: bindings::uverbs_object_def {
                id: driver_id(n),
                type_attrs: ptr::null(),
                num_methods: methods.len(),
                // `&MethodDef` has the layout of a pointer to the C definition.
                methods: methods.as_ptr().cast(),
            },
            _driver: PhantomData,
        }
    }
}

/// The driver objects of driver `T`: `N` chained object trees and the end mark (`struct
/// uapi_definition[]`).
///
/// # Invariants
///
/// `objects` chain `N` `'static` objects of driver `T`, each numbered once; `end` is the end
/// mark, right after them.
#[repr(C)]
pub struct Definitions<T: Driver, const N: usize> {
    objects: [bindings::uapi_definition; N],
    end: bindings::uapi_definition,
    _driver: PhantomData<fn() -> T>,
}

// SAFETY: Never changed after its constant initialisation; it points only to `'static`
// objects, which are `Sync`.
unsafe impl<T: Driver, const N: usize> Sync for Definitions<T, N> {}

impl<T: Driver, const N: usize> Definitions<T, N> {
    /// The definitions of `objects`.
    pub const fn new(objects: [&'static ObjectDef<T>; N]) -> Self {
        // The core would merge them into one and refuse a method number found twice.
        let mut i = 0;
        while i < N {
            let mut j = i + 1;
            while j < N {
                assert!(
                    objects[i].def.id != objects[j].def.id,
                    "object number given twice"
                );
                j += 1;
            }
            i += 1;
        }
        let end = bindings::uapi_definition {
            kind: bindings::uapi_definition_kind_UAPI_DEF_END as u8,
            scope: 0,
            __bindgen_anon_1: bindings::uapi_definition__bindgen_ty_1 {
                object_start: bindings::uapi_definition__bindgen_ty_1__bindgen_ty_1 {
                    object_id: 0,
                },
            },
            __bindgen_anon_2: bindings::uapi_definition__bindgen_ty_2 { chain: ptr::null() },
        };
        let mut chained = [end; N];
        let mut i = 0;
        while i < N {
            chained[i] = bindings::uapi_definition {
                kind: bindings::uapi_definition_kind_UAPI_DEF_CHAIN_OBJ_TREE as u8,
                scope: 0,
                __bindgen_anon_1: bindings::uapi_definition__bindgen_ty_1 {
                    object_start: bindings::uapi_definition__bindgen_ty_1__bindgen_ty_1 {
                        object_id: objects[i].def.id,
                    },
                },
                __bindgen_anon_2: bindings::uapi_definition__bindgen_ty_2 {
                    chain_obj_tree: &objects[i].def,
                },
            };
            i += 1;
        }
        // A `repr(C)` array's size is a multiple of its alignment: the end mark follows the
        // objects without padding.
        assert!(core::mem::offset_of!(Self, objects) == 0);
        assert!(core::mem::offset_of!(Self, end) == N * size_of::<bindings::uapi_definition>());
        // INVARIANT: The objects are checked above and chained in order, then the end mark.
        Self {
            objects: chained,
            end,
            _driver: PhantomData,
        }
    }

    /// Returns the definitions as the core takes them.
    pub const fn tree(&'static self) -> Tree<T> {
        // INVARIANT: The whole of `self`, objects then end mark (type invariant), is `'static`
        // and reachable from a pointer to it.
        Tree {
            first: ptr::from_ref(self).cast(),
            _driver: PhantomData,
        }
    }
}

/// The driver objects of driver `T`, as [`Driver::UAPI`] gives them.
///
/// # Invariants
///
/// `first` is the first entry of `'static` definitions of driver `T` ending with
/// `UAPI_DEF_END`.
#[derive(Clone, Copy)]
pub struct Tree<T: Driver> {
    first: *const bindings::uapi_definition,
    _driver: PhantomData<fn() -> T>,
}

// SAFETY: It points to immutable `'static` definitions (type invariant).
unsafe impl<T: Driver> Sync for Tree<T> {}
// SAFETY: As for `Sync`.
unsafe impl<T: Driver> Send for Tree<T> {}

impl<T: Driver> Tree<T> {
    pub(crate) fn as_ptr(&self) -> *const bindings::uapi_definition {
        self.first
    }
}

/// One call of a driver method: its attributes, its caller's context and its device.
///
/// # Invariants
///
/// `bundle` is the core's checked bundle of a call of a method whose attributes are `attrs`,
/// valid for `'a`, made on a user context of driver `T`, `context`. The call runs within the
/// context file's `disassociate_srcu` read section, for which the device cannot be
/// unregistered or moved to another namespace (both wait for the section to end).
pub struct Call<'a, T: Driver> {
    bundle: *mut bindings::uverbs_attr_bundle,
    attrs: &'static [&'static Attr],
    context: &'a UContext<T>,
}

impl<'a, T: Driver> Call<'a, T> {
    /// Returns the caller's user context.
    pub fn context(&self) -> &'a UContext<T> {
        self.context
    }

    /// Returns the device called.
    pub fn device(&self) -> &'a Device<T> {
        self.context.device()
    }

    /// Returns whether the caller may administer the network of the device's namespace:
    /// `CAP_NET_ADMIN` in its user namespace.
    pub fn net_admin_capable(&self) -> bool {
        // SAFETY: The device is valid for the call; its namespace lives as long as it is
        // registered in it, which it stays for the call (type invariant).
        let net = unsafe { bindings::rdma_dev_net(self.device().as_raw()) };
        // SAFETY: `net` is a live namespace (above), whose user namespace it holds.
        unsafe { bindings::ns_capable((*net).user_ns, bindings::CAP_NET_ADMIN as c_int) }
    }

    /// Checks that `attr` is one of the method's, of `kind`; returns the core's parsed
    /// attribute, or `None` if the caller did not give it.
    fn get(&self, attr: &Attr, kind: Kind) -> Result<Option<*const bindings::uverbs_attr>> {
        if attr.kind != kind || !self.attrs.iter().any(|a| ptr::eq(*a, attr)) {
            return Err(EINVAL);
        }
        // SAFETY: `bundle` is valid (type invariant); the core checks presence by id.
        let parsed = unsafe { bindings::uverbs_attr_get(self.bundle, attr.def.id) };
        match from_err_ptr(parsed.cast_mut()) {
            Ok(parsed) => Ok(Some(parsed.cast_const())),
            Err(e) if e == ENOENT => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads input attribute `attr`, `None` if the caller did not give it. Fails with
    /// `EINVAL` if `attr` is not an input of this method of exactly `size_of::<V>()` bytes.
    pub fn read<V: FromBytes + IntoBytes>(&self, attr: &Attr) -> Result<Option<V>> {
        let parsed = self.get(attr, Kind::In)?;
        if attr.len() != size_of::<V>() {
            return Err(EINVAL);
        }
        if parsed.is_none() {
            return Ok(None);
        }
        let mut value = V::new_zeroed();
        // SAFETY: `bundle` is valid (type invariant); the attribute is a present input (checked
        // above) of exactly `size_of::<V>()` bytes (type invariant of `Attr`), the room `value`
        // has; any bytes are a valid `V`.
        to_result(unsafe {
            bindings::_uverbs_copy_from_or_zero(
                value.as_mut_bytes().as_mut_ptr().cast(),
                self.bundle,
                attr.id(),
                size_of::<V>(),
            )
        })?;
        Ok(Some(value))
    }

    /// Reads flags attribute `attr`: zero if the caller did not give it, `EINVAL` if it sets
    /// a flag the attribute does not allow or `attr` is not a flags attribute of this method.
    pub fn flags(&self, attr: &Attr) -> Result<u64> {
        self.get(attr, Kind::Flags)?;
        let mut flags = 0u64;
        // SAFETY: `bundle` is valid (type invariant) and the attribute a flags input of this
        // method; the core writes one `u64` to `flags`.
        to_result(unsafe {
            bindings::uverbs_get_flags64(&mut flags, self.bundle, attr.id(), attr.limit)
        })?;
        Ok(flags)
    }

    /// Reads value attribute `attr`, `None` if the caller did not give it; `EINVAL` if it is
    /// beyond the attribute's largest value or `attr` is not a value attribute of this method.
    pub fn constant(&self, attr: &Attr) -> Result<Option<u64>> {
        if self.get(attr, Kind::Constant)?.is_none() {
            return Ok(None);
        }
        let mut value = 0u64;
        // SAFETY: `bundle` is valid (type invariant) and the attribute a present value input of
        // this method; the core writes one `u64` to `value`; no default is given.
        to_result(unsafe {
            bindings::_uverbs_get_const_unsigned(
                &mut value,
                self.bundle,
                attr.id(),
                attr.limit,
                ptr::null_mut(),
            )
        })?;
        Ok(Some(value))
    }

    /// Writes `value` to output attribute `attr` if the caller gave it. Fails with `EINVAL` if
    /// `attr` is not an output of this method of `size_of::<V>()` bytes ([`Attr::output`]);
    /// outputs of variable size take [`Call::write_bytes`].
    pub fn write<V: IntoBytes + Immutable>(&self, attr: &Attr, value: &V) -> Result {
        if attr.len() != size_of::<V>() {
            return Err(EINVAL);
        }
        self.write_bytes(attr, value.as_bytes())
    }

    /// Writes `bytes` to output attribute `attr` if the caller gave it, as many as its buffer
    /// takes. Fails with `EINVAL` if `attr` is not an output of this method.
    pub fn write_bytes(&self, attr: &Attr, bytes: &[u8]) -> Result {
        if self.get(attr, Kind::Out)?.is_none() {
            return Ok(());
        }
        // SAFETY: `bundle` is valid (type invariant) and the attribute a present output; the
        // core copies at most `bytes.len()` bytes from `bytes`.
        to_result(unsafe {
            bindings::uverbs_copy_to(self.bundle, attr.id(), bytes.as_ptr().cast(), bytes.len())
        })
    }

    /// Returns the size of the caller's buffer for output attribute `attr`, `None` if it did
    /// not give it.
    pub fn output_len(&self, attr: &Attr) -> Result<Option<usize>> {
        let Some(parsed) = self.get(attr, Kind::Out)? else {
            return Ok(None);
        };
        // SAFETY: A present output attribute, parsed by the core into `ptr_attr`.
        Ok(Some(
            unsafe { (*parsed).__bindgen_anon_1.ptr_attr.len }.into(),
        ))
    }

    /// Returns the queue pair attribute `attr` names, `None` if the caller did not give it.
    /// Fails with `EINVAL` if `attr` is not a queue pair attribute of this method.
    pub fn queue_pair(&self, attr: &Attr) -> Result<Option<&'a Qp<T>>> {
        let Some(parsed) = self.get(attr, Kind::QueuePair)? else {
            return Ok(None);
        };
        // SAFETY: A present IDR attribute of `UVERBS_OBJECT_QP` (`Attr`'s invariant), looked up
        // by the core in the caller's objects and held locked until the call returns: `object`
        // is a committed `struct ib_qp` of the device, which cannot be destroyed meanwhile.
        let object = unsafe { (*(*parsed).__bindgen_anon_1.obj_attr.uobject).object };
        let qp: *mut bindings::ib_qp = object.cast();
        // SAFETY: `qp` is a live `struct ib_qp` (above).
        let (real_qp, device) = unsafe { ((*qp).real_qp, (*qp).device) };
        // A queue pair the core allocated itself (an opened XRC target queue pair) or one of
        // another device is not one of `T`'s.
        if real_qp != qp || device != self.device().as_raw() {
            return Err(EINVAL);
        }
        // SAFETY: A queue pair of the device that is its own real queue pair was created by the
        // device's `create_qp`, `T`'s, so `qp` is a `Qp<T>` with initialised data, valid for
        // the call (above).
        Ok(Some(unsafe { Qp::<T>::from_raw(qp) }))
    }
}

/// The core's entry point of method `M`.
///
/// # Safety
///
/// `bundle` is the checked bundle of a call of `M`, made on a device of `M::Driver`, valid for
/// the call.
unsafe extern "C" fn handle<M: Method>(bundle: *mut bindings::uverbs_attr_bundle) -> c_int {
    // SAFETY: `bundle` is valid (the caller's guarantee).
    let context = unsafe { bindings::ib_uverbs_get_ucontext(bundle) };
    let context = match from_err_ptr(context) {
        Ok(context) => context,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: The device is of `M::Driver` (the caller's guarantee), so its contexts are
    // created by its `alloc_ucontext`, and a context the core returns is fully created; the
    // core keeps it (`disassociate_srcu`) until the call returns.
    let context = unsafe { UContext::<M::Driver>::from_raw(context) };
    // INVARIANT: The bundle of a call of `M`, on a context of `M::Driver`.
    let mut call = Call {
        bundle,
        attrs: M::ATTRS,
        context,
    };
    match M::handle(&mut call) {
        Ok(()) => 0,
        Err(e) if e == EPROTONOSUPPORT => EINVAL.to_errno(),
        Err(e) => e.to_errno(),
    }
}
