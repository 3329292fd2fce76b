//! What the benchmark binaries (`src/bin/bench_*.rs`) share: their
//! `--name N` and `--name` flags.

/// Whether `--name` is on the command line.
pub fn switch(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The value of `--name N` on the command line, or `default` when the flag
/// is absent or its value is not a number.
pub fn flag(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
