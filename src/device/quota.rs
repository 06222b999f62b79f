// SPDX-License-Identifier: GPL-2.0

//! Limits on how many objects of a kind a device holds at once.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{prelude::*, sync::Arc};

/// A count of objects with a maximum.
pub(crate) struct Quota {
    used: AtomicU32,
    max: u32,
}

impl Quota {
    /// Creates a quota allowing `max` objects.
    pub(crate) fn new(max: u32) -> Self {
        Self {
            used: AtomicU32::new(0),
            max,
        }
    }

    /// Returns how many objects are held.
    pub(crate) fn used(&self) -> u32 {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes one object's place; fails with `ENOMEM` at the limit.
    pub(crate) fn take(self: &Arc<Self>) -> Result<QuotaSlot> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max).then_some(n + 1)
            })
            .map_err(|_| ENOMEM)?;
        Ok(QuotaSlot(self.clone()))
    }
}

/// One object's place in a [`Quota`], given back on drop.
pub(crate) struct QuotaSlot(Arc<Quota>);

impl Drop for QuotaSlot {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::Relaxed);
    }
}
