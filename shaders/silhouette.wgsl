//! The silhouette's distance sums: for each sample row i (one thread), its sum of Euclidean distances to every
//! sample row of each cluster, as an exact 64-bit fixed-point integer (hi, lo) per (row, cluster). The host
//! (`src/backend/gpu/silhouette.rs`) orders the rows by cluster, so each cluster is one contiguous run of j and a
//! thread keeps one running sum, written out when the run ends; it then computes a(i), b(i) and the mean in f64.
//!
//! Tiling: the workgroup copies TJ rows j at a time into workgroup memory, and every thread measures its own row
//! (kept in registers when it fits) against them. No atomics: each thread owns its row's sums. Each distance is
//! computed in f32 as sqrt(Σ (x_i − x_j)²) (no cancellation), scaled by 2^e and added as an integer, so the sums
//! have no rounding error beyond the distances' own; see docs/GPU.md.

// Threads per workgroup, set by the host.
override WG: u32 = 64u;
// vec4 per row (features padded with zeros to a multiple of 4), set by the host.
override D4: u32 = 4u;
// vec4 of workgroup memory for the tile of rows j, set by the host.
override TILE_VEC4: u32 = 1024u;
// vec4 of a thread's own row kept in registers; wider rows are read from `x`.
const XR: u32 = 16u;

struct Sil {
    // Rows in the sample.
    s: u32,
    // Clusters in the sample (runs in `starts`).
    m: u32,
    // The first row of this dispatch, and how many rows it scores.
    row0: u32,
    rows: u32,
    // Workgroups along x of the (2-D) dispatch.
    groups_x: u32,
    // Rows j per tile: TILE_VEC4 / D4, at most.
    tj: u32,
    // 2^e: a distance times `scale` is its fixed-point value.
    scale: f32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
// Cluster c is rows starts[c] .. starts[c + 1]; starts[m] = s.
@group(0) @binding(1) var<storage, read> starts: array<u32>;
// (hi, lo) per (row − row0, cluster).
@group(0) @binding(2) var<storage, read_write> out: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> p: Sil;

var<workgroup> tile: array<vec4<f32>, TILE_VEC4>;

@compute @workgroup_size(WG)
fn silhouette_sums(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = wid.y * p.groups_x + wid.x;
    // Workgroups past the last row (the 2-D grid's remainder) leave together, before any barrier.
    if g * WG >= p.rows {
        return;
    }
    let r = g * WG + lid;
    let live = r < p.rows;
    // Threads past the last row still load tiles; they measure the last row and write nothing.
    let base = (p.row0 + min(r, p.rows - 1u)) * D4;
    let cached = D4 <= XR;
    var xr: array<vec4<f32>, XR>;
    if cached {
        for (var f = 0u; f < D4; f++) {
            xr[f] = x[base + f];
        }
    }
    var c = 0u;
    var next = starts[1];
    var hi = 0u;
    var lo = 0u;
    for (var t0 = 0u; t0 < p.s; t0 += p.tj) {
        let cnt = min(p.tj, p.s - t0);
        workgroupBarrier();
        for (var v = lid; v < cnt * D4; v += WG) {
            tile[v] = x[t0 * D4 + v];
        }
        workgroupBarrier();
        for (var jj = 0u; jj < cnt; jj++) {
            let j = t0 + jj;
            // The end of cluster c's run (the same j for every thread): write its sum, start the next.
            while j == next {
                if live {
                    out[r * p.m + c] = vec2<u32>(hi, lo);
                }
                hi = 0u;
                lo = 0u;
                c += 1u;
                next = starts[c + 1u];
            }
            var acc = vec4<f32>(0.0);
            for (var f = 0u; f < D4; f++) {
                var xi: vec4<f32>;
                if cached {
                    xi = xr[f];
                } else {
                    xi = x[base + f];
                }
                let dv = xi - tile[jj * D4 + f];
                acc = fma(dv, dv, acc);
            }
            // v < 2^63 / s by the choice of scale; split it into 32-bit words: above 2^32 v is a whole multiple of
            // 2^9, so both words are exact; below, the fraction is rounded to the nearest unit.
            let v = sqrt(acc.x + acc.y + acc.z + acc.w) * p.scale;
            let h = floor(v * 0x1p-32f);
            let l = u32(round(v - h * 0x1p32f));
            let lo2 = lo + l;
            hi += u32(h) + select(0u, 1u, lo2 < lo);
            lo = lo2;
        }
    }
    if live {
        out[r * p.m + c] = vec2<u32>(hi, lo);
    }
}
