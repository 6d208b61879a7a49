//! Wires the actors and the HTTP server together ([`Gateway::start`]), and
//! runs the shutdown sequence: stop accepting, let sessions answer what they
//! received, close (1001) and drain, flush the producer, stop.

use std::future::Future;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use actix_cors::Cors;
use actix_web::dev::ServerHandle;
use actix_web::middleware::{from_fn, Condition, Logger};
use actix_web::rt::task::JoinHandle;
use actix_web::{web, App, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use matyan_actors::backpressure::InflightBudget;
use matyan_actors::connections::ConnectionRegistry;
use matyan_actors::kafka_producer::{CheckBroker, Flush, KafkaProducer, UNDELIVERED_UNKNOWN};
use matyan_actors::metrics::SessionMetrics;
use matyan_actors::presign::{AzureStore, BlobStore, EnsureBucket, GcsStore, PresignActor, S3Store, StoreSetupError};
use matyan_actors::ws_session::SessionLimits;
use matyan_actors::Health;
use prometheus::Registry;
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{BlobSettings, Settings};
use crate::http_metrics::{self, HttpMetrics};
use crate::request_id;
use crate::routes::{self, AppState, ProducerPort, Surface};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Producer(#[from] matyan_actors::kafka_producer::StartError),
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("cannot build the metrics endpoint: {0}")]
    MetricsEndpoint(String),
    #[error("cannot set up the blob store: {0}")]
    BlobStore(#[from] StoreSetupError),
    #[error("cannot listen on {address}: {source}")]
    Bind { address: String, source: std::io::Error },
    #[error("server error: {0}")]
    Server(#[from] std::io::Error),
}

/// The HTTP server ended without being asked to: the process cannot serve any more.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP server stopped on its own ({0})")]
pub struct ServerEnded(String);

/// Largest presign request body.
const MAX_PRESIGN_BODY: usize = 64 * 1024;

/// How long plain HTTP connections get to finish once sessions are closed.
const HTTP_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// For the acknowledgements of the frames a session drained last.
const DRAINED_ACK_GRACE: Duration = Duration::from_secs(1);

/// How long shutdown waits for the sessions to close: derived from their own
/// deadlines, not set, so a broker hiccup during shutdown never cuts a session
/// mid-frame. A session sends its Close at most one drain deadline after the
/// signal and reads at most one more; a frame it read by then is held up to
/// the answer deadline (a late ack loses nothing, a cut loses the frame).
/// `SHUTDOWN_FLUSH_TIMEOUT` then bounds only the producer's flush: it is the
/// reference's setting, whose default (5 s) cannot be the whole budget, and
/// refusing it at startup would refuse the reference's own configuration.
pub fn sessions_close_within(limits: &SessionLimits) -> Duration {
    limits.answer_deadline + 2 * limits.close_drain_deadline + DRAINED_ACK_GRACE
}

/// The longest a shutdown takes: what an orchestrator must wait before it
/// kills the process (Kubernetes' `terminationGracePeriodSeconds`).
pub fn shutdown_within(settings: &Settings) -> Duration {
    sessions_close_within(&settings.session) + settings.shutdown_flush_timeout + HTTP_SHUTDOWN_GRACE
}

/// Pending connections the listener queues, as actix-web's own `bind` sets.
const LISTEN_BACKLOG: i32 = 1024;

/// A listener on `address` (`host:port`, the first address it resolves to
/// that binds), set up as actix-web's `bind` sets up its own.
pub fn listen(address: &str) -> Result<TcpListener, StartupError> {
    let bind_error = |source| StartupError::Bind { address: address.to_owned(), source };
    let mut last_error = std::io::Error::new(std::io::ErrorKind::InvalidInput, "resolves to no address");
    for resolved in address.to_socket_addrs().map_err(bind_error)? {
        let socket = Socket::new(Domain::for_address(resolved), Type::STREAM, Some(Protocol::TCP)).map_err(bind_error)?;
        socket.set_reuse_address(true).map_err(bind_error)?;
        match socket.bind(&resolved.into()).and_then(|()| socket.listen(LISTEN_BACKLOG)) {
            Ok(()) => return Ok(socket.into()),
            Err(error) => last_error = error,
        }
    }
    Err(bind_error(last_error))
}

/// What the gateway talks to: the Kafka producer and the blob store. The
/// in-process tests pass fakes; [`Gateway::start`] connects the real ones.
pub struct Backends {
    pub producer: ProducerPort,
    pub blob_store: Arc<dyn BlobStore>,
}

impl Backends {
    /// The configured Kafka producer (its metrics registered in `registry`) and blob store.
    pub fn connect(settings: &Settings, registry: &Registry) -> Result<Self, StartupError> {
        let producer = KafkaProducer::start(&settings.kafka, registry)?;
        let blob_store: Arc<dyn BlobStore> = match &settings.blob {
            BlobSettings::S3(s3) => Arc::new(S3Store::new(s3.clone())?),
            BlobSettings::Gcs(gcs) => Arc::new(GcsStore::new(gcs.clone())?),
            BlobSettings::Azure(azure) => Arc::new(AzureStore::new(azure.clone())?),
        };
        Ok(Self { producer: ProducerPort::of(&producer), blob_store })
    }
}

/// A serving gateway: the HTTP server on its listener and the actors behind it.
/// Dropping it leaves it running; [`Gateway::shutdown`] stops it in order.
pub struct Gateway {
    address: SocketAddr,
    server: ServerHandle,
    serving: JoinHandle<std::io::Result<()>>,
    connections: Arc<ConnectionRegistry>,
    producer: ProducerPort,
    sessions_close_within: Duration,
    shutdown_flush_timeout: Duration,
}

impl Gateway {
    /// Serves on `listener` with the configured Kafka producer and blob store.
    /// Call it inside an actix system: the actors run on it.
    pub async fn start(settings: Settings, listener: TcpListener) -> Result<Self, StartupError> {
        log::info!("starting matyan-frontier {} ({} environment), {:?}", env!("CARGO_PKG_VERSION"), settings.environment, settings.kafka);
        let registry = Registry::new();
        let backends = Backends::connect(&settings, &registry)?;
        Self::start_with(settings, listener, registry, backends).await
    }

    /// [`Gateway::start`] with the given backends, their metrics already in `registry`.
    pub async fn start_with(
        settings: Settings,
        listener: TcpListener,
        registry: Registry,
        backends: Backends,
    ) -> Result<Self, StartupError> {
        let Backends { producer, blob_store } = backends;
        let session_metrics = SessionMetrics::register(&registry)?;
        let http_metrics = web::Data::new(HttpMetrics::register(&registry)?);
        let inflight_budget = InflightBudget::new(settings.max_inflight_bytes, &registry)?;
        // actix-web-prom serves the registry; its own request metrics are switched
        // off (excluded paths), ours carry the dashboards' labels instead.
        let exporter = PrometheusMetricsBuilder::new("matyan_actix")
            .registry(registry)
            .endpoint("/metrics/")
            .exclude_regex(".*")
            .build()
            .map_err(|e| StartupError::MetricsEndpoint(e.to_string()))?;

        match producer.check.send(CheckBroker).await {
            Ok(Health::Ready) => log::info!("Kafka is reachable, topic '{}' is there", settings.kafka.topic),
            Ok(Health::Unready(reason)) => log::warn!("Kafka is not usable yet ({reason}); readiness reports it until it is"),
            Err(e) => log::warn!("Kafka check failed: {e}"),
        }
        let presign = PresignActor::new(blob_store, settings.presign_expiry).start();
        match presign.send(EnsureBucket).await {
            Ok(Ok(())) => log::info!("blob store ready: {}", settings.blob),
            Ok(Err(reason)) => log::warn!("blob store not ready ({reason}); presigning works offline, readiness reports it"),
            Err(e) => log::warn!("blob store check failed: {e}"),
        }

        let connections = ConnectionRegistry::new(settings.max_connections);
        if settings.auth.enabled() {
            log::info!("authentication on: {:?}", settings.auth);
        }
        let state = web::Data::new(AppState {
            auth: settings.auth.clone(),
            producer: producer.clone(),
            presign,
            connections: Arc::clone(&connections),
            session_metrics,
            session_limits: settings.session,
            inflight_budget,
        });
        let cors_origins = settings.cors_origins.clone();
        let metrics_enabled = settings.metrics_enabled;
        let surface = Surface { metrics: metrics_enabled };
        let address = listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(http_metrics.clone())
                // Presign bodies are a few hundred bytes; larger ones get 413.
                .app_data(web::PayloadConfig::new(MAX_PRESIGN_BODY))
                .configure(|cfg| routes::configure(cfg, surface))
                .wrap(Condition::new(metrics_enabled, exporter.clone()))
                .wrap(from_fn(http_metrics::record))
                .wrap(cors(&cors_origins))
                .wrap(from_fn(request_id::assign))
                // The path without its query string: a `token` parameter never reaches the log.
                .wrap(
                    Logger::new(r#"request_id=%{x-request-id}o %a "%{method}xi %U" %s %b %Dms"#)
                        // Named as the metrics name it, so an invented method cannot forge the log line.
                        .custom_request_replace("method", |req| http_metrics::method_label(req.method()).to_owned()),
                )
        })
        .disable_signals()
        .shutdown_timeout(HTTP_SHUTDOWN_GRACE.as_secs());
        let (server, scheme) = match &settings.tls {
            Some(tls) => (server.listen_rustls_0_23(listener, tls.server_config())?, "https"),
            None => (server.listen(listener)?, "http"),
        };
        let server = server.run();
        log::info!("listening on {scheme}://{address}; a shutdown takes at most {:.1} s", shutdown_within(&settings).as_secs_f64());
        let server_handle = server.handle();
        Ok(Self {
            address,
            server: server_handle,
            serving: actix_web::rt::spawn(server),
            connections,
            producer,
            sessions_close_within: sessions_close_within(&settings.session),
            shutdown_flush_timeout: settings.shutdown_flush_timeout,
        })
    }

    /// Its open WebSocket sessions, to drain them while it keeps serving.
    pub fn connections(&self) -> Arc<ConnectionRegistry> {
        Arc::clone(&self.connections)
    }

    /// The address it serves on (the port the OS chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `stop` resolves, then shuts down in order. Should the
    /// HTTP server end first, on its own, the producer is flushed and that is
    /// the error: nothing is left to serve, so waiting for `stop` would hang.
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> Result<(), ServerEnded> {
        let ended = tokio::select! {
            () = stop => None,
            ended = &mut self.serving => Some(ended),
        };
        let Some(ended) = ended else {
            self.shutdown().await;
            return Ok(());
        };
        let why = match ended {
            Ok(Ok(())) => "it returned".to_owned(),
            Ok(Err(error)) => error.to_string(),
            Err(join) => join.to_string(),
        };
        log::error!("the HTTP server stopped on its own ({why}): flushing and exiting");
        self.close_sessions_and_flush().await;
        Err(ServerEnded(why))
    }

    /// Stops accepting, lets sessions answer what they received, close (1001)
    /// and drain, flushes the producer, stops: within [`shutdown_within`].
    pub async fn shutdown(self) {
        self.close_sessions_and_flush().await;
        self.server.stop(true).await;
        let _ = self.serving.await;
    }

    async fn close_sessions_and_flush(&self) {
        log::info!(
            "shutting down: {} WebSocket sessions open, closed within {:.1} s, then {:.1} s to flush",
            self.connections.len(),
            self.sessions_close_within.as_secs_f64(),
            self.shutdown_flush_timeout.as_secs_f64()
        );
        self.server.pause().await;
        self.connections.begin_shutdown();
        let open = self.connections.wait_closed(self.sessions_close_within).await;
        let flush = Flush { timeout: self.shutdown_flush_timeout };
        let undelivered = self.producer.flush.send(flush).await.unwrap_or(UNDELIVERED_UNKNOWN);
        if open > 0 || undelivered > 0 {
            log::warn!("shutdown timeout reached: {open} sessions still open, {undelivered} records not confirmed by Kafka");
        } else {
            log::info!("every session closed and every record delivered");
        }
    }

    /// Stops the HTTP server as nothing in the gateway would: for the test of a server that ends on its own.
    #[cfg(test)]
    pub(crate) fn server_handle(&self) -> ServerHandle {
        self.server.clone()
    }
}

fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default().allow_any_method().allow_any_header().supports_credentials().max_age(600);
    if origins.iter().any(|o| o == "*") {
        return cors.allow_any_origin();
    }
    origins.iter().fold(cors, |cors, origin| cors.allowed_origin(origin))
}
