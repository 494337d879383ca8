//! Dense LU factorisation with partial pivoting for the small systems of pointwise (per-voxel)
//! integrators: the engine's SDIRK2 reaction step and, in needlesim, the healing model's
//! ODE and Rosenbrock integrators. One factorisation, one storage convention:
//!
//! * `a` is row-major `n × n` and is overwritten by the factors: the strict lower triangle
//!   holds L (unit diagonal implied), the upper triangle U, **with the diagonal holding the
//!   reciprocals `1/U_kk`** so the solves multiply instead of divide;
//! * `piv[k]` is the row swapped with row `k` at step `k`.
//!
//! Two solves share these factors: [`lu_solve_columns`], column-oriented (axpy) substitutions
//! on the factors transposed once by [`lu_transpose`], whose updates of different rows are
//! independent (no long chain of dependent multiply-adds), and [`lu_solve_envelope`],
//! row-oriented within each row's non-zero envelope ([`lu_envelope`]), for sparse Jacobians
//! whose factors keep many rows short.

/// Factorises `a` in place (see the module documentation for the layout). Returns false, with
/// `a` partly overwritten, when a pivot is not finite or its magnitude is at most `tiny`
/// (`tiny = 0`: only an exactly zero or non-finite pivot).
#[inline]
pub fn lu_factor(a: &mut [f64], piv: &mut [usize], n: usize, tiny: f64) -> bool {
    for k in 0..n {
        let mut p = k;
        for i in k + 1..n {
            if a[i * n + k].abs() > a[p * n + k].abs() {
                p = i;
            }
        }
        let d = a[p * n + k];
        if !(d.is_finite() && d.abs() > tiny) {
            return false;
        }
        piv[k] = p;
        if p != k {
            for j in 0..n {
                a.swap(k * n + j, p * n + j);
            }
        }
        let inv = 1.0 / a[k * n + k];
        a[k * n + k] = inv;
        // Rows after k, each updated with the pivot row's tail (slices: no bounds checks in
        // the inner loop, which then vectorises; the arithmetic is the same element by element).
        let (top, rest) = a.split_at_mut((k + 1) * n);
        let pivot_tail = &top[k * n + k + 1..k * n + n];
        for row in rest.chunks_exact_mut(n) {
            let f = row[k] * inv;
            if f == 0.0 {
                row[k] = 0.0;
                continue;
            }
            row[k] = f;
            for (x, &u) in row[k + 1..].iter_mut().zip(pivot_tail) {
                *x -= f * u;
            }
        }
    }
    true
}

/// The factors of [`lu_factor`] (row-major) transposed into `at` (column-major), for
/// [`lu_solve_columns`].
pub fn lu_transpose(a: &[f64], n: usize, at: &mut [f64]) {
    for i in 0..n {
        for j in 0..n {
            at[j * n + i] = a[i * n + j];
        }
    }
}

/// Solves `A x = b` in place with the factors of [`lu_factor`], transposed by [`lu_transpose`]:
/// column-oriented substitutions (each known unknown updates the unknowns after it, then the
/// ones before it), each step a contiguous `axpy` over a column of the transposed factors, which
/// vectorises where a walk down a column of the row-major factors would be strided. The
/// transpose is paid once per factorisation; the Newton iterations of the stiff integrators
/// (healing, reaction) solve several times with each.
pub fn lu_solve_columns(at: &[f64], piv: &[usize], n: usize, b: &mut [f64]) {
    for k in 0..n {
        b.swap(k, piv[k]);
    }
    for k in 0..n {
        let bk = b[k];
        if bk != 0.0 {
            let col = &at[k * n + k + 1..k * n + n];
            for (x, &l) in b[k + 1..n].iter_mut().zip(col) {
                *x -= l * bk;
            }
        }
    }
    for k in (0..n).rev() {
        let bk = b[k] * at[k * n + k];
        b[k] = bk;
        if bk != 0.0 {
            let col = &at[k * n..k * n + k];
            for (x, &u) in b[..k].iter_mut().zip(col) {
                *x -= u * bk;
            }
        }
    }
}

/// The envelope of the factors of [`lu_factor`]: per row, the first non-zero column of L and
/// one past the last non-zero column of U (the solves of [`lu_solve_envelope`] skip the zeros
/// outside).
pub fn lu_envelope(a: &[f64], n: usize, env: &mut [(usize, usize)]) {
    for i in 0..n {
        let row = &a[i * n..i * n + n];
        let lo = row[..i].iter().position(|&x| x != 0.0).unwrap_or(i);
        let hi = row[i + 1..]
            .iter()
            .rposition(|&x| x != 0.0)
            .map_or(i + 1, |p| i + 2 + p);
        env[i] = (lo, hi);
    }
}

/// Solves `A x = b` in place with the factors of [`lu_factor`], row by row within their
/// envelope `env` ([`lu_envelope`]).
pub fn lu_solve_envelope(
    a: &[f64],
    piv: &[usize],
    env: &[(usize, usize)],
    n: usize,
    b: &mut [f64],
) {
    for k in 0..n {
        b.swap(k, piv[k]);
    }
    for i in 0..n {
        let mut x = b[i];
        for j in env[i].0..i {
            x -= a[i * n + j] * b[j];
        }
        b[i] = x;
    }
    for i in (0..n).rev() {
        let mut x = b[i];
        for j in i + 1..env[i].1 {
            x -= a[i * n + j] * b[j];
        }
        b[i] = x * a[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small non-symmetric system that needs pivoting (zero leading entry).
    fn system() -> (Vec<f64>, Vec<f64>, usize) {
        let a = vec![
            0.0, 2.0, 1.0, 0.0, //
            3.0, 1.0, 0.0, 2.0, //
            1.0, 0.0, 4.0, 1.0, //
            0.0, 1.0, 1.0, 5.0,
        ];
        (a, vec![1.0, -2.0, 0.5, 3.0], 4)
    }

    fn residual(a: &[f64], x: &[f64], b: &[f64], n: usize) -> f64 {
        (0..n)
            .map(|i| ((0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>() - b[i]).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn both_solves_invert_the_factorised_matrix() {
        let (a0, b0, n) = system();
        let mut a = a0.clone();
        let mut piv = vec![0; n];
        assert!(lu_factor(&mut a, &mut piv, n, 0.0));
        let mut at = vec![0.0; n * n];
        lu_transpose(&a, n, &mut at);
        let mut x = b0.clone();
        lu_solve_columns(&at, &piv, n, &mut x);
        assert!(residual(&a0, &x, &b0, n) < 1e-14);
        let mut env = vec![(0, 0); n];
        lu_envelope(&a, n, &mut env);
        let mut y = b0.clone();
        lu_solve_envelope(&a, &piv, &env, n, &mut y);
        assert!(residual(&a0, &y, &b0, n) < 1e-14);
    }

    #[test]
    fn singular_non_finite_and_tiny_pivots_are_refused() {
        let n = 2;
        let mut piv = vec![0; n];
        assert!(!lu_factor(&mut [1.0, 2.0, 2.0, 4.0], &mut piv, n, 0.0));
        assert!(!lu_factor(&mut [f64::NAN, 0.0, 0.0, 1.0], &mut piv, n, 0.0));
        assert!(!lu_factor(&mut [1e-12, 0.0, 0.0, 1.0], &mut piv, n, 1e-10));
        assert!(lu_factor(&mut [1e-12, 0.0, 0.0, 1.0], &mut piv, n, 0.0));
    }
}
