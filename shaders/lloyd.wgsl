//! One pass over a part of X for a Lloyd step (`mode` STEP) or the final assignment (`mode` ASSIGN): nearest
//! centre (ties to the lowest index), the exact squared distance to it, and for STEP the label bookkeeping, the
//! per-cluster fixed-point sums, weight sums and counts, and the workgroup's inertia partial.
//! Register tiling: each thread takes P points (point p of a round is `r0 + lid + p·WG`, so consecutive threads
//! read consecutive rows) and every centroid vec4 read from workgroup memory is used for all P of them.
//! The design (and why the result does not depend on scheduling or on P) is in docs/GPU.md. The uniform blocks
//! `Part` and `Step`, `WG`, the `partials` buffer (here: [pp block sums | scratch: (hi, lo) inertia partial of each
//! lloyd workgroup]) and the reduction tree are in prelude.wgsl, which the host prepends.
// Centroid tile capacity in vec4: tile_k rows of D4 vec4 (pre-multiplied by -2), then tile_k norms.
override CENT_VEC4: u32 = 1024u;
// Privatised accumulator capacity in u32 words (every copy of the private sums).
override ACC_CAP: u32 = 4096u;
// Points per thread per round: 1, 2, 4 or 8 (at most PMAX).
override P: u32 = 1u;
// Features per row (the host builds a pipeline per d, so the feature loops have constant trip counts).
override D: u32 = 16u;
// vec4 per row.
override D4: u32 = (D + 3u) / 4u;
// Whether the P rows of a thread are cached in registers (the host sets it when P·4·D4 is within the adapter's
// register budget, at most XR vec4); otherwise they are read from X.
override CACHED: bool = true;

const XR: u32 = 32u;
const PMAX: u32 = 8u;

const MODE_STEP: u32 = 1u;
const MODE_RESET: u32 = 2u;
const MODE_ASSIGN: u32 = 4u;
const BIAS: i32 = 0x40000000;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

// [per-feature exponents as f32 | centroids, k rows of d4*4 | k squared norms, padded]
@group(1) @binding(1) var<storage, read> cent: array<f32>;
// [sum pairs (lo, hi), k*d | weight-sum pairs, k (weighted only) | counts, k | changed]
@group(1) @binding(2) var<storage, read_write> acc: array<atomic<u32>>;

var<workgroup> tile: array<vec4<f32>, CENT_VEC4>;
var<workgroup> wacc: array<atomic<u32>, ACC_CAP>;
var<workgroup> wchanged: atomic<u32>;

// Four features of the row that starts at `base`, from 4*f4; features past D read as 0.
fn x4(base: u32, f4: u32) -> vec4<f32> {
    let f = f4 * 4u;
    if f + 3u < D {
        return vec4<f32>(x[base + f], x[base + f + 1u], x[base + f + 2u], x[base + f + 3u]);
    }
    var v = vec4<f32>(0.0);
    if f < D {
        v.x = x[base + f];
    }
    if f + 1u < D {
        v.y = x[base + f + 1u];
    }
    if f + 2u < D {
        v.z = x[base + f + 2u];
    }
    return v;
}

// ‖c‖² − 2x·c, accumulated feature by feature with fma. Its rounding may differ from the CPU's SGEMM, so
// near-ties may rank differently; exact ties cannot (both take the lowest index).
fn fma4(xv: vec4<f32>, c: vec4<f32>, s: f32) -> f32 {
    var r = fma(xv.x, c.x, s);
    r = fma(xv.y, c.y, r);
    r = fma(xv.z, c.z, r);
    return fma(xv.w, c.w, r);
}

// Adds a biased word to a 64-bit (lo, hi) pair: carry into hi when lo wraps.
fn add_wg(p: u32, u: u32) {
    let old = atomicAdd(&wacc[p], u);
    if old + u < old {
        atomicAdd(&wacc[p + 1u], 1u);
    }
}

fn add_gl(p: u32, u: u32) {
    let old = atomicAdd(&acc[p], u);
    if old + u < old {
        atomicAdd(&acc[p + 1u], 1u);
    }
}

