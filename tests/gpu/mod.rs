//! The GPU backend against the CPU reference: same data, same centroids, same answers (labels except exact-tie
//! rounding, counts and changed counts exactly, sums, weights, inertia and potentials within 1e-5), on data split
//! over many bindings and with 2-D dispatches, and bit-identical from run to run. Every test is made by
//! `gpu_test!` or `device_test!` (`harness.rs`): without a Vulkan adapter it prints `SKIPPED gpu test NAME` to
//! stderr and passes, except under `CI=true`, where it fails.
#![cfg(feature = "gpu")]

#[macro_use]
mod harness;
mod check;
mod data;

mod device;
mod fit;
mod parity;
mod points;
mod silhouette;
