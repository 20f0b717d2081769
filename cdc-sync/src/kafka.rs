//! The Debezium source: a Kafka consumer group (rdkafka) reading Debezium's MySQL/MariaDB
//! change events from the table topics (`<prefix>.<db>.<table>`, matched by a regular
//! expression), decoded exactly ([`crate::debezium`]). Offsets are committed only after the
//! services have committed the batch the records went into, so a crash re-reads them and the
//! write API's ordering makes the replay change nothing. A record that cannot be decoded goes
//! to the dead-letter topic (`<prefix>.dlq`, the payload with its topic, partition, offset and
//! error in headers) and the pipeline goes on. Records deleted before they were read (the
//! topic's retention ran past the group's committed offset) stop the source with
//! [`KafkaSourceError::RecordsLost`]: the services would silently miss those changes.

use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::catalog::Catalog;
use crate::change::Change;
use crate::debezium::{Format, Record};

/// Where the Debezium events are.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The consumer group.
    pub group: String,
    /// The table topics: a regular expression (`^m2\.magento\..*`).
    pub topics: String,
    /// Where undecodable records go.
    pub dead_letter_topic: String,
    /// The connector's JSON settings.
    pub format: Format,
}

/// Why the Kafka source stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaSourceError {
    /// The client refused its settings, or the broker failed.
    #[error("Kafka ({what}): {source}")]
    Kafka {
        /// What was being done.
        what: &'static str,
        /// rdkafka's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// A partition's next record to read no longer exists on the broker: retention deleted it
    /// (and maybe more) before it was read, and librdkafka moved on to what is left.
    #[error(
        "Kafka records were deleted before cdc-sync read them, so the services would miss their \
         changes; nothing after them is applied. librdkafka: {0}. Back-fill again (eav-extract), \
         then reset this consumer group's offsets to the earliest (kafka-consumer-groups.sh \
         --reset-offsets --to-earliest) and start again; a longer retention on the table topics \
         keeps it from happening"
    )]
    RecordsLost(String),
}

/// The consumer's context: librdkafka reports an offset reset caused by an error (the offset
/// to read is out of the partition's range) as a warning of facility `OFFSET`; a reset because
/// the group has no committed offset yet is only debug-logged, so a new group starting from the
/// earliest record is not mistaken for a loss.
#[derive(Debug, Default)]
struct SourceContext {
    /// The first such warning (read on every record: a load, no lock).
    lost: std::sync::OnceLock<String>,
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "OFFSET"
            && !matches!(level, RDKafkaLogLevel::Debug)
            && log_message.contains("offset reset")
        {
            let _ = self.lost.set(log_message.to_string());
        }
    }
}

impl ConsumerContext for SourceContext {}

fn kafka(what: &'static str) -> impl FnOnce(rdkafka::error::KafkaError) -> KafkaSourceError {
    move |source| KafkaSourceError::Kafka { what, source }
}

/// Records read for one batch.
#[derive(Debug, Default)]
pub struct KafkaBatch {
    /// The row changes decoded.
    pub changes: Vec<Change>,
    /// Records read (tombstones and dead letters included).
    pub records: u64,
    /// Records sent to the dead-letter topic.
    pub dead_letters: u64,
    /// What could still be read of those records (which entity each was about), with why the
    /// record was refused and where it was read.
    pub salvaged: Vec<(Change, String)>,
    offsets: Vec<(String, i32, i64)>,
}

