//! LU of `I − γhJ` on the fixed structural pattern of a layer's Jacobian, for the patch's
//! ROS2 integrator.
//!
//! The reaction network couples its variables in a feed-forward way: the inflammatory core
//! (debris, cytokine, neutrophils, macrophages, TGF-β, blood volume) drives PDGF, the
//! fibroblasts, collagenase, the matrix and the epidermis, but nothing downstream feeds back
//! into it. Ordered by the strongly connected components of the pattern's dependency graph
//! (a variable's components after those it depends on), the matrix is **block lower
//! triangular** with small diagonal blocks (6, 3, 2 and 1 × 1 for the papillary layer). The
//! factorisation is then exact block forward substitution: dense LU with partial pivoting of
//! each diagonal block, nothing outside them is touched (no fill), and a solve costs the
//! pattern's non-zeros instead of the dense 18 × 18 triangles.
//!
//! The pattern is found once per layer by evaluating the Jacobian at probe states
//! ([`BlockLu::from_probes`]); every factorisation checks that the voxel's Jacobian has no
//! non-zero outside it and that no block pivot is tiny against the matrix's largest entry
//! ([`PIVOT_TOL`]); otherwise the caller falls back to the dense LU with partial pivoting of
//! the whole matrix, so a pattern that missed an entry costs time, never accuracy.

use crate::healing::model::NPAP;

/// A block pivot smaller than this times the largest entry of `I − γhJ` sends the voxel to the
/// dense LU (block triangular structure makes the block pivots those of an exact block
/// elimination, so this only guards degenerate matrices).
pub(super) const PIVOT_TOL: f64 = 1e-10;

/// One diagonal block: positions `start..end` of the elimination order, its dense `m × m`
/// factors at `off` in the value array, and the range `low` of [`BlockLu::lower_rows`]
/// (rows with entries left of the diagonal blocks) that lie in it.
#[derive(Clone, Debug)]
struct Blk {
    start: usize,
    end: usize,
    off: usize,
    low: (usize, usize),
}

/// The symbolic structure of the block-triangular LU of one layer (fixed for the run).
#[derive(Clone, Debug)]
pub(super) struct BlockLu {
    n: usize,
    /// `perm[k]`: the variable at position `k` of the elimination order.
    perm: Vec<usize>,
    blocks: Vec<Blk>,
    /// Entries below the diagonal blocks, sorted by row: (row position, column position,
    /// row-major index in the Jacobian); their values follow the blocks' at `lower_off`.
    lower: Vec<(usize, usize, usize)>,
    lower_off: usize,
    /// Rows of [`Self::lower`]: (row position, first entry, one past the last), by row.
    lower_rows: Vec<(usize, usize, usize)>,
    /// Every stored entry: (index in the value array, row-major index in the Jacobian,
    /// diagonal?), in value order.
    gather: Vec<(usize, usize, bool)>,
    /// Per row-major entry of the Jacobian: all bits but the sign outside the pattern, 0
    /// inside (the pattern check ORs `bits & mask` over the whole matrix, which vectorises).
    outside_mask: Vec<u64>,
}

/// Why the block LU declined a matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Declined {
    /// The Jacobian has a non-zero outside the pattern.
    Pattern,
    /// A block pivot is zero, not finite or below [`PIVOT_TOL`] relative to the largest entry.
    Pivot,
}

