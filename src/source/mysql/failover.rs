//! Reading from another server than last time (a failover, a replica):
//! what must be true before the stream may start there.
//!
//! # The rule
//! The committed offset names the server it was read from (`server_id`)
//! and every transaction delivered (`gtids`). A candidate with another
//! `@@server_id` is used only if:
//!
//! 1. **It has everything delivered.** MariaDB: for every domain `d` of the
//!    offset, whose last delivered GTID is `d-S-N`, the candidate's
//!    `@@gtid_binlog_state` holds server `S` in domain `d` at `N` or later.
//!    MySQL: the offset's GTID set is a subset of `@@gtid_executed`.
//!    Otherwise the candidate lacks transactions raftcdc delivered: a
//!    definite error naming them ([`DefiniteError::MissingTransactions`]).
//! 2. **It has nothing raftcdc would skip** (MariaDB). The stream resumes
//!    after `d-S-N` in each domain, so a transaction the candidate wrote
//!    itself (its own server id) in domain `d` at sequence `N` or lower is
//!    in its binlog but would never be read: an errant transaction, a
//!    definite error naming it ([`DefiniteError::ErrantTransactions`]).
//!    MySQL's GTID dump sends every transaction outside the offset's set,
//!    so nothing is skipped there.
//! 3. **Its binlog holds the next event.** Checked by the server itself:
//!    the dump request fails with the purged-binlog error if not.
//! 4. **It logs what it replicates.** A server that has replicated
//!    (`@@gtid_slave_pos` is set on MariaDB; any switch target on MySQL,
//!    where raftcdc does not look at replication status) needs
//!    `log_slave_updates=ON` (`log_replica_updates` on MySQL), or its
//!    binlog lacks the replicated changes; this is checked for every
//!    server, switch or not.
//!
//! An offset without GTIDs (MySQL with `gtid_mode=OFF`) names a file and
//! position of one server only; it cannot move to another server.
//!
//! # Why it is correct
//! The Kafka progress record and the Raft offset are GTID-based, and the
//! stream asks for "everything after these GTIDs", so a candidate passing
//! 1 and 2 sends exactly the transactions not delivered: none twice (1),
//! none lost (2, 3). The MariaDB rule relies on sequence numbers of one
//! server rising within a domain, which `gtid_strict_mode=ON` guarantees
//! (and MariaDB keeps without it unless transactions are injected
//! out of order).
use super::config::MySqlSourceConfig;
use super::error::{DefiniteError, SourceError};
use super::position::{GtidState, MySqlGtidSet};
use super::validate::{self, ServerInfo};

/// What a candidate server says about its GTIDs and replication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidate {
    /// `host:port`, for messages.
    pub address: String,
    pub server_id: u32,
    /// MariaDB `@@gtid_binlog_state`: `(domain, server, seq)` for each
    /// server that wrote in each domain.
    pub binlog_state: Vec<(u32, u32, u64)>,
    /// MySQL `@@gtid_executed`.
    pub executed: Option<MySqlGtidSet>,
    /// MariaDB: `@@gtid_slave_pos` is not empty (it has replicated).
    pub replicated: bool,
    pub log_slave_updates: bool,
}

/// Parses `domain-server-seq,...` (several servers per domain allowed).
pub fn parse_state(text: &str) -> Result<Vec<(u32, u32, u64)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let numbers: Vec<&str> = part.split('-').collect();
            match numbers.as_slice() {
                [d, s, n] => match (d.parse(), s.parse(), n.parse()) {
                    (Ok(d), Ok(s), Ok(n)) => Ok((d, s, n)),
                    _ => Err(format!("\"{part}\" is not a MariaDB GTID")),
                },
                _ => Err(format!("\"{part}\" is not a MariaDB GTID")),
            }
        })
        .collect()
}

/// Reads the candidate's GTID state and replication settings.
pub async fn read_candidate(
    conn: &mut mysql_async::Conn,
    config: &MySqlSourceConfig,
    server: &ServerInfo,
) -> Result<Candidate, SourceError> {
    let address = format!("{}:{}", config.hostname, config.port);
    let mut candidate = Candidate { address, server_id: server.server_id, ..Candidate::default() };
    if server.mariadb {
        let rows: Vec<(String, String, u8)> = validate::query(
            conn,
            "SELECT @@gtid_binlog_state, @@gtid_slave_pos, @@log_slave_updates",
            config,
        )
        .await?;
        let (state, slave_pos, log_slave_updates) = rows.into_iter().next().unwrap_or_default();
        candidate.binlog_state = parse_state(&state).map_err(|e| DefiniteError::Query {
            query: format!("@@gtid_binlog_state: {e}"),
            source: mysql_async::Error::Other(e.into()),
        })?;
        candidate.replicated = !slave_pos.trim().is_empty();
        candidate.log_slave_updates = log_slave_updates == 1;
    } else {
        let executed: Vec<String> = validate::query(conn, "SELECT @@gtid_executed", config).await?;
        candidate.executed = Some(MySqlGtidSet::parse(&executed.concat()).map_err(DefiniteError::from)?);
        // `log_replica_updates` since 8.0.26; the old name before (and as
        // an alias while it lasts): whichever the server has.
        let vars: Vec<(String, String)> = validate::query(
            conn,
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_replica_updates', 'log_slave_updates')",
            config,
        )
        .await?;
        candidate.log_slave_updates = vars.iter().any(|(_, v)| v.eq_ignore_ascii_case("ON") || v == "1");
    }
    Ok(candidate)
}

