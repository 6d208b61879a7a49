use matyan_actors::kafka_producer::Compression;
use matyan_actors::secret::Secret;

use super::*;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn error(vars: &[(&str, &str)]) -> String {
    settings(vars).expect_err("should be refused").to_string()
}

#[test]
fn defaults_match_the_protocol() {
    let s = settings(&[]).unwrap();
    assert_eq!((s.host.as_str(), s.port, s.environment.as_str()), ("0.0.0.0", 53801, "development"));
    assert_eq!((s.kafka.bootstrap_servers.as_str(), s.kafka.topic.as_str()), ("localhost:9092", "data-ingestion"));
    assert_eq!((s.presign_expiry, s.shutdown_flush_timeout), (Duration::from_secs(3600), Duration::from_secs(5)));
    assert!(s.metrics_enabled);
    assert_eq!(s.cors_origins.len(), 4);
    assert_eq!((s.session.answer_deadline, s.max_inflight_bytes), (Duration::from_secs(40), 64 << 20));
    assert_eq!(s.session.close_drain_deadline, Duration::from_secs(2));
    assert_eq!(crate::server::shutdown_within(&s), Duration::from_secs(51), "what the README tells Kubernetes to wait");
    assert!(error(&[("WS_CLOSE_DRAIN_DEADLINE_MS", "10001")]).starts_with("WS_CLOSE_DRAIN_DEADLINE_MS: must be 0 to 10000"));
    assert_eq!(s.kafka.message_timeout, Duration::from_secs(39), "librdkafka gives up a second before the answer is due");
    assert!(error(&[("WS_ANSWER_DEADLINE_MS", "45000")]).starts_with("WS_ANSWER_DEADLINE_MS: must be 2000 to 44000"));
    assert!(error(&[("KAFKA_MESSAGE_TIMEOUT_MS", "10000")]).starts_with("KAFKA_MESSAGE_TIMEOUT_MS: replaced by WS_ANSWER_DEADLINE_MS"));
    for property in ["KAFKA_PROPERTY_MESSAGE_TIMEOUT_MS", "KAFKA_PROPERTY_DELIVERY_TIMEOUT_MS"] {
        assert!(error(&[(property, "5000")]).starts_with("WS_ANSWER_DEADLINE_MS: set the deadline here"), "{property}");
    }
    let BlobSettings::S3(s3) = s.blob else { panic!("s3 is the default") };
    assert_eq!((s3.endpoint.as_str(), s3.bucket.as_str(), s3.region.as_str()), ("http://localhost:9000", "matyan-artifacts", "us-east-1"));
}

#[test]
fn invalid_values_name_their_variable() {
    assert_eq!(error(&[("KAFKA_BOOTSTRAP_SERVERS", "a:1,b")]), "KAFKA_BOOTSTRAP_SERVERS: 'b' is not host:port");
    assert!(error(&[("KAFKA_BOOTSTRAP_SERVERS", "a:0")]).starts_with("KAFKA_BOOTSTRAP_SERVERS:"));
    assert!(error(&[("KAFKA_BOOTSTRAP_SERVERS", "a:65536")]).starts_with("KAFKA_BOOTSTRAP_SERVERS:"));
    assert!(error(&[("S3_ENDPOINT", "localhost:9000")]).starts_with("S3_ENDPOINT:"));
    assert!(error(&[("S3_PUBLIC_ENDPOINT", "http://")]).starts_with("S3_PUBLIC_ENDPOINT:"));
    assert!(error(&[("BLOB_BACKEND_TYPE", "ftp")]).starts_with("BLOB_BACKEND_TYPE:"));
    assert!(error(&[("LOG_LEVEL", "LOUD")]).starts_with("LOG_LEVEL:"));
    assert!(error(&[("METRICS_ENABLED", "maybe")]).starts_with("METRICS_ENABLED:"));
    assert!(error(&[("PORT", "http")]).contains("PORT"));
    assert!(error(&[("S3_PRESIGN_EXPIRY", "0")]).starts_with("S3_PRESIGN_EXPIRY:"));
    assert!(error(&[("SHUTDOWN_FLUSH_TIMEOUT", "-1")]).starts_with("SHUTDOWN_FLUSH_TIMEOUT:"));
}

