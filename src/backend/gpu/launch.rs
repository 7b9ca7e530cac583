//! The launch-shape policy of the Lloyd kernel: [`Tuning`] (the defaults per adapter and the overrides tests and
//! `custseg bench` force), the shape of one pipeline (points per thread, workgroup size, workgroup memory, copies of
//! the private sums), where a copy of the private sums keeps what, and how a number of workgroups becomes a
//! dispatch (2-D past `max_compute_workgroups_per_dimension`). Pure arithmetic on the device limits: no device.
//! The rule and the figures behind it are in docs/GPU.md.

use crate::error::{Error, Result};

/// Where one copy of a workgroup's private sums keeps what, in u32 words. Label `j`'s feature `f` pair is at
/// `j·(2d + 1) + 2f`: an odd stride per label, so that the lanes of a subgroup adding feature `f` for different
/// labels hit different banks of workgroup memory (with a stride of `2d` = 32 words at d = 16 they would all hit
/// one bank). Then the weight-sum pairs (weighted only), the counts, and one word more where needed to make the
/// copy's size odd, so that copies start in different banks too. The global sums keep the plain layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrivateLayout {
    pub(crate) wsum: u64,
    pub(crate) count: u64,
    /// Words of one copy (odd).
    pub(crate) stride: u64,
}

impl PrivateLayout {
    pub(crate) fn new(d: u32, k: u32, weighted: bool) -> PrivateLayout {
        let (dd, kk) = (u64::from(d), u64::from(k.max(1)));
        let wsum = kk * (2 * dd + 1);
        let count = wsum + if weighted { 2 * kk } else { 0 };
        PrivateLayout { wsum, count, stride: (count + kk) | 1 }
    }
}

/// The launch shape. Defaults come from the device limits; tests may shrink or force them to exercise edge paths.
///
/// The fused Lloyd kernel's shape for `d` features and `k` centroids (`Tuning::lloyd_shape`):
/// - **points per thread** `P`: the largest of 8, 4, 2, 1 with `P · 4·ceil(d/4) ≤ register_floats` (the P rows of a
///   thread are kept in registers): with 128 (NVIDIA) d ≤ 16 → 8, d ≤ 32 → 4, d ≤ 64 → 2, else 1; with 64 (other
///   adapters) d ≤ 8 → 8, d ≤ 16 → 4, d ≤ 32 → 2, else 1;
/// - **workgroup size**: 128 when the `k` centroids (and their norms) fit workgroup memory as one tile, 256 when
///   they are streamed in tiles (each tile load then serves twice as many points); never below four subgroups
///   nor above `workgroup_size` and the device limits;
/// - **workgroup memory**: the centroid tile and the privatised sums sized to what `k` and `d` need (rounded up to
///   a power of two where it fits), so small shapes leave room for more resident workgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Threads per workgroup of the k-means++ kernels, and the most the Lloyd rule may pick (a power of two).
    pub workgroup_size: u32,
    /// Forces the Lloyd kernel's workgroup size (a power of two) instead of the rule.
    pub lloyd_workgroup_size: Option<u32>,
    /// Forces the Lloyd kernel's points per thread (1, 2, 4 or 8) instead of the rule. A value over the register
    /// budget is allowed: the rows are then read from memory rather than cached (tests use it).
    pub points_per_thread: Option<u32>,
    /// Forces the number of copies of the private sums (a power of two up to `MAX_SUM_COPIES`) instead of the
    /// rule (`Tuning::sum_copies`); fewer are used where they do not fit the workgroup memory.
    pub sum_copies: Option<u32>,
    /// The adapter's largest subgroup (warp) size: 32 on NVIDIA, 8 on lavapipe; 0 when unknown.
    pub subgroup_size: u32,
    /// Floats of its P rows a Lloyd thread may keep in registers (a multiple of 4, at most `REG_FLOATS_MAX`):
    /// 128 on NVIDIA, where the H100 probe was fastest with 8 rows of 16 features per thread (docs/GPU.md has the
    /// figures), and `REG_FLOATS` elsewhere.
    pub register_floats: u32,
    /// Target number of workgroups of the Lloyd kernel per part; each takes a contiguous range of rows, a multiple
    /// of `Tuning::lloyd_rows_unit`, so that its private sums are flushed once.
    pub lloyd_groups_per_part: u32,
    /// Rows per k-means++ block (one workgroup each): the unit of the potentials and of `pp_sample`'s read-back.
    pub pp_block_rows: u32,
    /// Workgroups per dispatch dimension; more become a 2-D dispatch.
    pub max_groups_per_dim: u32,
}

