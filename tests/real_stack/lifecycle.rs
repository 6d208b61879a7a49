//! The connection lifecycle on the read path, with raw sockets and short settings:
//! - a silent peer is closed after the ping interval plus the pong timeout,
//!   and its place under `WS_MAX_CONNECTIONS` is given back;
//! - a frame left incomplete is closed at the receive deadline (1008), a client
//!   streaming for longer is not; the bytes of partial frames spend the
//!   in-flight budget, so reading stops there, yet whole frames are still accepted;
//! - while backpressure holds a session's data, its pings are still answered.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::Message;

const ADD_TAG: &str = r#"{"type":"add_tag","tag_name":"lifecycle"}"#;

fn tcp(client: &mut WsClient) -> &mut TcpStream {
    match client.socket.get_mut() {
        MaybeTlsStream::Plain(stream) => stream,
        _ => unreachable!("the tests speak plain ws://"),
    }
}

/// The header of a masked text frame announcing `len` payload bytes (zero mask).
fn text_header(len: u64) -> Vec<u8> {
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    header
}

/// Reads until the server closes; answers the close frame's code and how long it took.
fn wait_for_close(client: &mut WsClient, within: Duration) -> (Option<CloseCode>, Duration) {
    let started = Instant::now();
    tcp(client).set_read_timeout(Some(within)).unwrap();
    loop {
        match client.socket.read() {
            Ok(Message::Close(frame)) => return (frame.map(|f| f.code), started.elapsed()),
            Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => return (None, started.elapsed()),
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("still open after {:?}", started.elapsed())
            }
            // Reset or cut without a close frame.
            Err(_) => return (None, started.elapsed()),
        }
    }
}

