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
//! The budget also counts the bytes of frames still arriving (see
//! [`crate::ws_reader`]): a client parking a partial frame spends it like an
//! accepted frame does.
//!
//! A session and its socket stream live on one worker thread, so the gate is
//! `Rc<Cell<_>>`; the budget is shared by every worker.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use prometheus::{IntGauge, Registry};

/// Bytes of frames accepted but not yet acknowledged by Kafka, or still
/// arriving, in the whole process. Soft: reading stops once they reach the
/// maximum, so the overshoot is what the sessions had already read.
///
/// Two kinds of room, so that bytes already read can never block each other:
/// a socket is read while accepted plus arriving bytes are under the maximum
/// ([`Room::ToRead`]); a frame already read is accepted while accepted bytes
/// alone are ([`Room::ToAccept`]). Counting arriving bytes there too would let
/// frames waiting to be accepted spend the whole budget with nothing in
/// flight to free it.
pub struct InflightBudget {
    max_bytes: usize,
    /// Accepted plus arriving.
    bytes: AtomicUsize,
    arriving: AtomicUsize,
    bytes_gauge: IntGauge,
    frames_gauge: IntGauge,
    /// Sessions parked, or about to park, on either kind of room: releases skip the lock while there are none.
    waiting: AtomicUsize,
    parked: Mutex<[ParkedReaders; 2]>,
}

/// What a session waits for room to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    ToRead = 0,
    ToAccept = 1,
}

/// Sessions waiting for one kind of room; woken all at once when it frees,
/// which starts a new epoch (so a session parks at most once per epoch).
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
        // The limit beside the gauge, so that dashboards and alerts read saturation without knowing the setting.
        let budget_gauge = IntGauge::new("matyan_inflight_budget_bytes", "The in-flight budget, KAFKA_MAX_INFLIGHT_BYTES")?;
        budget_gauge.set(max_bytes.try_into().unwrap_or(i64::MAX));
        registry.register(Box::new(budget_gauge))?;
        Ok(Arc::new(Self {
            max_bytes,
            bytes: AtomicUsize::new(0),
            arriving: AtomicUsize::new(0),
            bytes_gauge,
            frames_gauge,
            waiting: AtomicUsize::new(0),
            parked: Mutex::default(),
        }))
    }

    /// Counts a frame of `bytes` until the permit is dropped.
    pub fn reserve(self: &Arc<Self>, bytes: usize) -> InflightPermit {
        self.add(bytes);
        self.frames_gauge.inc();
        InflightPermit { budget: Arc::clone(self), bytes }
    }

    /// A charge for bytes of frames still arriving, adjusted as they come and go.
    pub fn charge(self: &Arc<Self>) -> ArrivingBytes {
        ArrivingBytes { budget: Arc::clone(self), bytes: 0 }
    }

    fn add(&self, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
        self.bytes_gauge.add(bytes as i64);
    }

    #[cfg(test)]
    pub(crate) fn bytes_in_flight(&self) -> usize {
        self.bytes.load(Ordering::SeqCst)
    }

    fn has_room(&self, room: Room) -> bool {
        let bytes = self.bytes.load(Ordering::SeqCst);
        match room {
            Room::ToRead => bytes < self.max_bytes,
            Room::ToAccept => bytes.saturating_sub(self.arriving.load(Ordering::SeqCst)) < self.max_bytes,
        }
    }

    /// Ready when there is room; otherwise the reader is woken when there is.
    /// The reader counts itself waiting before it checks again under the lock,
    /// so a release cannot slip between the check and the parking.
    fn poll_room(&self, cx: &mut Context<'_>, room: Room, parked_epoch: &Cell<Option<u64>>) -> Poll<()> {
        if self.has_room(room) {
            return Poll::Ready(());
        }
        let mut parked = self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let waiters = &mut parked[room as usize];
        if parked_epoch.get() == Some(waiters.epoch) {
            return Poll::Pending; // its waker is in the list already
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        if self.has_room(room) {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Poll::Ready(());
        }
        waiters.wakers.push(cx.waker().clone());
        parked_epoch.set(Some(waiters.epoch));
        Poll::Pending
    }

    fn release(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::SeqCst);
        self.bytes_gauge.sub(bytes as i64);
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let wakers: Vec<Waker> = {
            let mut parked = self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            [Room::ToRead, Room::ToAccept]
                .into_iter()
                .filter(|&room| self.has_room(room))
                .flat_map(|room| {
                    let waiters = &mut parked[room as usize];
                    waiters.epoch += 1;
                    std::mem::take(&mut waiters.wakers)
                })
                .collect()
        };
        self.waiting.fetch_sub(wakers.len(), Ordering::SeqCst);
        wakers.into_iter().for_each(Waker::wake);
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
        self.budget.frames_gauge.dec();
        self.budget.release(self.bytes);
    }
}

/// The bytes a session holds of frames not yet accepted: arriving, or
/// complete but parked.
pub struct ArrivingBytes {
    budget: Arc<InflightBudget>,
    bytes: usize,
}

impl ArrivingBytes {
    pub fn set(&mut self, bytes: usize) {
        if bytes > self.bytes {
            self.budget.arriving.fetch_add(bytes - self.bytes, Ordering::SeqCst);
            self.budget.add(bytes - self.bytes);
        } else if bytes < self.bytes {
            self.budget.arriving.fetch_sub(self.bytes - bytes, Ordering::SeqCst);
            self.budget.release(self.bytes - bytes);
        }
        self.bytes = bytes;
    }
}