/// Per-backend overrides of the Lloyd kernel's launch shape ([`super::GpuBackend::set_launch`]); `None` keeps the
/// context's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Launch {
    /// Points per thread (1, 2, 4 or 8).
    pub points_per_thread: Option<u32>,
    /// Threads per workgroup (a power of two within the device limits).
    pub workgroup_size: Option<u32>,
    /// Target number of workgroups per part ([`Tuning::lloyd_groups_per_part`]).
    pub groups_per_part: Option<u32>,
    /// Copies of the private sums ([`Tuning::sum_copies`]).
    pub sum_copies: Option<u32>,
}

/// The launch shape a Lloyd step takes ([`super::GpuBackend::launch_info`]), as `custseg bench` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LaunchInfo {
    pub points_per_thread: u32,
    /// Whether each thread's rows are kept in registers (else read from X for every centroid tile).
    pub rows_cached: bool,
    pub workgroup_size: u32,
    /// Workgroups over all parts, and the rows each covers (the last of a part covers fewer).
    pub workgroups: u32,
    pub rows_per_workgroup: u32,
    /// Parts the rows are cut into (one storage binding each).
    pub parts: usize,
    /// Centroids per workgroup-memory tile, and tiles per round (more than 1: streamed).
    pub tile_k: u32,
    pub tiles: u32,
    /// Whether each workgroup accumulates its sums in workgroup memory (else straight into the global atomics),
    /// and in how many copies (lane `l` adds into copy `l % copies`).
    pub private_sums: bool,
    pub sum_copies: u32,
    /// Workgroup memory of the centroid tile and the private sums, in bytes.
    pub workgroup_bytes: u32,
}

/// The default register budget of a Lloyd thread's rows, in floats ([`Tuning::register_floats`]).
pub(crate) const REG_FLOATS: u32 = 64;
/// The largest register budget: the size of the row cache (`XR` vec4 in lloyd.wgsl).
pub(crate) const REG_FLOATS_MAX: u32 = 128;
/// PCI vendor id of NVIDIA, whose adapters get a register budget of [`REG_FLOATS_MAX`].
pub(crate) const VENDOR_NVIDIA: u32 = 0x10de;
/// The largest points-per-thread (`PMAX` in lloyd.wgsl).
pub(crate) const PMAX: u32 = 8;

/// The most copies of the private sums.
pub(crate) const MAX_SUM_COPIES: u32 = 32;
/// The rule's copies of the private sums stay within this many u32 words (16 KiB) together.
pub(crate) const SUM_COPIES_WORDS: u32 = 4096;

/// The pipeline-override constants of one Lloyd pipeline: the key of the pipeline cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LloydShape {
    /// Features (`D`).
    pub(crate) d: u32,
    /// Points per thread (`P`).
    pub(crate) p: u32,
    /// Whether the P rows are kept in registers (`CACHED`): `P · 4·ceil(d/4)` within the register budget.
    pub(crate) cached: bool,
    /// Copies of the private sums the capacity was sized for (a step parameter, not a pipeline constant).
    pub(crate) copies: u32,
    /// Threads per workgroup (`WG`).
    pub(crate) wg: u32,
    /// Workgroup memory of the centroid tile (`CENT_VEC4`) and of the private sums (`ACC_CAP`).
    pub(crate) capacity: Capacity,
}

impl Tuning {
    pub fn for_limits(l: &wgpu::Limits) -> Tuning {
        Tuning::for_adapter(l, 0, 0)
    }

