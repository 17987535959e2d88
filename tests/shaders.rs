//! Every WGSL kernel parses and validates with naga (no GPU needed), with
//! each override combination gpix uses resolved. Kernels are checked as the
//! library builds them: with their helper file (`common.wgsl` or
//! `boundary.wgsl`) first.

const COMMON: &str = include_str!("../shaders/common.wgsl");
const BOUNDARY: &str = include_str!("../shaders/boundary.wgsl");

/// The helper files the library prepends to a kernel.
fn helper(kernel: &str) -> String {
    match kernel {
        "filter.wgsl" => BOUNDARY.into(),
        "common.wgsl" | "boundary.wgsl" | "diff.wgsl" => String::new(),
        _ => COMMON.into(),
    }
}

fn shaders() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        // common.wgsl needs its kernel's declarations; the render kernels
        // are assembled by the library (render_kernels_validate_…).
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n != "common.wgsl" && !n.starts_with("render_")
            })
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let source = format!("{}{}", helper(&name), std::fs::read_to_string(&p).unwrap());
            (name, source)
        })
        .collect();
    out.sort();
    out
}

fn validate(name: &str, source: &str, constants: &[(&str, f64)]) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        // pack2x16float (half-float buffer images) needs this; wgpu grants it
        // on every native backend with the SHADER_F16_IN_F32 downlevel flag.
        naga::valid::Capabilities::default() | naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
    );
    let info = validator
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    let constants: naga::back::PipelineConstants =
        constants.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
        .unwrap_or_else(|e| panic!("{name} with {constants:?}: {e}"));
}

#[test]
fn every_shader_validates() {
    let all = shaders();
    assert!(all.len() >= 2, "shaders/ should hold the kernels");
    for (name, source) in &all {
        validate(name, source, &[]);
    }
}

#[test]
fn palette_kernels_validate_for_every_variant() {
    for (name, kernel) in [
        ("palette.wgsl", include_str!("../shaders/palette.wgsl")),
        (
            "palette_grid.wgsl",
            include_str!("../shaders/palette_grid.wgsl"),
        ),
    ] {
        let source = &format!("{COMMON}{kernel}");
        palette_variants(name, source);
    }
}

fn palette_variants(name: &str, source: &str) {
    for mode in [0.0, 1.0, 2.0] {
        for channels in [1.0, 2.0, 3.0, 4.0] {
            for ipw in [2.0, 4.0] {
                validate(
                    name,
                    source,
                    &[
                        ("MODE", mode),
                        ("CHANNELS", channels),
                        ("INDICES_PER_WORD", ipw),
                    ],
                );
            }
        }
    }
}

#[test]
fn label_mean_kernel_validates_for_every_variant() {
    let source = &format!("{COMMON}{}", include_str!("../shaders/label_mean.wgsl"));
    for mode in [0.0, 1.0, 2.0, 4.0, 5.0] {
        for channels in [1.0, 3.0, 7.0] {
            for out_bytes in [1.0, 2.0, 4.0, 8.0] {
                // No table (every tile by segments), a small and a full one.
                for (slots, slot_words) in [(0.0, 4.0), (37.0, 24.0), (1024.0, 3.0)] {
                    validate(
                        "label_mean.wgsl",
                        source,
                        &[
                            ("MODE", mode),
                            ("CHANNELS", channels),
                            ("LABELS_PER_WORD", 1.0),
                            ("OUT_BYTES", out_bytes),
                            ("SLOTS", slots),
                            ("SLOT_WORDS", slot_words),
                            ("SCRATCH", 4094.0),
                        ],
                    );
                }
            }
        }
    }
}

#[test]
fn filter_kernel_validates_for_every_variant() {
    let source = &format!("{BOUNDARY}{}", include_str!("../shaders/filter.wgsl"));
    for features in [1.0, 2.0] {
        validate("filter.wgsl", source, &[("FEATURES", features)]);
    }
}

#[test]
fn diff_kernel_validates_for_every_variant() {
    let source = include_str!("../shaders/diff.wgsl");
    for kind in [0.0, 1.0, 2.0] {
        validate("diff.wgsl", source, &[("KIND", kind)]);
    }
}

/// The render kernels as the library assembles them (texture and buffer
/// resources of every format), with every input-override combination.
#[cfg(feature = "gpu")]
#[test]
fn render_kernels_validate_for_every_variant() {
    let variants = gpix::render::wgsl_variants();
    assert!(variants.len() >= 4 * 6 * 8, "{}", variants.len());
    for (name, source) in &variants {
        for (eight_bit, srgb, linear, bytes) in [
            (0.0, 0.0, 0.0, 0.0),
            (1.0, 0.0, 0.0, 1.0),
            (1.0, 1.0, 0.0, 0.0),
            (1.0, 1.0, 1.0, 0.0),
        ] {
            for channels in [1.0, 4.0] {
                let mut constants = vec![
                    ("EIGHT_BIT", eight_bit),
                    ("SRGB", srgb),
                    ("LINEAR", linear),
                    ("BYTES", bytes),
                    ("CHANNELS", channels),
                ];
                if name.starts_with("render_gradient") {
                    constants.extend([("EDGE_ORDER", 2.0), ("OUTPUT", 1.0), ("CHANNEL", 0.0)]);
                }
                validate(name, source, &constants);
            }
        }
    }
}
