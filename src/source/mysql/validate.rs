//! Checks the server before streaming, so a misconfiguration is a definite
//! error that says exactly what to change, instead of wrong data later.
//!
//! Checked, in order: the flavour (MariaDB or MySQL) and version;
//! `log_bin=ON`, `binlog_format=ROW`, `binlog_row_image=FULL`,
//! `binlog_row_metadata=FULL` (without it the binlog has no column names
//! and no signedness, and looking names up in information_schema maps
//! events from before an ALTER to the wrong columns); settings that write
//! events raftcdc cannot decode: MySQL's
//! `binlog_row_value_options=PARTIAL_JSON`; and the
//! connector user's privileges (`REPLICATION SLAVE`, `REPLICATION CLIENT`
//! or MariaDB's `BINLOG MONITOR`, `SELECT`).
use std::collections::HashMap;

use mysql_async::prelude::Queryable;

use super::config::MySqlSourceConfig;
use super::error::{classify, DefiniteError, SourceError, TransientError};
use super::position::{GtidState, MariaGtidList, MySqlGtidSet, SourceOffset};
use super::tls::SslMode;

/// What the checks learned about the server.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub mariadb: bool,
    pub version: String,
    /// MySQL `gtid_mode=ON`; MariaDB always has GTIDs.
    pub gtid_enabled: bool,
    pub checksum: bool,
    pub server_id: u32,
}

/// Opens a connection (for queries, the snapshot or the binlog stream) to
/// the configured server, with TLS as `database.ssl.mode` says (see
/// [`super::tls`]): `preferred` falls back to plaintext only when the
/// server does not offer TLS, never after a failed handshake.
pub async fn connect(config: &MySqlSourceConfig) -> Result<mysql_async::Conn, SourceError> {
    let ssl = config.tls.ssl_opts();
    let encrypted = ssl.is_some();
    match open(config, ssl).await {
        Err(Some(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)))
            if config.tls.mode == SslMode::Preferred =>
        {
            tracing::debug!(host = %config.hostname, port = config.port, "the server offers no TLS; database.ssl.mode=preferred connects in plaintext");
            open(config, None).await.map_err(|e| connect_error(config, e, false))
        }
        // mysql_async 0.37.1 skips the name check by matching rustls' error
        // text, which rustls 0.23 no longer prints; so verify_ca would check
        // the name too. rustls checks the chain before the name, so a name
        // error means the chain is trusted: connect again, verifying against
        // a name the certificate itself presents.
        Err(Some(error)) if config.tls.mode == SslMode::VerifyCa => match presented_name(&error) {
            Some(name) => {
                let ssl = config.tls.ssl_opts().map(|opts| opts.with_danger_tls_hostname_override(Some(name)));
                open(config, ssl).await.map_err(|e| connect_error(config, e, true))
            }
            None => Err(connect_error(config, Some(error), true)),
        },
        other => other.map_err(|e| connect_error(config, e, encrypted)),
    }
}

/// [`connect`], then `database.initial.statements` in order: the
/// connection for queries (schema reads, snapshots, validation), as
/// Debezium runs them on every JDBC connection and never on the binlog
/// reader's. A statement the server refuses is a definite error naming
/// the property; a lost connection is transient.
pub async fn connect_for_queries(config: &MySqlSourceConfig) -> Result<mysql_async::Conn, SourceError> {
    let mut conn = connect(config).await?;
    for (i, statement) in config.initial_statements.iter().enumerate() {
        if let Err(error) = conn.query_drop(statement).await {
            return Err(match error {
                mysql_async::Error::Server(_) => DefiniteError::Query {
                    query: format!("database.initial.statements (statement {})", i + 1),
                    source: error,
                }
                .into(),
                other => TransientError::Connection {
                    position: "database.initial.statements".into(),
                    source: other,
                }
                .into(),
            });
        }
    }
    Ok(conn)
}

