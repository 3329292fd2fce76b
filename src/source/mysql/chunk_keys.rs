//! Reading a table in chunk-key order, and the chunk-key values that
//! cursors keep: the initial snapshot ([`super::snapshot`]) and
//! incremental snapshots ([`super::incremental`]) share them.
//!
//! A [`KeyValue`] is a chunk-key value exactly as the server sent it, so
//! it binds back as the same value: `WHERE key > last` then continues
//! exactly after the last row read, in the server's own `ORDER BY` order
//! ([`chunk_query`]). A cursor continues only by the key it was taken by
//! ([`cursor_key_matches`]); otherwise the table is read from its start.
use mysql_async::{Params, Value};
use serde::{Deserialize, Serialize};

/// Whether a committed cursor's `last_key` (of `stored` columns) can
/// continue a read by the table's chunk key now (`current`). A cursor
/// from before the columns were recorded was keyed by the primary key,
/// unless `message.key.columns` applied to the table (`had_key_columns`),
/// which older versions chunked by. A mismatch (that, or a DDL that
/// changed the key) means the table is read again from its start.
pub(super) fn cursor_key_matches(stored: Option<&[String]>, current: &[String], had_key_columns: bool) -> bool {
    match stored {
        Some(stored) => stored == current,
        None => !had_key_columns,
    }
}

/// A chunk-key value, exactly as the server sent it (so it binds back as
/// the same value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyValue {
    Null,
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// Hex of the bytes.
    Bytes(String),
    Date(u16, u8, u8, u8, u8, u8, u32),
    Time(bool, u32, u8, u8, u8, u32),
}

impl From<&Value> for KeyValue {
    fn from(value: &Value) -> KeyValue {
        match value {
            Value::NULL => KeyValue::Null,
            Value::Int(i) => KeyValue::Int(*i),
            Value::UInt(u) => KeyValue::UInt(*u),
            Value::Float(f) => KeyValue::Float(*f),
            Value::Double(d) => KeyValue::Double(*d),
            Value::Bytes(b) => KeyValue::Bytes(b.iter().map(|b| format!("{b:02x}")).collect()),
            Value::Date(y, m, d, h, mi, s, us) => KeyValue::Date(*y, *m, *d, *h, *mi, *s, *us),
            Value::Time(neg, days, h, m, s, us) => KeyValue::Time(*neg, *days, *h, *m, *s, *us),
        }
    }
}

impl KeyValue {
    pub(super) fn to_value(&self) -> Value {
        match self {
            KeyValue::Null => Value::NULL,
            KeyValue::Int(i) => Value::Int(*i),
            KeyValue::UInt(u) => Value::UInt(*u),
            KeyValue::Float(f) => Value::Float(*f),
            KeyValue::Double(d) => Value::Double(*d),
            KeyValue::Bytes(hex) => Value::Bytes(
                (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                    .collect(),
            ),
            KeyValue::Date(y, m, d, h, mi, s, us) => Value::Date(*y, *m, *d, *h, *mi, *s, *us),
            KeyValue::Time(neg, days, h, m, s, us) => Value::Time(*neg, *days, *h, *m, *s, *us),
        }
    }

    /// For status: numbers as numbers, everything else as text.
    fn display(&self) -> serde_json::Value {
        match self {
            KeyValue::Int(i) => (*i).into(),
            KeyValue::UInt(u) => (*u).into(),
            KeyValue::Bytes(_) => match self.to_value() {
                Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned().into(),
                _ => serde_json::Value::Null,
            },
            other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A chunk key for status.
pub(super) fn display_key(key: Option<&[KeyValue]>) -> serde_json::Value {
    match key {
        Some(key) => key.iter().map(KeyValue::display).collect(),
        None => serde_json::Value::Null,
    }
}

/// `SELECT ... WHERE key > last ORDER BY key LIMIT n`, with the row
/// comparison spelled out (`k1 > ? OR (k1 = ? AND k2 > ?) ...`) so every
/// server turns it into an index range.
pub(super) fn chunk_query(
    select: &str,
    order: &[String],
    last: Option<&[KeyValue]>,
    limit: usize,
    filter: Option<&str>,
) -> (String, Params) {
    let mut sql = select.to_string();
    let mut params = Vec::new();
    let mut conditions = Vec::new();
    if let Some(filter) = filter {
        conditions.push(format!("({filter})"));
    }
    if let Some(last) = last {
        let mut disjuncts = Vec::new();
        for i in 0..order.len() {
            let mut terms = Vec::new();
            for (j, column) in order.iter().enumerate().take(i) {
                terms.push(format!("{column} = ?"));
                params.push(last[j].to_value());
            }
            terms.push(format!("{} > ?", order[i]));
            params.push(last[i].to_value());
            disjuncts.push(format!("({})", terms.join(" AND ")));
        }
        conditions.push(format!("({})", disjuncts.join(" OR ")));
    }
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", order.join(", ")));
    let params = if params.is_empty() { Params::Empty } else { Params::Positional(params) };
    (sql, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_queries_compare_keys_as_rows() {
        let order = vec!["`a`".to_string(), "`b`".to_string()];
        let (sql, params) = chunk_query("SELECT *", &order, None, 11, None);
        assert_eq!(sql, "SELECT * ORDER BY `a`, `b` LIMIT 11");
        assert_eq!(params, Params::Empty);
        let last = [KeyValue::Int(1), KeyValue::Int(2)];
        let (sql, params) = chunk_query("SELECT *", &order, Some(&last), 11, Some("a < 5"));
        assert_eq!(sql, "SELECT * WHERE (a < 5) AND ((`a` > ?) OR (`a` = ? AND `b` > ?)) ORDER BY `a`, `b` LIMIT 11");
        assert_eq!(params, Params::Positional(vec![Value::Int(1), Value::Int(1), Value::Int(2)]));
    }
}
