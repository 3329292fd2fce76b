//! The source's error model: every failure is either transient or definite.
//!
//! - [`TransientError`]: the network, a server restart, a stream that ended
//!   or went silent (no event and no heartbeat within
//!   `raftcdc.binlog.read.timeout.ms`: a dead link or a frozen server).
//!   The connector reconnects with backoff and resumes from the last
//!   committed offset; nothing is lost because nothing past that offset was
//!   committed.
//! - [`DefiniteError`]: retrying cannot help (the binlog at the offset was
//!   purged, a server setting is wrong, a privilege is missing, an event
//!   cannot be decoded: [`DefiniteError::RowsEvent`], unless
//!   `event.processing.failure.handling.mode` skips it, see
//!   [`super::event_failure`]). The connector stops, and its status carries the
//!   error and a remedy ([`DefiniteError::remedy`]) until an operator acts.
//!
//! Errors carry the binlog position where one is known, and never the
//! password.
use super::decode::DecodeError;
use super::position::PositionError;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Transient(#[from] TransientError),
    #[error(transparent)]
    Definite(#[from] DefiniteError),
}

#[derive(Debug, thiserror::Error)]
pub enum TransientError {
    #[error("cannot connect to {host}:{port}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: mysql_async::Error,
    },
    #[error("lost the connection to the server at {position}")]
    Connection {
        position: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("the server ended the binlog stream at {position}")]
    StreamEnded { position: String },
    #[error("no server of database.hostname can be read now: {tried}")]
    NoServer { tried: String },
    #[error("no binlog event or heartbeat for {waited_ms} ms at {position} (raftcdc.binlog.read.timeout.ms): the link or the server is dead")]
    Silent { position: String, waited_ms: u64 },
    #[error("the server did not answer within {waited_ms} ms while {doing} (connect.timeout.ms + raftcdc.binlog.read.timeout.ms)")]
    NoAnswer { doing: &'static str, waited_ms: u64 },
    #[error("a snapshot reader (snapshot.max.threads) stopped before `{db}`.`{table}` was read; the snapshot resumes from its last committed chunk")]
    SnapshotReaderStopped { db: String, table: String },
    #[error("another replica connected with database.server.id={server_id} and took over the binlog stream")]
    ServerIdTaken {
        server_id: u32,
        #[source]
        source: mysql_async::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DefiniteError {
    #[error("server setting {setting} is {actual:?}; raftcdc needs {expected}")]
    InvalidSystemSetting {
        setting: String,
        expected: String,
        actual: String,
    },
    #[error("user {user} lacks the privileges {missing:?}")]
    MissingPrivileges { user: String, missing: Vec<String> },
    #[error("TLS with {host}:{port} failed (database.ssl.*)")]
    Tls {
        host: String,
        port: u16,
        #[source]
        source: mysql_async::Error,
    },
    #[error("the server at {host}:{port} does not offer TLS, which database.ssl.mode={mode} requires")]
    TlsUnavailable { host: String, port: u16, mode: String },
    #[error("the server refused the login of user {user}")]
    AccessDenied {
        user: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("the binlog at {position} is no longer available on the server")]
    BinlogNotAvailable {
        position: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("binlog event {name} (type {event_type}) at {position} cannot be turned into exact change events")]
    UnsupportedEvent {
        event_type: u8,
        name: &'static str,
        remedy: &'static str,
        position: String,
    },
    #[error("{server} lacks transactions raftcdc delivered: {missing}")]
    MissingTransactions { server: String, missing: String },
    #[error("{server} has transactions outside the delivered history that raftcdc would skip: {errant}")]
    ErrantTransactions { server: String, errant: String },
    #[error("the offset has no GTIDs (read from server_id {from}), so it cannot resume on {server} (server_id {to})")]
    SwitchWithoutGtids { server: String, from: u32, to: u32 },
    #[error("the TRANSACTION_PAYLOAD at {position} ended without its transaction's commit, or could not be decompressed")]
    UnterminatedPayload { position: String },
    #[error("transaction {id} has rows but no end (COMMIT, XID or ROLLBACK) before the next transaction at {position}")]
    UnterminatedTransaction { id: String, position: String },
    #[error("transaction {id} rolled back (at {position}) rows of it that were already delivered")]
    RolledBackAfterDelivery { id: String, position: String },
    #[error("cannot decode the binlog at {position}")]
    Decode {
        position: String,
        #[source]
        source: DecodeError,
    },
    #[error("cannot encode the event at {position}")]
    Encode {
        position: String,
        #[source]
        source: crate::envelope::EncodeError,
    },
    #[error("the rows event at {position} for table {table} cannot be processed (event.processing.failure.handling.mode=fail)")]
    RowsEvent {
        position: String,
        table: String,
        #[source]
        source: RowsEventError,
    },
    #[error("cannot parse the binlog at {position}")]
    Parse {
        position: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the committed offset is invalid")]
    InvalidOffset(#[from] PositionError),
    #[error("{position}: a value does not fit its column")]
    SnapshotValue {
        position: String,
        #[source]
        source: super::table_schema::ValueError,
    },
    #[error("server query failed: {query}")]
    Query {
        query: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("gave up after {retries} retries (errors.max.retries={retries})")]
    RetriesExhausted {
        retries: u64,
        #[source]
        source: TransientError,
    },
}

impl DefiniteError {
    /// What the operator should do.
    pub fn remedy(&self) -> String {
        match self {
            DefiniteError::InvalidSystemSetting { setting, expected, .. } => format!(
                "run SET GLOBAL {setting}={expected} on the server (and set it in its config file), then `raftcdc connector restart`"
            ),
            DefiniteError::MissingPrivileges { user, missing } => format!(
                "run GRANT {} ON *.* TO {user}, then `raftcdc connector restart`",
                missing.join(", ")
            ),
            DefiniteError::AccessDenied { .. } => {
                "check database.user and database.password (and database.ssl.mode, if the account REQUIREs SSL or X509), then `raftcdc connector update`".into()
            }
            DefiniteError::Tls { .. } => {
                "check that database.ssl.truststore holds the CA that signed the server's certificate, that the certificate is current and (verify_identity) names database.hostname, and that database.ssl.keystore is a client certificate the server accepts; then `raftcdc connector restart`".into()
            }
            DefiniteError::TlsUnavailable { .. } => {
                "give the server a certificate (ssl_cert, ssl_key), or set database.ssl.mode=preferred or disabled with `raftcdc connector update`".into()
            }
            DefiniteError::BinlogNotAvailable { .. } => "the server purged the binlog past the connector's offset: re-snapshot (snapshot.mode=when_needed), or set a new offset with `raftcdc connector offsets set` while paused and accept the gap".into(),
            DefiniteError::UnsupportedEvent { remedy, .. } => (*remedy).into(),
            DefiniteError::MissingTransactions { .. } => {
                "this server is behind the one the connector read from: let it catch up (or point database.hostname at a server that has these transactions), then `raftcdc connector restart`; never move the offset back, consumers already have these changes".into()
            }
            DefiniteError::ErrantTransactions { .. } => {
                "these transactions were written on this server outside the replicated history (a write on a replica): check them and replay them on the primary if they matter, or remove them from the replica's binlog (rebuild it from the primary); with gtid_strict_mode=ON replicas refuse such writes. Then `raftcdc connector restart`".into()
            }
            DefiniteError::SwitchWithoutGtids { .. } => {
                "enable GTIDs (gtid_mode=ON, enforce_gtid_consistency=ON) so the position means the same on every server, or set an offset for this server with `raftcdc connector offsets set`".into()
            }
            DefiniteError::UnterminatedPayload { .. } => {
                "report the MySQL version and the binlog position; until then SET GLOBAL binlog_transaction_compression=OFF and set an offset after this transaction with `raftcdc connector offsets set`".into()
            }
            DefiniteError::UnterminatedTransaction { .. } => {
                "report the server version and the binlog position; the binlog group is not one raftcdc knows how to end".into()
            }
            DefiniteError::RolledBackAfterDelivery { .. } => {
                "a transaction larger than max.batch.size was partly delivered before its ROLLBACK (or ROLLBACK TO SAVEPOINT) was read; the delivered part did not happen. Raise max.batch.size above the largest transaction that can roll back, check the consumers of the rows already delivered, and set an offset after this transaction with `raftcdc connector offsets set`".into()
            }
            DefiniteError::Decode { .. } | DefiniteError::Parse { .. } | DefiniteError::Encode { .. } => {
                "check binlog_row_metadata=FULL and binlog_row_image=FULL; report the event position if they are set".into()
            }
            DefiniteError::RowsEvent { .. } => {
                "the event's rows cannot be delivered as Debezium represents them. Correct the data at the source for the future (e.g. an impossible date stored under ALLOW_INVALID_DATES); to skip this event and go on, set event.processing.failure.handling.mode=warn (its rows are then not delivered, and connector status counts it) with `raftcdc connector update`. If binlog_row_metadata=FULL and binlog_row_image=FULL and the data is valid, report the event position".into()
            }
            DefiniteError::InvalidOffset(_) => {
                "pause the connector and fix its offset with `raftcdc connector offsets set`".into()
            }
            DefiniteError::SnapshotValue { .. } => {
                "report this as a bug with the column's type; meanwhile exclude the column with column.exclude.list".into()
            }
            DefiniteError::Query { .. } => "check the server and the connector user's privileges".into(),
            DefiniteError::RetriesExhausted { .. } => "make the database reachable, then `raftcdc connector restart`; or raise errors.max.retries (-1: retry without limit) with `raftcdc connector update`".into(),
        }
    }
}

impl SourceError {
    /// The binlog position (`file:pos`) the error happened at, where known,
    /// for structured logs.
    pub fn position(&self) -> Option<&str> {
        match self {
            SourceError::Transient(e) => e.position(),
            SourceError::Definite(e) => e.position(),
        }
    }
}

impl TransientError {
    /// See [`SourceError::position`].
    pub fn position(&self) -> Option<&str> {
        match self {
            TransientError::Connection { position, .. }
            | TransientError::StreamEnded { position }
            | TransientError::Silent { position, .. } => Some(position),
            TransientError::Connect { .. }
            | TransientError::ServerIdTaken { .. }
            | TransientError::NoAnswer { .. }
            | TransientError::NoServer { .. }
            | TransientError::SnapshotReaderStopped { .. } => None,
        }
    }
}

impl DefiniteError {
    /// See [`SourceError::position`].
    pub fn position(&self) -> Option<&str> {
        match self {
            DefiniteError::BinlogNotAvailable { position, .. }
            | DefiniteError::UnsupportedEvent { position, .. }
            | DefiniteError::UnterminatedTransaction { position, .. }
            | DefiniteError::UnterminatedPayload { position }
            | DefiniteError::RolledBackAfterDelivery { position, .. }
            | DefiniteError::Decode { position, .. }
            | DefiniteError::Encode { position, .. }
            | DefiniteError::RowsEvent { position, .. }
            | DefiniteError::Parse { position, .. } => Some(position),
            _ => None,
        }
    }
}

/// Why a rows event cannot be processed (see [`super::event_failure`]).
#[derive(Debug, thiserror::Error)]
pub enum RowsEventError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Encode(#[from] crate::envelope::EncodeError),
    #[error("no table map describes table id {table_id}, so its schema is unknown (was the offset set inside a transaction?)")]
    UnknownTable { table_id: u64 },
    #[error("{reason}")]
    UnreadableTable { reason: String },
}

/// MariaDB/MySQL server error codes the source tells apart.
pub mod codes {
    pub const ACCESS_DENIED: u16 = 1045;
    pub const BINLOG_NOT_AVAILABLE: u16 = 1236;
    pub const SLAVE_SAME_ID: u16 = 4052;
}

/// Classifies an error from a connection or stream at `position`.
pub fn classify(error: mysql_async::Error, position: &str, user: &str, server_id: u32) -> SourceError {
    match &error {
        mysql_async::Error::Server(server) => match server.code {
            codes::ACCESS_DENIED => DefiniteError::AccessDenied {
                user: user.to_string(),
                source: error,
            }
            .into(),
            codes::BINLOG_NOT_AVAILABLE => DefiniteError::BinlogNotAvailable {
                position: position.to_string(),
                source: error,
            }
            .into(),
            codes::SLAVE_SAME_ID => TransientError::ServerIdTaken { server_id, source: error }.into(),
            // Server shutdown and connection kills surface as server errors too.
            1053 | 1927 | 2006 | 2013 => TransientError::Connection {
                position: position.to_string(),
                source: error,
            }
            .into(),
            _ => DefiniteError::Query {
                query: format!("binlog stream at {position}"),
                source: error,
            }
            .into(),
        },
        _ => TransientError::Connection {
            position: position.to_string(),
            source: error,
        }
        .into(),
    }
}

impl From<PositionError> for SourceError {
    fn from(error: PositionError) -> SourceError {
        DefiniteError::InvalidOffset(error).into()
    }
}