impl BlockLu {
    /// The structure for the `n × n` structural pattern `nz` (row-major; the diagonal is
    /// always included).
    pub(super) fn new(n: usize, nz: &[bool]) -> Self {
        assert!(n <= NPAP && nz.len() >= n * n);
        let dep = |i: usize, j: usize| i == j || nz[i * n + j];
        // Reachability (i depends on j, directly or through others): Warshall's closure.
        let mut reach: Vec<bool> = (0..n * n).map(|k| dep(k / n, k % n)).collect();
        for k in 0..n {
            for i in 0..n {
                if reach[i * n + k] {
                    for j in 0..n {
                        if reach[k * n + j] {
                            reach[i * n + j] = true;
                        }
                    }
                }
            }
        }
        // Strongly connected components, each listed by increasing variable index.
        let mut comp_of = vec![usize::MAX; n];
        let mut comps: Vec<Vec<usize>> = Vec::new();
        for i in 0..n {
            if comp_of[i] != usize::MAX {
                continue;
            }
            let c: Vec<usize> = (0..n)
                .filter(|&j| reach[i * n + j] && reach[j * n + i])
                .collect();
            for &j in &c {
                comp_of[j] = comps.len();
            }
            comps.push(c);
        }
        // Topological order: repeatedly the first component whose dependencies are placed.
        let mut placed = vec![false; comps.len()];
        let mut order = Vec::with_capacity(comps.len());
        while order.len() < comps.len() {
            let next = (0..comps.len())
                .find(|&c| {
                    !placed[c]
                        && comps[c].iter().all(|&i| {
                            (0..n).all(|j| !dep(i, j) || comp_of[j] == c || placed[comp_of[j]])
                        })
                })
                .expect("the component graph is acyclic");
            placed[next] = true;
            order.push(next);
        }
        let mut perm = Vec::with_capacity(n);
        let mut blocks = Vec::with_capacity(order.len());
        let mut off = 0;
        for &c in &order {
            let start = perm.len();
            for &i in &comps[c] {
                perm.push(i);
            }
            let m = comps[c].len();
            blocks.push(Blk {
                start,
                end: start + m,
                off,
                low: (0, 0),
            });
            off += m * m;
        }
        let mut lower = Vec::new();
        let mut outside = Vec::new();
        for blk in &blocks {
            for r in blk.start..blk.end {
                let i = perm[r];
                for c in 0..blk.start {
                    if dep(i, perm[c]) {
                        lower.push((r, c, i * n + perm[c]));
                    }
                }
            }
        }
        let mut inside = vec![false; n * n];
        for blk in &blocks {
            for r in blk.start..blk.end {
                for c in blk.start..blk.end {
                    inside[perm[r] * n + perm[c]] = true;
                }
            }
        }
        for &(_, _, src) in &lower {
            inside[src] = true;
        }
        for (k, &x) in inside.iter().enumerate() {
            if !x {
                outside.push(k);
            }
        }
        assert!(off + lower.len() <= NPAP * NPAP);
        let mut lower_rows: Vec<(usize, usize, usize)> = Vec::new();
        for (e, &(r, _, _)) in lower.iter().enumerate() {
            match lower_rows.last_mut() {
                Some(last) if last.0 == r => last.2 = e + 1,
                _ => lower_rows.push((r, e, e + 1)),
            }
        }
        for blk in blocks.iter_mut() {
            let first = lower_rows.partition_point(|x| x.0 < blk.start);
            let last = lower_rows.partition_point(|x| x.0 < blk.end);
            blk.low = (first, last);
        }
        let mut gather = Vec::with_capacity(off + lower.len());
        for blk in &blocks {
            let m = blk.end - blk.start;
            for r in 0..m {
                for c in 0..m {
                    let (i, j) = (perm[blk.start + r], perm[blk.start + c]);
                    gather.push((blk.off + r * m + c, i * n + j, i == j));
                }
            }
        }
        for (e, &(_, _, k)) in lower.iter().enumerate() {
            gather.push((off + e, k, false));
        }
        let mut outside_mask = vec![0u64; n * n];
        for &k in &outside {
            outside_mask[k] = !(1u64 << 63);
        }
        BlockLu {
            n,
            perm,
            blocks,
            lower_off: off,
            lower,
            lower_rows,
            gather,
            outside_mask,
        }
    }

    /// The structure of the union of the non-zeros of `jac(y)` over the probe states.
    pub(super) fn from_probes(n: usize, probes: impl Iterator<Item = Vec<f64>>) -> Self {
        let mut nz = vec![false; n * n];
        for j in probes {
            for (a, &x) in nz.iter_mut().zip(&j[..n * n]) {
                *a |= x != 0.0;
            }
        }
        Self::new(n, &nz)
    }

    /// Sizes of the diagonal blocks in elimination order.
    #[cfg(test)]
    pub(super) fn block_sizes(&self) -> Vec<usize> {
        self.blocks.iter().map(|b| b.end - b.start).collect()
    }

    /// True when `jac` (row-major, unscaled or scaled: only zeros matter) has no non-zero
    /// outside the pattern.
    #[inline]
    pub(super) fn fits(&self, jac: &[f64]) -> bool {
        let mut acc = 0u64;
        for (x, m) in jac[..self.n * self.n].iter().zip(&self.outside_mask) {
            acc |= x.to_bits() & m;
        }
        acc == 0
    }

