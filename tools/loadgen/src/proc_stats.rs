//! CPU time and memory from /proc: of a whole process (a gateway under test),
//! and of single threads of this one (the ceiling's producer).

use std::collections::HashSet;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessStats {
    pub rss_kib: u64,
    /// utime + stime of every thread, live or exited.
    pub cpu: Duration,
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
    ProcessStats { rss_kib, cpu: Duration::from_millis(ticks * 10) }
}

/// The ids of this process's live threads.
pub fn thread_ids() -> HashSet<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| dir.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// CPU time of one thread of this process. From `schedstat`, in nanoseconds:
/// `stat` counts in 10 ms ticks, truncated per thread, which over dozens of
/// short-lived threads loses a visible share.
pub fn thread_cpu(tid: u32) -> Duration {
    schedstat_cpu(&format!("/proc/self/task/{tid}/schedstat"))
}

/// CPU time of the calling thread.
pub fn current_thread_cpu() -> Duration {
    schedstat_cpu("/proc/thread-self/schedstat")
}

fn schedstat_cpu(path: &str) -> Duration {
    let schedstat = std::fs::read_to_string(path).unwrap_or_default();
    Duration::from_nanos(schedstat.split_whitespace().next().and_then(|ns| ns.parse().ok()).unwrap_or(0))
}