/// Rule 4, for every server: one that has replicated must log what it
/// replicates.
pub fn check_logs_replicated(mariadb: bool, candidate: &Candidate) -> Result<(), DefiniteError> {
    if candidate.replicated && !candidate.log_slave_updates {
        return Err(DefiniteError::InvalidSystemSetting {
            setting: if mariadb { "log_slave_updates" } else { "log_replica_updates" }.into(),
            expected: "ON".into(),
            actual: format!("OFF on {} (a replica: its binlog lacks what it replicates)", candidate.address),
        });
    }
    Ok(())
}

/// Rules 1, 2 and 4 for a candidate that is not the server `offset_server`
/// the offset was read from; `gtids` is the offset's GTID state.
pub fn check_switch(
    offset_server: u32,
    gtids: Option<&GtidState>,
    candidate: &Candidate,
) -> Result<(), DefiniteError> {
    let server = candidate.address.clone();
    match gtids {
        None => Err(DefiniteError::SwitchWithoutGtids { server, from: offset_server, to: candidate.server_id }),
        Some(GtidState::MariaDb(list)) => {
            let mut missing = Vec::new();
            let mut errant = Vec::new();
            for (domain, last_server, seq) in list.entries() {
                let has = candidate
                    .binlog_state
                    .iter()
                    .find(|(d, s, _)| *d == domain && *s == last_server)
                    .map(|(_, _, n)| *n);
                match has {
                    Some(n) if n >= seq => {}
                    Some(n) => missing.push(format!("{domain}-{last_server}-{} to {domain}-{last_server}-{seq} (it has {domain}-{last_server}-{n})", n + 1)),
                    None => missing.push(format!("{domain}-{last_server}-{seq} (it has nothing of server {last_server} in domain {domain})")),
                }
                errant.extend(
                    candidate
                        .binlog_state
                        .iter()
                        .filter(|(d, s, n)| *d == domain && *s == candidate.server_id && *s != last_server && *n <= seq)
                        .map(|(d, s, n)| format!("{d}-{s}-{n}")),
                );
            }
            if !missing.is_empty() {
                return Err(DefiniteError::MissingTransactions { server, missing: missing.join(", ") });
            }
            if !errant.is_empty() {
                return Err(DefiniteError::ErrantTransactions { server, errant: errant.join(", ") });
            }
            // log_slave_updates: checked for every server that replicated
            // (check_logs_replicated); a primary that never did needs none.
            Ok(())
        }
        Some(GtidState::MySql(set)) => {
            let executed = candidate.executed.clone().unwrap_or_default();
            if !set.is_subset_of(&executed) {
                return Err(DefiniteError::MissingTransactions {
                    server,
                    missing: format!("the committed set {set} is not within its gtid_executed {executed}"),
                });
            }
            if !candidate.log_slave_updates {
                return Err(check_logs_replicated(false, &Candidate { replicated: true, ..candidate.clone() }).unwrap_err());
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::mysql::position::MariaGtidList;

    fn candidate(state: &str, server_id: u32) -> Candidate {
        Candidate {
            address: "replica:3306".into(),
            server_id,
            binlog_state: parse_state(state).unwrap(),
            replicated: true,
            log_slave_updates: true,
            ..Candidate::default()
        }
    }

    fn maria(text: &str) -> GtidState {
        GtidState::MariaDb(MariaGtidList::parse(text).unwrap())
    }

    #[test]
    fn a_candidate_with_everything_delivered_and_nothing_skipped_passes() {
        // The replica of server 1, promoted, wrote on as server 2.
        assert!(check_switch(1, Some(&maria("0-1-50")), &candidate("0-1-50,0-2-60", 2)).is_ok());
        // Two domains; an earlier primary (3) in the history.
        assert!(check_switch(1, Some(&maria("0-1-50,1-1-7")), &candidate("0-3-10,0-1-55,1-1-7", 2)).is_ok());
    }

    #[test]
    fn a_lagging_candidate_is_refused_naming_what_it_lacks() {
        let error = check_switch(1, Some(&maria("0-1-50")), &candidate("0-1-45", 2)).unwrap_err();
        assert_eq!(error.to_string(), "replica:3306 lacks transactions raftcdc delivered: 0-1-46 to 0-1-50 (it has 0-1-45)");
        let error = check_switch(1, Some(&maria("0-1-50,7-1-3")), &candidate("0-1-50", 2)).unwrap_err();
        assert!(error.to_string().contains("7-1-3 (it has nothing of server 1 in domain 7)"), "{error}");
    }

    #[test]
    fn an_errant_transaction_below_the_position_is_refused() {
        let error = check_switch(1, Some(&maria("0-1-50")), &candidate("0-2-41,0-1-50", 2)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "replica:3306 has transactions outside the delivered history that raftcdc would skip: 0-2-41"
        );
    }

    #[test]
    fn a_replica_must_log_what_it_replicates() {
        let quiet = Candidate { log_slave_updates: false, ..candidate("0-1-50", 2) };
        assert!(matches!(
            check_logs_replicated(true, &quiet),
            Err(DefiniteError::InvalidSystemSetting { setting, .. }) if setting == "log_slave_updates"
        ));
        assert!(check_logs_replicated(true, &Candidate { replicated: false, ..quiet }).is_ok());
    }

    #[test]
    fn mysql_sets_and_offsets_without_gtids() {
        let set = |t: &str| MySqlGtidSet::parse(t).unwrap();
        let uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mut c = candidate("", 2);
        c.executed = Some(set(&format!("{uuid}:1-100")));
        assert!(check_switch(1, Some(&GtidState::MySql(set(&format!("{uuid}:1-90")))), &c).is_ok());
        assert!(matches!(
            check_switch(1, Some(&GtidState::MySql(set(&format!("{uuid}:1-120")))), &c),
            Err(DefiniteError::MissingTransactions { .. })
        ));
        assert!(matches!(check_switch(1, None, &c), Err(DefiniteError::SwitchWithoutGtids { .. })));
    }
}