/// A name the server's certificate presents, from rustls' name-mismatch
/// error (`DnsName("db.example")`, `IpAddress(10.0.0.5)`); a wildcard
/// becomes a name it covers.
fn presented_name(error: &mysql_async::Error) -> Option<String> {
    let mysql_async::Error::Io(mysql_async::IoError::Io(io)) = error else {
        return None;
    };
    let rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { presented, .. }) =
        io.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    presented.iter().find_map(|name| {
        if let Some(dns) = name.strip_prefix("DnsName(\"").and_then(|n| n.strip_suffix("\")")) {
            Some(match dns.strip_prefix("*.") {
                Some(parent) => format!("wildcard.{parent}"),
                None => dns.to_string(),
            })
        } else {
            name.strip_prefix("IpAddress(").and_then(|n| n.strip_suffix(')')).map(str::to_string)
        }
    })
}

/// One connection attempt; `Err(None)` is a timeout.
async fn open(
    config: &MySqlSourceConfig,
    ssl: Option<mysql_async::SslOpts>,
) -> Result<mysql_async::Conn, Option<mysql_async::Error>> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(config.hostname.clone())
        .tcp_port(config.port)
        .user(Some(config.user.clone()))
        .pass(Some(config.password.expose().to_string()))
        .prefer_socket(false)
        .ssl_opts(ssl);
    match tokio::time::timeout(config.connect_timeout, mysql_async::Conn::new(opts)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(error)) => Err(Some(error)),
        Err(_) => Err(None),
    }
}

/// Whether a connection error is TLS refusing the server (its certificate,
/// our client certificate, the protocol), which no retry can fix.
fn is_tls_failure(error: &mysql_async::Error) -> bool {
    match error {
        mysql_async::Error::Io(mysql_async::IoError::Tls(_)) => true,
        // The handshake's own errors arrive as I/O errors wrapping rustls'.
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
}

fn connect_error(config: &MySqlSourceConfig, error: Option<mysql_async::Error>, encrypted: bool) -> SourceError {
    let host = config.hostname.clone();
    let port = config.port;
    match error {
        Some(error @ mysql_async::Error::Server(_)) => classify(error, "connect", &config.user, config.server_id),
        Some(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)) => {
            DefiniteError::TlsUnavailable {
                host,
                port,
                mode: config.tls.mode.as_str().to_string(),
            }
            .into()
        }
        Some(source) if encrypted && is_tls_failure(&source) => DefiniteError::Tls { host, port, source }.into(),
        Some(source) => TransientError::Connect { host, port, source }.into(),
        None => TransientError::Connect {
            host,
            port,
            source: mysql_async::Error::Other(
                format!("no answer within connect.timeout.ms={}", config.connect_timeout.as_millis()).into(),
            ),
        }
        .into(),
    }
}

pub(super) async fn query<T: mysql_async::prelude::FromRow + Send + 'static>(
    conn: &mut mysql_async::Conn,
    sql: &str,
    config: &MySqlSourceConfig,
) -> Result<Vec<T>, SourceError> {
    conn.query(sql).await.map_err(|e| match classify(e, sql, &config.user, config.server_id) {
        SourceError::Definite(DefiniteError::Query { source, .. }) => DefiniteError::Query {
            query: sql.to_string(),
            source,
        }
        .into(),
        other => other,
    })
}

/// Runs every check; the first failure is returned.
pub async fn validate_server(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
) -> Result<ServerInfo, SourceError> {
    let version: Vec<String> = query(conn, "SELECT VERSION()", config).await?;
    let version = version.into_iter().next().unwrap_or_default();
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let rows: Vec<(String, String)> = query(
        conn,
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', \
         'binlog_row_metadata', 'gtid_mode', 'binlog_checksum', 'server_id', \
         'binlog_row_value_options')",
        config,
    )
    .await?;
    let vars: HashMap<String, String> = rows.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    check_settings(mariadb, &vars)?;
    check_privileges(conn, config).await?;
    let get = |name: &str| vars.get(name).cloned().unwrap_or_default();
    Ok(ServerInfo {
        mariadb,
        version,
        gtid_enabled: mariadb || get("gtid_mode").eq_ignore_ascii_case("ON"),
        checksum: !get("binlog_checksum").eq_ignore_ascii_case("NONE"),
        server_id: get("server_id").parse().unwrap_or(0),
    })
}