impl Drop for ArrivingBytes {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// The session's handle on whether its socket is read, shared with its
/// [`crate::ws_reader::FrameReader`].
#[derive(Clone)]
pub struct ReadGate(Rc<GateState>);

struct GateState {
    open: Cell<bool>,
    waker: Cell<Option<Waker>>,
    budget: Arc<InflightBudget>,
    /// The epoch each kind of room last parked this session in.
    parked_epochs: [Cell<Option<u64>>; 2],
    /// When the socket last gave bytes: the peer's last sign of life.
    last_read: Cell<Instant>,
    /// The peer sent bytes that backpressure keeps unread: it is alive, and
    /// its pongs may be behind them.
    held_back: Cell<bool>,
    /// When the frame last handed to the session was read from the socket.
    frame_read_at: Cell<Instant>,
}

impl ReadGate {
    pub fn new(budget: Arc<InflightBudget>) -> Self {
        Self(Rc::new(GateState {
            open: Cell::new(true),
            waker: Cell::new(None),
            budget,
            parked_epochs: Default::default(),
            last_read: Cell::new(Instant::now()),
            held_back: Cell::new(false),
            frame_read_at: Cell::new(Instant::now()),
        }))
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

    /// Has the peer shown a sign of life since `since`? Bytes held back by us count as one.
    pub fn alive_since(&self, since: Instant) -> bool {
        self.0.held_back.get() || self.0.last_read.get() >= since
    }

    /// Is the gate open? If not, the reader is woken when it opens.
    pub(crate) fn poll_open(&self, cx: &mut Context<'_>) -> bool {
        let open = self.0.open.get();
        if !open {
            self.0.waker.set(Some(cx.waker().clone()));
        }
        open
    }

    /// Is there room in the budget? If not, the reader is woken when there is.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>, room: Room) -> bool {
        self.0.budget.poll_room(cx, room, &self.0.parked_epochs[room as usize]).is_ready()
    }

    pub(crate) fn bytes_read(&self) {
        self.0.last_read.set(Instant::now());
    }

    pub(crate) fn set_held_back(&self, held_back: bool) {
        self.0.held_back.set(held_back);
    }

    /// When the frame the session is handling was read: a frame parked by
    /// backpressure was read earlier than the session gets it.
    pub fn frame_read_at(&self) -> Instant {
        self.0.frame_read_at.get()
    }

    pub(crate) fn set_frame_read_at(&self, at: Instant) {
        self.0.frame_read_at.set(at);
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
        assert!(budget.poll_room(&mut cx, Room::ToRead, &epoch).is_ready(), "60 of 100 bytes: room left");
        let second = budget.reserve(60);
        assert!(budget.poll_room(&mut cx, Room::ToRead, &epoch).is_pending());
        assert!(budget.poll_room(&mut cx, Room::ToRead, &epoch).is_pending());
        assert_eq!(budget.parked.lock().unwrap()[Room::ToRead as usize].wakers.len(), 1, "parked once per epoch");
        assert_eq!((budget.bytes_gauge.get(), budget.frames_gauge.get()), (120, 2));

        drop(second);
        assert!(flag.0.load(Ordering::SeqCst), "woken when the budget drops below its maximum");
        assert!(budget.poll_room(&mut cx, Room::ToRead, &epoch).is_ready());
        drop(first);
        assert_eq!((budget.bytes_gauge.get(), budget.frames_gauge.get()), (0, 0));
    }

    #[test]
    fn a_closed_gate_wakes_its_reader_when_opened() {
        let gate = ReadGate::new(budget(100));
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);

        gate.set_open(false);
        assert!(!gate.poll_open(&mut cx));
        gate.set_open(true);
        assert!(flag.0.load(Ordering::SeqCst), "opening wakes the reader");
        assert!(gate.poll_open(&mut cx));

        let _spent = gate.budget().reserve(100);
        assert!(!gate.poll_room(&mut cx, Room::ToAccept), "an open gate still waits for the budget");
    }

    #[test]
    fn arriving_bytes_spend_the_budget_without_counting_frames() {
        let budget = budget(100);
        let mut arriving = budget.charge();
        arriving.set(80);
        arriving.set(120);
        assert_eq!((budget.bytes_in_flight(), budget.frames_gauge.get()), (120, 0));
        assert!(!budget.has_room(Room::ToRead));
        assert!(budget.has_room(Room::ToAccept), "bytes already read never keep a frame from being accepted");
        arriving.set(30);
        assert_eq!(budget.bytes_gauge.get(), 30);
        drop(arriving);
        assert_eq!(budget.bytes_in_flight(), 0);
    }

    #[test]
    fn frames_read_but_not_accepted_cannot_spend_the_room_to_accept_them() {
        let budget = budget(100);
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let mut cx = Context::from_waker(&waker);
        let (to_read, to_accept) = (Cell::new(None), Cell::new(None));

        // Sessions holding whole frames they have read: nothing in flight would ever free the budget.
        let mut held = budget.charge();
        held.set(150);
        assert!(budget.poll_room(&mut cx, Room::ToRead, &to_read).is_pending(), "no more reading");
        assert!(budget.poll_room(&mut cx, Room::ToAccept, &to_accept).is_ready(), "but they can be accepted");

        let accepted = budget.reserve(100);
        held.set(50);
        assert!(budget.poll_room(&mut cx, Room::ToAccept, &to_accept).is_pending(), "accepted frames fill it");
        drop(accepted);
        assert!(flag.0.load(Ordering::SeqCst), "woken when accepted frames are acknowledged");
        assert!(budget.poll_room(&mut cx, Room::ToAccept, &to_accept).is_ready());
        assert_eq!(budget.waiting.load(Ordering::SeqCst), 0, "every parked waker was taken");
    }
}
