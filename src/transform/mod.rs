//! Single message transforms: Kafka Connect's `transforms`/`predicates`
//! chain, applied by the connector's owner to every record before it joins
//! the Kafka transaction.
//!
//! - `config`: the syntax and every class's options, parsed and refused at
//!   create ([`TransformsConfig::parse`], called by the connector front
//!   door);
//! - `record`: the structured [`ConnectRecord`] transforms operate on;
//! - `codec`: between the encoder's bytes and that record (and back, with
//!   the user's `schemas.enable`);
//! - `unwrap`: Debezium's `ExtractNewRecordState`;
//! - `fields`: Kafka's `ReplaceField`, `InsertField`, `MaskField`,
//!   `ValueToKey`, `ExtractField`, `HoistField`, `Flatten`,
//!   `SetSchemaMetadata`, `InsertHeader`, `DropHeaders`; `cast`: Kafka's
//!   `Cast`; this file: the chain,
//!   `RegexRouter`, `Filter` and the predicates.
//!
//! # Where the chain runs, and why exactly-once is unchanged
//! The pipeline task ([`crate::pipeline`]) calls [`TransformChain::apply`]
//! on a delivery's records after they left the source and before they are
//! produced in the Kafka transaction that also carries the progress
//! record. The chain is deterministic (it reads nothing but the record and
//! its own configuration), so a new owner that re-reads a batch after a
//! failover produces the same output records; the progress record is
//! never transformed; a record a transform drops simply is not produced,
//! while the batch's offset still advances. Order is kept: the chain maps
//! records one by one, in order. The sink partitions by murmur2 of the
//! final key bytes (librdkafka's `murmur2_random`, as the Java client), so
//! a transform that changes the key or topic changes the partition exactly
//! as on Kafka Connect.
//!
//! # Which records pass through
//! All of them, as on Kafka Connect: data changes, tombstones, schema
//! changes, transaction metadata and heartbeats. Transforms that expect a
//! change event leave other records as Kafka's and Debezium's do (unwrap
//! passes non-envelopes unchanged); predicates are how a chain excludes
//! them (`TopicNameMatches` with `negate`).
//!
//! # Errors
//! Every configuration problem is refused at create. What is left are
//! record-level failures (a `route.by.field` that is not a string, a
//! record that is not what the encoder writes); they are definite and stop
//! the connector, as Kafka Connect's default `errors.tolerance=none` does.
mod cast;
mod codec;
pub mod config;
mod fields;
mod headers;
mod json_payload;
mod outbox;
mod routing;
mod timestamp;
mod timezone;
pub(crate) mod record;
mod unwrap;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

pub use codec::OutputFormat;
pub use config::{is_transform_property, TransformConfigError, TransformsConfig};
pub(crate) use record::ConnectRecord;

use codec::{Projection, SchemaCache};
use record::SchemaRef;
use config::{PredicateKind, PredicateUse, RegexRoute, TransformKind};
use crate::source::Record;

/// A record the chain cannot transform: definite, it stops the connector.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("a record is not the JSON the encoder writes: {0}")]
    Json(String),
    #[error("transform `{alias}` failed on a record of topic `{topic}`: {reason}")]
    Failed { alias: String, topic: String, reason: String },
}

enum Step {
    Unwrap(unwrap::Unwrap),
    Field(fields::FieldTransform),
    Cast(cast::Cast),
    EventRouter(outbox::EventRouter),
    LogicalTableRouter(routing::LogicalTableRouter),
    TimestampRouter(routing::TimestampRouteConfig),
    TimestampConverter(timestamp::TimestampConverter),
    HeaderToValue(headers::HeaderToValue),
    TimezoneConverter(timezone::TimezoneConverter),
    /// The route, and the routes already computed by input topic (the
    /// regex runs once per topic, not once per record).
    RegexRouter(RegexRoute, HashMap<String, Option<String>>),
    Filter,
}

