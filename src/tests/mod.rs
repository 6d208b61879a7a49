//! The gateway in-process, on 127.0.0.1 port 0, with fakes behind the
//! producer and the blob store: HTTP behaviour and the WebSocket answer path
//! without a broker or a store. The real-stack tests (`tests/real_stack/`)
//! run the binary against real ones.

mod fakes;
mod gateway;
mod http_surface;
mod jwt;
mod presign;
mod shutdown;
mod websocket;