#[test]
fn a_silent_peer_is_closed_and_gives_its_place_back() {
    let frontier = Frontier::start(&[("WS_MAX_CONNECTIONS", "1"), ("WS_PING_INTERVAL", "1"), ("WS_PONG_TIMEOUT", "1")]);
    // Upgrades, then never sends nor reads again (its kernel still acknowledges bytes).
    let silent = upgrade(&frontier.ws_url(&unique_run_id()), None).unwrap_or_else(|_| panic!("upgrade"));
    let opened = Instant::now();
    assert_eq!(upgrade(&frontier.ws_url(&unique_run_id()), None).err().map(|r| r.status().as_u16()), Some(503), "the one place is taken");
    let replacement = loop {
        match upgrade(&frontier.ws_url(&unique_run_id()), None) {
            Ok(client) => break client,
            Err(_) => {
                assert!(opened.elapsed() < Duration::from_secs(10), "the silent peer still holds its place after 10 s");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    let freed = opened.elapsed();
    eprintln!("silent peer's place freed after {freed:?}");
    assert!(freed < Duration::from_secs(4), "ping 1 s + pong timeout 1 s, freed after {freed:?}");
    drop(silent);

    // A peer that keeps talking stays, well past the pong timeout.
    let mut live = replacement;
    for _ in 0..8 {
        assert_eq!(live.roundtrip(ADD_TAG), ok_answer());
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_stalled_partial_frame_is_closed_at_the_receive_deadline() {
    let frontier = Frontier::start(&[("WS_FRAME_RECEIVE_DEADLINE", "2")]);
    let mut client = frontier.ws(&unique_run_id());
    let mut partial = text_header(1 << 20);
    partial.extend_from_slice(&[b' '; 10]);
    tcp(&mut client).write_all(&partial).unwrap();
    let (code, after) = wait_for_close(&mut client, Duration::from_secs(20));
    eprintln!("stalled frame closed after {after:?} with {code:?}");
    assert_eq!(code, Some(CloseCode::Policy));
    assert!(after < Duration::from_secs(5), "{after:?}");
}

#[test]
fn a_client_streaming_past_the_receive_deadline_is_not_cut() {
    let frontier = Frontier::start(&[("WS_FRAME_RECEIVE_DEADLINE", "1")]);
    let mut client = frontier.ws(&unique_run_id());
    let frame = masked_text_frame(ADD_TAG.as_bytes());
    let half = frame.len() / 2;
    const FRAMES: usize = 30;
    // Every write ends inside a frame, so the server never waits at a frame boundary.
    tcp(&mut client).write_all(&frame[..half]).unwrap();
    for _ in 1..FRAMES {
        let mut write = frame[half..].to_vec();
        write.extend_from_slice(&frame[..half]);
        tcp(&mut client).write_all(&write).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    tcp(&mut client).write_all(&frame[half..]).unwrap();
    for _ in 0..FRAMES {
        assert_eq!(client.answer(), ok_answer(), "3 s of streaming, each frame whole within 0.1 s");
    }
}

#[test]
fn partial_frames_spend_the_inflight_budget_and_reading_stops_there() {
    const BUDGET: usize = 1 << 20;
    const SOCKETS: usize = 8;
    const SENT_EACH: usize = 200 * 1024;
    let budget = BUDGET.to_string();
    let frontier = Frontier::start(&[("KAFKA_MAX_INFLIGHT_BYTES", budget.as_str()), ("WS_FRAME_RECEIVE_DEADLINE", "3")]);
    let parkers: Vec<_> = (0..SOCKETS)
        .map(|_| {
            let mut client = frontier.ws(&unique_run_id());
            let mut partial = text_header(4 << 20);
            partial.extend_from_slice(&vec![b' '; SENT_EACH]);
            let stream = tcp(&mut client);
            stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            // The server stops reading at the budget: what it does not take waits in the kernel.
            let _ = stream.write_all(&partial);
            client
        })
        .collect();
    let opened = Instant::now();
    let charged = frontier.metric("matyan_inflight_bytes").unwrap_or(0.0) as usize;
    eprintln!("{SOCKETS} sockets parked {} KiB of partial frames: matyan_inflight_bytes = {charged}", SOCKETS * SENT_EACH / 1024);
    assert!(charged >= BUDGET, "the partial frames are charged: {charged} bytes of a {BUDGET}-byte budget");
    assert!(charged < SOCKETS * SENT_EACH, "reading stopped at the budget: {charged}");

    // A whole frame is still read and accepted: bytes that clients hold back cannot
    // starve the others (only accepted frames fill the room to accept); the partial
    // frames are closed at the deadline.
    let mut client = frontier.ws(&unique_run_id());
    assert_eq!(client.roundtrip(ADD_TAG), ok_answer());
    assert!(opened.elapsed() < Duration::from_secs(3), "answered before the parkers' deadline: {:?}", opened.elapsed());
    for mut parker in parkers {
        assert_eq!(wait_for_close(&mut parker, Duration::from_secs(5)).0, Some(CloseCode::Policy));
    }
}

/// Past the stock client's patience: it pings every 10 s and gives up 20 s after an unanswered ping.
const STOCK_CLIENT_PONG_PATIENCE: Duration = Duration::from_secs(21);

fn ping(client: &mut WsClient, n: u32) {
    client.socket.send(Message::Ping(n.to_be_bytes().to_vec().into())).unwrap();
}

/// Pings every 2 s for `hold`, each answered within 3 s; returns how many.
fn answers_pings_for(client: &mut WsClient, hold: Duration) -> u32 {
    tcp(client).set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let held = Instant::now();
    let mut pings = 0u32;
    while held.elapsed() < hold {
        pings += 1;
        ping(client, pings);
        loop {
            match client.socket.read() {
                Ok(Message::Pong(data)) if data[..] == pings.to_be_bytes() => break,
                Ok(Message::Pong(_) | Message::Ping(_)) => continue,
                Ok(other) => panic!("only pongs while the data is held, got {other:?}"),
                Err(error) => panic!("ping {pings} unanswered {:?} into the hold: {error}", held.elapsed()),
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    pings
}

#[test]
fn pings_are_answered_while_backpressure_holds_the_data() {
    let _broker = STALL_BROKER.take_turn();
    let bootstrap = STALL_BROKER.bootstrap();
    let frontier = Frontier::start(&[("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str()), ("WS_MAX_FRAMES_IN_FLIGHT", "1")]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let mut client = frontier.ws(&unique_run_id());
    let frozen = STALL_BROKER.freeze();
    // The first frame waits for the frozen broker and closes the gate; the second is parked.
    let tagged = |tag: &str| format!(r#"{{"type":"add_tag","tag_name":"{tag}"}}"#);
    client.send(&tagged("a"));
    client.send(&tagged("b"));
    let pings = answers_pings_for(&mut client, STOCK_CLIENT_PONG_PATIENCE);
    eprintln!("{pings} pings answered over {STOCK_CLIENT_PONG_PATIENCE:?} with the gate closed");

    // A second data frame is not parked: it stays unread, and so does a ping behind it (TCP pushes back).
    client.send(&tagged("c"));
    ping(&mut client, 0);
    assert!(client.socket.read().is_err(), "nothing is read past a second held-back data frame");
    drop(frozen);
    tcp(&mut client).set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for _ in 0..3 {
        assert_eq!(client.answer(), ok_answer());
    }
}

#[test]
fn while_the_spent_budget_holds_a_frame_pings_are_answered_and_its_resend_is_recognised() {
    const BUDGET: usize = 4096;
    let _broker = STALL_BROKER.take_turn();
    let bootstrap = STALL_BROKER.bootstrap();
    let budget = BUDGET.to_string();
    let frontier = Frontier::start(&[("KAFKA_BOOTSTRAP_SERVERS", bootstrap.as_str()), ("KAFKA_MAX_INFLIGHT_BYTES", budget.as_str())]);
    wait_for_readiness(&frontier, 200, Duration::from_secs(10));
    let frozen = STALL_BROKER.freeze();
    // Another run's frame, held by the frozen broker, spends the whole budget.
    let mut spender = frontier.ws(&unique_run_id());
    spender.send(&format!(r#"{{"type":"add_tag","tag_name":"{}"}}"#, "s".repeat(BUDGET)));
    let deadline = Instant::now() + Duration::from_secs(5);
    while frontier.metric("matyan_inflight_bytes").unwrap_or(0.0) < BUDGET as f64 {
        assert!(Instant::now() < deadline, "the spender's frame was not accepted");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The stock client's way: a batch, pings while it waits, the same batch again after 15 s, and more pings.
    let run_id = unique_run_id();
    let mut client = frontier.ws(&run_id);
    client.send(ADD_TAG);
    answers_pings_for(&mut client, Duration::from_secs(15));
    client.send(ADD_TAG);
    drop(frozen);
    tcp(&mut client).set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(spender.answer(), ok_answer());
    assert_eq!(client.answer(), ok_answer(), "the batch, once the budget had room");
    // Had the resend been taken for a new frame, its answer would come before this one.
    assert_eq!(client.roundtrip(r#"{"type":"delete_run"}"#)["status"], "error", "answers are in step");
    let records = records_at(&bootstrap, &run_id, 1, Duration::from_secs(10));
    assert_eq!(records.len(), 1, "the batch published once");
}