impl Step {
    fn apply(&mut self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, String> {
        match self {
            Step::Unwrap(unwrap) => unwrap.apply(record),
            Step::Field(transform) => transform.apply(record),
            Step::Cast(transform) => transform.apply(record),
            Step::EventRouter(transform) => transform.apply(record),
            Step::LogicalTableRouter(transform) => transform.apply(record),
            Step::TimestampRouter(config) => {
                routing::route_by_timestamp(config, &mut record)?;
                Ok(Some(record))
            }
            Step::TimestampConverter(transform) => transform.apply(record),
            Step::HeaderToValue(transform) => transform.apply(record),
            Step::TimezoneConverter(transform) => transform.apply(record),
            Step::RegexRouter(route, routed) => {
                let topic = match routed.get(&record.topic) {
                    Some(topic) => topic.clone(),
                    None => {
                        if routed.len() >= 4096 {
                            routed.clear();
                        }
                        let topic = route.apply(&record.topic);
                        routed.insert(record.topic.clone(), topic.clone());
                        topic
                    }
                };
                if let Some(topic) = topic {
                    record.topic = topic;
                }
                Ok(Some(record))
            }
            Step::Filter => Ok(None),
        }
    }
}

/// The configured chain, ready to run (it keeps schema caches, so one
/// chain serves one task).
pub struct TransformChain {
    steps: Vec<(String, Option<PredicateUse>, Step)>,
    predicates: Vec<PredicateKind>,
    cache: SchemaCache,
    format: OutputFormat,
    /// What the first step reads of a value, per value schema (by
    /// pointer; the entry keeps the schema alive), when the first step is
    /// an unconditional ExtractNewRecordState: see [`codec::Projection`].
    projections: HashMap<usize, (SchemaRef, Arc<Projection>)>,
    /// Whether rows stay the encoder's JSON text (see
    /// [`TransformChain::keeps_rows_whole`]).
    raw_rows: bool,
    /// The topic a record had before the step that is running, for that
    /// step's error (a buffer reused from record to record).
    step_topic: String,
}

impl TransformChain {
    /// The chain for a validated configuration; `format` is the user's
    /// converter setting the output is written with.
    pub fn new(config: &TransformsConfig, format: OutputFormat) -> TransformChain {
        let steps = config
            .transforms
            .iter()
            .map(|t| {
                let step = match &t.kind {
                    TransformKind::ExtractNewRecordState(c) => Step::Unwrap(unwrap::Unwrap::new(c.clone())),
                    TransformKind::RegexRouter(route) => Step::RegexRouter(route.clone(), HashMap::new()),
                    TransformKind::Filter => Step::Filter,
                    TransformKind::Field(side, op) => Step::Field(fields::FieldTransform::new(*side, op.clone())),
                    TransformKind::Cast(side, spec) => Step::Cast(cast::Cast::new(*side, spec.clone())),
                    TransformKind::EventRouter(c) => Step::EventRouter(outbox::EventRouter::new(c.clone())),
                    TransformKind::LogicalTableRouter(c) => Step::LogicalTableRouter(routing::LogicalTableRouter::new(c.clone())),
                    TransformKind::TimestampRouter(c) => Step::TimestampRouter(c.clone()),
                    TransformKind::TimestampConverter(side, c) => Step::TimestampConverter(timestamp::TimestampConverter::new(*side, c.clone())),
                    TransformKind::HeaderToValue(c) => Step::HeaderToValue(headers::HeaderToValue::new(c.clone())),
                    TransformKind::TimezoneConverter(c) => Step::TimezoneConverter(timezone::TimezoneConverter::new(c.clone())),
                };
                (t.alias.clone(), t.predicate, step)
            })
            .collect();
        TransformChain {
            steps,
            predicates: config.predicates.iter().map(|p| p.kind.clone()).collect(),
            cache: SchemaCache::default(),
            format,
            projections: HashMap::new(),
            raw_rows: false,
            step_topic: String::new(),
        }
        .with_raw_rows()
    }

