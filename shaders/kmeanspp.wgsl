//! k-means++ over a GPU-resident `closest` array: `pp_update` sets (reset) or lowers (commit) every point's
//! closest squared distance to one centre and writes each block's Σ w·closest; `pp_potentials` writes each
//! block's Σ w·min(closest, ‖x − cand‖²) for up to MAXC candidates. Blocks are fixed row ranges, so the sums
//! do not depend on scheduling. The design is in docs/GPU.md. The uniform blocks `Part` and `Step` are in
//! prelude.wgsl, which the host prepends.

// Threads per workgroup (a power of two), set by the host.
override WG: u32 = 256u;

// Candidates per pp_potentials dispatch (the host batches more).
const MAXC: u32 = 16u;
const PP_COMMIT: u32 = 8u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> closest: array<f32>;
@group(0) @binding(5) var<uniform> part: Part;

@group(1) @binding(0) var<uniform> step: Step;
// [per-feature exponents | candidate rows of d4*4 floats, from c_off]
@group(1) @binding(1) var<storage, read> cent: array<f32>;
// [(hi, lo) block sums of w·closest | scratch: (hi, lo) potentials, MAXC per block]
@group(1) @binding(3) var<storage, read_write> partials: array<f32>;

var<workgroup> red: array<vec2<f32>, WG>;

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

// (hi, lo) + (hi, lo) with the rounding error of the high parts kept (TwoSum), renormalised.
fn two_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = a.x + b.x;
    let bb = s - a.x;
    let e = (a.x - (s - bb)) + (b.x - bb);
    let l = a.y + b.y + e;
    let hi = s + l;
    return vec2<f32>(hi, l - (hi - s));
}

// Tree-reduces red[] into red[0] (every thread must call it; only thread 0 may then read red[0]).
fn reduce(lid: u32) {
    for (var h = WG / 2u; h > 0u; h = h / 2u) {
        workgroupBarrier();
        if lid < h {
            red[lid] = two_add(red[lid], red[lid + h]);
        }
    }
}

@compute @workgroup_size(WG)
fn pp_update(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = wid.x + wid.y * nwg.x;
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
    red[lid] = vec2<f32>(ks, -kc);
    reduce(lid);
    if lid == 0u {
        let o = (part.pp_base + g) * 2u;
        partials[o] = red[0].x;
        partials[o + 1u] = red[0].y;
    }
}

@compute @workgroup_size(WG)
fn pp_potentials(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = wid.x + wid.y * nwg.x;
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
        workgroupBarrier();
        red[lid] = vec2<f32>(sums[j].x, -sums[j].y);
        reduce(lid);
        if lid == 0u {
            let o = step.scratch_off + ((part.pp_base + g) * MAXC + j) * 2u;
            partials[o] = red[0].x;
            partials[o + 1u] = red[0].y;
        }
    }
}
