//! RSS and CPU time of a process, from /proc.

#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessStats {
    pub rss_kib: u64,
    pub cpu_seconds: f64,
}

pub fn read(pid: u32) -> ProcessStats {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0) + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    // Linux reports in USER_HZ, 100 on every mainstream configuration.
    ProcessStats { rss_kib, cpu_seconds: ticks as f64 / 100.0 }
}