/// The consumer.
pub struct KafkaSource {
    consumer: StreamConsumer<SourceContext>,
    producer: FutureProducer,
    options: KafkaOptions,
    catalog: Catalog,
    /// The next offset to read of every partition a batch has been committed from.
    committed: std::sync::Mutex<std::collections::HashMap<(String, i32), i64>>,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl KafkaSource {
    /// Joins the consumer group and subscribes to the table topics; `catalog` types the columns
    /// when the converter sends no schemas.
    pub fn open(options: KafkaOptions, catalog: Catalog) -> Result<KafkaSource, KafkaSourceError> {
        let consumer: StreamConsumer<SourceContext> = ClientConfig::new()
            .set("bootstrap.servers", &options.brokers)
            .set("group.id", &options.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("topic.metadata.refresh.interval.ms", "1000")
            // Warnings reach the context (rdkafka passes only errors without a `log` logger).
            .set_log_level(RDKafkaLogLevel::Warning)
            .create_with_context(SourceContext::default())
            .map_err(kafka("create the consumer"))?;
        consumer
            .subscribe(&[&options.topics])
            .map_err(kafka("subscribe"))?;
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &options.brokers)
            .create()
            .map_err(kafka("create the dead-letter producer"))?;
        Ok(KafkaSource {
            consumer,
            producer,
            options,
            catalog,
            committed: Default::default(),
        })
    }

    /// [`KafkaSourceError::RecordsLost`] once the consumer has skipped deleted records.
    fn lost(&self) -> Result<(), KafkaSourceError> {
        match self.consumer.context().lost.get() {
            Some(m) => Err(KafkaSourceError::RecordsLost(m.clone())),
            None => Ok(()),
        }
    }

    /// Reads records until their changes touch `max` entities (`touches` says which a change
    /// touches, as the binlog source counts its batches), or `wait` after the first record.
    pub async fn batch(
        &self,
        max: usize,
        wait: Duration,
        touches: impl Fn(&Change) -> Vec<crate::transform::Touch>,
    ) -> Result<KafkaBatch, KafkaSourceError> {
        let mut batch = KafkaBatch::default();
        let mut touched = std::collections::BTreeSet::new();
        let mut first: Option<Instant> = None;
        loop {
            let left = match first {
                Some(t) => match wait.checked_sub(t.elapsed()) {
                    Some(left) => left,
                    None => return Ok(batch),
                },
                None => Duration::from_secs(1),
            };
            let message = tokio::time::timeout(left, self.consumer.recv()).await;
            // librdkafka logs the reset before it fetches from the new offset: no record past
            // the gap is used.
            self.lost()?;
            let message = match message {
                Err(_) if first.is_some() => return Ok(batch),
                Err(_) => continue,
                Ok(m) => m.map_err(kafka("receive"))?,
            };
            first.get_or_insert_with(Instant::now);
            batch.records += 1;
            let (topic, partition, offset) = (
                message.topic().to_string(),
                message.partition(),
                message.offset(),
            );
            match self.options.format.decode(message.payload(), &self.catalog) {
                Ok(Record::Change(c)) => {
                    touched.extend(touches(&c));
                    batch.changes.push(*c);
                }
                Ok(Record::Tombstone) => {}
                Err(e) => {
                    let headers = OwnedHeaders::new()
                        .insert(Header {
                            key: "ficus.error",
                            value: Some(&e.to_string()),
                        })
                        .insert(Header {
                            key: "ficus.topic",
                            value: Some(&topic),
                        })
                        .insert(Header {
                            key: "ficus.partition",
                            value: Some(&partition.to_string()),
                        })
                        .insert(Header {
                            key: "ficus.offset",
                            value: Some(&offset.to_string()),
                        });
                    let mut record =
                        FutureRecord::<[u8], [u8]>::to(&self.options.dead_letter_topic)
                            .headers(headers);
                    if let Some(p) = message.payload() {
                        record = record.payload(p);
                    }
                    if let Some(k) = message.key() {
                        record = record.key(k);
                    }
                    self.producer
                        .send(record, Duration::from_secs(10))
                        .await
                        .map_err(|(e, _)| KafkaSourceError::Kafka {
                            what: "send a dead letter",
                            source: e,
                        })?;
                    eprintln!(
                        "{}",
                        serde_json::json!({"level": "warn", "event": "dead_letter", "topic": topic, "partition": partition, "offset": offset, "error": e.to_string()})
                    );
                    batch.dead_letters += 1;
                    if let Some(c) = self
                        .options
                        .format
                        .salvage(message.payload(), &self.catalog)
                    {
                        batch.salvaged.push((
                            c,
                            format!("undecodable event at {topic}[{partition}]@{offset}: {e}"),
                        ));
                    }
                }
            }
            batch.offsets.push((topic, partition, offset));
            if touched.len() >= max {
                return Ok(batch);
            }
        }
    }

    /// Commits the batch's offsets (after the services have committed it), without waiting
    /// for the broker: a commit that is lost is covered by the next of its partition, and a
    /// crash before either re-reads records whose changes the services already hold (skipped
    /// or rewritten unchanged). See [`KafkaSource::flush`].
    pub fn commit(&self, batch: &KafkaBatch) -> Result<(), KafkaSourceError> {
        let mut next = std::collections::HashMap::new();
        for (topic, partition, offset) in &batch.offsets {
            let e = next
                .entry((topic.clone(), *partition))
                .or_insert(*offset + 1);
            *e = (*e).max(*offset + 1);
        }
        let Some(list) = offsets(&next)? else {
            return Ok(());
        };
        self.consumer
            .commit(&list, CommitMode::Async)
            .map_err(kafka("commit offsets"))?;
        let mut committed = self.committed.lock().unwrap_or_else(|e| e.into_inner());
        for (key, offset) in next {
            let e = committed.entry(key).or_insert(offset);
            *e = (*e).max(offset);
        }
        Ok(())
    }

    /// Commits again the newest offset of every partition committed so far and waits for the
    /// broker's answer (at shutdown, so the next run resumes exactly where this one stopped).
    pub fn flush(&self) -> Result<(), KafkaSourceError> {
        let list = offsets(&self.committed.lock().unwrap_or_else(|e| e.into_inner()))?;
        match list {
            Some(list) => self
                .consumer
                .commit(&list, CommitMode::Sync)
                .map_err(kafka("commit offsets")),
            None => Ok(()),
        }
    }
}

/// The offsets to commit, none when there are none.
fn offsets(
    next: &std::collections::HashMap<(String, i32), i64>,
) -> Result<Option<TopicPartitionList>, KafkaSourceError> {
    if next.is_empty() {
        return Ok(None);
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(kafka("offsets"))?;
    }
    Ok(Some(list))
}
