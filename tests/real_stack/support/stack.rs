//! Where the local stack's services are: `scripts/local-stack.sh env` sets
//! these variables; the defaults are its ports.

pub fn kafka_bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn topic() -> String {
    std::env::var("KAFKA_DATA_INGESTION_TOPIC").unwrap_or_else(|_| "data-ingestion".into())
}

pub fn s3_endpoint() -> String {
    std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8333".into())
}

pub fn bucket() -> String {
    std::env::var("S3_BUCKET").unwrap_or_else(|_| "matyan-artifacts".into())
}
