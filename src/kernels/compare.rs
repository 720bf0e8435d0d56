//! Comparing GPU results with a CPU reference: max error and the first bad element.

/// How far a GPU result is from its reference.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Largest |got − want| over all elements.
    pub max_error: f64,
    /// The first element outside `atol + rtol·|want|`: (index, got, want).
    pub first_bad: Option<(usize, f64, f64)>,
}

impl Comparison {
    /// Whether every element was within tolerance.
    pub fn pass(&self) -> bool {
        self.first_bad.is_none()
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.first_bad {
            None => write!(f, "ok, max error {:.3e}", self.max_error),
            Some((i, got, want)) => write!(
                f,
                "first bad index {i}: got {got}, want {want}; max error {:.3e}",
                self.max_error
            ),
        }
    }
}

/// Compare `got` with `want` element by element within `atol + rtol·|want|`.
/// A length mismatch or a non-finite value fails at the first such index.
pub fn compare(got: &[f32], want: &[f64], atol: f64, rtol: f64) -> Comparison {
    let mut max_error: f64 = 0.0;
    let mut first_bad = None;
    if got.len() != want.len() {
        return Comparison {
            max_error: f64::INFINITY,
            first_bad: Some((got.len().min(want.len()), f64::NAN, f64::NAN)),
        };
    }
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        let err = (g - w).abs();
        let bad = !err.is_finite() || err > atol + rtol * w.abs();
        if err.is_finite() {
            max_error = max_error.max(err);
        } else {
            max_error = f64::INFINITY;
        }
        if bad && first_bad.is_none() {
            first_bad = Some((i, g, w));
        }
    }
    Comparison {
        max_error,
        first_bad,
    }
}
