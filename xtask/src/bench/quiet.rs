//! Waiting for the machine to be idle before a measurement: a write run leaves PostgreSQL
//! checkpointing and autovacuuming, and the server's follower reading the events it made,
//! for seconds after wrk stops. On two cores a measurement started then runs on one.

use std::time::{Duration, Instant};

/// Idle share of the cores that counts as quiet.
const QUIET: f64 = 0.9;
/// How long one reading of the idle share lasts.
const SAMPLE: Duration = Duration::from_millis(500);
/// The longest wait; a machine busy for longer is measured as it is, and said so.
const PATIENCE: Duration = Duration::from_secs(30);

/// Returns once the cores were `QUIET` for one sample, or after `PATIENCE`.
pub(super) fn settle() {
    let started = Instant::now();
    let mut last = Shares::default();
    while started.elapsed() < PATIENCE {
        last = match shares(SAMPLE) {
            Some(shares) => shares,
            // No /proc/stat (not Linux): nothing to wait for.
            None => return,
        };
        if last.idle >= QUIET {
            return;
        }
    }
    // Steal is the hypervisor running someone else on our cores: no process here to blame,
    // and the figures measured now are the noisy ones.
    println!(
        "   (the machine was still busy after {} s: {:.0}% idle, {:.0}% stolen by the hypervisor; measuring anyway)",
        PATIENCE.as_secs(),
        last.idle * 100.0,
        last.stolen * 100.0
    );
}

/// Shares of all cores' time over one sample.
#[derive(Default)]
struct Shares {
    idle: f64,
    stolen: f64,
}

fn shares(over: Duration) -> Option<Shares> {
    let before = cpu_times()?;
    std::thread::sleep(over);
    let after = cpu_times()?;
    let total = after.total.checked_sub(before.total)?;
    let idle = after.idle.checked_sub(before.idle)?;
    let stolen = after.stolen.checked_sub(before.stolen)?;
    (total > 0).then(|| Shares {
        idle: idle as f64 / total as f64,
        stolen: stolen as f64 / total as f64,
    })
}

struct CpuTimes {
    idle: u64,
    stolen: u64,
    total: u64,
}

/// The first line of /proc/stat: `cpu user nice system idle iowait irq softirq steal …`.
fn cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse(stat.lines().next()?)
}

fn parse(line: &str) -> Option<CpuTimes> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks = fields
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    // Guest time is already counted in user time.
    let counted = ticks.get(..8)?;
    Some(CpuTimes {
        idle: counted[3] + counted[4],
        stolen: counted[7],
        total: counted.iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_iowait_count_as_idle_and_steal_as_busy() {
        let times = parse("cpu  100 5 50 800 20 3 2 20 0 0").unwrap();
        assert_eq!((times.idle, times.stolen, times.total), (820, 20, 1000));
        assert!(parse("intr 1 2 3").is_none());
    }
}
