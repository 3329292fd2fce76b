//! The Prometheus text exposition format (version 0.0.4) and the lock-free
//! metric cells it renders: [`Counter`], [`Gauge`] and [`Histogram`].
//!
//! This module owns the wire format and nothing about what is measured. It
//! is correct because:
//!
//! - **Every family is written once, whole.** [`Exposition::family`] writes
//!   `# HELP` and `# TYPE` and every sample of that family follows it before
//!   the next family starts; the format forbids interleaving families.
//! - **Label values and help texts are escaped** as the format says
//!   (`\\`, `\"` and `\n` in label values; `\\` and `\n` in help), so a
//!   connector name can never break a line or forge a label.
//! - **Histograms are cumulative and self-consistent.** A [`Histogram`]
//!   keeps one count per bucket; a scrape reads each bucket once, sums them
//!   into the cumulative `_bucket{le=..}` series and takes `_count` from the
//!   same sum, so `le="+Inf"` always equals `_count` even while observations
//!   race with the scrape.
//! - **Special values** are spelled `+Inf`, `-Inf` and `NaN`.
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The `Content-Type` of a scrape answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The kind of a metric family (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down; `None` until first set.
#[derive(Debug)]
pub struct Gauge(AtomicU64);

/// The bit pattern [`Gauge`] uses for "never set" (a NaN no arithmetic
/// produces, so a real NaN stays distinguishable).
const UNSET: u64 = 0x7ff8_dead_beef_0001;

impl Default for Gauge {
    fn default() -> Self {
        Gauge(AtomicU64::new(UNSET))
    }
}

impl Gauge {
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<f64> {
        match self.0.load(Ordering::Relaxed) {
            UNSET => None,
            bits => Some(f64::from_bits(bits)),
        }
    }
}

/// A distribution over fixed bucket upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Non-cumulative counts: `counts[i]` holds observations in
    /// `(bounds[i-1], bounds[i]]`; the last slot is the `+Inf` overflow.
    counts: Box<[AtomicU64]>,
    /// `f64` bits of the sum of observations.
    sum: AtomicU64,
}

/// What a scrape reads from a [`Histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound, cumulative count)`, ending with `(+Inf, count)`.
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    /// `bounds` must be finite and strictly increasing.
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]) && bounds.iter().all(|b| b.is_finite()));
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn observe(&self, value: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let _ = self.sum.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            Some((f64::from_bits(bits) + value).to_bits())
        });
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut total = 0;
        let mut buckets = Vec::with_capacity(self.counts.len());
        for (i, count) in self.counts.iter().enumerate() {
            total += count.load(Ordering::Relaxed);
            buckets.push((self.bounds.get(i).copied().unwrap_or(f64::INFINITY), total));
        }
        HistogramSnapshot {
            buckets,
            sum: f64::from_bits(self.sum.load(Ordering::Relaxed)),
            count: total,
        }
    }
}

/// A scrape answer being written.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines. Write all of its
    /// samples before starting the next family.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        self.out.push_str(&format_value(value));
        self.out.push('\n');
    }

    /// The `_bucket`, `_sum` and `_count` lines of one histogram series.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], histogram: &HistogramSnapshot) {
        for (bound, count) in &histogram.buckets {
            let _ = write!(self.out, "{name}_bucket");
            write_labels(&mut self.out, labels, Some(&format_value(*bound)));
            let _ = writeln!(self.out, " {count}");
        }
        self.sample(&format!("{name}_sum"), labels, histogram.sum);
        self.sample(&format!("{name}_count"), labels, histogram.count as f64);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
    for (i, (key, value)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push_str("=\"");
        for ch in value.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                other => out.push(other),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// A sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN`.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // `Display` for f64 is the shortest exact round trip ("3", "0.25").
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Exposition::default();
        out.family("raftcdc_x_total", Kind::Counter, "a \\ help\nline");
        out.sample("raftcdc_x_total", &[("connector", "a\"b\\c\nd"), ("kind", "e")], 3.0);
        let text = out.finish();
        assert_eq!(
            text,
            "# HELP raftcdc_x_total a \\\\ help\\nline\n\
             # TYPE raftcdc_x_total counter\n\
             raftcdc_x_total{connector=\"a\\\"b\\\\c\\nd\",kind=\"e\"} 3\n"
        );
    }

    #[test]
    fn values_use_the_formats_spelling() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(-1.5), "-1.5");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        let mut out = Exposition::default();
        out.sample("raftcdc_up", &[], 1.0);
        assert_eq!(out.finish(), "raftcdc_up 1\n");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        static BOUNDS: [f64; 3] = [0.1, 1.0, 10.0];
        let histogram = Histogram::new(&BOUNDS);
        // 0.1 itself falls into le="0.1" (upper bounds are inclusive).
        for value in [0.0625, 0.1, 0.5, 2.0, 2.0, 100.0] {
            histogram.observe(value);
        }
        let snapshot = histogram.snapshot();
        assert_eq!(
            snapshot.buckets,
            vec![(0.1, 2), (1.0, 3), (10.0, 5), (f64::INFINITY, 6)]
        );
        assert_eq!(snapshot.count, 6);
        assert_eq!(snapshot.sum, 0.0625 + 0.1 + 0.5 + 2.0 + 2.0 + 100.0);

        let mut out = Exposition::default();
        out.family("raftcdc_t_seconds", Kind::Histogram, "t");
        out.histogram("raftcdc_t_seconds", &[("connector", "c")], &snapshot);
        let text = out.finish();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            &lines[2..],
            &[
                "raftcdc_t_seconds_bucket{connector=\"c\",le=\"0.1\"} 2",
                "raftcdc_t_seconds_bucket{connector=\"c\",le=\"1\"} 3",
                "raftcdc_t_seconds_bucket{connector=\"c\",le=\"10\"} 5",
                "raftcdc_t_seconds_bucket{connector=\"c\",le=\"+Inf\"} 6",
                format!("raftcdc_t_seconds_sum{{connector=\"c\"}} {}", snapshot.sum).as_str(),
                "raftcdc_t_seconds_count{connector=\"c\"} 6",
            ]
        );
        // Cumulative: never decreasing.
        assert!(snapshot.buckets.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn gauges_start_unset() {
        let gauge = Gauge::default();
        assert_eq!(gauge.get(), None);
        gauge.set(f64::NAN);
        assert!(gauge.get().is_some_and(f64::is_nan));
        gauge.set(2.5);
        assert_eq!(gauge.get(), Some(2.5));
    }
}