/// The binlog settings raftcdc needs, from `SHOW GLOBAL VARIABLES`: ones
/// without which the binlog lacks what exact change events need, and ones
/// that make the server write events raftcdc cannot decode (MySQL's
/// `binlog_row_value_options=PARTIAL_JSON`; the stream refuses those events
/// too, as sessions can set it for themselves).
fn check_settings(mariadb: bool, vars: &HashMap<String, String>) -> Result<(), DefiniteError> {
    let get = |name: &str| vars.get(name).cloned().unwrap_or_default();
    let require = |setting: &str, expected: &str| -> Result<(), DefiniteError> {
        let actual = get(setting);
        if actual.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(DefiniteError::InvalidSystemSetting {
                setting: setting.to_string(),
                expected: expected.to_string(),
                actual: if actual.is_empty() { "(not set)".into() } else { actual },
            })
        }
    };
    require("log_bin", "ON")?;
    require("binlog_format", "ROW")?;
    require("binlog_row_image", "FULL")?;
    require("binlog_row_metadata", "FULL")?;
    let refuse = |setting: &str, expected: &str| DefiniteError::InvalidSystemSetting {
        setting: setting.to_string(),
        expected: expected.to_string(),
        actual: get(setting),
    };
    if !mariadb && get("binlog_row_value_options").to_ascii_uppercase().contains("PARTIAL_JSON") {
        return Err(refuse("binlog_row_value_options", "''"));
    }
    Ok(())
}

async fn check_privileges(conn: &mut mysql_async::Conn, config: &MySqlSourceConfig) -> Result<(), SourceError> {
    let grants: Vec<String> = query(conn, "SHOW GRANTS FOR CURRENT_USER()", config).await?;
    let global: Vec<String> = grants
        .iter()
        .filter(|g| g.contains(" ON *.* "))
        .map(|g| g.to_ascii_uppercase())
        .collect();
    let has = |privilege: &str| {
        global
            .iter()
            .any(|g| g.contains("ALL PRIVILEGES") || g.contains(privilege))
    };
    let mut missing = Vec::new();
    if !has("REPLICATION SLAVE") {
        missing.push("REPLICATION SLAVE".to_string());
    }
    if !(has("REPLICATION CLIENT") || has("BINLOG MONITOR") || has("SUPER")) {
        missing.push("REPLICATION CLIENT".to_string());
    }
    let select_anywhere = grants.iter().any(|g| {
        let g = g.to_ascii_uppercase();
        g.contains("ALL PRIVILEGES") || g.contains("SELECT")
    });
    if !select_anywhere {
        missing.push("SELECT".to_string());
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DefiniteError::MissingPrivileges {
            user: config.user.clone(),
            missing,
        }
        .into())
    }
}

/// The server's current end of binlog, as an offset at a transaction
/// boundary (where `snapshot.mode=no_data` starts streaming).
pub async fn current_offset(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
    server: &ServerInfo,
) -> Result<SourceOffset, SourceError> {
    let (file, pos, executed) = master_status(conn, config).await?;
    let executed = if server.mariadb { None } else { executed };
    offset_at(conn, config, server, file, pos, executed).await
}

/// `SHOW MASTER STATUS`: the current binlog file and position, and (MySQL)
/// the executed GTID set.
pub async fn master_status(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
) -> Result<(String, u64, Option<String>), SourceError> {
    let status: Vec<mysql_async::Row> = query(conn, "SHOW MASTER STATUS", config).await?;
    let row = status.into_iter().next().ok_or_else(|| DefiniteError::InvalidSystemSetting {
        setting: "log_bin".into(),
        expected: "ON".into(),
        actual: "no binary log (SHOW MASTER STATUS is empty)".into(),
    })?;
    Ok((row.get(0).unwrap_or_default(), row.get(1).unwrap_or(4), row.get(4)))
}