// Feature f of this thread's point p, whose row starts at `base` in X: from the registers `xr` when the rows are
// cached there, else from X.
fn feature(xr: ptr<function, array<vec4<f32>, XR>>, cached: bool, p: u32, base: u32, f: u32) -> f32 {
    if cached {
        return (*xr)[p * D4 + f / 4u][f % 4u];
    }
    return x[base + f];
}

@compute @workgroup_size(WG)
fn lloyd(grid: Grid, @builtin(local_invocation_index) lid: u32) {
    let g = group_index(grid);
    if g >= part.lloyd_groups {
        return;
    }
    let k = step.k;
    let is_step = (step.mode & MODE_STEP) != 0u;
    let reset = (step.mode & MODE_RESET) != 0u;
    let private_acc = is_step && step.private_acc != 0u;
    let cached = CACHED && P * D4 <= XR;

    // Lane lid adds into its copy of the private sums: fewer lanes of a subgroup contend for one address when
    // few clusters take many rows. Integer addition makes the totals the same whatever the number of copies.
    let copies = max(step.copies, 1u);
    let copy_base = (lid % copies) * step.priv_stride;
    if private_acc {
        for (var q = lid; q < step.priv_stride * copies; q += WG) {
            atomicStore(&wacc[q], 0u);
        }
    }
    if lid == 0u {
        atomicStore(&wchanged, 0u);
    }
    workgroupBarrier();

    let start = g * part.lloyd_rows;
    let end = min(start + part.lloyd_rows, part.rows);
    var ks = 0.0; // Kahan sum of w·dist2 over this thread's rows
    var kc = 0.0;
    // Row p of this thread occupies xr[p·D4 .. (p+1)·D4) (rows past the end are zeros).
    var xr: array<vec4<f32>, XR>;
    var best: array<f32, PMAX>;
    var bj: array<u32, PMAX>;
    var s: array<f32, PMAX>;
    for (var r0 = start; r0 < end; r0 += WG * P) {
        // This thread's points are i0 + p·WG, p < P, in increasing order.
        let i0 = r0 + lid;
        if cached {
            for (var p = 0u; p < P; p++) {
                let i = i0 + p * WG;
                for (var f4 = 0u; f4 < D4; f4++) {
                    var v = vec4<f32>(0.0);
                    if i < end {
                        v = x4(i * D, f4);
                    }
                    xr[p * D4 + f4] = v;
                }
            }
        }
        for (var p = 0u; p < P; p++) {
            best[p] = bitcast<f32>(0x7f800000u);
            bj[p] = 0u;
        }
        for (var t = 0u; t < step.n_tiles; t++) {
            let j0 = t * step.tile_k;
            let kt = min(step.tile_k, k - j0);
            let nb = kt * D4;
            if step.n_tiles > 1u || r0 == start {
                workgroupBarrier();
                for (var q = lid; q < nb; q += WG) {
                    let j = q / D4;
                    let b = step.c_off + (j0 + j) * D4 * 4u + (q - j * D4) * 4u;
                    tile[q] = vec4<f32>(cent[b], cent[b + 1u], cent[b + 2u], cent[b + 3u]) * -2.0;
                }
                for (var q = lid; q < (kt + 3u) / 4u; q += WG) {
                    let b = step.norm_off + j0 + q * 4u;
                    tile[nb + q] = vec4<f32>(cent[b], cent[b + 1u], cent[b + 2u], cent[b + 3u]);
                }
                workgroupBarrier();
            }
            if i0 < end {
                for (var j = 0u; j < kt; j++) {
                    // Every point's score is ‖c‖² then fma feature by feature, whatever P is.
                    let nrm = tile[nb + j / 4u][j % 4u];
                    let cb = j * D4;
                    for (var p = 0u; p < P; p++) {
                        s[p] = nrm;
                    }
                    if cached {
                        for (var f4 = 0u; f4 < D4; f4++) {
                            let c = tile[cb + f4];
                            for (var p = 0u; p < P; p++) {
                                s[p] = fma4(xr[p * D4 + f4], c, s[p]);
                            }
                        }
                    } else {
                        for (var p = 0u; p < P; p++) {
                            let i = i0 + p * WG;
                            if i < end {
                                for (var f4 = 0u; f4 < D4; f4++) {
                                    s[p] = fma4(x4(i * D, f4), tile[cb + f4], s[p]);
                                }
                            }
                        }
                    }
                    for (var p = 0u; p < P; p++) {
                        if s[p] < best[p] {
                            best[p] = s[p];
                            bj[p] = j0 + j;
                        }
                    }
                }
            }
        }
        for (var p = 0u; p < P; p++) {
            let i = i0 + p * WG;
            if i >= end {
                break;
            }
            let base = i * D;
            let lj = bj[p];
            // The exact squared distance to the winner, Σ (x − c)², in feature order.
            let cw = step.c_off + lj * D4 * 4u;
            var d2 = 0.0;
            for (var f = 0u; f < D; f++) {
                let df = feature(&xr, cached, p, base, f) - cent[cw + f];
                d2 += df * df;
            }
            if (step.mode & MODE_ASSIGN) != 0u {
                out[2u * i] = lj;
                out[2u * i + 1u] = bitcast<u32>(d2);
            }
            if is_step {
                if reset || labels[i] != lj {
                    atomicAdd(&wchanged, 1u);
                }
                labels[i] = lj;
                var wi = 1.0;
                if part.weighted != 0u {
                    wi = w[i];
                }
                let y = wi * d2 - kc;
                let t = ks + y;
                kc = (t - ks) - y;
                ks = t;
                let sb = lj * D * 2u;
                let pb = copy_base + lj * (2u * D + 1u);
                for (var f = 0u; f < D; f++) {
                    let q = i32(round(ldexp(wi * feature(&xr, cached, p, base, f), i32(cent[f]))));
                    let u = bitcast<u32>(q + BIAS);
                    if private_acc {
                        add_wg(pb + 2u * f, u);
                    } else {
                        add_gl(sb + 2u * f, u);
                    }
                }
                if part.weighted != 0u {
                    let qw = u32(round(ldexp(wi, step.exp_w)));
                    if private_acc {
                        add_wg(copy_base + step.priv_wsum + 2u * lj, qw);
                    } else {
                        add_gl(step.wsum_off + 2u * lj, qw);
                    }
                }
                if private_acc {
                    atomicAdd(&wacc[copy_base + step.priv_count + lj], 1u);
                } else {
                    atomicAdd(&acc[step.count_off + lj], 1u);
                }
            }
        }
    }
    if !is_step {
        return;
    }

    workgroupBarrier();
    if private_acc {
        // Flush this workgroup's 64-bit totals (its copies added with carry) into the global pairs, then its
        // counts.
        let kd = k * D;
        for (var p = lid; p < step.count_off / 2u; p += WG) {
            // Global pair p is label p / D's feature p % D, or past k·D weight-sum pair p − k·D.
            var src = step.priv_wsum + 2u * (p - min(p, kd));
            if p < kd {
                let j = p / D;
                src = j * (2u * D + 1u) + 2u * (p - j * D);
            }
            var lo = 0u;
            var hi = 0u;
            for (var c = 0u; c < copies; c++) {
                let o = c * step.priv_stride + src;
                let l = atomicLoad(&wacc[o]);
                let s = lo + l;
                hi += atomicLoad(&wacc[o + 1u]);
                if s < lo {
                    hi += 1u;
                }
                lo = s;
            }
            if (lo | hi) != 0u {
                let old = atomicAdd(&acc[2u * p], lo);
                var carry = 0u;
                if old + lo < old {
                    carry = 1u;
                }
                if hi + carry != 0u {
                    atomicAdd(&acc[2u * p + 1u], hi + carry);
                }
            }
        }
        for (var j = lid; j < k; j += WG) {
            var c = 0u;
            for (var q = 0u; q < copies; q++) {
                c += atomicLoad(&wacc[q * step.priv_stride + step.priv_count + j]);
            }
            if c != 0u {
                atomicAdd(&acc[step.count_off + j], c);
            }
        }
    }
    if lid == 0u {
        atomicAdd(&acc[step.changed_off], atomicLoad(&wchanged));
    }

    // Inertia: a fixed-shape tree over the threads' Kahan sums, in (hi, lo) pairs.
    reduce_to(lid, vec2<f32>(ks, -kc), step.scratch_off + (part.lloyd_base + g) * 2u);
}
