//! The connector front door: everything a connector definition is, and the
//! one place it is accepted or refused.
//!
//! - [`properties`]: the property map every layer holds ([`Properties`],
//!   whose `Debug` masks secrets), the secret rule, and prefix matching.
//! - [`catalog`]: every property a Debezium MySQL or Kafka Connect
//!   connector config can carry and raftcdc's answer to it (implemented,
//!   accepted with no effect, refused); the validator, the status
//!   warnings, the REST plugin definitions and `docs/properties.md` all
//!   read it.
//! - `spec`: Debezium's Kafka Connect REST payload, name and config,
//!   validated ([`ConnectorSpec`]).
//! - `config`: [`ConnectorConfig::parse`], which builds the source and sink
//!   configurations together from one property map and lists the accepted
//!   properties that have no effect.
//!
//! # Why one front door
//! A connector's config is validated before it is proposed to Raft (the
//! state machine must replay old entries the same way forever, so it never
//! interprets properties; see [`crate::raft::state`]). Create and update
//! call [`ConnectorConfig::parse`]; the task calls the same function when
//! it starts. So nothing create accepts can fail later for a reason create
//! could have seen: what is left for the task are facts of the node it runs
//! on (its Kafka bootstrap servers, the TLS files on its disk) and of the
//! outside world (the database and the broker).
pub mod catalog;
pub mod properties;

mod config;
mod spec;

pub use config::{ConnectorConfig, PropertyWarning};
pub use properties::{is_secret, Properties, REDACTED};
pub use spec::{ConnectorSpec, SpecError};