    /// The defaults for a device with limits `l`, subgroups of at most `subgroup_size` threads, and PCI vendor id
    /// `vendor` (0 when unknown).
    pub fn for_adapter(l: &wgpu::Limits, subgroup_size: u32, vendor: u32) -> Tuning {
        let cap = 256.min(l.max_compute_invocations_per_workgroup).min(l.max_compute_workgroup_size_x).max(1);
        Tuning {
            workgroup_size: 1 << (31 - cap.leading_zeros()),
            lloyd_workgroup_size: None,
            points_per_thread: None,
            sum_copies: None,
            subgroup_size,
            register_floats: if vendor == VENDOR_NVIDIA { REG_FLOATS_MAX } else { REG_FLOATS },
            lloyd_groups_per_part: 1024,
            pp_block_rows: 8192,
            max_groups_per_dim: l.max_compute_workgroups_per_dimension.max(1),
        }
    }

    pub(crate) fn checked(self, l: &wgpu::Limits) -> Result<Tuning> {
        for wg in [Some(self.workgroup_size), self.lloyd_workgroup_size].into_iter().flatten() {
            if !wg.is_power_of_two()
                || wg > l.max_compute_invocations_per_workgroup
                || wg > l.max_compute_workgroup_size_x
            {
                return Err(Error::gpu(format!("workgroup size {wg} is not a power of two within the device limits")));
            }
        }
        if let Some(c) = self.sum_copies {
            if !c.is_power_of_two() || c > MAX_SUM_COPIES {
                return Err(Error::gpu(format!("{c} copies of the sums is not a power of two up to {MAX_SUM_COPIES}")));
            }
        }
        if let Some(p) = self.points_per_thread {
            if !p.is_power_of_two() || p > PMAX {
                return Err(Error::gpu(format!("points per thread {p} is not 1, 2, 4 or 8")));
            }
        }
        if self.register_floats == 0 || !self.register_floats.is_multiple_of(4) || self.register_floats > REG_FLOATS_MAX
        {
            return Err(Error::gpu(format!(
                "register budget of {} floats is not a positive multiple of 4 up to {REG_FLOATS_MAX}",
                self.register_floats
            )));
        }
        if self.lloyd_groups_per_part == 0 || self.pp_block_rows == 0 {
            return Err(Error::gpu("lloyd_groups_per_part and pp_block_rows must be at least 1"));
        }
        if self.max_groups_per_dim == 0 || self.max_groups_per_dim > l.max_compute_workgroups_per_dimension {
            return Err(Error::gpu(format!(
                "max_groups_per_dim {} is outside 1..={}",
                self.max_groups_per_dim, l.max_compute_workgroups_per_dimension
            )));
        }
        Ok(self)
    }

    /// Points per thread of the Lloyd kernel for rows of `d` features: forced, or the most (8, 4, 2, 1) whose
    /// padded rows fit the register budget.
    pub(crate) fn points_per_thread(&self, d: u32) -> u32 {
        if let Some(p) = self.points_per_thread {
            return p;
        }
        let row = d.div_ceil(4).max(1) * 4;
        let mut p = PMAX;
        while p > 1 && p * row > self.register_floats {
            p /= 2;
        }
        p
    }

    /// The largest Lloyd workgroup the rule may pick.
    fn lloyd_wg_max(&self) -> u32 {
        self.lloyd_workgroup_size.unwrap_or(256.min(self.workgroup_size))
    }

    /// Rows of a Lloyd workgroup are a multiple of this: one full round (`WG · P`) of the largest workgroup.
    pub(crate) fn lloyd_rows_unit(&self, d: u32) -> u32 {
        self.lloyd_wg_max() * self.points_per_thread(d)
    }

    /// Copies of the private sums for `acc_words` words of one copy: forced, or the most (8, 4, 2, 1) that fit
    /// [`SUM_COPIES_WORDS`] together. Lanes with the same label add into the same words, and a subgroup's lanes
    /// collide more the fewer the clusters (32 lanes over K = 16 labels: about 5 on the busiest address); a copy per
    /// lane residue cuts that, at small K only, where the copies are small.
    pub(crate) fn sum_copies(&self, acc_words: u64) -> u32 {
        if let Some(c) = self.sum_copies {
            return c;
        }
        let mut c = 8;
        while c > 1 && u64::from(c) * acc_words > u64::from(SUM_COPIES_WORDS) {
            c /= 2;
        }
        c
    }

