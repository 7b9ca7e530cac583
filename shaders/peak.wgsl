//! The GPU's own peaks for `custseg bench`, measured through wgpu: a streaming read of one large buffer
//! (`read_rate`: bytes per second) and independent FMA chains (`fma_rate`: FP32 FLOP per second). Each thread's
//! result is written only when it equals a value it cannot reach, so the compiler must keep the work.

// Threads per workgroup, set by the host.
override WG: u32 = 256u;

struct Probe {
    // vec4 in `src`.
    n_vec4: u32,
    // Iterations of the FMA loop.
    iters: u32,
    // A value no sum reaches (the write that keeps the work).
    never: f32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;
@group(0) @binding(2) var<uniform> probe: Probe;

// Grid-stride loop: thread t reads vec4 t, t + T, t + 2T, ... (T threads in all), so each round of the grid reads
// one contiguous span and consecutive threads read consecutive vec4.
@compute @workgroup_size(WG)
fn read_rate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let threads = nwg.x * WG;
    let t = wid.x * WG + lid;
    var acc = vec4<f32>(0.0);
    for (var i = t; i < probe.n_vec4; i += threads) {
        acc += src[i];
    }
    let s = acc.x + acc.y + acc.z + acc.w;
    if s == probe.never {
        sink[t % arrayLength(&sink)] = s;
    }
}

// Eight independent vec4 chains per thread: 32 FMAs (64 FLOP) per iteration.
@compute @workgroup_size(WG)
fn fma_rate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = wid.x * WG + lid;
    let x = f32(t & 1023u) * 1e-6;
    let m = vec4<f32>(0.999999, 0.9999991, 0.9999992, 0.9999993);
    let c = vec4<f32>(1e-7);
    var a0 = vec4<f32>(x, x + 1.0, x + 2.0, x + 3.0);
    var a1 = a0 + 4.0;
    var a2 = a0 + 8.0;
    var a3 = a0 + 12.0;
    var a4 = a0 + 16.0;
    var a5 = a0 + 20.0;
    var a6 = a0 + 24.0;
    var a7 = a0 + 28.0;
    for (var i = 0u; i < probe.iters; i++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    let v = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    let s = v.x + v.y + v.z + v.w;
    if s == probe.never {
        sink[t % arrayLength(&sink)] = s;
    }
}
