//! Connector properties as a value: the map every layer holds them in, and
//! the one rule that decides which of them are secrets.
//!
//! Redaction rests on one rule, [`is_secret`] on the property *name*, and
//! one carrier, [`Properties`]: every type that holds connector properties
//! (the spec, the Raft command and record, the source's and the sink's
//! pass-through maps) holds them as `Properties`, whose `Debug` masks
//! secret values, so no derived `Debug` of those types can print one.
//! Property names are matched against the tables of known names and
//! prefixes in one way, [`matches_entry`]: an entry ending in `.` is a
//! prefix (`producer.override.`), any other entry a whole name.
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};

/// What replaces a secret's value wherever a config is shown.
pub const REDACTED: &str = "********";

/// Connector properties (name → value), serialised exactly as the map
/// (`serde(transparent)`), whose `Debug` shows [`REDACTED`] for every
/// [`is_secret`] property. Reads and writes go through the map (`Deref`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Properties(BTreeMap<String, String>);

impl Properties {
    pub fn into_inner(self) -> BTreeMap<String, String> {
        self.0
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.0
                    .iter()
                    .map(|(k, v)| (k, if is_secret(k) { REDACTED } else { v.as_str() })),
            )
            .finish()
    }
}

impl Deref for Properties {
    type Target = BTreeMap<String, String>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<String, String>> for Properties {
    fn from(map: BTreeMap<String, String>) -> Properties {
        Properties(map)
    }
}

impl FromIterator<(String, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Properties {
        Properties(iter.into_iter().collect())
    }
}

impl IntoIterator for Properties {
    type Item = (String, String);
    type IntoIter = std::collections::btree_map::IntoIter<String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Whether a property holds a secret (passwords, keys, tokens, JAAS and
/// OAUTHBEARER configs, PEM private keys), judged by its name alone, with
/// or without a `producer.override.` / `database.` prefix: such values
/// never appear in status, logs or errors.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("jaas.config")
        || key.contains("oauthbearer.config")
        || key.contains("key.pem")
        || key.ends_with("token")
        || key.ends_with(".key")
        || key.ends_with("credentials")
}

/// Whether property `key` is `entry`, or lies under it when `entry` is a
/// prefix (ends in `.`).
pub fn matches_entry(key: &str, entry: &str) -> bool {
    if entry.ends_with('.') {
        key.starts_with(entry)
    } else {
        key == entry
    }
}