    /// The Lloyd pipeline for `k` centroids of `d` features (`weighted`: weight sums are accumulated too) on a
    /// device with `storage` bytes of workgroup memory. See the type's doc for the rule.
    pub(crate) fn lloyd_shape(&self, d: u32, k: u32, weighted: bool, storage: u32) -> LloydShape {
        let p = self.points_per_thread(d);
        let cached = p * d.div_ceil(4).max(1) * 4 <= self.register_floats;
        let one = Need::new(d, k, weighted);
        let copies = self.sum_copies(one.acc_words);
        // Copies only where they fit beside the tile that one copy leaves (never streaming the centroids or
        // sending the sums to global memory for them); else fewer.
        let d4 = d.div_ceil(4).max(1);
        let shape = |wg: u32| {
            let base = Capacity::for_need(storage, wg, one);
            let base_tile = base.tile_k(d4).min(k.max(1));
            let mut c = copies;
            while c > 1 {
                let need = Need { acc_words: one.acc_words * u64::from(c), ..one };
                let capacity = Capacity::for_need(storage, wg, need);
                if u64::from(capacity.acc_words) >= need.acc_words && capacity.tile_k(d4) >= base_tile {
                    return LloydShape { d, p, cached, copies: c, wg, capacity };
                }
                c /= 2;
            }
            LloydShape { d, p, cached, copies: 1, wg, capacity: base }
        };
        if let Some(wg) = self.lloyd_workgroup_size {
            return shape(wg);
        }
        let max = self.lloyd_wg_max();
        let min = (4 * self.subgroup_size).clamp(1, max);
        let small = shape(128.clamp(min, max));
        if small.capacity.tile_k(d.div_ceil(4)) >= k.max(1) {
            small
        } else {
            shape(256.clamp(min, max))
        }
    }
}

/// What one Lloyd call would like in workgroup memory: the centroid rows and norms (vec4), the private sums (u32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Need {
    pub(crate) tile_vec4: u64,
    pub(crate) acc_words: u64,
    /// The smallest tile worth streaming beside private sums: `min(k, MIN_TILE_K)` rows and their norms.
    pub(crate) min_tile_vec4: u64,
}

/// Private sums are kept (and the centroids streamed) while a tile of this many centroids still fits beside them.
pub(crate) const MIN_TILE_K: u32 = 32;

impl Need {
    pub(crate) fn new(d: u32, k: u32, weighted: bool) -> Need {
        let tile = |k: u64| k * u64::from(d).div_ceil(4) + k.div_ceil(4);
        let kk = u64::from(k.max(1));
        Need {
            tile_vec4: tile(kk),
            acc_words: PrivateLayout::new(d, k, weighted).stride,
            min_tile_vec4: tile(kk.min(u64::from(MIN_TILE_K))),
        }
    }
}

/// The dispatch for `groups` workgroups with at most `max` per dimension: `(x, y)` with `x · y ≥ groups`; the
/// shaders compute the linear id `wid.x + wid.y · x` and skip ids `≥ groups`.
pub(crate) fn dispatch_dims(groups: u32, max: u32) -> (u32, u32) {
    if groups <= max {
        (groups, 1)
    } else {
        (max, groups.div_ceil(max))
    }
}

/// Workgroup-memory capacities of one Lloyd pipeline, within the device's `max_compute_workgroup_storage_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Capacity {
    /// vec4 slots for a centroid tile (rows of `d4` vec4, then the norms).
    pub(crate) cent_vec4: u32,
    /// u32 words of the privatised accumulator.
    pub(crate) acc_words: u32,
}

impl Capacity {
    /// Bytes left after the reduction scratch (a vec2 per thread) and the changed counter.
    fn avail(storage_bytes: u32, wg: u32) -> u32 {
        storage_bytes.saturating_sub(8 * wg + 16)
    }