#[test]
fn production_refuses_dev_defaults() {
    let prod = ("ENVIRONMENT", "production");
    assert!(error(&[prod]).starts_with("KAFKA_BOOTSTRAP_SERVERS:"));
    let kafka = ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");
    assert!(error(&[prod, kafka]).starts_with("S3_ENDPOINT:"));
    let s3 = ("S3_ENDPOINT", "https://s3.example.com");
    assert!(error(&[prod, kafka, s3]).starts_with("S3_ACCESS_KEY:"));
    assert!(settings(&[prod, kafka, s3, ("S3_ACCESS_KEY", "a"), ("S3_SECRET_KEY", "b")]).is_ok());
    assert!(error(&[("MATYAN_ENVIRONMENT", "production"), kafka, ("BLOB_BACKEND_TYPE", "azure")]).starts_with("AZURE_CONN_STR:"));
    assert!(settings(&[prod, kafka, ("BLOB_BACKEND_TYPE", "azure"), ("AZURE_ACCOUNT_URL", "https://a.blob.core.windows.net")]).is_ok());
}

#[test]
fn records_are_uncompressed_unless_a_codec_is_chosen() {
    assert_eq!(settings(&[]).unwrap().kafka.compression, Compression::None, "what the 0.3.0 workers read");
    assert_eq!(settings(&[]).unwrap().kafka.client_config().get("compression.type"), Some("none"));
    let gzip = settings(&[("KAFKA_COMPRESSION_TYPE", "GZIP")]).unwrap();
    assert_eq!(gzip.kafka.client_config().get("compression.type"), Some("gzip"));
    assert_eq!(settings(&[("KAFKA_COMPRESSION_TYPE", "zstd")]).unwrap().kafka.compression, Compression::Zstd);
    assert!(error(&[("KAFKA_COMPRESSION_TYPE", "snappy")]).starts_with("KAFKA_COMPRESSION_TYPE: 'snappy' is not one of"));
    for property in ["KAFKA_PROPERTY_COMPRESSION_TYPE", "KAFKA_PROPERTY_COMPRESSION_CODEC"] {
        assert!(error(&[(property, "lz4")]).starts_with("KAFKA_COMPRESSION_TYPE: set the codec here"), "{property}");
    }
}

