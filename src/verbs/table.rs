// SPDX-License-Identifier: GPL-2.0

//! Numbered objects: the device's tables that map the numbers carried in work requests and
//! packets (address handle numbers, memory key indices) back to the objects.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{
    prelude::*,
    sync::Arc,
    xarray::{AllocKind, XArray},
};

/// Objects of one kind by number, numbered from a fixed range.
#[pin_data]
pub(crate) struct Table<T: Send + Sync + 'static> {
    #[pin]
    entries: XArray<Arc<T>>,
    /// Where the next number search starts, so that numbers are not reused at once.
    next: AtomicU32,
    first: u32,
    last: u32,
}

impl<T: Send + Sync + 'static> Table<T> {
    /// Creates a table numbering objects from `first` to `last`, inclusive.
    pub(crate) fn new(first: u32, last: u32) -> impl PinInit<Self> {
        pin_init!(Self {
            entries <- XArray::new(AllocKind::Alloc),
            next: AtomicU32::new(first),
            first,
            last,
        })
    }

    /// Returns the object numbered `index`. Does not sleep.
    pub(crate) fn get(&self, index: u32) -> Option<Arc<T>> {
        let entries = self.entries.lock();
        entries.get(index as usize).map(|entry| entry.into())
    }

    /// Numbers `value` and makes it findable until the returned entry is dropped. Fails with
    /// `ENOMEM` when every number is in use. Sleeps only if `gfp` allows.
    pub(crate) fn insert(
        self: &Arc<Self>,
        value: Arc<T>,
        gfp: kernel::alloc::Flags,
    ) -> Result<Entry<T>> {
        let mut entries = self.entries.lock();
        // The array's lock serialises users of `next`.
        let mut next = self.next.load(Ordering::Relaxed);
        let index = entries
            .alloc(self.first, self.last, Some(&mut next), value, gfp)
            .map_err(|e| if e.error == EBUSY { ENOMEM } else { e.error })?;
        self.next.store(next, Ordering::Relaxed);
        Ok(Entry {
            table: self.clone(),
            index,
        })
    }
}

impl<T: Send + Sync + 'static> Table<T> {
    /// Makes `value` findable as number `index`, outside the table's range, until the returned
    /// entry is dropped: the special objects with fixed numbers. Fails with `EBUSY` if the
    /// number is in use. Sleeps only if `gfp` allows.
    pub(crate) fn insert_at(
        self: &Arc<Self>,
        index: u32,
        value: Arc<T>,
        gfp: kernel::alloc::Flags,
    ) -> Result<Entry<T>> {
        let mut entries = self.entries.lock();
        let index = entries
            .alloc(index, index, None, value, gfp)
            .map_err(|e| e.error)?;
        Ok(Entry {
            table: self.clone(),
            index,
        })
    }
}

/// An object's place in a [`Table`], removed on drop.
pub(crate) struct Entry<T: Send + Sync + 'static> {
    table: Arc<Table<T>>,
    index: u32,
}

impl<T: Send + Sync + 'static> Entry<T> {
    /// Returns the object's number.
    pub(crate) fn index(&self) -> u32 {
        self.index
    }
}

impl<T: Send + Sync + 'static> Drop for Entry<T> {
    fn drop(&mut self) {
        let removed = self.table.entries.lock().remove(self.index as usize);
        // Outside the table's spinlock: the last reference may free sleeping resources.
        drop(removed);
    }
}