    /// Rows stay JSON text when nothing in the chain reads inside them:
    /// an unconditional ExtractNewRecordState in front that keeps rows
    /// whole, followed only by steps that look at topics, headers or
    /// whether a value is null (RegexRouter, InsertHeader, DropHeaders,
    /// Filter and the predicates). Any other step reads or rebuilds the
    /// row, so it gets the row as Connect values.
    fn with_raw_rows(mut self) -> TransformChain {
        let front = matches!(self.steps.first(), Some((_, None, Step::Unwrap(unwrap))) if unwrap.keeps_rows_whole());
        let rest = self.steps.iter().skip(1).all(|(_, _, step)| match step {
            Step::RegexRouter(..) | Step::Filter => true,
            Step::Field(transform) => transform.touches_headers_only(),
            _ => false,
        });
        self.raw_rows = front && rest;
        self
    }

    /// How much of `record`'s value the chain needs read (see
    /// [`codec::Projection`]); all of it unless the first step is an
    /// ExtractNewRecordState without a predicate.
    fn value_projection(&mut self, record: &Record) -> Arc<Projection> {
        let all = || Arc::new(Projection::All);
        let (Some(schemas), Some((_, None, Step::Unwrap(unwrap)))) = (record.schemas.as_deref(), self.steps.first()) else {
            return all();
        };
        let key = Arc::as_ptr(&schemas.value) as usize;
        if let Some((_, projection)) = self.projections.get(&key) {
            return projection.clone();
        }
        if self.projections.len() >= 1024 {
            self.projections.clear();
        }
        let projection = unwrap.envelope_projection(&schemas.value, self.raw_rows).map_or_else(all, Arc::new);
        self.projections.insert(key, (schemas.value.clone(), projection.clone()));
        projection
    }

    fn matches(&self, predicate: PredicateUse, record: &ConnectRecord) -> bool {
        let hit = match &self.predicates[predicate.index] {
            PredicateKind::TopicNameMatches(regex) => regex
                .find(&record.topic)
                .is_some_and(|m| m.start() == 0 && m.end() == record.topic.len()),
            PredicateKind::RecordIsTombstone => record.is_tombstone(),
            PredicateKind::HasHeaderKey(name) => record.header(name).is_some(),
        };
        hit != predicate.negate
    }

    /// Runs one record through the chain (`None`: dropped).
    pub(crate) fn apply_one(&mut self, record: ConnectRecord) -> Result<Option<ConnectRecord>, TransformError> {
        let mut current = record;
        for i in 0..self.steps.len() {
            if let Some(predicate) = self.steps[i].1 {
                if !self.matches(predicate, &current) {
                    continue;
                }
            }
            let (alias, _, step) = &mut self.steps[i];
            // The topic, for the error of a step that can fail.
            self.step_topic.clear();
            if !matches!(step, Step::RegexRouter(..) | Step::Filter) {
                self.step_topic.push_str(&current.topic);
            }
            match step.apply(current) {
                Ok(Some(next)) => current = next,
                Ok(None) => return Ok(None),
                Err(reason) => {
                    return Err(TransformError::Failed {
                        alias: alias.clone(),
                        topic: self.step_topic.clone(),
                        reason,
                    })
                }
            }
        }
        Ok(Some(current))
    }

    /// Transforms a delivery's records in order; dropped records are left
    /// out.
    pub fn apply(&mut self, records: Vec<Record>) -> Result<Vec<Record>, TransformError> {
        let began = Instant::now();
        let count = records.len();
        let mut out = Vec::with_capacity(count);
        for record in records {
            let projection = self.value_projection(&record);
            let change_event = record.change_event;
            let model = codec::decode(&mut self.cache, record, &projection)?;
            if let Some(done) = self.apply_one(model)? {
                // Still a change event, for the rows metric.
                out.push(Record { change_event, ..codec::encode(&mut self.cache, done, self.format) });
            }
        }
        tracing::trace!(records = count, kept = out.len(), micros = began.elapsed().as_micros() as u64, "transformed");
        Ok(out)
    }
}
