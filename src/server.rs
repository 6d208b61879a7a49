//! Wires the actors and the HTTP server together, and runs the shutdown
//! sequence: stop accepting, let sessions answer what they received and close
//! (1001), flush the producer, stop.

use std::sync::Arc;
use std::time::Instant;

use actix::Actor;
use actix_cors::Cors;
use actix_web::middleware::{from_fn, Condition, Logger};
use actix_web::{web, App, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use matyan_actors::backpressure::InflightBudget;
use matyan_actors::connections::ConnectionRegistry;
use matyan_actors::kafka_producer::{CheckBroker, Flush, KafkaProducer, UNDELIVERED_UNKNOWN};
use matyan_actors::metrics::SessionMetrics;
use matyan_actors::presign::{AzureStore, BlobStore, EnsureBucket, GcsStore, PresignActor, S3Store, StoreSetupError};
use matyan_actors::Health;

use crate::config::{BlobSettings, Settings};
use crate::http_metrics::{self, HttpMetrics};
use crate::request_id;
use crate::routes::{self, AppState, Surface};

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

/// Largest presign request body.
const MAX_PRESIGN_BODY: usize = 64 * 1024;

/// How long plain HTTP connections get to finish once sessions are closed.
const HTTP_SHUTDOWN_GRACE: u64 = 1;

fn blob_store(settings: &BlobSettings) -> Result<Arc<dyn BlobStore>, StartupError> {
    Ok(match settings {
        BlobSettings::S3(s3) => Arc::new(S3Store::new(s3.clone())?),
        BlobSettings::Gcs(gcs) => Arc::new(GcsStore::new(gcs.clone())?),
        BlobSettings::Azure(azure) => Arc::new(AzureStore::new(azure.clone())?),
    })
}

pub async fn run(settings: Settings) -> Result<(), StartupError> {
    log::info!("starting matyan-frontier {} ({} environment), {:?}", env!("CARGO_PKG_VERSION"), settings.environment, settings.kafka);

    let registry = prometheus::Registry::new();
    let session_metrics = SessionMetrics::register(&registry)?;
    let http_metrics = web::Data::new(HttpMetrics::register(&registry)?);
    let inflight_budget = InflightBudget::new(settings.max_inflight_bytes, &registry)?;
    let producer = KafkaProducer::start(&settings.kafka, &registry)?;
    // actix-web-prom serves the registry; its own request metrics are switched
    // off (excluded paths), ours carry the dashboards' labels instead.
    let exporter = PrometheusMetricsBuilder::new("matyan_actix")
        .registry(registry)
        .endpoint("/metrics/")
        .exclude_regex(".*")
        .build()
        .map_err(|e| StartupError::MetricsEndpoint(e.to_string()))?;

    match producer.send(CheckBroker).await {
        Ok(Health::Ready) => log::info!("Kafka is reachable, topic '{}' is there", settings.kafka.topic),
        Ok(Health::Unready(reason)) => log::warn!("Kafka is not usable yet ({reason}); readiness reports it until it is"),
        Err(e) => log::warn!("Kafka check failed: {e}"),
    }
    let presign = PresignActor::new(blob_store(&settings.blob)?, settings.presign_expiry).start();
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
    let address = format!("{}:{}", settings.host, settings.port);
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
                    .custom_request_replace("method", |req| req.method().to_string()),
            )
    })
    .disable_signals()
    .shutdown_timeout(HTTP_SHUTDOWN_GRACE)
    .bind(&address)
    .map_err(|source| StartupError::Bind { address: address.clone(), source })?
    .run();
    log::info!("listening on {address}");

    let handle = server.handle();
    let serving = actix_web::rt::spawn(server);
    shutdown_signal().await;

    let deadline = Instant::now() + settings.shutdown_flush_timeout;
    log::info!("shutting down: {} WebSocket sessions open", connections.len());
    handle.pause().await;
    connections.begin_shutdown();
    let open = connections.wait_closed(deadline.saturating_duration_since(Instant::now())).await;
    let undelivered =
        producer.send(Flush { timeout: deadline.saturating_duration_since(Instant::now()) }).await.unwrap_or(UNDELIVERED_UNKNOWN);
    if open > 0 || undelivered > 0 {
        log::warn!("shutdown timeout reached: {open} sessions still open, {undelivered} records not confirmed by Kafka");
    } else {
        log::info!("every received frame was answered and every record delivered");
    }
    handle.stop(true).await;
    let _ = serving.await;
    Ok(())
}

fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default().allow_any_method().allow_any_header().supports_credentials().max_age(600);
    if origins.iter().any(|o| o == "*") {
        return cors.allow_any_origin();
    }
    origins.iter().fold(cors, |cors, origin| cors.allowed_origin(origin))
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => log::info!("SIGINT received"),
        _ = terminate.recv() => log::info!("SIGTERM received"),
    }
}
