//! Every kernel against its CPU reference on the test adapter (lavapipe in CI).

mod common;

use latent_engine::selftest;

#[test]
fn every_kernel_matches_its_cpu_reference() {
    let ctx = common::context();
    let results = selftest::run(&ctx, false).expect("selftest ran");
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.pass)
        .map(|r| format!("{} [{}]: {}", r.kernel, r.shape, r.detail))
        .collect();
    assert!(results.len() > 100, "only {} checks ran", results.len());
    for family in [
        "matmul",
        "conv2d",
        "conv_transpose2d",
        "relu",
        "sigmoid",
        "bce",
        "kl",
        "reparam",
        "adam",
    ] {
        assert!(
            results.iter().any(|r| r.kernel.contains(family)),
            "no check of {family}"
        );
    }
    // The single-channel input gradient serves the window families of CPU adapters.
    if ctx.is_software() {
        assert!(
            results
                .iter()
                .any(|r| r.kernel == "conv2d_backward_input_window_c1"),
            "the single-channel input gradient was not checked"
        );
    }
    // CPU adapters update parameters from textures (staged uniform windows
    // where textures do not fit)...
    if ctx.is_software() {
        for kernel in ["adam_update_texture", "adam_update_window"] {
            assert!(
                results.iter().any(|r| r.kernel == kernel),
                "{kernel} was not checked"
            );
        }
    }
    // and read activations for their gradients from textures, else through windows.
    if ctx.is_software() {
        for kernel in ["activation_backward_texture", "activation_backward_window"] {
            assert!(
                results
                    .iter()
                    .any(|r| r.kernel == "relu_backward" && r.shape.contains(kernel)),
                "{kernel} was not checked"
            );
        }
    }
    // and sum rows (and columns in fours) of a bias gradient from a texture
    // copy, else from storage.
    if ctx.is_software() {
        for kernel in [
            "reduce_rows_texture",
            "reduce_rows",
            "reduce_columns_texture",
            "reduce_columns",
        ] {
            assert!(
                results
                    .iter()
                    .any(|r| r.kernel == "reduce_sum" && r.shape.ends_with(&format!("({kernel})"))),
                "{kernel} was not checked"
            );
        }
    }
    // Where the fast CPU-adapter variant exists (lavapipe on AVX2), it is checked too.
    if latent_engine::kernels::matmul::subgroups_of_8(&ctx) {
        for kernel in [
            "matmul_forward_subgroup",
            "matmul_forward_subgroup_pairs",
            "matmul_forward_texture",
            "bce_forward_lanes",
            "kl_forward_lanes",
        ] {
            assert!(
                results.iter().any(|r| r.kernel == kernel),
                "{kernel} was not checked"
            );
        }
        for kernel in [
            "conv2d_forward_subgroup",
            "conv2d_backward_input_subgroup",
            "conv2d_backward_weight_subgroup",
            "conv2d_forward_texture",
            "conv2d_forward_c1_texture",
            "conv2d_backward_input_texture",
            "conv2d_backward_input_texture_bias_relu",
            "conv2d_backward_input_c1_texture",
            "conv2d_backward_input_c1_texture_bias_relu",
            "conv2d_backward_input_c1s2_texture",
            "conv2d_backward_input_c1s2_texture_bias_relu",
            "conv2d_backward_weight_texture",
            "conv2d_backward_weight_taps_texture",
        ] {
            assert!(
                results.iter().any(|r| r.kernel == kernel),
                "{kernel} was not checked"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checks failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

#[test]
fn comparison_reports_the_first_bad_element() {
    let cmp = latent_engine::kernels::compare::compare(
        &[1.0, 2.5, 3.0, 9.0],
        &[1.0, 2.0, 3.0, 4.0],
        1e-4,
        1e-3,
    );
    assert!(!cmp.pass());
    let (index, got, want) = cmp.first_bad.unwrap();
    assert_eq!((index, got, want), (1, 2.5, 2.0));
    assert_eq!(cmp.max_error, 5.0);
    assert!(
        latent_engine::kernels::compare::compare(&[f32::NAN], &[0.0], 1.0, 1.0)
            .first_bad
            .is_some()
    );
}
