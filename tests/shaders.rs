//! Every WGSL kernel in `shaders/` parses and validates with naga (the same front end wgpu uses), without a GPU.

use std::path::PathBuf;

use naga::valid::{Capabilities, ValidationFlags, Validator};

fn shader_files() -> Vec<PathBuf> {
    let dir = crate::util::root().join("shaders");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shader_parses_and_validates() {
    let files = shader_files();
    assert!(!files.is_empty(), "no .wgsl files in shaders/");
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let module = match naga::front::wgsl::parse_str(&src) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: parse error:\n{}", e.emit_to_string_with_path(&src, &name)));
                continue;
            }
        };
        if let Err(e) = Validator::new(ValidationFlags::all(), Capabilities::default()).validate(&module) {
            failures.push(format!("{name}: validation error:\n{}", e.emit_to_string_with_path(&src, &name)));
        }
    }
    assert!(failures.is_empty(), "{} of {} shaders failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}

#[test]
fn every_shader_starts_with_a_doc_line_and_has_a_compute_entry_point() {
    for path in shader_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(&path).unwrap();
        assert!(src.starts_with("//!"), "{name} does not start with a //! line saying what it is for");
        let module = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            module.entry_points.iter().any(|ep| ep.stage == naga::ShaderStage::Compute),
            "{name} has no @compute entry point"
        );
    }
}
