//! What every bench measures with: the machine's load, a process's memory, medians, settings.
#![allow(dead_code)]

/// The value of the environment variable `name`, if set.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `/proc/loadavg` as one line.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Peak and current resident set size of this process, in KiB.
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (kib("VmHWM:"), kib("VmRSS:"))
}

/// The median of `values` (NaN if there are none).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.is_empty() {
        f64::NAN
    } else if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat`. Linux
/// reports them in clock ticks of `USER_HZ`, which is 100 on every architecture it runs on.
pub fn cpu_seconds() -> f64 {
    let (user, kernel) = cpu_split();
    user + kernel
}

/// Of [`cpu_seconds`], the kernel's part (`stime`): on this VM mostly page faults, the kernel
/// zeroing memory the process touches for the first time or again after it was given back.
pub fn kernel_seconds() -> f64 {
    cpu_split().1
}

/// User and kernel CPU seconds of this process so far (`utime`, `stime`).
fn cpu_split() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after its closing paren are plain.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let field = |n: usize| after_name.split_whitespace().nth(n).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    (field(11).unwrap_or(0.0) / 100.0, field(12).unwrap_or(0.0) / 100.0)
}