    /// Factorises `I − gh·(jac ∘ ratio)` (`ratio`: the per-entry scaling of the raw Jacobian,
    /// row-major) into `val` and `piv`; the block diagonals keep reciprocal pivots.
    pub(super) fn factor(
        &self,
        jac: &[f64],
        ratio: &[f64],
        gh: f64,
        val: &mut [f64],
        piv: &mut [usize],
    ) -> Result<(), Declined> {
        if !self.fits(jac) {
            return Err(Declined::Pattern);
        }
        let mgh = -gh;
        let mut amax: f64 = 0.0;
        for &(dst, k, diag) in &self.gather {
            let mut x = jac[k] * ratio[k] * mgh;
            if diag {
                x += 1.0;
            }
            amax = amax.max(x.abs());
            val[dst] = x;
        }
        let tiny = PIVOT_TOL * amax;
        for blk in &self.blocks {
            let m = blk.end - blk.start;
            let a = &mut val[blk.off..blk.off + m * m];
            let p = &mut piv[blk.start..blk.end];
            if !crate::transport::dense::lu_factor(a, p, m, tiny) {
                return Err(Declined::Pivot);
            }
        }
        Ok(())
    }

    /// Solves `(I − γhJ) x = b` in place with the factors of [`Self::factor`].
    #[inline]
    pub(super) fn solve(&self, val: &[f64], piv: &[usize], b: &mut [f64]) {
        let n = self.n;
        let mut x = [0.0; NPAP];
        for k in 0..n {
            x[k] = b[self.perm[k]];
        }
        for blk in &self.blocks {
            for &(r, e0, e1) in &self.lower_rows[blk.low.0..blk.low.1] {
                let mut s = x[r];
                for e in e0..e1 {
                    s -= val[self.lower_off + e] * x[self.lower[e].1];
                }
                x[r] = s;
            }
            let m = blk.end - blk.start;
            let a = &val[blk.off..blk.off + m * m];
            let xs = &mut x[blk.start..blk.end];
            if m == 1 {
                xs[0] *= a[0];
                continue;
            }
            let p = &piv[blk.start..blk.end];
            for k in 0..m {
                xs.swap(k, p[k]);
            }
            for i in 1..m {
                let mut s = xs[i];
                for j in 0..i {
                    s -= a[i * m + j] * xs[j];
                }
                xs[i] = s;
            }
            for i in (0..m).rev() {
                let mut s = xs[i];
                for j in i + 1..m {
                    s -= a[i * m + j] * xs[j];
                }
                xs[i] = s * a[i * m + i];
            }
        }
        for k in 0..n {
            b[self.perm[k]] = x[k];
        }
    }

