// SPDX-License-Identifier: GPL-2.0

//! Object quotas.

#[kernel::prelude::kunit_tests(rrxe_quota)]
mod tests {
    use crate::device::quota::Quota;
    use kernel::{prelude::*, sync::Arc};

    #[test]
    fn take_fails_at_the_limit() -> Result {
        let quota = Arc::new(Quota::new(2), GFP_KERNEL)?;
        let a = quota.take()?;
        let _b = quota.take()?;
        assert_eq!(quota.used(), 2);
        assert!(quota.take().is_err());
        drop(a);
        assert_eq!(quota.used(), 1);
        let _c = quota.take()?;
        assert_eq!(quota.used(), 2);
        Ok(())
    }

    #[test]
    fn zero_quota_refuses_everything() -> Result {
        let quota = Arc::new(Quota::new(0), GFP_KERNEL)?;
        assert_eq!(quota.take().err(), Some(ENOMEM));
        assert_eq!(quota.used(), 0);
        Ok(())
    }
}
