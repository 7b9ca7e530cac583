//! How the rows of one dataset are cut into parts that each fit one storage binding, with the Lloyd workgroups
//! and k-means++ blocks that cover each part.

use super::launch::Tuning;
use super::uniforms::MAXC;
use crate::error::{Error, Result};

/// One part of the data: a whole number of rows, with the workgroups that cover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartPlan {
    pub(crate) first_row: usize,
    pub(crate) rows: usize,
    /// Lloyd workgroups over this part and the rows each covers (a multiple of `Tuning::lloyd_rows_unit`).
    pub(crate) lloyd_groups: u32,
    pub(crate) lloyd_rows: u32,
    /// Index of this part's first Lloyd workgroup among all parts' (its inertia partial's slot).
    pub(crate) lloyd_base: u32,
    /// k-means++ blocks of `Tuning::pp_block_rows` rows in this part, and the index of its first block.
    pub(crate) pp_groups: u32,
    pub(crate) pp_base: u32,
}

/// Bytes a row needs in the largest per-row buffer: X (4·d) or the assignment output (label + distance, 8).
pub(crate) fn row_bytes(d: usize) -> u64 {
    (4 * d as u64).max(8)
}

/// Cuts `n` rows of `d` features into parts whose every per-row buffer fits in `max_binding` bytes.
pub(crate) fn plan_parts(n: usize, d: usize, max_binding: u64, t: &Tuning) -> Result<Vec<PartPlan>> {
    let per_part = (max_binding / row_bytes(d)) as usize;
    if per_part == 0 {
        return Err(Error::gpu(format!(
            "one row of {d} features ({} bytes) does not fit in a storage binding of {max_binding} bytes",
            row_bytes(d)
        )));
    }
    // A Lloyd workgroup's rows are whole rounds of the largest Lloyd workgroup at its points per thread.
    let unit = t.lloyd_rows_unit(d as u32) as usize;
    let mut parts = Vec::with_capacity(n.div_ceil(per_part));
    let (mut first_row, mut lloyd_base, mut pp_base) = (0usize, 0u64, 0u64);
    while first_row < n {
        let rows = per_part.min(n - first_row);
        let lloyd_rows = rows.div_ceil(t.lloyd_groups_per_part as usize).div_ceil(unit) * unit;
        let lloyd_groups = rows.div_ceil(lloyd_rows);
        let pp_groups = rows.div_ceil(t.pp_block_rows as usize);
        parts.push(PartPlan {
            first_row,
            rows,
            lloyd_groups: lloyd_groups as u32,
            lloyd_rows: lloyd_rows as u32,
            lloyd_base: lloyd_base as u32,
            pp_groups: pp_groups as u32,
            pp_base: pp_base as u32,
        });
        lloyd_base += lloyd_groups as u64;
        pp_base += pp_groups as u64;
        first_row += rows;
    }
    // Partial slots are indexed with u32 words in the shaders.
    if lloyd_base * 2 + pp_base * 2 * (MAXC as u64 + 1) >= u64::from(u32::MAX) {
        return Err(Error::gpu(format!("{n} rows need more workgroups than the kernels can index")));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning() -> Tuning {
        Tuning {
            workgroup_size: 256,
            lloyd_workgroup_size: None,
            points_per_thread: None,
            sum_copies: None,
            subgroup_size: 32,
            register_floats: 64,
            lloyd_groups_per_part: 1024,
            pp_block_rows: 8192,
            max_groups_per_dim: 65535,
        }
    }

    #[test]
    fn parts_hold_whole_rows_that_fit_and_cover_everything_once() {
        for (n, d, max) in [(1usize, 1usize, 4096u64), (4099, 3, 4096), (1000, 33, 1 << 27), (100, 1, 16), (50, 16, 64)]
        {
            let parts = plan_parts(n, d, max, &tuning()).unwrap();
            let mut next = 0;
            let (mut lb, mut pb) = (0, 0);
            for p in &parts {
                assert_eq!(p.first_row, next);
                assert!(p.rows > 0 && p.rows as u64 * row_bytes(d) <= max, "{p:?}");
                assert!(p.lloyd_groups as usize * p.lloyd_rows as usize >= p.rows);
                assert!((p.lloyd_groups as usize - 1) * (p.lloyd_rows as usize) < p.rows);
                assert_eq!(p.lloyd_rows % (256 * tuning().points_per_thread(d as u32)), 0);
                assert_eq!(p.pp_groups as usize, p.rows.div_ceil(8192));
                assert_eq!((p.lloyd_base, p.pp_base), (lb, pb));
                lb += p.lloyd_groups;
                pb += p.pp_groups;
                next += p.rows;
            }
            assert_eq!(next, n);
        }
    }

    #[test]
    fn fifty_million_rows_of_16_split_on_a_2_gib_binding() {
        let parts = plan_parts(50_000_000, 16, 2_147_483_644, &tuning()).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.lloyd_groups <= 1024));
    }

    #[test]
    fn a_row_wider_than_a_binding_is_an_error() {
        let e = plan_parts(10, 100, 256, &tuning()).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
    }
}
