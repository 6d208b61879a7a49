//! Reading a run's records back from Kafka.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

use super::stack::{kafka_bootstrap, topic};

pub const PARTITIONS: i32 = 6;

/// One record read back from Kafka.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub value: Value,
    pub has_headers: bool,
}

/// Reads every partition from the beginning (the local broker's watermarks
/// are not reliable, so no group and no watermarks) and keeps `run_id`'s records.
pub fn records_for(run_id: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    records_at(&kafka_bootstrap(), run_id, expected, timeout)
}

/// [`records_for`] on another broker.
pub fn records_at(bootstrap: &str, run_id: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    records_with(config, &[run_id], expected, timeout)
}

/// The records of several runs in one pass over the topic: `expected` in all.
pub fn records_of_runs(run_ids: &[&str], expected: usize, timeout: Duration) -> Vec<Record> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", kafka_bootstrap());
    records_with(config, run_ids, expected, timeout)
}

/// The records of `run_ids`, with a consumer configured by the caller (credentials, say).
pub fn records_with(mut config: ClientConfig, run_ids: &[&str], expected: usize, timeout: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = config
        .set("group.id", "matyan-tests")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        assignment.add_partition_offset(&topic(), partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut found = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut quiet_since = Instant::now();
    // After the expected count, keep reading briefly to catch unexpected extras.
    while Instant::now() < deadline && !(found.len() >= expected && quiet_since.elapsed() > Duration::from_millis(1500)) {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                quiet_since = Instant::now();
                if message.key().is_some_and(|key| run_ids.iter().any(|run_id| run_id.as_bytes() == key)) {
                    found.push(Record {
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key().unwrap().to_vec(),
                        value: serde_json::from_slice(message.payload().unwrap_or_default()).expect("record value is JSON"),
                        has_headers: rdkafka::message::Message::headers(&message).is_some(),
                    });
                }
            }
            Some(Err(error)) => panic!("consumer error: {error}"),
            None => {}
        }
    }
    found.sort_by_key(|r| (r.partition, r.offset));
    found
}

/// Of `points` metric steps (0..points) each run in `run_ids` tracked, how many are missing from `records`
/// (a step published twice counts once).
pub fn metric_points_lost(records: &[Record], run_ids: &[&str], points: usize) -> usize {
    metric_point_counts(records, run_ids, points).lost
}

/// What became of the metric points runs tracked (steps 0..points each), as read back from Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointCounts {
    pub tracked: usize,
    /// `log_metric` records of these runs.
    pub in_kafka: usize,
    /// Steps with no record.
    pub lost: usize,
    /// Records of a step already published (the stock client resends a batch after 15 s of silence).
    pub duplicates: usize,
    /// Records whose step is lower than the one just before it on the run's partition (a late duplicate counts too).
    pub out_of_order: usize,
}

pub fn metric_point_counts(records: &[Record], run_ids: &[&str], points: usize) -> PointCounts {
    let mut counts = PointCounts { tracked: run_ids.len() * points, in_kafka: 0, lost: 0, duplicates: 0, out_of_order: 0 };
    for run_id in run_ids {
        // `records` is in (partition, offset) order, and a run has one partition.
        let steps: Vec<i64> = records
            .iter()
            .filter(|r| r.key == run_id.as_bytes() && r.value["type"] == "log_metric")
            .map(|r| r.value["payload"]["step"].as_i64().unwrap())
            .collect();
        counts.in_kafka += steps.len();
        counts.out_of_order += steps.windows(2).filter(|pair| pair[1] < pair[0]).count();
        let mut distinct = steps.clone();
        distinct.sort_unstable();
        distinct.dedup();
        counts.duplicates += steps.len() - distinct.len();
        counts.lost += points - distinct.len();
    }
    counts
}
