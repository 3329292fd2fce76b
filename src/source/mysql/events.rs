//! What each binlog event type and each statement the binlog logs as text
//! means to the reader ([`super::reader`]).
//!
//! Every event type is classified (`event_class`): read, skipped as
//! bookkeeping (it carries nothing a row-based change stream needs), one
//! of MariaDB's compressed events (inflated by [`super::compressed`]), or refused with a definite error that
//! names it and what to change (`refusal`). Nothing falls through a
//! catch-all: an unread event that carries or ends rows would lose or
//! invent changes. MySQL-only types (XA_PREPARE 38, PARTIAL_UPDATE_ROWS 39,
//! TRANSACTION_PAYLOAD 40, read) cannot be produced here (no MySQL server can be
//! installed), so the reader's byte-level unit tests build them.
use super::error::{DefiniteError, SourceError};

pub(super) const QUERY_EVENT: u8 = 2;
pub(super) const ROTATE_EVENT: u8 = 4;
pub(super) const FORMAT_DESCRIPTION_EVENT: u8 = 15;
pub(super) const XID_EVENT: u8 = 16;
pub(super) const TABLE_MAP_EVENT: u8 = 19;
pub(super) const HEARTBEAT_EVENT: u8 = 27;
pub(super) const MYSQL_GTID_EVENT: u8 = 33;
pub(super) const MYSQL_ANONYMOUS_GTID_EVENT: u8 = 34;
pub(super) const MARIADB_ANNOTATE_ROWS_EVENT: u8 = 160;
pub(super) const MARIADB_GTID_EVENT: u8 = 162;
pub(super) const XA_PREPARE_EVENT: u8 = 38;
pub(super) const TRANSACTION_PAYLOAD_EVENT: u8 = 40;
/// MariaDB GTID event flag: the group is an XA transaction's prepare.
pub(super) const MARIADB_FL_PREPARED_XA: u8 = 64;

pub(super) fn is_rows_event(event_type: u8) -> bool {
    matches!(event_type, 23..=25 | 30..=32)
}

/// Whether an event type can be inside a MySQL TRANSACTION_PAYLOAD: the
/// events of one transaction (BEGIN and other statements, table maps, rows,
/// the rows query, XID); a GTID, rotation or another payload cannot.
pub(super) fn is_payload_content(event_type: u8) -> bool {
    matches!(event_type, QUERY_EVENT | XID_EVENT | TABLE_MAP_EVENT | 29) || is_rows_event(event_type)
}

/// What the reader does with an event type. Every type is named here: one
/// that is neither read nor known to carry nothing raftcdc needs is
/// refused, because skipping it could lose or invent rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventClass {
    /// Read by the reader.
    Read,
    /// Carries nothing a row-based change stream needs.
    Skipped,
    /// MariaDB's compressed events (`log_bin_compress=ON`).
    Compressed,
    /// Cannot be turned into exact change events: a definite error.
    Refused,
}

pub(super) fn event_class(event_type: u8) -> EventClass {
    use EventClass::*;
    match event_type {
        QUERY_EVENT | ROTATE_EVENT | FORMAT_DESCRIPTION_EVENT | XID_EVENT | TABLE_MAP_EVENT | HEARTBEAT_EVENT
        | MYSQL_GTID_EVENT | MYSQL_ANONYMOUS_GTID_EVENT | MARIADB_ANNOTATE_ROWS_EVENT | MARIADB_GTID_EVENT
        | TRANSACTION_PAYLOAD_EVENT => Read,
        t if is_rows_event(t) => Read,
        // STOP; INTVAR, RAND, USER_VAR (context of statements logged as
        // text, which are DDL in row format); IGNORABLE, ROWS_QUERY (MySQL's
        // annotate), PREVIOUS_GTIDS, TRANSACTION_CONTEXT, VIEW_CHANGE
        // (group replication bookkeeping), HEARTBEAT_V2; MariaDB's binlog
        // checkpoint, GTID list and start-encryption (the dump thread sends
        // the events decrypted).
        3 | 5 | 13 | 14 | 28 | 29 | 35 | 36 | 37 | 41 | 161 | 163 | 164 => Skipped,
        165..=171 => Compressed,
        _ => Refused,
    }
}

/// The definite error for a refused event type at `position`.
pub(super) fn refused(event_type: u8, position: String) -> SourceError {
    let (name, remedy) = refusal(event_type);
    DefiniteError::UnsupportedEvent {
        event_type,
        name,
        remedy,
        position,
    }
    .into()
}

