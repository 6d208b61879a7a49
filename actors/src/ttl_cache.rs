//! A value reused until it expires. When it has expired, one caller refreshes
//! it while the others wait for that refresh's value instead of each calling
//! the network; the lock is never held while a refresh runs.
//!
//! Waiting blocks the thread: call it from blocking code (`spawn_blocking`).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub struct TtlCache<V> {
    state: Mutex<State<V>>,
    refreshed: Condvar,
}

struct State<V> {
    /// The last value and until when it may be reused.
    latest: Option<(V, Instant)>,
    /// Counts stored values: a waiter knows its refresh has finished when it moves.
    stored: u64,
    refreshing: bool,
}

impl<V: Clone> Default for TtlCache<V> {
    fn default() -> Self {
        Self { state: Mutex::new(State { latest: None, stored: 0, refreshing: false }), refreshed: Condvar::new() }
    }
}

impl<V: Clone> TtlCache<V> {
    /// The value while it is fresh; otherwise the value of one `refresh`, which
    /// also says how long it may be reused. A value reused for `Duration::ZERO`
    /// (an error, say) reaches only the callers that waited for it.
    pub fn get_or_refresh(&self, refresh: impl FnOnce() -> (V, Duration)) -> V {
        let mut state = self.lock();
        loop {
            if let Some((value, until)) = &state.latest {
                if Instant::now() < *until {
                    return value.clone();
                }
            }
            if !state.refreshing {
                break;
            }
            let seen = state.stored;
            state = self.refreshed.wait_while(state, |s| s.refreshing && s.stored == seen).unwrap_or_else(PoisonError::into_inner);
            if state.stored != seen {
                if let Some((value, _)) = &state.latest {
                    return value.clone();
                }
            }
            // The refresh panicked: look again, and refresh if nobody else does.
        }
        state.refreshing = true;
        drop(state);
        let flight = Flight { cache: self };
        let (value, reuse_for) = refresh();
        flight.land(value.clone(), reuse_for);
        value
    }

    fn lock(&self) -> MutexGuard<'_, State<V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V> State<V> {
    fn store(&mut self, value: V, reuse_for: Duration) {
        self.latest = Some((value, Instant::now() + reuse_for));
        self.stored += 1;
    }
}

impl<T: Clone, E> TtlCache<Result<T, Arc<E>>> {
    /// For a refresh that can fail: its value with how long to reuse it, or an
    /// error, which reaches the callers waiting for it and is not kept.
    pub fn get_or_try_refresh(&self, refresh: impl FnOnce() -> Result<(T, Duration), E>) -> Result<T, Arc<E>> {
        self.get_or_refresh(|| match refresh() {
            Ok((value, reuse_for)) => (Ok(value), reuse_for),
            Err(error) => (Err(Arc::new(error)), Duration::ZERO),
        })
    }
}

/// The refresh in progress: ends it and wakes the waiters, even if it panics.
struct Flight<'c, V: Clone> {
    cache: &'c TtlCache<V>,
}

impl<V: Clone> Flight<'_, V> {
    fn land(self, value: V, reuse_for: Duration) {
        // Stored and ended under one lock, so no caller sees an expired value with nobody refreshing.
        let mut state = self.cache.lock();
        state.store(value, reuse_for);
        state.refreshing = false;
    }
}

impl<V: Clone> Drop for Flight<'_, V> {
    fn drop(&mut self) {
        self.cache.lock().refreshing = false;
        self.cache.refreshed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    type Answer = Result<u32, Arc<String>>;

    /// Runs `callers` threads that ask at once; answers what each got. Refresh
    /// number `n` takes 100 ms and fails when `n` is odd.
    fn concurrently(cache: &Arc<TtlCache<Answer>>, calls: &Arc<AtomicUsize>, callers: usize) -> Vec<Answer> {
        let start = Arc::new(Barrier::new(callers));
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let (cache, calls, start) = (Arc::clone(cache), Arc::clone(calls), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    cache.get_or_try_refresh(|| {
                        let call = calls.fetch_add(1, Ordering::SeqCst) as u32;
                        std::thread::sleep(Duration::from_millis(100));
                        if call % 2 == 0 {
                            Ok((call, Duration::from_secs(60)))
                        } else {
                            Err(format!("call {call} failed"))
                        }
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }

    #[test]
    fn a_value_is_reused_until_it_expires() {
        let cache = TtlCache::default();
        let calls = AtomicUsize::new(0);
        let fetch = || (calls.fetch_add(1, Ordering::SeqCst), Duration::from_millis(50));
        assert_eq!(cache.get_or_refresh(fetch), 0);
        assert_eq!(cache.get_or_refresh(fetch), 0);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get_or_refresh(fetch), 1);
    }

    #[test]
    fn concurrent_callers_share_one_refresh() {
        let (cache, calls) = (Arc::new(TtlCache::default()), Arc::new(AtomicUsize::new(0)));
        let answers = concurrently(&cache, &calls, 8);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(answers.iter().all(|a| *a == Ok(0)), "{answers:?}");
    }

    #[test]
    fn an_error_reaches_its_waiters_and_is_not_kept() {
        let (cache, calls) = (Arc::new(TtlCache::default()), Arc::new(AtomicUsize::new(1)));
        let answers = concurrently(&cache, &calls, 8);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one refresh for all eight");
        assert!(answers.iter().all(|a| *a == Err(Arc::new("call 1 failed".into()))), "{answers:?}");
        assert_eq!(concurrently(&cache, &calls, 4), vec![Ok(2); 4], "the next caller refreshes again");
    }

    #[test]
    fn a_panicking_refresh_does_not_block_the_next_one() {
        let cache = Arc::new(TtlCache::default());
        let panicking = Arc::clone(&cache);
        assert!(std::thread::spawn(move || panicking.get_or_refresh(|| panic!("refresh failed"))).join().is_err());
        assert_eq!(cache.get_or_refresh(|| (5, Duration::from_secs(60))), 5);
    }
}
