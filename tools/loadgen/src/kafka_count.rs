//! Counts the records of a topic whose key starts with a prefix, reading every
//! partition from the beginning (no group, no watermarks: the local broker's
//! watermarks are not reliable); stops after a quiet spell.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

pub fn count(bootstrap: &str, topic: &str, key_prefix: &str) -> u64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "matyan-loadgen")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("topic metadata");
    let partitions = metadata.topics()[0].partitions().len() as i32;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut found = 0;
    let mut last_record = Instant::now();
    let quiet = Duration::from_secs(3);
    let deadline = Instant::now() + Duration::from_secs(300);
    while last_record.elapsed() < quiet && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            last_record = Instant::now();
            if message.key().is_some_and(|k| k.starts_with(key_prefix.as_bytes())) {
                found += 1;
            }
        }
    }
    found
}
