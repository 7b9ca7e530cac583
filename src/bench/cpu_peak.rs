//! This CPU's peak rates, measured: a parallel streaming read for bandwidth, and independent FMA chains on every
//! thread for FLOP/s, so "percent of floor" is against what this machine actually does.

use std::time::Instant;

use rayon::prelude::*;

use super::floor::Peak;

/// Measures this CPU: best of three parallel streaming reads of 512 MiB (GB/s), and best of three runs of
/// independent FMA chains on every thread (GFLOP/s, counting an FMA as 2 FLOP).
pub fn measure_cpu_peak() -> Peak {
    let buf = vec![1.0f32; 128 << 20];
    let mut gbs = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        // 32 independent sums per chunk (4 `ymm` chains): one running sum would be bound by the add's latency
        // (about 7 GB/s on 2 cores of a 3.5 GHz host), not by memory.
        let s: f32 = buf
            .par_chunks(1 << 16)
            .map(|c| {
                let mut acc = [0f32; 32];
                for v in c.chunks_exact(32) {
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a += x;
                    }
                }
                acc.iter().sum::<f32>()
            })
            .sum();
        let dt = t.elapsed().as_secs_f64();
        std::hint::black_box(s);
        gbs = gbs.max(buf.len() as f64 * 4.0 / dt / 1e9);
    }
    drop(buf);
    // Best of three, like the bandwidth: on a shared machine one run can lose its core for a while (a single run
    // once measured 19.5 GFLOP/s on a host whose best is 223).
    let iters = 8_000_000usize;
    let threads = rayon::current_num_threads();
    let mut gflops = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let flops: f64 = (0..threads).into_par_iter().map(|i| fma_chains(iters, i as f32)).sum();
        gflops = gflops.max(flops / t.elapsed().as_secs_f64() / 1e9);
    }
    Peak { gbs, gflops, source: format!("measured on this machine ({threads} threads)") }
}

/// Runs 64 independent FMA chains for `iters` rounds; returns the FLOP done.
fn fma_chains(iters: usize, seed: f32) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { fma_chains_avx2(iters, seed) };
        }
    }
    fma_chains_generic(iters, seed)
}

macro_rules! chains {
    ($iters:expr, $seed:expr, $op:expr) => {{
        let mut acc = [$seed; 64];
        let (a, b) = (0.999_999f32, 1e-7f32);
        for _ in 0..$iters {
            for v in acc.iter_mut() {
                *v = $op(*v, a, b);
            }
        }
        std::hint::black_box(acc);
        $iters as f64 * 64.0 * 2.0
    }};
}

fn fma_chains_generic(iters: usize, seed: f32) -> f64 {
    chains!(iters, seed, |v: f32, a: f32, b: f32| v * a + b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains_avx2(iters: usize, seed: f32) -> f64 {
    chains!(iters, seed, |v: f32, a: f32, b: f32| v.mul_add(a, b))
}
