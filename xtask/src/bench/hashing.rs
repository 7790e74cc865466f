//! argon2id with the service's parameters, timed in this process: the login path's
//! reference.

use std::time::Instant;

use anyhow::anyhow;
use argon2::{Argon2, Block};

use super::rounds::median;

/// Hashes per timing; the median is reported.
const HASHES: usize = 10;

/// One hash with fresh and with reused memory, and every core hashing at once.
pub(super) struct Argon2Timing {
    pub fresh_ms: f64,
    pub reused_ms: f64,
    /// Hashes per second with every core hashing, each in its own reused memory.
    pub parallel_per_second: f64,
}

impl Argon2Timing {
    /// The median of `HASHES` hashes in one reused buffer, as the service computes them.
    pub(super) fn reused_ms() -> anyhow::Result<f64> {
        let hasher = hasher()?;
        let mut memory = vec![Block::default(); hasher.params().block_count()];
        let times = (0..HASHES)
            .map(|_| time(&hasher, Some(&mut memory)))
            .collect::<Result<_, _>>()?;
        Ok(median(times))
    }

    pub(super) fn measure() -> anyhow::Result<Self> {
        let hasher = hasher()?;
        let fresh = (0..HASHES)
            .map(|_| time(&hasher, None))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            fresh_ms: median(fresh),
            reused_ms: Self::reused_ms()?,
            parallel_per_second: Self::parallel_per_second()?,
        })
    }

    /// Hashes per second with every core hashing, each thread in its own reused memory:
    /// what the machine does when two hashes share it, as two logins do.
    pub(super) fn parallel_per_second() -> anyhow::Result<f64> {
        let hasher = hasher()?;
        let blocks = hasher.params().block_count();
        let cores = super::cores();
        let started = Instant::now();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..cores)
                .map(|_| {
                    scope.spawn(|| {
                        let mut memory = vec![Block::default(); blocks];
                        (0..HASHES).try_for_each(|_| time(&hasher, Some(&mut memory)).map(drop))
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().map_err(|_| anyhow!("a hashing thread panicked"))?)
        })?;
        Ok((HASHES * cores) as f64 / started.elapsed().as_secs_f64())
    }
}

fn hasher() -> anyhow::Result<Argon2<'static>> {
    trachios_auth::argon2id().map_err(|e| anyhow!("argon2: {e}"))
}

/// Milliseconds for one hash, in `memory` or in memory argon2 allocates itself.
fn time(hasher: &Argon2<'_>, memory: Option<&mut [Block]>) -> anyhow::Result<f64> {
    let (password, salt) = (b"bench-password", b"bench-salt-bytes");
    let mut out = [0u8; 32];
    let started = Instant::now();
    match memory {
        Some(memory) => hasher.hash_password_into_with_memory(password, salt, &mut out, memory),
        None => hasher.hash_password_into(password, salt, &mut out),
    }
    .map_err(|e| anyhow!("argon2: {e}"))?;
    Ok(started.elapsed().as_secs_f64() * 1e3)
}
