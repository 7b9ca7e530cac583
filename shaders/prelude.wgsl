//! The uniform blocks every K-means kernel reads, shared by `lloyd.wgsl` and `kmeanspp.wgsl`: the host prepends
//! this file to each of them when it loads them (`src/backend/gpu/shaders.rs`), and mirrors both structs in Rust
//! (`PartParams` and `StepParams` in `src/backend/gpu/uniforms.rs`; `tests/shaders.rs` checks their layouts).

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
