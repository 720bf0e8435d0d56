//! Every WGSL file of `shaders/`, embedded in the binary.
//!
//! The list must name each file once; a test checks it against the folder.

/// (file stem, source) of every shader.
pub const SHADERS: &[(&str, &str)] = &[
    ("matmul", include_str!("../shaders/matmul.wgsl")),
    (
        "matmul_subgroup",
        include_str!("../shaders/matmul_subgroup.wgsl"),
    ),
    (
        "matmul_texture",
        include_str!("../shaders/matmul_texture.wgsl"),
    ),
    ("conv2d", include_str!("../shaders/conv2d.wgsl")),
    (
        "conv2d_texture",
        include_str!("../shaders/conv2d_texture.wgsl"),
    ),
    (
        "conv2d_subgroup",
        include_str!("../shaders/conv2d_subgroup.wgsl"),
    ),
    ("activations", include_str!("../shaders/activations.wgsl")),
    ("vae", include_str!("../shaders/vae.wgsl")),
    ("vae_subgroup", include_str!("../shaders/vae_subgroup.wgsl")),
    ("adam", include_str!("../shaders/adam.wgsl")),
    ("data", include_str!("../shaders/data.wgsl")),
    ("reduce", include_str!("../shaders/reduce.wgsl")),
];

/// The source of shader `name` (file stem).
pub fn source(name: &str) -> Option<&'static str> {
    SHADERS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Parse and validate WGSL with naga, as wgpu would; returns naga's message on failure.
pub fn validate(src: &str) -> std::result::Result<(), String> {
    let module = naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string(src))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        // Subgroup operations appear only in kernels used where the device has them.
        naga::valid::Capabilities::default() | naga::valid::Capabilities::SUBGROUP,
    )
    .validate(&module)
    .map_err(|e| e.emit_to_string(src))?;
    Ok(())
}
