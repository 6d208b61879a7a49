//! The set of open WebSocket sessions: a connection limit, and a way to tell
//! every session to finish up and close when the server shuts down, or to
//! close them gradually (a drain) so their clients reconnect elsewhere.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::Notify;

/// Sent to a session to end it losslessly: answer what was received, then close.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct GoingAway(pub CloseCause);

/// Why the server closes a session; the client sees it in the close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// The server stops (1001 Going Away).
    Shutdown,
    /// The connection reached its maximum age, or the replica is drained: the
    /// client should reconnect, most likely to another replica (1012 Service Restart).
    Rebalance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("the server is at its limit of {0} WebSocket connections")]
    Full(usize),
    #[error("the server is shutting down")]
    ShuttingDown,
}

pub struct ConnectionRegistry {
    limit: usize,
    next_id: AtomicU64,
    shutting_down: AtomicBool,
    draining: AtomicBool,
    sessions: Mutex<HashMap<u64, Option<Recipient<GoingAway>>>>,
    emptied: Notify,
}

impl ConnectionRegistry {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            next_id: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            sessions: Mutex::default(),
            emptied: Notify::new(),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Option<Recipient<GoingAway>>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a place for a new connection; released when the slot is dropped.
    pub fn admit(self: &Arc<Self>) -> Result<ConnectionSlot, AdmissionError> {
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(AdmissionError::ShuttingDown);
        }
        let mut sessions = self.sessions();
        if sessions.len() >= self.limit {
            return Err(AdmissionError::Full(self.limit));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        sessions.insert(id, None);
        Ok(ConnectionSlot { id, registry: Arc::clone(self) })
    }

    pub fn len(&self) -> usize {
        self.sessions().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses new connections and tells every open session to close.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
        let recipients: Vec<_> = self.sessions().values().flatten().cloned().collect();
        for recipient in recipients {
            recipient.do_send(GoingAway(CloseCause::Shutdown));
        }
    }

    /// Is a drain under way? Readiness reports it, so a load balancer sends new connections elsewhere.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Closes (1012) every session open now, one after the other, evenly over
    /// `spread`, so their clients do not all reconnect at once; new sessions
    /// are still admitted. Answers how many were told, or `None` when a drain
    /// is already under way.
    pub async fn drain(&self, spread: Duration) -> Option<usize> {
        if self.draining.swap(true, Ordering::AcqRel) {
            return None;
        }
        let recipients: Vec<_> = self.sessions().values().flatten().cloned().collect();
        let gap = spread.checked_div(recipients.len() as u32).unwrap_or_default();
        for recipient in &recipients {
            recipient.do_send(GoingAway(CloseCause::Rebalance));
            tokio::time::sleep(gap).await;
        }
        self.draining.store(false, Ordering::Release);
        Some(recipients.len())
    }

    /// Waits until every session has closed, at most `timeout`; answers how many remain.
    pub async fn wait_closed(&self, timeout: Duration) -> usize {
        let wait = async {
            loop {
                let notified = self.emptied.notified();
                if self.is_empty() {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(timeout, wait).await;
        self.len()
    }
}

/// A connection's place in the registry.
pub struct ConnectionSlot {
    pub id: u64,
    registry: Arc<ConnectionRegistry>,
}

impl ConnectionSlot {
    /// Called once the session actor runs, so shutdown can reach it. A session
    /// that starts after shutdown began is told at once.
    pub fn attach(&self, recipient: Recipient<GoingAway>) {
        // Checked under the lock, so `begin_shutdown` either sees this session or we see its flag.
        let mut sessions = self.registry.sessions();
        sessions.insert(self.id, Some(recipient.clone()));
        if self.registry.shutting_down.load(Ordering::Acquire) {
            recipient.do_send(GoingAway(CloseCause::Shutdown));
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut sessions = self.registry.sessions();
        sessions.remove(&self.id);
        if sessions.is_empty() {
            self.registry.emptied.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_releases_places() {
        let registry = ConnectionRegistry::new(2);
        let a = registry.admit().unwrap();
        let _b = registry.admit().unwrap();
        assert_eq!(registry.admit().err(), Some(AdmissionError::Full(2)));
        drop(a);
        assert_eq!(registry.len(), 1);
        registry.begin_shutdown();
        assert_eq!(registry.admit().err(), Some(AdmissionError::ShuttingDown));
    }
}
