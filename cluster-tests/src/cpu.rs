//! CPU time of the processes a benchmark section runs: the nodes, the
//! broker, the database and the benchmark's own process (which is the
//! producer when the sink's limits are measured).
//!
//! On a machine with few cores every process of an end-to-end run shares
//! them, so a rate is bounded by the CPU all of them spend per record:
//! when the processes together use about all the cores for the whole
//! section, the rate is `cores / (CPU per record, summed)`, and the
//! printed split says which process a record's cost is in. Read from
//! `/proc/<pid>/stat` (`utime` + `stime` of every thread of the process),
//! so a process's children are not counted (noida-db and mariadbd do the
//! work in the process itself). A process's CPU can also be split by
//! thread name (`/proc/<pid>/task/*`): the broker's is, since noida-db
//! spends much of it in a thread that saves its whole state about once
//! a second (`autosave`), a cost that grows with the time a run takes and
//! the records the broker holds, not with the records a run sends.
use std::collections::BTreeMap;
use std::time::Instant;

/// CPU seconds used so far by process `pid` (all its threads), or `None`
/// if it is gone.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    stat_cpu_secs(&format!("/proc/{pid}/stat"))
}

/// CPU seconds used so far by each thread of process `pid`, summed by
/// thread name.
pub fn thread_cpu_secs(pid: u32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return out };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default().trim().to_string();
        if let Some(secs) = stat_cpu_secs(&path.join("stat").to_string_lossy()) {
            *out.entry(name).or_insert(0.0) += secs;
        }
    }
    out
}

fn stat_cpu_secs(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces: the fields
    // counted from after its closing parenthesis are fixed. utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ticks as f64 / per_sec)
}

/// CPU time per process over one section of a benchmark.
pub struct CpuMeter {
    started: Instant,
    processes: Vec<(String, u32, f64)>,
    /// Per thread name, for the processes whose threads are told apart.
    threads: Vec<(u32, BTreeMap<String, f64>)>,
}

impl CpuMeter {
    /// Starts measuring `processes` (label, pid); the benchmark's own
    /// process is added as `driver`.
    pub fn start(processes: impl IntoIterator<Item = (String, u32)>) -> CpuMeter {
        let mut all: Vec<(String, u32)> = processes.into_iter().collect();
        all.push(("driver".into(), std::process::id()));
        CpuMeter {
            started: Instant::now(),
            processes: all
                .into_iter()
                .filter_map(|(label, pid)| cpu_secs(pid).map(|at| (label, pid, at)))
                .collect(),
            threads: Vec::new(),
        }
    }

    /// Also reports process `pid`'s CPU by thread name (its busiest
    /// threads), as from now.
    pub fn with_threads_of(mut self, pid: Option<u32>) -> CpuMeter {
        if let Some(pid) = pid {
            self.threads.push((pid, thread_cpu_secs(pid)));
        }
        self
    }

    /// One line: each process's CPU seconds since [`CpuMeter::start`] and
    /// per record (µs), their sum, and how many of the machine's cores
    /// that is over the wall-clock time.
    pub fn report(&self, records: usize) -> String {
        let wall = self.started.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut total = 0.0;
        let mut parts = Vec::new();
        for (label, pid, at) in &self.processes {
            let Some(now) = cpu_secs(*pid) else {
                parts.push(format!("{label} gone"));
                continue;
            };
            let used = now - at;
            total += used;
            let mut part = format!("{label} {used:.1}s ({:.1} µs/record)", 1e6 * used / records.max(1) as f64);
            if let Some((_, before)) = self.threads.iter().find(|(p, _)| p == pid) {
                let mut by_name: Vec<(String, f64)> = thread_cpu_secs(*pid)
                    .into_iter()
                    .map(|(name, secs)| {
                        let since = secs - before.get(&name).copied().unwrap_or(0.0);
                        (name, since)
                    })
                    .filter(|(_, secs)| *secs >= 0.05)
                    .collect();
                by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
                let names: Vec<String> = by_name.iter().take(3).map(|(name, secs)| format!("{name} {secs:.1}s")).collect();
                if !names.is_empty() {
                    part.push_str(&format!(" [threads: {}]", names.join(", ")));
                }
            }
            parts.push(part);
        }
        format!(
            "CPU: {}; all {total:.1}s ({:.1} µs/record) in {wall:.1}s wall = {:.2} of {cores} cores busy",
            parts.join(", "),
            1e6 * total / records.max(1) as f64,
            total / wall.max(1e-9)
        )
    }
}
