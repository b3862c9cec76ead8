//! Resident memory of this process, read from `/proc/self/status` (Linux only).

/// Resident set size now (`VmRSS`) and its high-water mark so far (`VmHWM`), in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident now.
    pub rss_kib: u64,
    /// Highest resident so far in this process's life.
    pub peak_kib: u64,
}

/// The current figures, or `None` where `/proc` does not exist (not Linux).
pub fn read() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// KiB as MiB, for printing.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
