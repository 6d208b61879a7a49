//! Backpressure between sockets and Kafka, so memory stays bounded whatever
//! the clients or the broker do: a session stops reading its socket (TCP then
//! pushes back on the client) while its own frames in flight are at their
//! limit ([`ReadGate`]), or while the process-wide [`InflightBudget`] of bytes
//! on their way to Kafka is spent.
//!
//! The other direction needs nothing here: actix drives a session only while
//! the HTTP layer takes its output, so a client that does not read its answers
//! stops being read too, after at most one write buffer of answers.
//!
//! A session and its socket stream live on one worker thread, so the gate is
//! `Rc<Cell<_>>`; the budget is shared by every worker.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use prometheus::{IntGauge, Registry};

/// Bytes of frames accepted but not yet acknowledged by Kafka, in the whole
/// process. Soft: a frame is admitted while any room is left, so the overshoot
/// is at most what the sessions had already read from their sockets.
pub struct InflightBudget {
    max_bytes: usize,
    bytes: AtomicUsize,
    bytes_gauge: IntGauge,
    frames_gauge: IntGauge,
    parked: Mutex<ParkedReaders>,
}

/// Sessions waiting for room; woken all at once when room frees, which starts
/// a new epoch (so a session parks at most once per epoch).
#[derive(Default)]
struct ParkedReaders {
    epoch: u64,
    wakers: Vec<Waker>,
}

impl InflightBudget {
    pub fn new(max_bytes: usize, registry: &Registry) -> prometheus::Result<Arc<Self>> {
        let bytes_gauge = IntGauge::new("matyan_inflight_bytes", "Bytes of accepted frames not yet acknowledged by Kafka")?;
        let frames_gauge = IntGauge::new("matyan_inflight_frames", "Accepted frames not yet acknowledged by Kafka")?;
        registry.register(Box::new(bytes_gauge.clone()))?;
        registry.register(Box::new(frames_gauge.clone()))?;
        Ok(Arc::new(Self { max_bytes, bytes: AtomicUsize::new(0), bytes_gauge, frames_gauge, parked: Mutex::default() }))
    }

    /// Counts a frame of `bytes` until the permit is dropped.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> InflightPermit {
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
        self.bytes_gauge.add(bytes as i64);
        self.frames_gauge.inc();
        InflightPermit { budget: Arc::clone(self), bytes }
    }

    #[cfg(test)]
    pub(crate) fn bytes_in_flight(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    fn has_room(&self) -> bool {
        self.bytes.load(Ordering::Acquire) < self.max_bytes
    }

    /// Ready when there is room; otherwise the reader is woken when there is.
    /// The check is repeated under the lock, so a release cannot slip between
    /// the check and the parking.
    fn poll_room(&self, cx: &mut Context<'_>, parked_epoch: &Cell<Option<u64>>) -> Poll<()> {
        if self.has_room() {
            return Poll::Ready(());
        }
        let mut parked = self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.has_room() {
            return Poll::Ready(());
        }
        if parked_epoch.get() != Some(parked.epoch) {
            parked.wakers.push(cx.waker().clone());
            parked_epoch.set(Some(parked.epoch));
        }
        Poll::Pending
    }

    fn release(&self, bytes: usize) {
        let before = self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.bytes_gauge.sub(bytes as i64);
        self.frames_gauge.dec();
        if before >= self.max_bytes && before - bytes < self.max_bytes {
            let wakers = {
                let mut parked = self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                parked.epoch += 1;
                std::mem::take(&mut parked.wakers)
            };
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// One frame's share of the budget, given back when dropped: when the broker
/// has answered for its last record.
pub struct InflightPermit {
    budget: Arc<InflightBudget>,
    bytes: usize,
}

impl Drop for InflightPermit {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

/// The session's handle on whether its socket is read.
#[derive(Clone)]
pub struct ReadGate(Rc<GateState>);

struct GateState {
    open: Cell<bool>,
    waker: Cell<Option<Waker>>,
    budget: Arc<InflightBudget>,
    parked_epoch: Cell<Option<u64>>,
}

impl ReadGate {
    pub fn new(budget: Arc<InflightBudget>) -> Self {
        Self(Rc::new(GateState { open: Cell::new(true), waker: Cell::new(None), budget, parked_epoch: Cell::new(None) }))
    }

    /// The socket's byte stream, read only while the gate is open and the budget has room.
    pub fn guard<S>(&self, payload: S) -> GatedPayload<S> {
        GatedPayload { payload, gate: Rc::clone(&self.0) }
    }

    pub fn set_open(&self, open: bool) {
        self.0.open.set(open);
        if open {
            if let Some(waker) = self.0.waker.take() {
                waker.wake();
            }
        }
    }

    pub fn budget(&self) -> &Arc<InflightBudget> {
        &self.0.budget
    }
}

pub struct GatedPayload<S> {
    payload: S,
    gate: Rc<GateState>,
}

impl<S: Stream + Unpin> Stream for GatedPayload<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if !self.gate.open.get() {
            self.gate.waker.set(Some(cx.waker().clone()));
            return Poll::Pending;
        }
        if self.gate.budget.poll_room(cx, &self.gate.parked_epoch).is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.payload).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    use super::*;

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn budget(max_bytes: usize) -> Arc<InflightBudget> {
        InflightBudget::new(max_bytes, &Registry::new()).unwrap()
    }

    #[test]
    fn a_full_budget_parks_readers_once_and_wakes_them_when_room_frees() {
        let budget = budget(100);
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let epoch = Cell::new(None);

        let first = budget.reserve(60);
        assert!(budget.poll_room(&mut cx, &epoch).is_ready(), "60 of 100 bytes: room left");
        let second = budget.reserve(60);
        assert!(budget.poll_room(&mut cx, &epoch).is_pending());
        assert!(budget.poll_room(&mut cx, &epoch).is_pending());
        assert_eq!(budget.parked.lock().unwrap().wakers.len(), 1, "parked once per epoch");
        assert_eq!((budget.bytes_gauge.get(), budget.frames_gauge.get()), (120, 2));

        drop(second);
        assert!(flag.0.load(Ordering::SeqCst), "woken when the budget drops below its maximum");
        assert!(budget.poll_room(&mut cx, &epoch).is_ready());
        drop(first);
        assert_eq!((budget.bytes_gauge.get(), budget.frames_gauge.get()), (0, 0));
    }

    #[test]
    fn a_closed_gate_does_not_read_until_opened() {
        let gate = ReadGate::new(budget(100));
        let mut payload = gate.guard(Once(Some(7)));
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);

        gate.set_open(false);
        assert!(Pin::new(&mut payload).poll_next(&mut cx).is_pending());
        gate.set_open(true);
        assert!(flag.0.load(Ordering::SeqCst), "opening wakes the reader");
        assert_eq!(Pin::new(&mut payload).poll_next(&mut cx), Poll::Ready(Some(7)));

        let _spent = gate.budget().reserve(100);
        assert!(Pin::new(&mut payload).poll_next(&mut cx).is_pending(), "an open gate still waits for the budget");
    }

    struct Once(Option<u8>);

    impl Stream for Once {
        type Item = u8;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u8>> {
            Poll::Ready(self.0.take())
        }
    }
}
