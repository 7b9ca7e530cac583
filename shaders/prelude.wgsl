//! What the K-means kernels `lloyd.wgsl` and `kmeanspp.wgsl` share: the host prepends this file to each of them when
//! it loads them (`src/backend/gpu/shaders.rs`). The uniform blocks every kernel reads, which the host mirrors in Rust
//! (`PartParams` and `StepParams` in `src/backend/gpu/uniforms.rs`; `tests/shaders.rs` checks their layouts); the
//! workgroup size; the entry points' place in the dispatch; and the workgroup's fixed reduction tree of (hi, lo)
//! pairs into `partials`.

// Per part, written once.
struct Part {
    rows: u32,
    weighted: u32,
    lloyd_groups: u32,
    lloyd_rows: u32,
    lloyd_base: u32,
    pp_groups: u32,
    pp_rows: u32,
    pp_base: u32,
}

// Per call.
struct Step {
    k: u32,
    d: u32,
    d4: u32,
    mode: u32,
    c_off: u32,
    norm_off: u32,
    tile_k: u32,
    n_tiles: u32,
    private_acc: u32,
    // Words of one copy of the private sums (odd), and the offsets in it of the weight-sum pairs and the counts.
    // Label j's feature f pair is at j·(2D + 1) + 2f: an odd stride per label spreads the lanes over the banks.
    priv_stride: u32,
    wsum_off: u32,
    count_off: u32,
    changed_off: u32,
    exp_w: i32,
    m: u32,
    scratch_off: u32,
    // Copies of the private sums (lane l adds into copy l % copies); 1 = one shared copy.
    copies: u32,
    priv_wsum: u32,
    priv_count: u32,
    pad: u32,
}

// Threads per workgroup (a power of two), set by the host.
override WG: u32 = 256u;

@group(0) @binding(5) var<uniform> part: Part;
@group(1) @binding(0) var<uniform> step: Step;
// [pp block sums of w·closest, (hi, lo) | scratch: (hi, lo) pairs of the call (pp potentials or lloyd inertia)]
@group(1) @binding(3) var<storage, read_write> partials: array<f32>;

var<workgroup> red: array<vec2<f32>, WG>;

// Where an entry point's workgroup sits in the dispatch: 2-D when the part has more workgroups than one dimension
// takes, so the workgroups past the part's last one must return.
struct Grid {
    @builtin(workgroup_id) id: vec3<u32>,
    @builtin(num_workgroups) size: vec3<u32>,
}

// The workgroup's index in the part.
fn group_index(grid: Grid) -> u32 {
    return grid.id.x + grid.id.y * grid.size.x;
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

// Sums every thread's (hi, lo) pair `v` over the workgroup by a fixed-shape tree, and thread 0 writes the total to
// partials[o] and partials[o + 1]. Every thread must call it.
fn reduce_to(lid: u32, v: vec2<f32>, o: u32) {
    red[lid] = v;
    for (var h = WG / 2u; h > 0u; h = h / 2u) {
        workgroupBarrier();
        if lid < h {
            red[lid] = two_add(red[lid], red[lid + h]);
        }
    }
    if lid == 0u {
        partials[o] = red[0].x;
        partials[o + 1u] = red[0].y;
    }
}
