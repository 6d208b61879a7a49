//! Readiness answers reused for a short while, so frequent probes stay cheap.

use std::time::{Duration, Instant};

pub type CheckResult = Result<(), String>;

/// How long a readiness answer is reused.
pub const PROBE_TTL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct CachedCheck<T = CheckResult> {
    ttl: Duration,
    last: Option<(Instant, T)>,
}

impl<T: Clone> CachedCheck<T> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, last: None }
    }

    pub fn fresh(&self) -> Option<T> {
        self.last.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, result)| result.clone())
    }

    pub fn store(&mut self, result: T) -> T {
        self.last = Some((Instant::now(), result.clone()));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_after_ttl() {
        let mut cache: CachedCheck = CachedCheck::new(Duration::from_millis(30));
        assert_eq!(cache.fresh(), None);
        let _ = cache.store(Err("down".into()));
        assert_eq!(cache.fresh(), Some(Err("down".into())));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.fresh(), None);
    }
}