    /// Sized to `need`: both the tile and the sums when they fit together (each rounded up to a power of two, and
    /// to at least 4 KiB, when that still fits); else the sums privatised and the centroids streamed in tiles in the rest, while a
    /// tile of `min(k, MIN_TILE_K)` centroids fits there; else all of it for the tile (sums then go straight to
    /// the global atomics).
    pub(crate) fn for_need(storage_bytes: u32, wg: u32, need: Need) -> Capacity {
        let avail = u64::from(Self::avail(storage_bytes, wg));
        let (t, a) = (need.tile_vec4.max(1), need.acc_words.max(1));
        let fits = |t: u64, a: u64| t * 16 + a * 4 <= avail;
        // Rounded sizes, at least 4 KiB each, let shapes share pipelines.
        let (tr, ar) = (t.next_power_of_two().max(256), a.next_power_of_two().max(1024));
        let (cent, acc) = if fits(tr, ar) {
            (tr, ar)
        } else if fits(t.next_power_of_two(), a.next_power_of_two()) {
            (t.next_power_of_two(), a.next_power_of_two())
        } else if fits(t, a) {
            (t, a)
        } else if a * 4 + need.min_tile_vec4 * 16 <= avail {
            ((avail - a * 4) / 16, a)
        } else {
            (t.min(avail.saturating_sub(4) / 16), 1)
        };
        Capacity { cent_vec4: cent.max(1) as u32, acc_words: acc.max(1) as u32 }
    }