#[test]
fn an_idempotent_producer_guarantees_no_gaps() {
    let config = settings(&[]).unwrap().kafka.client_config();
    assert_eq!((config.get("enable.idempotence"), config.get("enable.gapless.guarantee")), (Some("true"), Some("true")));
    let unsafe_allowed = ("KAFKA_ALLOW_UNSAFE_OVERRIDES", "true");
    let plain = settings(&[("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "false"), unsafe_allowed]).unwrap().kafka.client_config();
    assert_eq!(plain.get("enable.gapless.guarantee"), None, "librdkafka refuses it without idempotence");
}

/// Each property that would weaken what an `ok` answer promises stops the
/// process at startup, naming its variable and what it breaks, unless
/// `KAFKA_ALLOW_UNSAFE_OVERRIDES=true`; the values the producer sets itself pass.
#[test]
fn overrides_that_weaken_the_ack_promise_are_refused() {
    let refused = [
        ("KAFKA_PROPERTY_ACKS", "1", "the acknowledgement by every in-sync replica"),
        ("KAFKA_PROPERTY_ACKS", "0", "the acknowledgement by every in-sync replica"),
        ("KAFKA_PROPERTY_REQUEST_REQUIRED_ACKS", "1", "the acknowledgement by every in-sync replica"),
        ("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "false", "records written once and in order per run"),
        ("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "0", "records written once and in order per run"),
        ("KAFKA_PROPERTY_ENABLE_GAPLESS_GUARANTEE", "False", "no gap in a run's records"),
        ("KAFKA_PROPERTY_PARTITIONER", "consistent_random", "the reference's partition for each run"),
    ];
    for (variable, value, promise) in refused {
        let why = error(&[(variable, value)]);
        let expected = format!("{variable}: '{value}' for librdkafka's '");
        assert!(why.starts_with(&expected) && why.contains(promise) && why.ends_with("unless KAFKA_ALLOW_UNSAFE_OVERRIDES=true"), "{why}");
        let allowed = settings(&[(variable, value), ("KAFKA_ALLOW_UNSAFE_OVERRIDES", "true")]).expect("allowed explicitly");
        let property = variable.trim_start_matches("KAFKA_PROPERTY_").to_ascii_lowercase().replace('_', ".");
        assert_eq!(allowed.kafka.client_config().get(&property), Some(value), "{variable} applied when allowed");
    }
    let same_as_ours = [
        ("KAFKA_PROPERTY_ACKS", "all"),
        ("KAFKA_PROPERTY_ACKS", "-1"),
        ("KAFKA_PROPERTY_ENABLE_IDEMPOTENCE", "true"),
        ("KAFKA_PROPERTY_ENABLE_GAPLESS_GUARANTEE", "TRUE"),
        ("KAFKA_PROPERTY_PARTITIONER", "murmur2_random"),
    ];
    assert!(settings(&same_as_ours).is_ok(), "the producer's own values pass");
    assert!(error(&[("KAFKA_ALLOW_UNSAFE_OVERRIDES", "maybe")]).starts_with("KAFKA_ALLOW_UNSAFE_OVERRIDES:"));
    let lower_limit = [("KAFKA_PROPERTY_MESSAGE_MAX_BYTES", "500000"), ("KAFKA_ALLOW_UNSAFE_OVERRIDES", "true")];
    assert!(error(&lower_limit).starts_with("KAFKA_MAX_RECORD_BYTES: 1000000 disagrees"), "a record limit below ours, allowed or not");
}

#[test]
fn lists_booleans_and_passthrough_properties() {
    let s =
        settings(&[("CORS_ORIGINS", r#"["https://a", "https://b"]"#), ("METRICS_ENABLED", "False"), ("KAFKA_PROPERTY_BATCH_SIZE", "100")])
            .unwrap();
    assert_eq!(s.cors_origins, ["https://a", "https://b"]);
    assert!(!s.metrics_enabled);
    assert_eq!(s.kafka.extra_properties, [("batch.size".to_string(), "100".into())]);
    assert_eq!(settings(&[("CORS_ORIGINS", "https://a, https://b")]).unwrap().cors_origins, ["https://a", "https://b"]);
}

#[test]
fn auth_tokens_from_variable_and_file() {
    assert!(!settings(&[]).unwrap().auth.enabled(), "off by default");
    let file = std::env::temp_dir().join(format!("matyan-tokens-{}", std::process::id()));
    std::fs::write(&file, "# team tokens\nfile-token:team-\n").unwrap();
    let s = settings(&[("AUTH_TOKENS", "a,b"), ("AUTH_TOKENS_FILE", file.to_str().unwrap())]).unwrap();
    assert_eq!(format!("{:?}", s.auth), "Authenticator(3 tokens)");
    assert!(error(&[("AUTH_TOKENS_FILE", "/nonexistent/tokens")]).starts_with("AUTH_TOKENS_FILE: cannot read"));
    // Refused at startup, naming the entry, never the token.
    assert_eq!(error(&[("AUTH_TOKENS", "a, tok:")]), "AUTH_TOKENS: entry 2: empty run-id prefix (a token for every run has no ':')");
    assert_eq!(
        error(&[("AUTH_TOKENS", "file-token:team-b-"), ("AUTH_TOKENS_FILE", file.to_str().unwrap())]),
        "AUTH_TOKENS, AUTH_TOKENS_FILE: entries 1 and 2 give the same token different runs"
    );
    std::fs::remove_file(file).unwrap();
}

/// `extra` with a JWT issuer and audience.
fn with_idp<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [&[("AUTH_JWT_ISSUER", "https://idp"), ("AUTH_JWT_AUDIENCE", "matyan")][..], extra].concat()
}

#[test]
fn jwt_settings_are_checked_at_startup() {
    let url = ("AUTH_JWKS_URL", "https://idp/jwks");
    let s = settings(&with_idp(&[url])).unwrap();
    assert!(s.auth.enabled(), "a JWKS alone turns authentication on");
    assert_eq!(format!("{:?}", s.auth), r#"Authenticator(0 tokens, JWTs from Url("https://idp/jwks"))"#);
    // Each refused, naming the variable.
    let needed = ": needed when AUTH_JWKS_FILE or AUTH_JWKS_URL is set: JWTs are checked against it";
    assert_eq!(error(&[url, ("AUTH_JWT_AUDIENCE", "matyan")]), format!("AUTH_JWT_ISSUER{needed}"));
    assert_eq!(error(&[url, ("AUTH_JWT_ISSUER", "https://idp")]), format!("AUTH_JWT_AUDIENCE{needed}"));
    assert_eq!(error(&with_idp(&[("AUTH_JWKS_URL", "idp/jwks")])), "AUTH_JWKS_URL: 'idp/jwks' is not an http(s) URL with a host");
    assert_eq!(error(&with_idp(&[url, ("AUTH_JWKS_FILE", "/x")])), "AUTH_JWKS_URL: set AUTH_JWKS_FILE or AUTH_JWKS_URL, not both");
    assert!(
        error(&with_idp(&[("AUTH_JWKS_FILE", "/nonexistent/jwks.json")])).starts_with("AUTH_JWKS_FILE: cannot read /nonexistent/jwks.json")
    );
    assert!(error(&with_idp(&[url, ("AUTH_JWT_LEEWAY", "-1")])).starts_with("AUTH_JWT_LEEWAY: "));
    let file = std::env::temp_dir().join(format!("matyan-jwks-config-{}", std::process::id()));
    let path = file.to_str().unwrap();
    std::fs::write(&file, r#"{"keys": 1}"#).unwrap();
    assert!(error(&with_idp(&[("AUTH_JWKS_FILE", path)])).starts_with("AUTH_JWKS_FILE: not a JWKS"));
    // A symmetric key is never a JWT key: the set has none to use.
    std::fs::write(&file, r#"{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}"#).unwrap();
    assert_eq!(error(&with_idp(&[("AUTH_JWKS_FILE", path)])), "AUTH_JWKS_FILE: no usable signature key (RSA, EC P-256/P-384 or Ed25519)");
    std::fs::remove_file(file).unwrap();
}

#[test]
fn secrets_are_masked_in_debug_output() {
    let s = settings(&[("S3_SECRET_KEY", "s3cr3t"), ("KAFKA_SASL_PASSWORD", "hunter2"), ("AUTH_TOKENS", "tok3n")]).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("s3cr3t") && !shown.contains("hunter2") && !shown.contains("tok3n"), "{shown}");
}

#[test]
fn empty_means_unset_and_names_are_case_insensitive() {
    let s = settings(&[("PORT", ""), ("LOG_LEVEL", " "), ("BLOB_BACKEND_TYPE", "AZURE"), ("KAFKA_PROPERTY_BATCH_SIZE", "")]).unwrap();
    assert_eq!((s.port, s.log_filter), (53801, log::LevelFilter::Info));
    assert!(matches!(s.blob, BlobSettings::Azure(_)));
    assert!(s.kafka.extra_properties.is_empty());
    for (level, filter) in [("warn", log::LevelFilter::Warn), ("WARNING", log::LevelFilter::Warn), ("critical", log::LevelFilter::Error)] {
        assert_eq!(settings(&[("LOG_LEVEL", level)]).unwrap().log_filter, filter, "{level}");
    }
    assert_eq!(error(&[("LOG_LEVEL", "LOUD")]), "LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL");
    assert_eq!(error(&[("BLOB_BACKEND_TYPE", "ftp")]), "BLOB_BACKEND_TYPE: 'ftp' is not one of s3, gcs, azure");
    assert_eq!(error(&[("WS_MAX_CONNECTIONS", "0")]), "WS_MAX_CONNECTIONS: must be at least 1");
    assert_eq!(
        error(&[("MATYAN_ENVIRONMENT", "Production"), ("ENVIRONMENT", "development")]).split(':').next(),
        Some("KAFKA_BOOTSTRAP_SERVERS")
    );
}

#[test]
fn blob_store_tls_and_azure_credential_come_from_the_configuration() {
    let s = settings(&[
        ("BLOB_BACKEND_TYPE", "azure"),
        ("AZURE_ACCOUNT_URL", "https://a.blob.core.windows.net"),
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_CLIENT_ID", "client"),
        ("AZURE_CLIENT_SECRET", "s3cr3t"),
        ("SSL_CERT_FILE", "/etc/ca.pem"),
    ])
    .unwrap();
    let BlobSettings::Azure(azure) = &s.blob else { panic!("azure was chosen") };
    assert_eq!(azure.conn_str, None, "no development connection string beside an account URL");
    assert_eq!(azure.tls_roots.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
    let credential = &azure.credential;
    assert_eq!((credential.tenant_id.as_deref(), credential.client_id.as_deref()), (Some("tenant"), Some("client")));
    assert_eq!(credential.authority_host, "https://login.microsoftonline.com");
    assert!(!format!("{s:?}").contains("s3cr3t"));
    let BlobSettings::Azure(azurite) = settings(&[("BLOB_BACKEND_TYPE", "azure")]).unwrap().blob else { panic!("azure was chosen") };
    assert_eq!(azurite.conn_str.as_ref().map(Secret::expose), Some("UseDevelopmentStorage=true"));
}

#[test]
fn librdkafkas_record_limit_follows_kafka_max_record_bytes() {
    let limits = |s: Settings| {
        (s.session.frame.max_record_bytes, s.kafka.max_record_bytes, s.kafka.client_config().get("message.max.bytes").map(String::from))
    };
    assert_eq!(limits(settings(&[]).unwrap()), (1_000_000, 1_000_000, Some("1000000".into())));
    let raised = ("KAFKA_MAX_RECORD_BYTES", "4000000");
    assert_eq!(limits(settings(&[raised]).unwrap()), (4_000_000, 4_000_000, Some("4000000".into())));
    assert!(settings(&[raised, ("KAFKA_PROPERTY_MESSAGE_MAX_BYTES", "4000000")]).is_ok(), "the same limit twice agrees");
    assert_eq!(
        error(&[("KAFKA_PROPERTY_MESSAGE_MAX_BYTES", "2000000")]),
        "KAFKA_MAX_RECORD_BYTES: 1000000 disagrees with KAFKA_PROPERTY_MESSAGE_MAX_BYTES=2000000: librdkafka's message.max.bytes \
follows this limit, so set it here only"
    );
    assert!(error(&[raised, ("KAFKA_PROPERTY_MESSAGE_MAX_BYTES", "1000000")]).starts_with("KAFKA_MAX_RECORD_BYTES: 4000000 disagrees"));
    for outside in ["999", "1000000001"] {
        assert!(
            error(&[("KAFKA_MAX_RECORD_BYTES", outside)]).starts_with("KAFKA_MAX_RECORD_BYTES: must be 1000 to 1000000000"),
            "{outside}"
        );
    }
}
