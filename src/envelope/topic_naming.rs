//! Topic names: Debezium's `topic.naming.strategy` and `topic.delimiter`.
//!
//! Debezium names topics through a `TopicNamingStrategy`
//! (`AbstractTopicNamingStrategy` in Debezium 3.x). The two strategies of
//! `io.debezium.schema` whose output raftcdc reproduces are:
//!
//! - `DefaultTopicNamingStrategy` (the default): a table's topic is
//!   `<prefix><d><db><d><table>`, `<d>` being `topic.delimiter` (default
//!   `.`);
//! - `SchemaTopicNamingStrategy`: `<prefix><d><schema><d><table>`. A MySQL
//!   table id has a catalog (the database) and no schema, and Debezium
//!   drops blank parts, so on MySQL/MariaDB it is `<prefix><d><table>`: the
//!   database is not in the name (tables of the same name in two databases
//!   share a topic, as they do under Debezium).
//!
//! Either way the name is sanitized as Debezium does (characters outside
//! `[A-Za-z0-9._-]` become `_`, at most 249 characters), and the record
//! schema names are the topic name plus `.Key`, `.Value`, `.Envelope`
//! (Debezium's `recordSchemaPrefix` is the data-change topic). The
//! transaction topic is `<prefix><d><topic.transaction>` and the heartbeat
//! topic `<topic.heartbeat.prefix><d><prefix>`, joined unsanitized as
//! Debezium joins them, which is why the delimiter itself must consist of
//! topic-name characters (checked when the connector is created). The
//! schema change topic is `<prefix>` under both. Other strategies (the
//! Unicode and regex ones, custom classes) are refused at create.
use super::sanitize_topic_name;

/// The class names of `topic.naming.strategy` raftcdc implements.
pub const DEFAULT_STRATEGY: &str = "io.debezium.schema.DefaultTopicNamingStrategy";
pub const SCHEMA_STRATEGY: &str = "io.debezium.schema.SchemaTopicNamingStrategy";

/// `topic.naming.strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TopicNamingStrategy {
    #[default]
    Default,
    Schema,
}

/// How a connector names its topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNaming {
    pub strategy: TopicNamingStrategy,
    /// `topic.delimiter`.
    pub delimiter: String,
}

impl Default for TopicNaming {
    fn default() -> Self {
        TopicNaming {
            strategy: TopicNamingStrategy::Default,
            delimiter: ".".to_owned(),
        }
    }
}

impl TopicNaming {
    /// Parses the two properties (`None`: absent), or says what is wrong
    /// as `(property, reason)`.
    pub fn parse(strategy: Option<&str>, delimiter: Option<&str>) -> Result<TopicNaming, (&'static str, String)> {
        let strategy = match strategy {
            None | Some(DEFAULT_STRATEGY) => TopicNamingStrategy::Default,
            Some(SCHEMA_STRATEGY) => TopicNamingStrategy::Schema,
            Some(other) => {
                return Err((
                    "topic.naming.strategy",
                    format!("\"{other}\" is not supported; use {DEFAULT_STRATEGY} or {SCHEMA_STRATEGY}"),
                ))
            }
        };
        let delimiter = delimiter.unwrap_or(".");
        if delimiter.is_empty() || !delimiter.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err((
                "topic.delimiter",
                format!("\"{delimiter}\" must be one or more of ASCII letters, digits, '.', '_' and '-' (it joins topic names)"),
            ));
        }
        Ok(TopicNaming {
            strategy,
            delimiter: delimiter.to_owned(),
        })
    }

    /// The data-change topic of table `db`.`table`.
    pub fn data_change_topic(&self, prefix: &str, db: &str, table: &str) -> String {
        let d = &self.delimiter;
        let parts: &[&str] = match self.strategy {
            TopicNamingStrategy::Default => &[prefix, db, table],
            TopicNamingStrategy::Schema => &[prefix, table],
        };
        // Debezium's mkString drops blank parts.
        let joined = parts.iter().filter(|p| !p.trim().is_empty()).copied().collect::<Vec<_>>().join(d);
        sanitize_topic_name(&joined)
    }

    /// `<prefix><d><topic.transaction>`.
    pub fn transaction_topic(&self, prefix: &str, suffix: &str) -> String {
        format!("{prefix}{}{suffix}", self.delimiter)
    }

    /// `<topic.heartbeat.prefix><d><prefix>`.
    pub fn heartbeat_topic(&self, heartbeat_prefix: &str, prefix: &str) -> String {
        format!("{heartbeat_prefix}{}{prefix}", self.delimiter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_schema_strategies_with_delimiters() {
        let default = TopicNaming::default();
        assert_eq!(default.data_change_topic("srv", "shop", "orders"), "srv.shop.orders");
        assert_eq!(default.transaction_topic("srv", "transaction"), "srv.transaction");
        assert_eq!(default.heartbeat_topic("__debezium-heartbeat", "srv"), "__debezium-heartbeat.srv");
        let underscore = TopicNaming::parse(None, Some("_")).unwrap();
        assert_eq!(underscore.data_change_topic("srv", "shop", "orders"), "srv_shop_orders");
        assert_eq!(underscore.transaction_topic("srv", "transaction"), "srv_transaction");
        assert_eq!(underscore.heartbeat_topic("hb", "srv"), "hb_srv");
        let schema = TopicNaming::parse(Some(SCHEMA_STRATEGY), Some("-")).unwrap();
        assert_eq!(schema.data_change_topic("srv", "shop", "orders"), "srv-orders");
        assert_eq!(schema.data_change_topic("srv", "shop", "ord ers"), "srv-ord_ers");
    }

    #[test]
    fn unknown_strategies_and_bad_delimiters_are_refused_by_property() {
        for (strategy, delimiter, property) in [
            (Some("io.debezium.schema.DefaultUnicodeTopicNamingStrategy"), None, "topic.naming.strategy"),
            (Some("com.example.MyStrategy"), None, "topic.naming.strategy"),
            (None, Some("/"), "topic.delimiter"),
            (None, Some(""), "topic.delimiter"),
        ] {
            assert_eq!(TopicNaming::parse(strategy, delimiter).unwrap_err().0, property);
        }
    }
}