    /// Centroids per tile for rows of `d4` vec4: the most `t` with `t·d4 + ceil(t/4) ≤ cent_vec4`.
    pub(crate) fn tile_k(&self, d4: u32) -> u32 {
        let c = u64::from(self.cent_vec4);
        let d4 = u64::from(d4);
        let mut t = (4 * c) / (4 * d4 + 1);
        while t > 0 && t * d4 + t.div_ceil(4) > c {
            t -= 1;
        }
        t as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_goes_2d_past_the_limit_and_covers_every_group() {
        assert_eq!(dispatch_dims(0, 65535), (0, 1));
        assert_eq!(dispatch_dims(65535, 65535), (65535, 1));
        assert_eq!(dispatch_dims(65536, 65535), (65535, 2));
        for g in 1..200u32 {
            for max in 1..20u32 {
                let (x, y) = dispatch_dims(g, max);
                assert!(x <= max && y <= max.max(g) && x * y >= g && x * (y - 1) < g, "g {g} max {max}: {x} x {y}");
            }
        }
    }

    fn limits(storage: u32) -> wgpu::Limits {
        wgpu::Limits { max_compute_workgroup_storage_size: storage, ..wgpu::Limits::default() }
    }

    #[test]
    fn capacity_fits_the_workgroup_storage_limit() {
        for (limit, wg) in [(16384u32, 256u32), (32768, 256), (49152, 256), (16384, 64), (32768, 128)] {
            for d in [1u32, 3, 8, 16, 33, 70, 200] {
                for k in [1u32, 2, 7, 64, 256, 1000] {
                    for weighted in [false, true] {
                        let c = Capacity::for_need(limit, wg, Need::new(d, k, weighted));
                        assert!(c.cent_vec4 * 16 + c.acc_words * 4 + 8 * wg + 16 <= limit, "{limit} {d} {k}: {c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn points_per_thread_keep_p_rows_within_64_floats() {
        let t = Tuning::for_adapter(&wgpu::Limits::default(), 32, 0);
        for (d, p) in
            [(1u32, 8u32), (3, 8), (4, 8), (5, 8), (8, 8), (9, 4), (16, 4), (17, 2), (32, 2), (33, 1), (64, 1), (70, 1)]
        {
            assert_eq!(t.points_per_thread(d), p, "d = {d}");
            assert!(p == 1 || p * d.div_ceil(4) * 4 <= REG_FLOATS);
        }
        let forced = Tuning { points_per_thread: Some(8), ..t };
        assert_eq!(forced.points_per_thread(33), 8);
        assert_eq!(forced.lloyd_rows_unit(33), 256 * 8);
        assert!(Tuning { points_per_thread: Some(3), ..t }.checked(&wgpu::Limits::default()).is_err());
        assert!(Tuning { points_per_thread: Some(16), ..t }.checked(&wgpu::Limits::default()).is_err());
        assert!(Tuning { lloyd_workgroup_size: Some(96), ..t }.checked(&wgpu::Limits::default()).is_err());
        for bad in [0u32, 6, REG_FLOATS_MAX + 4] {
            assert!(Tuning { register_floats: bad, ..t }.checked(&wgpu::Limits::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn nvidia_keeps_p_rows_within_128_floats() {
        let t = Tuning::for_adapter(&wgpu::Limits::default(), 32, VENDOR_NVIDIA);
        assert_eq!(t.register_floats, REG_FLOATS_MAX);
        for (d, p) in [(1u32, 8u32), (8, 8), (16, 8), (17, 4), (32, 4), (33, 2), (64, 2), (65, 1), (200, 1)] {
            assert_eq!(t.points_per_thread(d), p, "d = {d}");
        }
        let h100 = 49152;
        let s = t.lloyd_shape(16, 64, false, h100);
        assert_eq!((s.p, s.wg, s.cached), (8, 128, true));
        // Rows over the budget are read from X: a forced 8 rows of 33 features, or one row of more than 128.
        assert!(!Tuning { points_per_thread: Some(8), ..t }.lloyd_shape(33, 8, false, h100).cached);
        assert!(t.lloyd_shape(128, 8, false, h100).cached);
        let wide = t.lloyd_shape(129, 8, false, h100);
        assert!(wide.p == 1 && !wide.cached);
        assert_eq!(Tuning::for_adapter(&wgpu::Limits::default(), 32, 0x1002).register_floats, REG_FLOATS);
    }

    #[test]
    fn one_tile_takes_128_threads_and_streamed_tiles_256() {
        let h100 = 49152;
        let t = Tuning::for_adapter(&limits(h100), 32, 0);
        // 10M x 16 shapes: every centroid fits at K = 16 and 64, with private sums.
        for k in [16u32, 64] {
            let s = t.lloyd_shape(16, k, false, h100);
            assert_eq!((s.p, s.wg), (4, 128), "k = {k}");
            assert!(s.capacity.tile_k(4) >= k && s.capacity.acc_words >= 2 * k * 16 + k, "{s:?}");
        }
        // K = 256: the sums stay private and the centroids are streamed, by 256 threads.
        let s = t.lloyd_shape(16, 256, false, h100);
        assert_eq!((s.p, s.wg), (4, 256));
        assert!(s.capacity.tile_k(4) >= MIN_TILE_K && s.capacity.tile_k(4) < 256, "{s:?}");
        assert!(s.capacity.acc_words >= 2 * 256 * 16 + 256, "{s:?}");
        // Small shapes ask for little memory (more resident workgroups).
        let s = t.lloyd_shape(3, 7, true, h100);
        assert_eq!((s.p, s.wg), (8, 128));
        assert_eq!(s.capacity, Capacity { cent_vec4: 256, acc_words: 1024 });
        // Forced values win; the workgroup never exceeds workgroup_size.
        let f = Tuning { lloyd_workgroup_size: Some(64), points_per_thread: Some(2), ..t };
        let s = f.lloyd_shape(16, 256, false, h100);
        assert_eq!((s.p, s.wg), (2, 64));
        let small = Tuning { workgroup_size: 64, ..t };
        assert_eq!(small.lloyd_shape(16, 256, false, h100).wg, 64);
        // Wide subgroups (wave64) get at least four of them.
        let amd = Tuning::for_adapter(&limits(h100), 64, 0x1002);
        assert_eq!(amd.lloyd_shape(16, 16, false, h100).wg, 256);
    }

    #[test]
    fn small_k_gets_copies_of_the_sums_that_fit_beside_the_whole_tile() {
        let h100 = 49152;
        let t = Tuning::for_adapter(&limits(h100), 32, VENDOR_NVIDIA);
        // One copy of K = 16, d = 16 is 2·16·16 + 16 = 528 words: 4 copies fit 4096 words, 8 do not.
        assert_eq!(t.sum_copies(528), 4);
        assert_eq!(t.sum_copies(264), 8);
        assert_eq!(t.sum_copies(2112), 1);
        for (d, k, copies) in [(16u32, 16u32, 4u32), (16, 8, 8), (16, 64, 1), (16, 256, 1), (3, 7, 8), (8, 2, 8)] {
            let s = t.lloyd_shape(d, k, false, h100);
            assert_eq!(s.copies, copies, "d={d} k={k}: {s:?}");
            let one = Need::new(d, k, false);
            assert!(u64::from(s.capacity.acc_words) >= one.acc_words * u64::from(s.copies), "{s:?}");
        }
        // Forced copies are cut to what fits beside the tile one copy leaves, never streaming the centroids.
        let forced = Tuning { sum_copies: Some(32), ..t };
        for (d, k) in [(16u32, 16u32), (16, 64), (16, 256), (33, 64)] {
            let (one, many) = (t.lloyd_shape(d, k, false, h100), forced.lloyd_shape(d, k, false, h100));
            assert!(many.capacity.tile_k(d.div_ceil(4)) >= one.capacity.tile_k(d.div_ceil(4)).min(k), "{many:?}");
            let need = Need::new(d, k, false).acc_words * u64::from(many.copies);
            assert!(many.copies == 1 || u64::from(many.capacity.acc_words) >= need, "{many:?}");
            assert!(many.copies >= one.copies, "d={d} k={k}");
        }
        assert_eq!(forced.lloyd_shape(16, 256, false, h100).copies, 1);
        assert_eq!(Tuning { sum_copies: Some(1), ..t }.lloyd_shape(16, 2, false, h100).copies, 1);
        assert!(Tuning { sum_copies: Some(3), ..t }.checked(&limits(h100)).is_err());
        assert!(Tuning { sum_copies: Some(64), ..t }.checked(&limits(h100)).is_err());
    }

    #[test]
    fn private_sums_spread_a_subgroup_over_the_banks() {
        for (d, k, weighted) in [(16u32, 16u32, false), (16, 64, true), (8, 32, false), (3, 7, true), (1, 1, false)] {
            let l = PrivateLayout::new(d, k, weighted);
            assert_eq!(l.stride % 2, 1, "{l:?}");
            // Sums, then weight sums, then counts, without overlap, inside one copy.
            assert_eq!(l.wsum, u64::from(k) * u64::from(2 * d + 1));
            assert_eq!(l.count, l.wsum + if weighted { 2 * u64::from(k) } else { 0 });
            assert!(l.count + u64::from(k) <= l.stride);
            assert_eq!(Need::new(d, k, weighted).acc_words, l.stride);
            // For one feature, up to 32 different labels land in 32 different banks (of 32 words).
            for f in 0..d {
                let mut banks: Vec<u64> =
                    (0..k.min(32)).map(|j| (u64::from(j) * u64::from(2 * d + 1) + 2 * u64::from(f)) % 32).collect();
                banks.sort_unstable();
                banks.dedup();
                assert_eq!(banks.len() as u32, k.min(32), "d={d} k={k} f={f}");
            }
            // Copies start in different banks.
            let starts: std::collections::HashSet<u64> = (0..8u64).map(|c| c * l.stride % 32).collect();
            assert_eq!(starts.len(), 8, "{l:?}");
        }
    }

    #[test]
    fn a_tile_holds_whole_rows_and_their_norms() {
        let c = Capacity { cent_vec4: 100, acc_words: 1 };
        for d4 in 1..120u32 {
            let t = c.tile_k(d4);
            assert!(t * d4 + t.div_ceil(4) <= 100, "d4 {d4}: {t}");
            let t1 = t + 1;
            assert!(t1 * d4 + t1.div_ceil(4) > 100, "d4 {d4}: {t} is not the most");
        }
        assert_eq!(c.tile_k(100), 0);
    }
}
