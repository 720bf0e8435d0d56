//! Every file in shaders/ parses and validates with naga (CPU only, no device).

use std::path::Path;

#[test]
fn every_shader_file_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("shaders/ exists") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        if let Err(msg) = latent_engine::shaders::validate(&src) {
            failures.push(format!("{}:\n{msg}", path.display()));
        }
        checked += 1;
    }
    assert!(checked > 0, "no .wgsl file found in {}", dir.display());
    assert!(
        failures.is_empty(),
        "invalid shaders:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_shader_file_is_embedded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let embedded = latent_engine::shaders::source(stem)
            .unwrap_or_else(|| panic!("{stem}.wgsl is not listed in src/shaders.rs"));
        assert_eq!(embedded, std::fs::read_to_string(&path).unwrap());
    }
}

#[test]
fn validator_rejects_broken_wgsl() {
    let broken = "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }";
    assert!(latent_engine::shaders::validate(broken).is_err());
}