    /// [`Self::solve`] for `L` voxels at once (lane `q`: factors `val[q]`, `piv[q]`, right-hand
    /// side `b[q]`): the same operations in the same order per lane, so every lane's result is
    /// bit-identical to [`Self::solve`]'s; interleaving independent voxels hides the latency of
    /// the substitutions' dependency chains.
    #[inline]
    pub(super) fn solve_lanes<const L: usize>(
        &self,
        val: [&[f64]; L],
        piv: [&[usize]; L],
        b: &mut [[f64; NPAP]; L],
    ) {
        let n = self.n;
        let mut x = [[0.0; L]; NPAP];
        for k in 0..n {
            let src = self.perm[k];
            for q in 0..L {
                x[k][q] = b[q][src];
            }
        }
        for blk in &self.blocks {
            for &(r, e0, e1) in &self.lower_rows[blk.low.0..blk.low.1] {
                let mut s = x[r];
                for e in e0..e1 {
                    let c = self.lower[e].1;
                    let ve = self.lower_off + e;
                    for q in 0..L {
                        s[q] -= val[q][ve] * x[c][q];
                    }
                }
                x[r] = s;
            }
            let m = blk.end - blk.start;
            let (st, off) = (blk.start, blk.off);
            if m == 1 {
                for q in 0..L {
                    x[st][q] *= val[q][off];
                }
                continue;
            }
            for q in 0..L {
                for k in 0..m {
                    let p = piv[q][st + k];
                    let t = x[st + k][q];
                    x[st + k][q] = x[st + p][q];
                    x[st + p][q] = t;
                }
            }
            for i in 1..m {
                let mut s = x[st + i];
                for j in 0..i {
                    let xj = x[st + j];
                    for q in 0..L {
                        s[q] -= val[q][off + i * m + j] * xj[q];
                    }
                }
                x[st + i] = s;
            }
            for i in (0..m).rev() {
                let mut s = x[st + i];
                for j in i + 1..m {
                    let xj = x[st + j];
                    for q in 0..L {
                        s[q] -= val[q][off + i * m + j] * xj[q];
                    }
                }
                for q in 0..L {
                    x[st + i][q] = s[q] * val[q][off + i * m + i];
                }
            }
        }
        for k in 0..n {
            let dst = self.perm[k];
            for q in 0..L {
                b[q][dst] = x[k][q];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        Kinetics, ROS_SUBSTEPS, RosFactors, RosWork, dense_factor, factor_raw, ros2_voxel,
    };
    use super::*;
    use crate::healing::model::{Block, BlockInjury, PersonFactors};
    use crate::healing::params::{DAY, HealingParams};
    use crate::skin::{self, LayerKind, Person, Site, ThicknessOverrides};

    fn kinetics() -> Kinetics {
        let col = skin::column(
            Site::Cheek,
            &Person::default(),
            &ThicknessOverrides::default(),
        )
        .expect("column");
        let p = HealingParams::default();
        let pf = PersonFactors::new(35.0, 3, &p);
        let pap = Block::new(&col, LayerKind::PapillaryDermis, &p, &pf);
        let ret = Block::new(&col, LayerKind::ReticularDermis, &p, &pf);
        Kinetics::new(pap, ret, vec![0, 1], &super::super::diffusivities(&p))
    }

    /// The deviations of a freshly needled voxel of layer `l`.
    fn damaged(kin: &Kinetics, l: usize) -> [f64; NPAP] {
        let mut y = kin.rest[l];
        let n = kin.dim(l);
        kin.blocks[l].apply_injury(
            &mut y[..n],
            &BlockInjury {
                injured_fraction: 0.1,
                blood_fraction: 0.3,
                epidermis_injured_fraction: 0.1,
                open_surface_fraction: 0.2,
            },
        );
        let mut u = [0.0; NPAP];
        kin.deviation_of(l, &y, &mut u);
        u
    }

    /// Deterministic numbers in [0, 1).
    fn rng(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Solves `(I − γhJ) x = b` for the raw Jacobian `jac` of layer `l` with both the
    /// integrator's factorisation (block LU, or its fallback) and the dense LU; returns the two
    /// solutions, whether the block LU was used, and the block LU's own verdict.
    fn both(
        kin: &Kinetics,
        l: usize,
        jac: &[f64],
        gh: f64,
        b: &[f64],
    ) -> (Vec<f64>, Vec<f64>, bool, Result<(), Declined>) {
        let n = kin.dim(l);
        let mut w = RosWork::new();
        w.f.a[..n * n].copy_from_slice(&jac[..n * n]);
        let verdict = kin.lu[l].factor(jac, &kin.ratio[l], gh, &mut w.f.sp, &mut w.f.sp_piv);
        assert!(factor_raw(kin, l, n, gh, &mut w.f), "factorisation failed");
        let mut x = b.to_vec();
        w.f.solve(kin, l, n, &mut x);
        let sparse_used = !w.f.dense;
        let mut d = RosWork::new().f;
        for k in 0..n * n {
            d.a[k] = jac[k] * kin.ratio[l][k];
        }
        assert!(dense_factor(n, gh, &mut d));
        let mut xd = b.to_vec();
        d.solve(kin, l, n, &mut xd);
        (x, xd, sparse_used, verdict)
    }

    fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
        let m = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        a.iter()
            .zip(b)
            .fold(0.0f64, |d, (x, y)| d.max((x - y).abs()))
            / m
    }

    /// The pattern: structural non-zeros of layer `l` (inside the block LU's storage).
    fn pattern(kin: &Kinetics, l: usize) -> Vec<bool> {
        kin.lu[l].outside_mask.iter().map(|&m| m == 0).collect()
    }

    #[test]
    fn block_lu_matches_dense_lu_on_random_matrices_with_the_real_pattern() {
        let kin = kinetics();
        let mut r = rng(7);
        for l in 0..2 {
            let n = kin.dim(l);
            let pat = pattern(&kin, l);
            // Feed-forward structure: small diagonal blocks, some entries below them.
            let sizes = kin.lu[l].block_sizes();
            assert!(
                sizes.len() >= 5 && *sizes.iter().max().unwrap() <= 8,
                "{sizes:?}"
            );
            assert!(!kin.lu[l].lower.is_empty());
            for trial in 0..20 {
                // Random J on the pattern (decaying diagonal), in the deviations' units.
                let mut jac = vec![0.0; n * n];
                for i in 0..n {
                    for j in 0..n {
                        let k = i * n + j;
                        if pat[k] {
                            let x = if i == j {
                                -1.0 - 2.0 * r()
                            } else {
                                2.0 * r() - 1.0
                            };
                            jac[k] = x / kin.ratio[l][k];
                        }
                    }
                }
                let gh = 0.05 + 2.0 * r();
                let b: Vec<f64> = (0..n).map(|_| 2.0 * r() - 1.0).collect();
                let (x, xd, used, verdict) = both(&kin, l, &jac, gh, &b);
                assert_eq!(verdict, Ok(()), "layer {l} trial {trial}");
                assert!(used);
                let d = rel_diff(&x, &xd);
                assert!(d < 1e-12, "layer {l} trial {trial}: {d:e}");
            }
        }
    }

    #[test]
    fn block_lu_matches_dense_lu_on_a_damaged_voxel_and_never_falls_back_on_its_course() {
        let kin = kinetics();
        for l in 0..2 {
            let n = kin.dim(l);
            let mut u = damaged(&kin, l);
            let mut w = RosWork::new();
            let mut t = 0.0;
            let mut h = 0.01 * DAY;
            while t < 60.0 * DAY {
                // The real I − γhJ of the voxel now, with a large and a small step.
                let mut y = [0.0; NPAP];
                kin.to_si(l, &u, &mut y);
                let mut jac = vec![0.0; n * n];
                kin.blocks[l].jacobian_into(&y[..n], &mut jac);
                for gh in [1.7 * h, 1e-3 * h] {
                    let b: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
                    let (x, xd, used, _) = both(&kin, l, &jac, gh, &b);
                    assert!(used, "layer {l} day {}: block LU declined", t / DAY);
                    let d = rel_diff(&x, &xd);
                    assert!(d < 1e-12, "layer {l} day {}: {d:e}", t / DAY);
                }
                assert!(ros2_voxel(&kin, l, &mut u, h, ROS_SUBSTEPS, &mut w));
                t += h;
                h = (1.2 * h).min(2.0 * DAY);
            }
            assert_eq!(w.f.fallbacks, 0, "layer {l}");
        }
    }

    #[test]
    fn block_lu_declines_tiny_pivots_and_foreign_entries_and_the_dense_lu_takes_over() {
        let kin = kinetics();
        let l = 0;
        let n = kin.dim(l);
        let pat = pattern(&kin, l);
        let mut r = rng(11);
        let mut jac = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let k = i * n + j;
                if pat[k] {
                    let x = if i == j { -1.0 - r() } else { r() - 0.5 };
                    jac[k] = x / kin.ratio[l][k];
                }
            }
        }
        let gh = 0.5;
        let b: Vec<f64> = (0..n).map(|i| (i as f64 - 7.0) / 3.0).collect();
        // A singleton block (a diagonal-only row) whose pivot 1 − γh·J_ii is ~1e-13.
        let s = (0..n)
            .find(|&i| (0..n).all(|j| j == i || !pat[i * n + j]))
            .expect("a diagonal-only row");
        jac[s * n + s] = (1.0 - 1e-13) / gh / kin.ratio[l][s * n + s];
        let (x, xd, used, verdict) = both(&kin, l, &jac, gh, &b);
        assert_eq!(verdict, Err(Declined::Pivot));
        assert!(!used);
        assert_eq!(x, xd, "the fallback is the dense LU");
        // A non-zero outside the pattern.
        let mut jac2 = jac.clone();
        jac2[s * n + s] = -1.0 / kin.ratio[l][s * n + s];
        let k = pat
            .iter()
            .position(|&p| !p)
            .expect("an entry outside the pattern");
        jac2[k] = 0.3 / kin.ratio[l][k];
        let (x, xd, used, verdict) = both(&kin, l, &jac2, gh, &b);
        assert_eq!(verdict, Err(Declined::Pattern));
        assert!(!used);
        assert_eq!(x, xd);
        // Exactly singular: both decline, the integrator sub-steps instead.
        let mut jac3 = jac2.clone();
        jac3[k] = 0.0;
        jac3[s * n + s] = 1.0 / gh / kin.ratio[l][s * n + s];
        let mut f: RosFactors = RosWork::new().f;
        f.a[..n * n].copy_from_slice(&jac3);
        assert!(!factor_raw(&kin, l, n, gh, &mut f));
    }
}
