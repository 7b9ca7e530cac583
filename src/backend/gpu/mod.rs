//! The GPU backend: K-means kernels as WGSL compute shaders run through wgpu (Vulkan, Metal or DX12).
//!
//! # Data on the device
//! The feature matrix is uploaded once per [`GpuBackend`] through a reused MAP_WRITE staging buffer and
//! `copy_buffer_to_buffer` in chunks of at most 64 MiB. Rows are cut into *parts*, each a whole number of rows
//! whose largest per-row buffer fits one storage binding (`min(max_storage_buffer_binding_size, max_buffer_size,
//! GpuOptions::max_binding_bytes)`); every part has its own buffers (x, weights, labels, closest, assignment
//! output), its own constant block and its own bind group, and each kernel is dispatched once per part. Labels
//! of the previous step and the k-means++ `closest` distances never leave the device.
//!
//! A Lloyd step sends the `k × d` centroids (plus their squared norms) and a 64-byte parameter block, and reads
//! back only the `k × d` sums, `k` weight sums and counts, the changed count and one inertia partial per
//! workgroup. `assign` reads labels and distances back once.
//!
//! # Kernels (`shaders/`)
//! - `lloyd.wgsl`, entry `lloyd`, workgroups of 256 threads. Workgroup `g` of a part takes the contiguous rows
//!   `[g·R, (g+1)·R)` (`R` a multiple of 256, chosen so a part has at most 1024 workgroups), one row per thread per
//!   round, consecutive threads on consecutive rows. Centroids (pre-multiplied by −2) and their norms sit in
//!   workgroup memory, read as vec4; if `k` rows do not fit they are tiled and the tiles streamed. A row of up to
//!   64 features is cached in registers. The nearest centre is ranked by `‖c‖² − 2x·c` (norms summed on the
//!   host, products accumulated with `fma` feature by feature; ties: strict `<` scanning `j` upwards, so the
//!   lowest index wins), like the CPU backend, though rounding can rank near-ties differently from its SGEMM;
//!   the distance to the winner is then recomputed exactly as `Σ (x − c)²`. In STEP mode the kernel also
//!   counts label changes (u32 atomics), stores the label, and accumulates the sums; in ASSIGN mode it writes
//!   (label, distance) per row instead. Steps and the final assignment are therefore one pass over X each.
//! - `kmeanspp.wgsl`, entries `pp_update` (reset or commit the `closest` array against one centre, and write each
//!   block's Σ w·closest) and `pp_potentials` (each block's Σ w·min(closest, ‖x − cand‖²) for up to 16 candidates
//!   per dispatch). A block is a fixed range of 8192 rows handled by one workgroup of 256 threads.
//!
//! # Determinism and precision
//! - **Per-cluster sums** are exact integer sums, with no float atomics. Each value `w·x_f` is quantised to
//!   `q = round(w·x_f · 2^e_f)` with a per-feature power-of-two scale chosen on the host at upload time from
//!   `max |w·x_f|`, so that `|q| ≤ 2^30`; the biased word `q + 2^30` is added into a 64-bit accumulator made of
//!   two u32 words (`atomicAdd` on the low word; the returned old value tells whether it wrapped, and then the
//!   high word gets +1). Integer addition is associative, so the words are identical whatever the schedule. The
//!   host removes the bias (`count · 2^30`) and scales by `2^-e_f` in f64. The only error is the quantisation,
//!   at most `2^-30 · max|w·x_f|` per value (plus, with sample weights, the f32 rounding of `w·x`), and a 64-bit
//!   sum cannot overflow below 2^33 rows. When `k·d·2 + 3k` words fit the workgroup memory left by the centroid
//!   tile, each workgroup accumulates privately in `var<workgroup>` atomics and flushes its 64-bit totals once
//!   into the global ones (a pair add with carry); otherwise it adds straight into the global atomics. Weight sums
//!   use the same fixed point with the weights' own scale (without weights they are the counts); counts are u32
//!   atomics. See `fixed.rs`, which mirrors the arithmetic and tests its edge cases.
//! - **Inertia and k-means++ potentials** are f32 Kahan sums per thread over a fixed set of rows, reduced in
//!   a fixed-shape tree of (hi, lo) pairs (TwoSum) per workgroup, written to a slot per workgroup and summed in
//!   f64 on the host in slot order. Which rows a thread sees and the tree shape depend only on the data's shape,
//!   so the result is the same bits run after run.
//! - **`pp_sample`** reads back the per-block sums written by the last `pp_reset`/`pp_commit`, walks them in f64 to
//!   find the block that holds each target, and reads back just those blocks' `closest` (and weights), where the
//!   running sum is continued row by row in f64 exactly as the CPU does. A block is only skipped on its GPU sum
//!   when the target is clearly past it (relative margin 1e-9), so the answer equals the CPU's unless a target
//!   falls within rounding (about 1e-12 relative) of a running-sum step.
//!
//! # Large inputs
//! Data over one binding is split into parts (above). A dispatch of more than `max_compute_workgroups_per_dimension`
//! workgroups becomes 2-D, and the shaders compute the linear workgroup id `wid.x + wid.y · nwg.x`, skipping ids
//! past the part's count.
//!
//! # Errors
//! An uncaptured-error handler and a device-lost callback record the first asynchronous error; allocations and
//! pipeline builds run inside error scopes (out of memory, validation); poll and map results are checked. Every
//! failure becomes a one-line [`crate::Error::Gpu`], and after one the context keeps failing rather than panicking.

mod backend;
mod buffers;
mod context;
mod fixed;
mod kernels;

pub use backend::GpuBackend;
pub use context::{choose, list_adapters, select_adapter, AdapterSummary, GpuContext, GpuOptions};
pub use kernels::Tuning;
