//! CPU time a process spent, from `/proc/{pid}/stat`: divided by the requests it served, a
//! cost per request that the VM's slow and fast minutes move far less than a rate, so that
//! two builds of the server can be told apart where their req/s overlap.

use super::rounds::SECONDS;
use super::wrk::WrkFigures;

/// `USER_HZ`, the unit of `/proc/{pid}/stat`'s times: 100 on every Linux architecture
/// this runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU seconds of `pid` so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Fields 14 and 15 (utime, stime), counted after the command name, which is in
/// parentheses and may itself hold spaces and parentheses.
fn parse(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// Runs a wrk measurement of the server `pid` and returns it with the server's CPU
/// microseconds per request (NaN when `/proc` could not be read).
pub(super) fn per_request(
    pid: u32,
    measure: impl FnOnce() -> anyhow::Result<WrkFigures>,
) -> anyhow::Result<(WrkFigures, f64)> {
    let before = cpu_seconds(pid);
    let figures = measure()?;
    let spent = cpu_seconds(pid)
        .zip(before)
        .map(|(after, before)| after - before);
    let requests = figures.requests_per_second * f64::from(SECONDS);
    let micros = spent.map_or(f64::NAN, |spent| spent * 1e6 / requests);
    Ok((figures, micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_read_past_a_name_with_spaces() {
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194304 900 0 0 0 250 70 0 0 20 0 \
                    3 0 100 0 0";
        assert_eq!(parse(stat), Some(3.2));
        assert_eq!(parse("garbage"), None);
    }
}