/// The offset at `file:pos`, with the GTID state matching exactly that
/// position (MariaDB: `BINLOG_GTID_POS`; MySQL: the executed GTID set read
/// at the same time as the position, `mysql_executed`).
pub async fn offset_at(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
    server: &ServerInfo,
    file: String,
    pos: u64,
    mysql_executed: Option<String>,
) -> Result<SourceOffset, SourceError> {
    let gtids = if server.mariadb {
        // The GTID state matching exactly that file and position (reading
        // @@gtid_binlog_pos separately could race with a commit).
        let sql = format!("SELECT BINLOG_GTID_POS('{}', {pos})", file.replace('\'', ""));
        let state: Vec<Option<String>> = query(conn, &sql, config).await?;
        let list = MariaGtidList::parse(&state.into_iter().next().flatten().unwrap_or_default())?;
        Some(GtidState::MariaDb(list))
    } else if server.gtid_enabled {
        Some(GtidState::MySql(MySqlGtidSet::parse(&mysql_executed.unwrap_or_default())?))
    } else {
        None
    };
    Ok(SourceOffset::at(file, pos, gtids, server.server_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_error(presented: &[&str]) -> mysql_async::Error {
        let error = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
            expected: rustls_pki_types::ServerName::try_from("10.0.0.9").unwrap(),
            presented: presented.iter().map(|name| name.to_string()).collect(),
        });
        mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            error,
        )))
    }

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars: HashMap<String, String> = [
            ("log_bin", "ON"),
            ("binlog_format", "ROW"),
            ("binlog_row_image", "FULL"),
            ("binlog_row_metadata", "FULL"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }

    fn refused_setting(mariadb: bool, pairs: &[(&str, &str)]) -> Option<String> {
        match check_settings(mariadb, &vars(pairs)) {
            Ok(()) => None,
            Err(DefiniteError::InvalidSystemSetting { setting, .. }) => Some(setting),
            Err(other) => panic!("{other}"),
        }
    }

    /// Settings that make the server write events raftcdc cannot decode
    /// are refused at start. (MySQL-only variables: no MySQL server can be
    /// installed here, so these are checked on the variables alone.)
    #[test]
    fn settings_that_write_undecodable_events_are_refused() {
        assert_eq!(refused_setting(false, &[]), None);
        // TRANSACTION_PAYLOAD events are read (the reader's unit tests).
        assert_eq!(refused_setting(false, &[("binlog_transaction_compression", "ON")]), None);
        assert_eq!(refused_setting(false, &[("binlog_row_value_options", "PARTIAL_JSON")]).as_deref(), Some("binlog_row_value_options"));
        assert_eq!(refused_setting(false, &[("binlog_row_value_options", "")]), None);
        // MariaDB's compressed events are inflated ([`super::super::compressed`]).
        assert_eq!(refused_setting(true, &[("log_bin_compress", "ON")]), None);
        assert_eq!(refused_setting(true, &[("binlog_row_metadata", "MINIMAL")]).as_deref(), Some("binlog_row_metadata"));
    }

    /// What verify_ca reconnects with when only the name did not match.
    #[test]
    fn presented_names() {
        let name = |presented: &[&str]| presented_name(&name_error(presented));
        assert_eq!(name(&["DnsName(\"db.example\")"]).as_deref(), Some("db.example"));
        assert_eq!(name(&["IpAddress(10.0.0.5)"]).as_deref(), Some("10.0.0.5"));
        assert_eq!(name(&["DnsName(\"*.db.example\")"]).as_deref(), Some("wildcard.db.example"));
        assert_eq!(name(&["Unsupported", "IpAddress(::1)"]).as_deref(), Some("::1"));
        assert_eq!(name(&[]), None);
        let unknown_issuer = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        )));
        assert_eq!(presented_name(&unknown_issuer), None);
    }
}
