//! k-means++ over a GPU-resident `closest` array: `pp_update` sets (reset) or lowers (commit) every point's
//! closest squared distance to one centre and writes each block's Σ w·closest; `pp_potentials` writes each
//! block's Σ w·min(closest, ‖x − cand‖²) for up to MAXC candidates. Blocks are fixed row ranges, so the sums
//! do not depend on scheduling. The design is in docs/GPU.md. The uniform blocks `Part` and `Step`, `WG`, the
//! `partials` buffer (here: [(hi, lo) block sums of w·closest | scratch: (hi, lo) potentials, MAXC per block]) and
//! the reduction tree are in prelude.wgsl, which the host prepends.

// Candidates per pp_potentials dispatch (the host batches more).
const MAXC: u32 = 16u;
const PP_COMMIT: u32 = 8u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> closest: array<f32>;

// [per-feature exponents | candidate rows of d4*4 floats, from c_off]
@group(1) @binding(1) var<storage, read> cent: array<f32>;

// Σ (x − c)² in feature order, as the CPU's `dist2`.
fn dist2(base: u32, cb: u32, d: u32) -> f32 {
    var s = 0.0;
    for (var f = 0u; f < d; f++) {
        let df = x[base + f] - cent[cb + f];
        s += df * df;
    }
    return s;
}

fn weight(i: u32) -> f32 {
    if part.weighted != 0u {
        return w[i];
    }
    return 1.0;
}

@compute @workgroup_size(WG)
fn pp_update(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let g = group_index(grid);
    if g >= part.pp_groups {
        return;
    }
    let d = step.d;
    let commit = (step.mode & PP_COMMIT) != 0u;
    let start = g * part.pp_rows;
    let end = min(start + part.pp_rows, part.rows);
    var ks = 0.0;
    var kc = 0.0;
    for (var i = start + lid; i < end; i += WG) {
        var c = dist2(i * d, step.c_off, d);
        if commit {
            c = min(closest[i], c);
        }
        closest[i] = c;
        let y = weight(i) * c - kc;
        let t = ks + y;
        kc = (t - ks) - y;
        ks = t;
    }
    reduce_to(lid, vec2<f32>(ks, -kc), (part.pp_base + g) * 2u);
}

@compute @workgroup_size(WG)
fn pp_potentials(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let g = group_index(grid);
    if g >= part.pp_groups {
        return;
    }
    let d = step.d;
    let stride = step.d4 * 4u;
    let m = min(step.m, MAXC);
    let start = g * part.pp_rows;
    let end = min(start + part.pp_rows, part.rows);
    var sums: array<vec2<f32>, MAXC>; // Kahan (sum, compensation) per candidate
    for (var i = start + lid; i < end; i += WG) {
        let c = closest[i];
        let wi = weight(i);
        for (var j = 0u; j < m; j++) {
            let v = wi * min(dist2(i * d, step.c_off + j * stride, d), c);
            let y = v - sums[j].y;
            let t = sums[j].x + y;
            sums[j].y = (t - sums[j].x) - y;
            sums[j].x = t;
        }
    }
    for (var j = 0u; j < m; j++) {
        // Thread 0 has read red[0] of the previous candidate before anyone writes red again.
        workgroupBarrier();
        reduce_to(lid, vec2<f32>(sums[j].x, -sums[j].y), step.scratch_off + ((part.pp_base + g) * MAXC + j) * 2u);
    }
}
