//! Every WGSL kernel in `shaders/`, as the backend assembles it (the shared prelude, then the kernel), parses and
//! validates with naga (the same front end wgpu uses), without a GPU; and the Rust mirrors of the uniform blocks
//! have the sizes and field offsets naga reads from the shaders' own structs.
#![cfg(feature = "gpu")]

use std::path::PathBuf;

use custseg::backend::gpu::{PartParams, ProbeParams, Shader, SilParams, StepParams, PRELUDE};
use naga::valid::{Capabilities, ValidationFlags, Validator};

fn shader_files() -> Vec<String> {
    let dir = crate::util::root().join("shaders");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .map(|p: PathBuf| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

fn parse(s: Shader) -> naga::Module {
    let src = s.source();
    naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{}: parse error:\n{}", s.file(), e.emit_to_string_with_path(&src, s.file())))
}

#[test]
fn every_file_in_shaders_is_the_prelude_or_a_kernel_the_backend_loads() {
    let mut known: Vec<String> = Shader::ALL.iter().map(|s| s.file().to_string()).collect();
    known.push("prelude.wgsl".into());
    known.sort();
    assert_eq!(shader_files(), known);
    let prelude = std::fs::read_to_string(crate::util::root().join("shaders/prelude.wgsl")).unwrap();
    assert_eq!(prelude, PRELUDE, "the prelude compiled in is the file");
}

#[test]
fn every_assembled_shader_parses_and_validates() {
    let mut failures = Vec::new();
    for s in Shader::ALL {
        let (name, src) = (s.file(), s.source());
        let module = match naga::front::wgsl::parse_str(&src) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: parse error:\n{}", e.emit_to_string_with_path(&src, name)));
                continue;
            }
        };
        if let Err(e) = Validator::new(ValidationFlags::all(), Capabilities::default()).validate(&module) {
            failures.push(format!("{name}: validation error:\n{}", e.emit_to_string_with_path(&src, name)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} shaders failed:\n{}",
        failures.len(),
        Shader::ALL.len(),
        failures.join("\n")
    );
}

#[test]
fn every_shader_file_starts_with_a_doc_line_and_every_kernel_has_a_compute_entry_point() {
    for name in shader_files() {
        let src = std::fs::read_to_string(crate::util::root().join("shaders").join(&name)).unwrap();
        assert!(src.starts_with("//!"), "{name} does not start with a //! line saying what it is for");
    }
    for s in Shader::ALL {
        assert!(
            parse(s).entry_points.iter().any(|ep| ep.stage == naga::ShaderStage::Compute),
            "{} has no @compute entry point",
            s.file()
        );
    }
}

/// The members of the struct type `name` in `module`, as (name, byte offset), and its size.
fn struct_layout(module: &naga::Module, name: &str) -> (Vec<(String, usize)>, usize) {
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, ty)| match &ty.inner {
            naga::TypeInner::Struct { members, span } if ty.name.as_deref() == Some(name) => Some((members, *span)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no struct {name} in the shader"));
    let fields = members.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize)).collect();
    (fields, span as usize)
}

/// `(field name, byte offset)` of each named field of a Rust struct.
macro_rules! rust_layout {
    ($ty:ty: $($field:ident),* $(,)?) => {
        vec![$((stringify!($field).to_string(), std::mem::offset_of!($ty, $field))),*]
    };
}

#[test]
fn uniform_blocks_have_the_shader_sizes() {
    let part =
        rust_layout!(PartParams: rows, weighted, lloyd_groups, lloyd_rows, lloyd_base, pp_groups, pp_rows, pp_base);
    let step = rust_layout!(StepParams:
        k, d, d4, mode, c_off, norm_off, tile_k, n_tiles, private_acc, priv_stride, wsum_off, count_off, changed_off,
        exp_w, m, scratch_off, copies, priv_wsum, priv_count, pad);
    let probe = rust_layout!(ProbeParams: n_vec4, iters, never, pad);
    let sil = rust_layout!(SilParams: s, m, row0, rows, groups_x, tj, scale, pad);
    let blocks = [
        (Shader::Lloyd, "Part", &part, std::mem::size_of::<PartParams>()),
        (Shader::KMeansPP, "Part", &part, std::mem::size_of::<PartParams>()),
        (Shader::Lloyd, "Step", &step, std::mem::size_of::<StepParams>()),
        (Shader::KMeansPP, "Step", &step, std::mem::size_of::<StepParams>()),
        (Shader::Peak, "Probe", &probe, std::mem::size_of::<ProbeParams>()),
        (Shader::Silhouette, "Sil", &sil, std::mem::size_of::<SilParams>()),
    ];
    for (shader, name, rust_fields, rust_size) in blocks {
        let (fields, span) = struct_layout(&parse(shader), name);
        assert_eq!(span, rust_size, "{}: the size of {name}", shader.file());
        assert_eq!(&fields, rust_fields, "{}: the members of {name} (name, offset)", shader.file());
    }
}
