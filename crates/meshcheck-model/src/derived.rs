//! Facts derived from the whole mesh that several rules need (workload indexes, the platform
//! inventory, proxy settings): computed once per run, on first use, and shared by every rule —
//! as Istio's analyzers share their indexes — instead of once per rule.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

type Slot = Arc<OnceLock<Arc<dyn Any + Send + Sync>>>;

/// A cache keyed by the derived fact's type. Values hold [`crate::ResourceId`]s, not references,
/// so that they can live beside the mesh they describe.
#[derive(Default)]
pub struct DerivedCache {
    slots: Mutex<HashMap<TypeId, Slot>>,
}

impl std::fmt::Debug for DerivedCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self
            .slots
            .lock()
            .map(|slots| slots.len())
            .unwrap_or_default();
        write!(formatter, "DerivedCache({count} facts)")
    }
}

impl DerivedCache {
    /// The cached `T`, built by `build` the first time. Concurrent callers for the same type wait
    /// for the first build instead of repeating it.
    pub fn get_or_build<T: Any + Send + Sync>(&self, build: impl FnOnce() -> T) -> Arc<T> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slots.entry(TypeId::of::<T>()).or_default().clone()
        };
        let value = slot
            .get_or_init(|| Arc::new(build()) as Arc<dyn Any + Send + Sync>)
            .clone();
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("slots are keyed by the type they hold"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn builds_each_type_once_even_from_many_threads() {
        let cache = DerivedCache::default();
        let builds = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    let value = cache.get_or_build(|| {
                        builds.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        vec![1u32, 2, 3]
                    });
                    assert_eq!(*value, vec![1, 2, 3]);
                });
            }
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        let other = cache.get_or_build(|| "a different type");
        assert_eq!(*other, "a different type");
    }
}