/// The name of a refused event type and what to change on the server (or
/// in the workload) so it is not written.
pub(super) fn refusal(event_type: u8) -> (&'static str, &'static str) {
    match event_type {
        1 => ("START_EVENT_V3", "use a server that writes binlog format v4 (MySQL 5.0+ or MariaDB)"),
        6..=12 | 17 | 18 => ("LOAD_DATA (statement-based)", "set binlog_format=ROW for every session (SET GLOBAL binlog_format=ROW and make sure no session overrides it)"),
        20..=22 => ("PRE_GA_ROWS", "use a server that writes v1/v2 rows events (MySQL 5.1.18+ or MariaDB)"),
        26 => ("INCIDENT", "the server recorded lost events in the binlog, so changes are missing from it: take a new snapshot (snapshot.mode=when_needed or always) or set a new offset past the incident with `raftcdc connector offsets set`"),
        38 => ("XA_PREPARE", "raftcdc cannot deliver two-phase XA transactions exactly once (their rows are prepared in one binlog group and committed or rolled back in a later one): commit XA transactions with XA COMMIT ... ONE PHASE or use ordinary transactions, then set an offset after this transaction with `raftcdc connector offsets set`"),
        39 => ("PARTIAL_UPDATE_ROWS", "run SET GLOBAL binlog_row_value_options='' (partial JSON updates carry only a diff of the row); events written while it was set cannot be read"),
        42 => ("GTID_TAGGED", "stop using tagged GTIDs (gtid_next=AUTOMATIC:<tag>); raftcdc reads untagged MySQL GTIDs only"),
        _ => ("UNKNOWN", "report the server version and event type; raftcdc does not know this event"),
    }
}

/// A savepoint statement as the binlog holds it (`SAVEPOINT `s``,
/// `ROLLBACK TO `s``, `RELEASE SAVEPOINT `s``).
#[derive(Debug, PartialEq)]
pub(super) enum SavepointStatement {
    Set(String),
    RollbackTo(String),
    Release(String),
}

pub(super) fn savepoint_statement(sql: &str) -> Option<SavepointStatement> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let name = |i: usize| -> Option<String> {
        let rest = words.get(i..)?.join(" ");
        let name = rest.trim().trim_end_matches(';').trim();
        let name = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')).map(|n| n.replace("``", "`")).unwrap_or_else(|| name.to_string());
        (!name.is_empty()).then(|| name.to_lowercase())
    };
    match upper.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["SAVEPOINT", ..] => name(1).map(SavepointStatement::Set),
        ["ROLLBACK", "WORK", "TO", "SAVEPOINT", ..] => name(4).map(SavepointStatement::RollbackTo),
        ["ROLLBACK", "TO", "SAVEPOINT", ..] | ["ROLLBACK", "WORK", "TO", ..] => name(3).map(SavepointStatement::RollbackTo),
        ["ROLLBACK", "TO", ..] => name(2).map(SavepointStatement::RollbackTo),
        ["RELEASE", "SAVEPOINT", ..] => name(2).map(SavepointStatement::Release),
        _ => None,
    }
}

pub(super) fn format_uuid(sid: &[u8; 16]) -> String {
    let hex: String = sid.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `XA COMMIT xid` / `XA ROLLBACK xid`: MariaDB logs them as a group of
/// their own, after the XA PREPARE group.
pub(super) fn is_xa_end_of_group(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("XA COMMIT") || upper.starts_with("XA ROLLBACK")
}

/// Statements that are not schema changes (MariaDB logs some as QUERY
/// events in row format: SAVEPOINT, XA, FLUSH...).
pub(super) fn is_transaction_noise(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    ["SAVEPOINT", "ROLLBACK", "RELEASE", "XA ", "FLUSH", "# ", "DUMMY"]
        .iter()
        .any(|p| upper.starts_with(p))
}

/// `TRUNCATE [TABLE] [db.]table` → (db, table).
pub(super) fn truncated_table(default_db: &str, sql: &str) -> Option<(String, String)> {
    let mut words = sql.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("TRUNCATE") {
        return None;
    }
    let mut name = words.next()?;
    if name.eq_ignore_ascii_case("TABLE") {
        name = words.next()?;
    }
    let name = name.trim_end_matches(';').replace('`', "");
    match name.split_once('.') {
        Some((db, table)) => Some((db.to_string(), table.to_string())),
        None => Some((default_db.to_string(), name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoint_statements_as_the_binlog_writes_them() {
        use SavepointStatement::*;
        assert_eq!(savepoint_statement("SAVEPOINT `s`"), Some(Set("s".into())));
        assert_eq!(savepoint_statement("ROLLBACK TO `S`"), Some(RollbackTo("s".into())));
        assert_eq!(savepoint_statement("ROLLBACK TO SAVEPOINT `a b`"), Some(RollbackTo("a b".into())));
        assert_eq!(savepoint_statement("ROLLBACK WORK TO SAVEPOINT x"), Some(RollbackTo("x".into())));
        assert_eq!(savepoint_statement("RELEASE SAVEPOINT `s`"), Some(Release("s".into())));
        assert_eq!(savepoint_statement("ROLLBACK"), None);
        assert_eq!(savepoint_statement("ALTER TABLE t ADD c INT"), None);
    }
    #[test]
    fn truncate_statements() {
        assert_eq!(truncated_table("db", "TRUNCATE TABLE t1"), Some(("db".into(), "t1".into())));
        assert_eq!(truncated_table("db", "truncate `other`.`t2`;"), Some(("other".into(), "t2".into())));
        assert_eq!(truncated_table("db", "ALTER TABLE t ADD c INT"), None);
    }
    #[test]
    fn uuid_format() {
        let sid = [0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62];
        assert_eq!(format_uuid(&sid), "3e11fa47-71ca-11e1-9e33-c80aa9429562");
    }
}
