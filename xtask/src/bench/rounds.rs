//! A subject and its reference measured alternately, round after round, so that a slow
//! minute of the VM weighs on both sides alike: the figures reported are medians, and the
//! ratio is the median of each round's own ratio. On these 2-vCPU VMs one 10 s pair could
//! land on a fast and a slow minute (the bare handler measured 95–123k req/s between runs
//! minutes apart); pairing and medians make one run's ratio mean something.

use super::wrk::WrkFigures;

/// Rounds per path; odd, so that the median is one of them.
pub(super) const ROUNDS: usize = 3;
/// Seconds per wrk or pgbench run within a round.
pub(super) const SECONDS: u32 = 5;

/// What `ROUNDS` rounds of one path measured.
pub(super) struct Paired {
    /// The round whose rate was the median.
    pub measured: WrkFigures,
    pub reference: f64,
    /// Each round's measured ÷ reference, in the order they ran.
    pub ratios: Vec<f64>,
}

impl Paired {
    /// Runs the reference, then the subject, `ROUNDS` times; `round` tells each which round
    /// it is (the first is profiled).
    pub(super) async fn measure(
        mut reference: impl AsyncFnMut(usize) -> anyhow::Result<f64>,
        mut subject: impl AsyncFnMut(usize) -> anyhow::Result<WrkFigures>,
    ) -> anyhow::Result<Self> {
        let mut runs = Vec::with_capacity(ROUNDS);
        for round in 0..ROUNDS {
            super::quiet::settle();
            let reference = reference(round).await?;
            super::quiet::settle();
            runs.push((subject(round).await?, reference));
        }
        Ok(Self::from_rounds(&runs))
    }

    /// The medians of rounds of (subject, reference).
    fn from_rounds(runs: &[(WrkFigures, f64)]) -> Self {
        let ratios = runs
            .iter()
            .map(|(measured, reference)| measured.requests_per_second / reference)
            .collect();
        let mut by_rate = runs
            .iter()
            .map(|(measured, _)| *measured)
            .collect::<Vec<_>>();
        by_rate.sort_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second));
        Self {
            measured: by_rate[by_rate.len() / 2],
            reference: median(runs.iter().map(|(_, reference)| *reference).collect()),
            ratios,
        }
    }

    pub(super) fn ratio(&self) -> f64 {
        median(self.ratios.clone())
    }

    /// "0.52 (0.49–0.55)": the median and the spread between rounds.
    pub(super) fn ratio_text(&self) -> String {
        median_and_spread(&self.ratios)
    }
}

/// "0.52 (0.49–0.55)": the median of each round's ratio and the spread between rounds.
pub(super) fn median_and_spread(ratios: &[f64]) -> String {
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.2} ({low:.2}–{high:.2})", median(ratios.to_vec()))
}

pub(super) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(rate: f64) -> WrkFigures {
        WrkFigures {
            requests_per_second: rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            failures: 0,
        }
    }

    #[test]
    fn the_ratio_is_the_median_of_each_rounds_own_ratio() {
        let paired = Paired::from_rounds(&[
            (figures(60.0), 100.0),
            (figures(100.0), 200.0),
            (figures(40.0), 100.0),
        ]);
        // Rounds of 0.6, 0.5 and 0.4: the second ran in a fast minute on both sides, and
        // its own ratio counts, not its rate against another round's reference.
        assert_eq!(paired.ratio(), 0.5);
        assert_eq!(paired.ratio_text(), "0.50 (0.40–0.60)");
        assert_eq!(paired.measured.requests_per_second, 60.0);
        assert_eq!(paired.reference, 100.0);
    }
}
