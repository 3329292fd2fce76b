//! A node's Prometheus `/metrics`, fetched with a plain HTTP/1.1 GET and
//! parsed from the text exposition format, so tests check what a real
//! scraper would read.
//!
//! This module owns the client side of the endpoint. It is correct because
//! it implements only what the format requires and rejects the rest: the
//! GET has a deadline ([`GET_TIMEOUT`]), the answer is read to the end
//! (the server closes the connection) and its status line is checked; the
//! parser undoes label escaping (`\\`, `\"`, `\n`), reads `+Inf`/`-Inf`/
//! `NaN`, and fails on a malformed line, on a `# TYPE` given twice, and on
//! a family whose samples are not contiguous, which the format forbids.
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deadline of one GET.
pub const GET_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET path` from `addr`: the status code and the body.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send to {addr}: {e}"))?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .map_err(|e| format!("read from {addr}: {e}"))?;
        Ok::<_, String>(answer)
    };
    let answer = tokio::time::timeout(GET_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("GET {path} from {addr} took over {GET_TIMEOUT:?}"))??;
    let text = String::from_utf8(answer).map_err(|e| format!("answer is not UTF-8: {e}"))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
    /// Family name → `# TYPE` (`counter`, `gauge`, `histogram`).
    pub types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses the text exposition format (0.0.4).
    pub fn parse(text: &str) -> Result<Scrape, String> {
        let mut scrape = Scrape::default();
        let mut finished_families = BTreeSet::new();
        let mut current_family: Option<String> = None;
        for (number, line) in text.lines().enumerate() {
            let bad = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
            if line.trim().is_empty() || line.starts_with("# HELP ") {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').ok_or_else(|| bad("TYPE without a kind"))?;
                if scrape.types.insert(name.to_string(), kind.to_string()).is_some() {
                    return Err(bad("TYPE given twice"));
                }
                if let Some(previous) = current_family.replace(name.to_string()) {
                    finished_families.insert(previous);
                }
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let sample = parse_sample(line).map_err(|why| bad(&why))?;
            let family = scrape.family_of(&sample.name);
            if finished_families.contains(&family) {
                return Err(bad("sample of a family that already ended"));
            }
            scrape.samples.push(sample);
        }
        Ok(scrape)
    }

    /// The family a sample name belongs to (histograms add suffixes).
    fn family_of(&self, name: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if self.types.get(base).is_some_and(|t| t == "histogram") {
                    return base.to_string();
                }
            }
        }
        name.to_string()
    }

    /// Samples named `name` whose labels include every pair of `labels`.
    pub fn find<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples
            .iter()
            .filter(move |s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v)))
    }

    /// The value of the one sample `find` selects; `Err` if there is none
    /// or more than one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Result<f64, String> {
        let found: Vec<&Sample> = self.find(name, labels).collect();
        match found.as_slice() {
            [one] => Ok(one.value),
            [] => Err(format!("no sample {name}{labels:?}")),
            many => Err(format!("{} samples {name}{labels:?}", many.len())),
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = line[..name_end].to_string();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next().ok_or("unterminated labels")?;
            match c {
                '}' if key.is_empty() => {
                    rest = &after[i + 1..];
                    break;
                }
                ',' if key.is_empty() => {}
                '=' => {
                    if chars.next().map(|(_, c)| c) != Some('"') {
                        return Err("label value not quoted".into());
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next().ok_or("unterminated label value")?.1 {
                            '"' => break,
                            '\\' => match chars.next().ok_or("dangling escape")?.1 {
                                '\\' => value.push('\\'),
                                '"' => value.push('"'),
                                'n' => value.push('\n'),
                                other => return Err(format!("bad escape \\{other}")),
                            },
                            other => value.push(other),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c if c.is_ascii_alphanumeric() || c == '_' => key.push(c),
                other => return Err(format!("unexpected {other:?} in labels")),
            }
        }
    }
    let value_text = rest.trim().split(' ').next().ok_or("no value")?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        other => other.parse().map_err(|e| format!("bad value {other:?}: {e}"))?,
    };
    Ok(Sample { name, labels, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_escapes_and_special_values() {
        let text = "# HELP a_total x\n# TYPE a_total counter\na_total{connector=\"q\\\"\\\\\\n\",kind=\"t\"} 3\n\
                    # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n# TYPE g gauge\ng NaN\n";
        let scrape = Scrape::parse(text).unwrap();
        assert_eq!(scrape.value("a_total", &[("connector", "q\"\\\n")]).unwrap(), 3.0);
        assert_eq!(scrape.value("h_bucket", &[("le", "+Inf")]).unwrap(), 2.0);
        assert!(scrape.value("g", &[]).unwrap().is_nan());
        assert!(Scrape::parse("# TYPE a gauge\n# TYPE a gauge\n").is_err());
        assert!(Scrape::parse("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n").is_err());
        assert!(Scrape::parse("a{x=1} 2\n").is_err());
    }
}
