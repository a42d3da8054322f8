//! SDK clients built on first use. Building an SDK client costs a few hundred microseconds of
//! every cold start; a function that needs SQS only to hand off, or S3 only for some routes,
//! should not pay that before its first event.

use std::sync::{Arc, OnceLock};

/// A client built the first time it is asked for, then shared.
pub struct OnDemand<C> {
    client: OnceLock<C>,
    build: Box<dyn Fn() -> C + Send + Sync>,
}

impl<C> OnDemand<C> {
    /// A client `build` makes when it is first needed.
    pub fn new(build: impl Fn() -> C + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            client: OnceLock::new(),
            build: Box::new(build),
        })
    }

    /// A client that already exists.
    pub fn ready(client: C) -> Arc<Self>
    where
        C: Send + Sync + 'static,
    {
        let cell = OnceLock::new();
        let _ = cell.set(client);
        Arc::new(Self {
            client: cell,
            build: Box::new(|| unreachable!("a ready client is never built")),
        })
    }

    pub fn get(&self) -> &C {
        self.client.get_or_init(|| (self.build)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn builds_once_on_first_use_and_never_before() {
        let builds = Arc::new(AtomicU32::new(0));
        let counter = builds.clone();
        let client = OnDemand::new(move || counter.fetch_add(1, Ordering::SeqCst) + 100);
        assert_eq!(builds.load(Ordering::SeqCst), 0, "built before first use");
        assert_eq!(*client.get(), 100);
        assert_eq!(*client.get(), 100);
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}
