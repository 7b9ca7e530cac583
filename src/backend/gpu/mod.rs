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
//! A Lloyd step sends the `k × d` centroids (plus their squared norms) and an 80-byte parameter block, and reads
//! back only the `k × d` sums, `k` weight sums and counts, the changed count and one inertia partial per
//! workgroup. `assign` reads labels and distances back once.
//!
//! # Kernels (`shaders/`)
//! - `lloyd.wgsl`, entry `lloyd`: one pipeline per `LloydShape` (features `D`, points per
//!   thread `P`, workgroup size `WG`, workgroup-memory sizes; all pipeline-override constants, so the feature loops
//!   have constant trip counts), built on first use and cached. Workgroup `g` of a part takes the contiguous rows
//!   `[g·R, (g+1)·R)` (`R` a multiple of `256·P`, chosen so a part has at most 1024 workgroups) in rounds of
//!   `WG·P` rows. **Register tiling:** in a round, thread `t` takes the `P` points `r0 + t + p·WG` (consecutive
//!   threads on consecutive rows, so the loads coalesce) and keeps their rows in registers (`P·4·ceil(D/4)` within the
//!   adapter's register budget of 64 or 128 floats; a forced `P` over it reads the rows from X instead). Centroids (pre-multiplied by −2) and
//!   their norms sit in workgroup memory, read as vec4; each centroid vec4 is loaded once and used for all `P`
//!   points, each of which keeps its own running (best score, best index). If `k` rows do not fit they are tiled
//!   and the tiles streamed. The nearest centre is ranked by `‖c‖² − 2x·c` (norms summed on the host, products
//!   accumulated with `fma` feature by feature; ties: strict `<` scanning `j` upwards, so the lowest index wins),
//!   like the CPU backend, though rounding can rank near-ties differently from its kernels; the distance to the
//!   winner is then recomputed exactly as `Σ (x − c)²`. Every point's score is computed with the same operations
//!   in the same order whatever `P` and `WG` are, so labels and distances do not depend on the launch shape. In
//!   STEP mode the kernel also counts label changes (u32 atomics), stores the label, and accumulates the sums; in
//!   ASSIGN mode (the same code) it writes (label, distance) per row instead. Steps and the final assignment are
//!   therefore one pass over X each.
//! - `kmeanspp.wgsl`, entries `pp_update` (reset or commit the `closest` array against one centre, and write each
//!   block's Σ w·closest) and `pp_potentials` (each block's Σ w·min(closest, ‖x − cand‖²) for up to 16 candidates
//!   per dispatch). A block is a fixed range of 8192 rows handled by one workgroup of 256 threads.
//!
//! # Launch shape ([`Tuning`])
//! Chosen per call from `d`, `k` and the adapter, overridable with `GpuContext::set_tuning` (tests force every
//! `P` and several workgroup sizes):
//! - **Points per thread** `P`: the largest of 8, 4, 2, 1 whose rows fit the register budget,
//!   `P · 4·ceil(d/4) ≤ Tuning::register_floats`. The budget is 128 floats on NVIDIA (PCI vendor 0x10de), where the
//!   assignment probe of `../shared/gpu/README.md` was fastest with 8 rows of 16 features per thread at every K,
//!   so `d ≤ 16` → 8, `d ≤ 32` → 4, `d ≤ 64` → 2, otherwise 1; elsewhere it is 64: `d ≤ 8` → 8, `d ≤ 16` → 4,
//!   `d ≤ 32` → 2, otherwise 1. Rows wider than the budget are read from X, not cached.
//! - **Workgroup memory** (`max_compute_workgroup_storage_size`, less a vec2 per thread for the inertia tree): the
//!   centroid tile and the private sums (`k·(2d + 1) + 3k` words, made odd, per copy) sized to what `k` and `d`
//!   need, rounded up to a power of two and to at least 4 KiB each when that fits (so shapes share pipelines; 16
//!   workgroups of 128 threads with one copy then use 128 KiB, within an H100 SM's 228 KiB; the copies below take
//!   up to 16 KiB and so fewer resident workgroups); otherwise exact; otherwise the sums stay private and the
//!   centroids are streamed in tiles through the rest, as long as a tile of `min(k, 32)` centroids fits there;
//!   otherwise all of it holds the tile and the sums go straight to the global atomics.
//! - **Copies of the private sums**: lanes whose points share a label add into the same words, and a subgroup's
//!   lanes collide more the fewer the clusters (32 lanes over K = 16 labels put about 5 on the busiest address),
//!   so at small K each workgroup keeps `C` copies and lane `l` adds into copy `l % C`; the flush adds the copies
//!   with carry, so the totals are the same bits for any `C`. `C` is the most of 8, 4, 2, 1 whose copies fit
//!   4,096 words together and beside the whole centroid tile: K = 8 and d = 16 → 8, K = 16 → 4, K ≥ 64 → 1.
//!   **Banks:** within a copy, label `j`'s pair for feature `f` is at `j·(2d + 1) + 2f`, an odd stride, so lanes
//!   adding feature `f` for different labels hit different banks of workgroup memory (with the plain `2d` stride,
//!   32 words at d = 16, every lane would hit the same bank whatever its label), and each copy's size is odd so the
//!   copies start in different banks; the flush maps each global pair back (`kernels::PrivateLayout`).
//! - **Workgroup size**: 128 threads when the `k` centroids fit one tile (the size the H100 probe measured), 256
//!   when they are streamed (a tile load then serves twice the points); at least four subgroups (the adapter's
//!   `subgroup_max_size`: 32 on NVIDIA, 8 on lavapipe, so wave64 GPUs get 256), at most `Tuning::workgroup_size`
//!   (the k-means++ kernels' size) and the device limits.
//!
//! On the H100 (`d = 16`, `P = 8`): `K = 16` and `64` take 128 threads with one tile and private sums; `K = 256`
//! takes 256 threads, private sums (33 KiB) and two streamed tiles.
//!
//! **Sweeps.** [`GpuBackend::set_launch`] overrides `P`, the workgroup size, the workgroups per part and `C` on one
//! backend without a new upload (the parts' constants are rewritten), and [`GpuBackend::launch_info`] reports the
//! shape a step takes; `custseg bench --gpu-points 2,4,8 --gpu-workgroup 64,128,256 --gpu-groups 1024,4096
//! --gpu-copies 1,8` times
//! every combination and names the fastest per case, so the rule above can be checked on each adapter. The
//! rule's NVIDIA figures are the probe's, not yet this kernel's: `benches/device_run.sh` runs that sweep.
//!
//! # GPU timestamps
//! Where the adapter has `Features::TIMESTAMP_QUERY` (the device asks for it only then; lavapipe has it), each
//! Lloyd step's pass (the dispatches over every part, not the centroid upload, the clearing of the sums or the
//! read-back) writes a timestamp pair that is resolved and read back with the step's results;
//! [`GpuBackend::last_step_gpu_ms`] converts it with `Queue::get_timestamp_period` (for `custseg bench`).
//! Without the feature it is `None`. Only timings from a real GPU mean anything.
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
mod peak;

pub use backend::{GpuBackend, Setup};
pub use context::{choose, list_adapters, select_adapter, AdapterSummary, GpuContext, GpuOptions};
pub use kernels::{Launch, LaunchInfo, Tuning};
pub use peak::{measure_peak, MeasuredPeak, PeakSize};
