//! Verification of the transport engine against analytic solutions, with observed orders of
//! accuracy (run with `--nocapture` to see them), conservation, positivity, determinism and
//! error handling.

#![allow(clippy::needless_range_loop)]

use needlesim_transport::*;

// ---------------------------------------------------------------------------------------------
// helpers

/// erfc(x) for x >= 0: Taylor series of erf below 3, continued fraction above (~1e-13 absolute).
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 3.0 {
        let mut term = x;
        let mut sum = x;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x * x / n;
            let t = term / (2.0 * n + 1.0);
            sum += t;
            if t.abs() < 1e-17 {
                break;
            }
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        let mut k = x;
        for n in (1..80).rev() {
            k = x + (n as f64 / 2.0) / k;
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / k
    }
}

fn orders(errs: &[f64]) -> Vec<f64> {
    errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

fn report(name: &str, ns: &[usize], errs: &[f64]) -> Vec<f64> {
    let o = orders(errs);
    println!("{name}:");
    for (a, n) in ns.iter().enumerate() {
        let ord = if a > 0 {
            format!("  observed order {:.2}", o[a - 1])
        } else {
            String::new()
        };
        println!("  n = {n:>4}  error = {:.3e}{ord}", errs[a]);
    }
    o
}

fn column(nz: usize, depth: f64) -> Grid3 {
    let dz = depth / nz as f64;
    Grid3::uniform([1, 1, nz], [dz, dz, dz]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. semi-infinite medium: c = erfc(z / (2 sqrt(D t)))

fn erfc_error(nz: usize, steps: usize, scheme: Scheme) -> f64 {
    let (d, t_end, depth) = (1e-9, 20.0, 1e-3);
    let grid = column(nz, depth);
    let problem = Problem::builder(grid.clone())
        .species(Species::new("c", d))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
        .build()
        .unwrap();
    let settings = SolverSettings::fixed(t_end / steps as f64).with_scheme(scheme);
    let mut sim = Simulation::new(problem, settings).unwrap();
    sim.advance_to(t_end, |_| {}).unwrap();
    let s = 2.0 * (d * t_end).sqrt();
    (0..nz)
        .map(|k| (sim.fields().get(0, 0, 0, k) - erfc(grid.centre(0, 0, k)[2] / s)).abs())
        .fold(0.0, f64::max)
}

#[test]
fn semi_infinite_erfc_second_order_cn() {
    let ns = [50, 100, 200, 400];
    let errs: Vec<f64> = ns
        .iter()
        .map(|&n| erfc_error(n, n / 5, Scheme::CrankNicolson { damping_steps: 2 }))
        .collect();
    let o = report(
        "1-D semi-infinite medium (erfc), damped CN, dt ∝ dz",
        &ns,
        &errs,
    );
    assert!(o[o.len() - 1] > 1.8, "order {o:?}");
    assert!(errs[3] < 2e-4);
}

#[test]
fn semi_infinite_erfc_first_order_be_in_time() {
    let steps = [10, 20, 40];
    let errs: Vec<f64> = steps
        .iter()
        .map(|&k| erfc_error(800, k, Scheme::BackwardEuler))
        .collect();
    let o = report("1-D erfc, backward Euler, nz = 800, steps =", &steps, &errs);
    assert!(o.iter().all(|x| (0.8..1.3).contains(x)), "order {o:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. 3-D point source: Gaussian spreading, periodic lateral faces

fn gaussian_3d_error(n: usize) -> f64 {
    let d = 1e-9;
    let len = 1.6e-3;
    let s0 = len / 16.0;
    let t_end = s0 * s0 / (2.0 * d); // σ² doubles
    let h = len / n as f64;
    let grid = Grid3::uniform([n; 3], [h; 3]).unwrap();
    let c0 = len / 2.0;
    let gauss = |x: [f64; 3], s2: f64| {
        let r2 = (x[0] - c0).powi(2) + (x[1] - c0).powi(2) + (x[2] - c0).powi(2);
        (s0 * s0 / s2).powf(1.5) * (-r2 / (2.0 * s2)).exp()
    };
    let mut init = vec![0.0; n * n * n];
    for k in 0..n {
        for j in 0..n {
            for i in 0..n {
                init[grid.index(i, j, k)] = gauss(grid.centre(i, j, k), s0 * s0);
            }
        }
    }
    let problem = Problem::builder(grid.clone())
        .species(Species::new("c", d).initial(init))
        .boundary_everywhere(Boundary::Periodic)
        .boundary_all(Face::ZMin, Boundary::ZeroFlux)
        .boundary_all(Face::ZMax, Boundary::ZeroFlux)
        .build()
        .unwrap();
    let steps = n / 2;
    let settings = SolverSettings::fixed(t_end / steps as f64)
        .with_scheme(Scheme::CrankNicolson { damping_steps: 0 });
    let mut sim = Simulation::new(problem, settings).unwrap();
    sim.advance_to(t_end, |_| {}).unwrap();
    let s2 = s0 * s0 + 2.0 * d * t_end;
    let mut e = 0.0f64;
    for k in 0..n {
        for j in 0..n {
            for i in 0..n {
                e = e.max((sim.fields().get(0, i, j, k) - gauss(grid.centre(i, j, k), s2)).abs());
            }
        }
    }
    e
}

#[test]
fn point_source_gaussian_3d_second_order() {
    let ns = [16, 32, 64];
    let errs: Vec<f64> = ns.iter().map(|&n| gaussian_3d_error(n)).collect();
    let o = report(
        "3-D point source (Gaussian), CN, periodic x/y, dt ∝ dx",
        &ns,
        &errs,
    );
    assert!(o[1] > 1.8, "order {o:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. two-layer steady flux

/// Steady state between c = 1 (top) and c = 0 (bottom) of two layers, `l1` thick over `l2`,
/// with effective conductivities `k1`, `k2` (D, or D·C with a capacity), on a graded z grid of
/// `n` cells in the top layer and `2n` stretched cells below; `species(nz, n)` builds the
/// species. Returns the largest relative flux error (top and bottom faces) or absolute profile
/// error against the piecewise-linear exact solution with flux 1 / (l1/k1 + l2/k2).
fn two_layer_steady_error(
    n: usize,
    (l1, l2): (f64, f64),
    (k1, k2): (f64, f64),
    species: impl Fn(usize, usize) -> Species,
) -> f64 {
    let j_exact = 1.0 / (l1 / k1 + l2 / k2);
    let mut z: Vec<f64> = (0..=n).map(|k| l1 * k as f64 / n as f64).collect();
    for k in 1..=2 * n {
        let s = k as f64 / (2 * n) as f64;
        z.push(l1 + l2 * s * s);
    }
    let nz = z.len() - 1;
    let grid = Grid3::with_z_faces(3, 3, 1e-5, 1e-5, z).unwrap();
    let problem = Problem::builder(grid.clone())
        .species(species(nz, n))
        .boundary_everywhere(Boundary::Periodic)
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
        .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
        .build()
        .unwrap();
    let settings = SolverSettings::fixed(1e12).with_scheme(Scheme::BackwardEuler);
    let mut sim = Simulation::new(problem, settings).unwrap();
    sim.advance_to(1e13, |_| {}).unwrap();
    let area = 9.0 * 1e-10;
    let flux_top = sim.boundary_flux(0, Face::TOP) / area;
    let flux_bot = -sim.boundary_flux(0, Face::BOTTOM) / area;
    let mut e = ((flux_top - j_exact) / j_exact)
        .abs()
        .max(((flux_bot - j_exact) / j_exact).abs());
    for k in 0..nz {
        let zc = grid.centre(0, 0, k)[2];
        let exact = if zc < l1 {
            1.0 - j_exact * zc / k1
        } else {
            j_exact * (l1 + l2 - zc) / k2
        };
        e = e.max((sim.fields().get(0, 1, 2, k) - exact).abs());
    }
    e
}

#[test]
fn two_layer_steady_flux_exact() {
    let (d1, d2, l1, l2) = (1e-12, 1e-10, 20e-6, 480e-6);
    let ns = [10, 20, 40];
    let errs: Vec<f64> = ns
        .iter()
        .map(|&n| {
            two_layer_steady_error(n, (l1, l2), (d1, d2), |nz, n| {
                let dv: Vec<f64> = (0..9 * nz)
                    .map(|v| if v / 9 < n { d1 } else { d2 })
                    .collect();
                Species::new("c", dv)
            })
        })
        .collect();
    report(
        "two-layer steady flux (D ratio 100, graded z, per-voxel D): relative flux / profile error",
        &ns,
        &errs,
    );
    println!(
        "  (harmonic face diffusivities make the FV solution exact for layers: errors are round-off)"
    );
    assert!(errs.iter().all(|e| *e < 1e-9), "{errs:?}");
}

// ---------------------------------------------------------------------------------------------
// 4. decay–diffusion steady state: c = cosh((L − z)/ℓ) / cosh(L/ℓ)

#[test]
fn decay_diffusion_steady_state_second_order() {
    let (d, lam): (f64, f64) = (1e-10, 1e-3);
    let ell = (d / lam).sqrt();
    let depth = 4.0 * ell;
    let ns = [16, 32, 64];
    let mut errs = Vec::new();
    for &n in &ns {
        let grid = column(n, depth);
        let problem = Problem::builder(grid.clone())
            .species(Species::new("c", d).decay(lam))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
            .build()
            .unwrap();
        let settings = SolverSettings::fixed(2.0);
        let mut sim = Simulation::new(problem, settings).unwrap();
        sim.advance_to(25.0 / lam, |_| {}).unwrap();
        let e = (0..n)
            .map(|k| {
                let z = grid.centre(0, 0, k)[2];
                (sim.fields().get(0, 0, 0, k) - ((depth - z) / ell).cosh() / (depth / ell).cosh())
                    .abs()
            })
            .fold(0.0, f64::max);
        errs.push(e);
    }
    let o = report("decay–diffusion steady state (cosh profile)", &ns, &errs);
    assert!(o.iter().all(|x| *x > 1.8), "order {o:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. axisymmetric: product of a 2-D radial and a 1-D axial Gaussian

fn axi_error(n: usize) -> f64 {
    let d = 1e-9;
    let s0 = 1e-4;
    let (radius, depth) = (8.0 * s0, 16.0 * s0);
    let z0 = depth / 2.0;
    let t_end = s0 * s0 / (2.0 * d);
    let grid = AxiGrid::uniform(n, 2 * n, radius, depth).unwrap();
    let exact = |r: f64, z: f64, s2: f64| {
        (s0 * s0 / s2) * (s0 * s0 / s2).sqrt() * (-(r * r + (z - z0).powi(2)) / (2.0 * s2)).exp()
    };
    let mut init = vec![0.0; n * 2 * n];
    for k in 0..2 * n {
        for i in 0..n {
            let [r, z] = grid.centre(i, k);
            init[grid.index(i, k)] = exact(r, z, s0 * s0);
        }
    }
    let problem = Problem::builder(grid.clone())
        .species(Species::new("c", d).initial(init))
        .boundary_everywhere(Boundary::ZeroFlux)
        .build()
        .unwrap();
    let steps = n / 2;
    let settings = SolverSettings::fixed(t_end / steps as f64)
        .with_scheme(Scheme::CrankNicolson { damping_steps: 0 });
    let mut sim = Simulation::new(problem, settings).unwrap();
    sim.advance_to(t_end, |_| {}).unwrap();
    let s2 = s0 * s0 + 2.0 * d * t_end;
    let mut e = 0.0f64;
    for k in 0..2 * n {
        for i in 0..n {
            let [r, z] = grid.centre(i, k);
            e = e.max((sim.fields().get(0, i, 0, k) - exact(r, z, s2)).abs());
        }
    }
    e
}

#[test]
fn axisymmetric_gaussian_second_order() {
    let ns = [16, 32, 64];
    let errs: Vec<f64> = ns.iter().map(|&n| axi_error(n)).collect();
    let o = report("axisymmetric (r, z) Gaussian, CN, dt ∝ dr", &ns, &errs);
    assert!(o[1] > 1.8, "order {o:?}");
}

// ---------------------------------------------------------------------------------------------
// 6. conservation, positivity

fn layered_channel_d(shape: [usize; 3], seed: u64) -> Vec<f64> {
    let [nx, ny, nz] = shape;
    let mut x = seed;
    let mut out = Vec::with_capacity(nx * ny * nz);
    for k in 0..nz {
        for j in 0..ny {
            for i in 0..nx {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = 0.5 + (x >> 11) as f64 / (1u64 << 53) as f64;
                let layer = [1e-13, 1e-11, 3e-11, 5e-11][(4 * k / nz).min(3)];
                let channel = if (i as isize - nx as isize / 2).abs() <= 1 && j == ny / 2 {
                    100.0
                } else {
                    1.0
                };
                out.push(layer * channel * noise);
            }
        }
    }
    out
}

fn random_field(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

#[test]
fn mass_conserved_with_closed_boundaries() {
    let shape = [24, 20, 16];
    let z: Vec<f64> = (0..=16).map(|k| 1e-6 * (k as f64).powf(1.5)).collect();
    let grid = Grid3::with_z_faces(24, 20, 2e-6, 2e-6, z).unwrap();
    let n = grid.len();
    for scheme in [
        Scheme::BackwardEuler,
        Scheme::CrankNicolson { damping_steps: 2 },
    ] {
        let problem = Problem::builder(grid.clone())
            .species(
                Species::new("layered", layered_channel_d(shape, 3)).initial(random_field(n, 1)),
            )
            .species(Species::new("uniform", 2e-11).initial(random_field(n, 2)))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::XMin, Boundary::Periodic)
            .boundary_all(Face::XMax, Boundary::Periodic)
            .build()
            .unwrap();
        let mut sim =
            Simulation::new(problem, SolverSettings::fixed(0.5).with_scheme(scheme)).unwrap();
        let m0 = [sim.total_amount(0), sim.total_amount(1)];
        sim.advance_to(10.0, |_| {}).unwrap();
        for s in 0..2 {
            let drift = ((sim.total_amount(s) - m0[s]) / m0[s]).abs();
            println!("mass drift {scheme:?} species {s}: {drift:.2e}");
            assert!(drift < 1e-13, "drift {drift}");
        }
    }
    // Axisymmetric with per-voxel D.
    let grid = AxiGrid::new(
        (0..=30).map(|i| 1e-6 * (i as f64).powf(1.3)).collect(),
        (0..=25).map(|k| 2e-6 * k as f64).collect(),
    )
    .unwrap();
    let n = grid.len();
    let problem = Problem::builder(grid)
        .species(Species::new("c", layered_channel_d([30, 1, 25], 7)).initial(random_field(n, 5)))
        .boundary_everywhere(Boundary::ZeroFlux)
        .build()
        .unwrap();
    let mut sim = Simulation::new(problem, SolverSettings::fixed(0.5)).unwrap();
    let m0 = sim.total_amount(0);
    sim.advance_to(10.0, |_| {}).unwrap();
    let drift = ((sim.total_amount(0) - m0) / m0).abs();
    println!("mass drift axisymmetric: {drift:.2e}");
    assert!(drift < 1e-13);
}

#[test]
fn prescribed_flux_and_robin_balance() {
    // Constant inward flux q into a closed column: amount = q A t exactly.
    let grid = Grid3::uniform([2, 2, 20], [1e-5; 3]).unwrap();
    let q = 3e-7;
    let problem = Problem::builder(grid)
        .species(Species::new("c", 1e-10))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Flux(q))
        .build()
        .unwrap();
    let mut sim = Simulation::new(problem, SolverSettings::fixed(1.0)).unwrap();
    sim.advance_to(50.0, |_| {}).unwrap();
    let expected = q * 4e-10 * 50.0;
    let rel = (sim.total_amount(0) - expected).abs() / expected;
    println!(
        "flux boundary: amount {:.6e}, q A t {:.6e}, rel err {rel:.1e}",
        sim.total_amount(0),
        expected
    );
    assert!(rel < 1e-12);
    // Robin top + sink at depth: steady flux c_ext / (1/h + L/D).
    let (d, h, cext, l) = (1e-10, 1e-6, 2.0, 2e-4);
    let problem = Problem::builder(column(40, l))
        .species(Species::new("c", d))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Robin { h, c_ext: cext })
        .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
        .build()
        .unwrap();
    let mut sim = Simulation::new(
        problem,
        SolverSettings::fixed(1e9).with_scheme(Scheme::BackwardEuler),
    )
    .unwrap();
    sim.advance_to(1e10, |_| {}).unwrap();
    let area = 25e-12;
    let j = sim.boundary_flux(0, Face::TOP) / area;
    let exact = cext / (1.0 / h + l / d);
    println!("Robin steady flux {j:.6e} vs exact {exact:.6e}");
    assert!(((j - exact) / exact).abs() < 1e-9);
}

fn spike_problem(scheme_dt: f64, scheme: Scheme) -> f64 {
    let shape = [12, 12, 12];
    let grid = Grid3::uniform(shape, [1e-5; 3]).unwrap();
    let mut init = vec![0.0; grid.len()];
    init[grid.index(6, 6, 6)] = 1.0;
    init[grid.index(0, 0, 0)] = 1.0;
    let problem = Problem::builder(grid)
        .species(
            Species::new("c", layered_channel_d(shape, 11))
                .initial(init)
                .decay(1e-3),
        )
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Dirichlet(0.0))
        .boundary_all(
            Face::BOTTOM,
            Boundary::Robin {
                h: 1e-7,
                c_ext: 0.0,
            },
        )
        .build()
        .unwrap();
    let mut sim = Simulation::new(
        problem,
        SolverSettings::fixed(scheme_dt).with_scheme(scheme),
    )
    .unwrap();
    let mut min = f64::INFINITY;
    for _ in 0..6 {
        sim.step(scheme_dt).unwrap();
        min = min.min(
            sim.fields()
                .as_slice()
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min),
        );
    }
    min
}

#[test]
fn positivity() {
    // Backward Euler: exactly non-negative for any step.
    for dt in [1.0, 100.0, 1e4, 1e7] {
        let m = spike_problem(dt, Scheme::BackwardEuler);
        println!("positivity BE dt = {dt:e}: min = {m:e}");
        assert!(m >= 0.0);
    }
    // Crank–Nicolson: non-negative when h·D_max/dx² ≤ 1 per direction (here D_max ≈ 7.5e-9,
    // dx² = 1e-10, so dt ≤ 0.013 s); for larger steps undershoots are possible.
    let m = spike_problem(0.01, Scheme::CrankNicolson { damping_steps: 0 });
    println!("positivity CN dt = 0.01 s (within the bound): min = {m:e}");
    assert!(m >= 0.0);
    let m = spike_problem(100.0, Scheme::CrankNicolson { damping_steps: 0 });
    println!("CN dt = 100 s without damping (outside the bound): min = {m:e} (undershoot allowed)");
    let m = spike_problem(100.0, Scheme::CrankNicolson { damping_steps: 2 });
    println!("CN dt = 100 s with 2 Rannacher steps: min = {m:e}");
}

// ---------------------------------------------------------------------------------------------
// 7. reactions, adaptivity, coefficient updates, determinism

/// Logistic growth of `a` and production of `b` from `a`.
struct Logistic {
    r: f64,
    k: f64,
}

impl Reactions for Logistic {
    fn rates(&self, _v: usize, c: &[f64], dcdt: &mut [f64]) {
        dcdt[0] = self.r * c[0] * (1.0 - c[0] / self.k);
        dcdt[1] = 0.1 * self.r * c[0];
    }
    fn jacobian(&self, _v: usize, c: &[f64], jac: &mut [f64]) {
        jac.copy_from_slice(&[self.r * (1.0 - 2.0 * c[0] / self.k), 0.0, 0.1 * self.r, 0.0]);
    }
}

#[test]
fn nonlinear_reactions_second_order() {
    let (r, k, a0, t_end) = (1e-3, 2.0, 0.1, 3000.0);
    let exact_a = |t: f64| k / (1.0 + (k / a0 - 1.0) * (-r * t).exp());
    // ∫ a dt = k/r ln((a0 e^{rt} + k - a0)/k)
    let exact_b = 0.1 * r * (k / r) * ((a0 * (r * t_end).exp() + k - a0) / k).ln();
    let steps = [20, 40, 80];
    let mut errs = Vec::new();
    for &n in &steps {
        let grid = Grid3::uniform([4, 3, 5], [1e-5; 3]).unwrap();
        let problem = Problem::builder(grid)
            .species(Species::new("a", 1e-10).initial(a0))
            .species(Species::new("b", 1e-10))
            .boundary_everywhere(Boundary::ZeroFlux)
            .reactions(Logistic { r, k })
            .build()
            .unwrap();
        let mut sim = Simulation::new(problem, SolverSettings::fixed(t_end / n as f64)).unwrap();
        sim.advance_to(t_end, |_| {}).unwrap();
        let e = (sim.fields().get(0, 1, 1, 1) - exact_a(t_end))
            .abs()
            .max((sim.fields().get(1, 2, 0, 4) - exact_b).abs());
        errs.push(e);
    }
    let o = report(
        "nonlinear reactions (logistic + production), SDIRK2 + Strang, steps =",
        &steps,
        &errs,
    );
    assert!(o[1] > 1.8, "order {o:?}");
}

#[test]
fn adaptive_steps_meet_tolerance() {
    let (d, t_end, depth, nz) = (1e-9, 20.0, 1e-3, 400);
    let grid = column(nz, depth);
    for rtol in [1e-3, 1e-4] {
        let problem = Problem::builder(grid.clone())
            .species(Species::new("c", d))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
            .build()
            .unwrap();
        let mut sim = Simulation::new(problem, SolverSettings::adaptive(rtol, rtol, 1e-3)).unwrap();
        let stats = sim.advance_to(t_end, |_| {}).unwrap();
        let s = 2.0 * (d * t_end).sqrt();
        let e = (0..nz)
            .map(|k| (sim.fields().get(0, 0, 0, k) - erfc(grid.centre(0, 0, k)[2] / s)).abs())
            .fold(0.0, f64::max);
        println!(
            "adaptive erfc rtol = atol = {rtol:e}: {} accepted, {} rejected, last dt {:.3} s, error {e:.2e}",
            stats.accepted, stats.rejected, stats.last_dt
        );
        assert!(e < 20.0 * rtol, "error {e}");
        assert_eq!(sim.time(), t_end);
    }
}

#[test]
fn local_diffusivity_update_matches_full_rebuild() {
    let shape = [10, 8, 9];
    let grid = Grid3::uniform(shape, [1e-5; 3]).unwrap();
    let d0 = layered_channel_d(shape, 4);
    let make = || {
        let p = Problem::builder(grid.clone())
            .species(Species::new("c", d0.clone()).initial(random_field(grid.len(), 9)))
            .boundary_everywhere(Boundary::Periodic)
            .boundary_all(
                Face::TOP,
                Boundary::Robin {
                    h: 1e-6,
                    c_ext: 1.0,
                },
            )
            .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
            .build()
            .unwrap();
        Simulation::new(p, SolverSettings::fixed(1.0)).unwrap()
    };
    let (mut a, mut b) = (make(), make());
    // Close a "channel": voxels on the boundary and inside change.
    let updates: Vec<(usize, f64)> = [(0, 0, 0), (9, 7, 8), (5, 4, 0), (5, 4, 1), (0, 3, 4)]
        .iter()
        .map(|&(i, j, k)| (grid.index(i, j, k), 3e-12))
        .collect();
    a.update_diffusivity(0, &updates).unwrap();
    let mut d1 = d0.clone();
    for &(v, d) in &updates {
        d1[v] = d;
    }
    b.set_diffusivity(0, Coefficient::PerVoxel(d1)).unwrap();
    a.advance_to(5.0, |_| {}).unwrap();
    b.advance_to(5.0, |_| {}).unwrap();
    assert_eq!(a.fields().as_slice(), b.fields().as_slice());
    // Uniform -> per-voxel on first update.
    let p = Problem::builder(grid.clone())
        .species(Species::new("c", 1e-11).initial(1.0))
        .boundary_everywhere(Boundary::ZeroFlux)
        .build()
        .unwrap();
    let mut s = Simulation::new(p, SolverSettings::fixed(1.0)).unwrap();
    s.update_diffusivity(0, &[(3, 1e-9)]).unwrap();
    assert!(matches!(
        s.operator(0).diffusivity,
        DiffusivityStorage::PerVoxel(_)
    ));
}

fn determinism_run(threads: usize) -> Vec<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let shape = [24, 20, 12];
        let z: Vec<f64> = (0..=12).map(|k| 1e-6 * (k as f64).powf(1.2)).collect();
        let grid = Grid3::with_z_faces(24, 20, 3e-6, 3e-6, z).unwrap();
        let n = grid.len();
        let problem = Problem::builder(grid)
            .species(
                Species::new("a", layered_channel_d(shape, 1))
                    .initial(random_field(n, 3))
                    .decay(1e-3),
            )
            .species(
                Species::new("b", 2e-11)
                    .initial(random_field(n, 4))
                    .source(1e-3),
            )
            .boundary_everywhere(Boundary::Periodic)
            .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
            .boundary_all(
                Face::BOTTOM,
                Boundary::Robin {
                    h: 1e-7,
                    c_ext: 0.0,
                },
            )
            .reactions(Logistic { r: 1e-3, k: 2.0 })
            .build()
            .unwrap();
        let mut sim = Simulation::new(problem, SolverSettings::adaptive(1e-3, 1e-4, 1.0)).unwrap();
        sim.advance_to(30.0, |_| {}).unwrap();
        let mut out = sim.fields().as_slice().to_vec();
        out.push(sim.total_amount(0));
        out
    })
}

#[test]
fn bit_identical_for_any_thread_count() {
    let a = determinism_run(1);
    let b = determinism_run(2);
    let c = determinism_run(3);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()));
    println!("1, 2 and 3 threads: {} values bit-identical", a.len());
}

// ---------------------------------------------------------------------------------------------
// 8. errors

#[test]
fn bad_input_is_a_clear_error() {
    let grid = Grid3::uniform([4, 4, 4], [1e-5; 3]).unwrap();
    let base = || Problem::builder(grid.clone()).boundary_everywhere(Boundary::ZeroFlux);
    let msg = |e: TransportError| e.to_string();

    let e = base()
        .species(Species::new("drug", -1e-9))
        .build()
        .unwrap_err();
    assert!(
        msg(e.clone()).contains("species 'drug' diffusivity") && msg(e).contains("-0.000000001")
    );
    let mut d = vec![1e-10; 64];
    d[17] = f64::NAN;
    let e = base().species(Species::new("drug", d)).build().unwrap_err();
    assert!(msg(e).contains("voxel 17"));
    let e = base()
        .species(Species::new("drug", vec![1e-10; 5]))
        .build()
        .unwrap_err();
    assert!(matches!(
        e,
        TransportError::WrongLength {
            got: 5,
            expected: 64,
            ..
        }
    ));
    let e = base()
        .species(Species::new("drug", 1e-10).decay(-1.0))
        .build()
        .unwrap_err();
    assert!(msg(e).contains("decay"));
    let e = Problem::builder(grid.clone())
        .species(Species::new("drug", 1e-10))
        .build()
        .unwrap_err();
    assert!(matches!(e, TransportError::UndefinedBoundary { .. }), "{e}");
    println!("undefined boundary: {e}");
    let e = Problem::builder(grid.clone())
        .species(Species::new("drug", 1e-10))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::XMin, Boundary::Periodic)
        .build()
        .unwrap_err();
    assert!(matches!(e, TransportError::UnpairedPeriodic { .. }));
    let e = base()
        .species(Species::new("drug", 1e-10))
        .boundary("nope", Face::TOP, Boundary::Dirichlet(1.0))
        .build()
        .unwrap_err();
    assert!(matches!(e, TransportError::UnknownSpecies(_)));
    let e = base()
        .species(Species::new("drug", 1e-10))
        .boundary(
            "drug",
            Face::TOP,
            Boundary::Robin {
                h: f64::INFINITY,
                c_ext: 1.0,
            },
        )
        .build()
        .unwrap_err();
    assert!(msg(e).contains("Robin h"));
    assert!(base().build().is_err());
    assert!(matches!(
        Grid3::uniform([0, 4, 4], [1e-5; 3]),
        Err(TransportError::InvalidGrid { .. })
    ));
    assert!(Grid3::uniform([4, 4, 4], [1e-5, -1.0, 1e-5]).is_err());
    let e = Grid3::with_z_faces(2, 2, 1e-5, 1e-5, vec![0.0, 2e-6, 1e-6]).unwrap_err();
    println!("bad z faces: {e}");
    assert!(AxiGrid::new(vec![1e-6, 2e-6], vec![0.0, 1e-6]).is_err());
    let axi = AxiGrid::uniform(4, 4, 1e-4, 1e-4).unwrap();
    assert!(
        Problem::builder(axi)
            .species(Species::new("d", 1e-10))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::XMin, Boundary::Dirichlet(1.0))
            .build()
            .is_err()
    );
    let p = base().species(Species::new("drug", 1e-10)).build().unwrap();
    assert!(Simulation::new(p.clone(), SolverSettings::fixed(0.0)).is_err());
    assert!(Simulation::new(p.clone(), SolverSettings::fixed(f64::NAN)).is_err());
    let mut sim = Simulation::new(p, SolverSettings::fixed(1.0)).unwrap();
    assert!(matches!(
        sim.step(-1.0),
        Err(TransportError::InvalidStep { .. })
    ));
    assert!(
        sim.set_boundary(0, Face::TOP, Boundary::Dirichlet(-2.0))
            .is_err()
    );
    assert!(sim.set_boundary(0, Face::TOP, Boundary::Periodic).is_err());
    assert!(sim.update_diffusivity(0, &[(1000, 1e-9)]).is_err());
    assert!(sim.update_diffusivity(0, &[(3, f64::INFINITY)]).is_err());
    assert!(sim.set_diffusivity(5, Coefficient::Uniform(1.0)).is_err());
}

/// Produces NaN at one voxel once the concentration there exceeds a threshold.
struct Blowup {
    voxel: usize,
}

impl Reactions for Blowup {
    fn rates(&self, v: usize, c: &[f64], dcdt: &mut [f64]) {
        dcdt[0] = 0.0;
        dcdt[1] = if v == self.voxel && c[1] > 0.5 {
            f64::NAN
        } else {
            0.0
        };
    }
    fn jacobian(&self, _v: usize, _c: &[f64], jac: &mut [f64]) {
        jac.fill(0.0);
    }
}

#[test]
fn nan_during_run_stops_with_location() {
    let grid = Grid3::uniform([5, 6, 7], [1e-5; 3]).unwrap();
    let voxel = grid.index(2, 3, 4);
    let mut init = vec![0.0; grid.len()];
    init[voxel] = 0.4;
    let problem = Problem::builder(grid)
        .species(Species::new("inert", 1e-10))
        .species(Species::new("unstable", 0.0).initial(init).source(0.01))
        .boundary_everywhere(Boundary::ZeroFlux)
        .reactions(Blowup { voxel })
        .build()
        .unwrap();
    let mut sim = Simulation::new(problem, SolverSettings::fixed(1.0)).unwrap();
    let err = sim.advance_to(100.0, |_| {}).unwrap_err();
    println!("{err}");
    match err {
        TransportError::NonFinite {
            species,
            i,
            j,
            k,
            step,
            ..
        } => {
            assert_eq!(species, "unstable");
            assert_eq!((i, j, k), (2, 3, 4));
            assert!(step > 5 && step < 20);
        }
        other => panic!("unexpected {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 9. unsplit implicit scheme (`Scheme::Unsplit`): no splitting error on high-contrast cells

fn unsplit_be() -> Scheme {
    Scheme::unsplit(UnsplitMethod::BackwardEuler)
}

fn unsplit_trbdf2() -> Scheme {
    Scheme::unsplit(UnsplitMethod::TrBdf2)
}

#[test]
fn unsplit_erfc_orders() {
    let steps = [10, 20, 40];
    let errs: Vec<f64> = steps
        .iter()
        .map(|&k| erfc_error(800, k, unsplit_be()))
        .collect();
    let o = report(
        "1-D erfc, unsplit backward Euler, nz = 800, steps =",
        &steps,
        &errs,
    );
    assert!(o.iter().all(|x| (0.8..1.3).contains(x)), "order {o:?}");
    let ns = [50, 100, 200, 400];
    let errs: Vec<f64> = ns
        .iter()
        .map(|&n| erfc_error(n, n / 5, unsplit_trbdf2()))
        .collect();
    let o = report("1-D erfc, unsplit TR-BDF2, dt ∝ dz", &ns, &errs);
    assert!(o[o.len() - 1] > 1.8, "order {o:?}");
    assert!(errs[3] < 2e-4);
}

/// Axisymmetric channel cell: stratum corneum (D = 1e-14) over tissue (1e-10), an open channel
/// of free solution (7e-10) through it (contrast 7e4), reservoir on top, sink at the bottom.
struct ChannelCell {
    r: Vec<f64>,
    z: Vec<f64>,
    d: Vec<f64>,
}

fn channel_cell() -> ChannelCell {
    let r: Vec<f64> = (0..=20).map(|i| 5e-6 * i as f64).collect();
    let mut z: Vec<f64> = (0..=3).map(|k| 5e-6 * k as f64).collect();
    for k in 1..=27 {
        z.push(15e-6 + 10e-6 * k as f64);
    }
    let (nr, nz) = (r.len() - 1, z.len() - 1);
    let mut d = Vec::with_capacity(nr * nz);
    for k in 0..nz {
        for i in 0..nr {
            let zc = 0.5 * (z[k] + z[k + 1]);
            let rc = 0.5 * (r[i] + r[i + 1]);
            d.push(if rc < 25e-6 && zc < 155e-6 {
                7e-10
            } else if zc < 15e-6 {
                1e-14
            } else {
                1e-10
            });
        }
    }
    ChannelCell { r, z, d }
}

fn channel_sim(cell: &ChannelCell, scheme: Scheme, dt: f64) -> Simulation {
    let grid = AxiGrid::new(cell.r.clone(), cell.z.clone()).unwrap();
    let problem = Problem::builder(grid)
        .species(Species::new("c", cell.d.clone()))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
        .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
        .build()
        .unwrap();
    Simulation::new(problem, SolverSettings::fixed(dt).with_scheme(scheme)).unwrap()
}

/// Steady flux through the top of the channel cell from an independent assembly of the same
/// finite-volume system (harmonic face diffusivities, r-weighted areas) solved densely.
fn channel_steady_flux_dense(cell: &ChannelCell) -> f64 {
    let (r, z, d) = (&cell.r, &cell.z, &cell.d);
    let (nr, nz) = (r.len() - 1, z.len() - 1);
    let n = nr * nz;
    let tau = 2.0 * std::f64::consts::PI;
    let wr: Vec<f64> = (0..nr)
        .map(|i| 0.5 * (r[i + 1].powi(2) - r[i].powi(2)))
        .collect();
    let hr: Vec<f64> = (0..nr).map(|i| 0.5 * (r[i + 1] - r[i])).collect();
    let hz: Vec<f64> = (0..nz).map(|k| 0.5 * (z[k + 1] - z[k])).collect();
    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    let couple = |p: usize, q: usize, t: f64, a: &mut Vec<f64>| {
        a[p * n + p] += t;
        a[q * n + q] += t;
        a[p * n + q] -= t;
        a[q * n + p] -= t;
    };
    for k in 0..nz {
        for i in 0..nr {
            let p = k * nr + i;
            if i > 0 {
                let t = tau * 2.0 * hz[k] * r[i] / (hr[i - 1] / d[p - 1] + hr[i] / d[p]);
                couple(p, p - 1, t, &mut a);
            }
            if k > 0 {
                let t = tau * wr[i] / (hz[k - 1] / d[p - nr] + hz[k] / d[p]);
                couple(p, p - nr, t, &mut a);
            }
        }
    }
    let mut g_top = vec![0.0; nr];
    for i in 0..nr {
        g_top[i] = tau * wr[i] * d[i] / hz[0];
        a[i * n + i] += g_top[i];
        b[i] += g_top[i];
        let p = (nz - 1) * nr + i;
        a[p * n + p] += tau * wr[i] * d[p] / hz[nz - 1];
    }
    // Gaussian elimination (SPD: no pivoting needed).
    for c in 0..n {
        let piv = a[c * n + c];
        for row in c + 1..n {
            let f = a[row * n + c] / piv;
            if f != 0.0 {
                for col in c..n {
                    a[row * n + col] -= f * a[c * n + col];
                }
                b[row] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let mut s = b[row];
        for col in row + 1..n {
            s -= a[row * n + col] * x[col];
        }
        x[row] = s / a[row * n + row];
    }
    (0..nr).map(|i| g_top[i] * (1.0 - x[i])).sum()
}

#[test]
fn unsplit_channel_cell_steady_flux_exact_at_huge_steps() {
    let cell = channel_cell();
    let exact = channel_steady_flux_dense(&cell);
    println!("channel cell (contrast 7e4), steady flux: dense reference {exact:.6e} amount/s");
    for dt in [1e4f64, 1e6, 1e12] {
        let t_end = dt.max(1e7);
        let mut u = channel_sim(&cell, unsplit_be(), dt);
        u.advance_to(t_end, |_| {}).unwrap();
        let (top, bottom) = (
            u.boundary_flux(0, Face::TOP),
            -u.boundary_flux(0, Face::BOTTOM),
        );
        let e = ((top - exact) / exact)
            .abs()
            .max(((bottom - exact) / exact).abs());
        let mut l = channel_sim(&cell, Scheme::BackwardEuler, dt);
        l.advance_to(t_end, |_| {}).unwrap();
        let lod = l.boundary_flux(0, Face::TOP) / exact;
        println!(
            "  steps of {dt:.0e} s to t = {t_end:.0e} s: unsplit relative error {e:.2e}; split (LOD) \
             backward Euler flux / exact = {lod:.3}"
        );
        assert!(e < 1e-8, "unsplit steady flux error {e}");
        if dt >= 1e6 {
            assert!(
                (lod - 1.0).abs() > 0.1,
                "the split scheme was expected to miss the steady flux at dt = {dt}"
            );
        }
    }
}

#[test]
fn unsplit_channel_cell_transient_flux_orders() {
    let cell = channel_cell();
    let t_end = 300.0;
    let flux = |scheme: Scheme, n: usize| {
        let mut s = channel_sim(&cell, scheme, t_end / n as f64);
        s.advance_to(t_end, |_| {}).unwrap();
        s.boundary_flux(0, Face::TOP)
    };
    let reference = flux(unsplit_trbdf2(), 4096);
    let ns = [10, 20, 40, 80];
    for (name, scheme, lo) in [
        ("unsplit backward Euler", unsplit_be(), 0.85),
        ("unsplit TR-BDF2", unsplit_trbdf2(), 1.7),
    ] {
        let errs: Vec<f64> = ns
            .iter()
            .map(|&n| ((flux(scheme, n) - reference) / reference).abs())
            .collect();
        let o = report(
            &format!("channel cell, surface flux at t = 300 s, {name}, steps ="),
            &ns,
            &errs,
        );
        assert!(o[o.len() - 1] > lo, "order {o:?}");
    }
    let lod: Vec<f64> = ns
        .iter()
        .map(|&n| ((flux(Scheme::BackwardEuler, n) - reference) / reference).abs())
        .collect();
    report(
        "  for comparison, split (LOD) backward Euler, steps =",
        &ns,
        &lod,
    );
}

#[test]
fn unsplit_adaptive_steps_grow_on_the_channel_cell() {
    let cell = channel_cell();
    let grid = AxiGrid::new(cell.r.clone(), cell.z.clone()).unwrap();
    let problem = Problem::builder(grid)
        .species(Species::new("c", cell.d.clone()))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
        .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
        .build()
        .unwrap();
    let settings = SolverSettings::adaptive(1e-3, 1e-4, 0.01).with_scheme(unsplit_trbdf2());
    let mut sim = Simulation::new(problem, settings).unwrap();
    let st = sim.advance_to(3600.0, |_| {}).unwrap();
    let ls = sim.linear_solve_stats();
    println!(
        "adaptive unsplit TR-BDF2 on the channel cell, 1 h: {} steps ({} rejected), last step \
         {:.0} s; {} solves, {} CG iterations, {} factorisations",
        st.accepted, st.rejected, st.last_dt, ls.solves, ls.iterations, ls.factorisations
    );
    assert!(st.accepted < 200, "{st:?}");
}

#[test]
fn unsplit_mass_conserved_with_closed_boundaries() {
    // 24 × 24 columns: multigrid-preconditioned CG; the axisymmetric cell: banded Cholesky.
    let shape = [24, 24, 12];
    let z: Vec<f64> = (0..=12).map(|k| 1e-6 * (k as f64).powf(1.5)).collect();
    let grid = Grid3::with_z_faces(24, 24, 2e-6, 2e-6, z).unwrap();
    let n = grid.len();
    for method in [UnsplitMethod::BackwardEuler, UnsplitMethod::TrBdf2] {
        let scheme = Scheme::Unsplit {
            method,
            tolerance: 1e-12,
        };
        let problem = Problem::builder(grid.clone())
            .species(
                Species::new("layered", layered_channel_d(shape, 3)).initial(random_field(n, 1)),
            )
            .species(Species::new("uniform", 2e-11).initial(random_field(n, 2)))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::XMin, Boundary::Periodic)
            .boundary_all(Face::XMax, Boundary::Periodic)
            .build()
            .unwrap();
        let mut sim =
            Simulation::new(problem, SolverSettings::fixed(0.5).with_scheme(scheme)).unwrap();
        let m0 = [sim.total_amount(0), sim.total_amount(1)];
        sim.advance_to(10.0, |_| {}).unwrap();
        for s in 0..2 {
            let drift = ((sim.total_amount(s) - m0[s]) / m0[s]).abs();
            println!("mass drift unsplit {method:?} (multigrid CG) species {s}: {drift:.2e}");
            assert!(drift < 1e-12, "drift {drift}");
        }
    }
    let grid = AxiGrid::new(
        (0..=30).map(|i| 1e-6 * (i as f64).powf(1.3)).collect(),
        (0..=25).map(|k| 2e-6 * k as f64).collect(),
    )
    .unwrap();
    let n = grid.len();
    let problem = Problem::builder(grid)
        .species(Species::new("c", layered_channel_d([30, 1, 25], 7)).initial(random_field(n, 5)))
        .boundary_everywhere(Boundary::ZeroFlux)
        .build()
        .unwrap();
    let mut sim = Simulation::new(
        problem,
        SolverSettings::fixed(0.5).with_scheme(unsplit_be()),
    )
    .unwrap();
    let m0 = sim.total_amount(0);
    sim.advance_to(10.0, |_| {}).unwrap();
    let drift = ((sim.total_amount(0) - m0) / m0).abs();
    println!("mass drift unsplit axisymmetric (banded Cholesky): {drift:.2e}");
    assert!(drift < 1e-12);
}

#[test]
fn unsplit_decay_and_source_inside_the_solve() {
    // Uniform decay + source in a closed box: c → S/λ exactly as e^{-λt}; backward Euler gives
    // (1 + λh)^{-n} for the deviation, with no splitting.
    let grid = Grid3::uniform([4, 4, 4], [1e-5; 3]).unwrap();
    let (lam, src, h, n) = (1e-3, 2e-3, 50.0, 10);
    let problem = Problem::builder(grid)
        .species(Species::new("c", 1e-10).decay(lam).source(src).initial(5.0))
        .boundary_everywhere(Boundary::ZeroFlux)
        .build()
        .unwrap();
    let mut sim =
        Simulation::new(problem, SolverSettings::fixed(h).with_scheme(unsplit_be())).unwrap();
    sim.advance_to(h * n as f64, |_| {}).unwrap();
    let ss = src / lam;
    let exact = ss + (5.0 - ss) * (1.0 + lam * h).powi(-n);
    let got = sim.fields().get(0, 1, 2, 3);
    println!("unsplit BE decay + source: {got} vs {exact}");
    assert!((got - exact).abs() < 1e-12 * exact);
}

fn unsplit_determinism_run(threads: usize) -> Vec<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut out = Vec::new();
        // Wide grid (multigrid-preconditioned CG) with reactions and adaptive TR-BDF2 steps.
        let shape = [28, 24, 10];
        let z: Vec<f64> = (0..=10).map(|k| 1e-6 * (k as f64).powf(1.2)).collect();
        let grid = Grid3::with_z_faces(28, 24, 3e-6, 3e-6, z).unwrap();
        let n = grid.len();
        let problem = Problem::builder(grid)
            .species(
                Species::new("a", layered_channel_d(shape, 1))
                    .initial(random_field(n, 3))
                    .decay(1e-3),
            )
            .species(
                Species::new("b", 2e-11)
                    .initial(random_field(n, 4))
                    .source(1e-3),
            )
            .boundary_everywhere(Boundary::Periodic)
            .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
            .boundary_all(
                Face::BOTTOM,
                Boundary::Robin {
                    h: 1e-7,
                    c_ext: 0.0,
                },
            )
            .reactions(Logistic { r: 1e-3, k: 2.0 })
            .build()
            .unwrap();
        let settings = SolverSettings::adaptive(1e-3, 1e-4, 1.0).with_scheme(unsplit_trbdf2());
        let mut sim = Simulation::new(problem, settings).unwrap();
        sim.advance_to(30.0, |_| {}).unwrap();
        out.extend_from_slice(sim.fields().as_slice());
        out.push(sim.total_amount(0));
        // Odd periodic lateral axes (multigrid with seam colours), backward Euler, a channel
        // closing between steps (new operator generations).
        let shape = [27, 25, 8];
        let z: Vec<f64> = (0..=8).map(|k| 1e-6 * (k as f64).powf(1.3)).collect();
        let grid = Grid3::with_z_faces(27, 25, 3e-6, 3e-6, z).unwrap();
        let n = grid.len();
        let problem = Problem::builder(grid)
            .species(Species::new("c", layered_channel_d(shape, 5)).initial(random_field(n, 6)))
            .boundary_everywhere(Boundary::Periodic)
            .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
            .boundary_all(Face::BOTTOM, Boundary::ZeroFlux)
            .build()
            .unwrap();
        let mut sim = Simulation::new(
            problem,
            SolverSettings::fixed(5.0).with_scheme(unsplit_be()),
        )
        .unwrap();
        sim.set_unsplit_preconditioner(UnsplitPreconditioner::Multigrid);
        for step in 0..4 {
            sim.step(5.0 + step as f64).unwrap();
            let upd: Vec<(usize, f64)> =
                (0..27).map(|v| (v, 1e-11 / (1.0 + step as f64))).collect();
            sim.update_diffusivity(0, &upd).unwrap();
        }
        out.extend_from_slice(sim.fields().as_slice());
        // Axisymmetric channel cell (banded Cholesky), backward Euler with a closing channel.
        let cell = channel_cell();
        let mut sim = channel_sim(&cell, unsplit_be(), 20.0);
        for step in 0..10 {
            sim.step(20.0 + step as f64).unwrap();
            let upd: Vec<(usize, f64)> = (0..5).map(|v| (v, 7e-10 / (2.0 + step as f64))).collect();
            sim.update_diffusivity(0, &upd).unwrap();
        }
        out.extend_from_slice(sim.fields().as_slice());
        out
    })
}

#[test]
fn unsplit_bit_identical_for_any_thread_count() {
    let a = unsplit_determinism_run(1);
    let b = unsplit_determinism_run(2);
    let c = unsplit_determinism_run(3);
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()));
    println!(
        "unsplit, 1, 2 and 3 threads: {} values bit-identical",
        a.len()
    );
}

/// A layered 3-D patch (stratum corneum 1e-14 m²/s over tissue 1e-10) with one 5 × 5-column
/// channel of 7e-10 through the top layer (contrast 7e4), a Dirichlet top and a Robin sink.
fn channel_patch(n: usize, h: f64, pc: UnsplitPreconditioner, tol: f64) -> Simulation {
    let mut sim = channel_patch_with(n, h, tol, |s| s);
    sim.set_unsplit_preconditioner(pc);
    sim
}

/// [`channel_patch`] with the solver settings passed through `settings` and the preconditioner
/// left to them.
fn channel_patch_with(
    n: usize,
    h: f64,
    tol: f64,
    settings: impl Fn(SolverSettings) -> SolverSettings,
) -> Simulation {
    let nz = 16;
    let z: Vec<f64> = (0..=nz).map(|k| 2e-6 * (k as f64).powf(1.4)).collect();
    let grid = Grid3::with_z_faces(n, n, 10e-6, 10e-6, z.clone()).unwrap();
    let mut d = Vec::with_capacity(grid.len());
    for k in 0..nz {
        for j in 0..n {
            for i in 0..n {
                let centre = (i as isize - n as isize / 3).abs() <= 2
                    && (j as isize - n as isize / 2).abs() <= 2;
                d.push(if k < 3 {
                    if centre { 7e-10 } else { 1e-14 }
                } else if k < 8 {
                    5e-11
                } else {
                    1e-10
                });
            }
        }
    }
    let nv = grid.len();
    let problem = Problem::builder(grid)
        .species(
            Species::new("drug", d)
                .initial(random_field(nv, 9))
                .decay(1e-4),
        )
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
        .boundary_all(
            Face::BOTTOM,
            Boundary::Robin {
                h: 1e-6,
                c_ext: 0.0,
            },
        )
        .build()
        .unwrap();
    let scheme = Scheme::Unsplit {
        method: UnsplitMethod::BackwardEuler,
        tolerance: tol,
    };
    Simulation::new(
        problem,
        settings(SolverSettings::fixed(h).with_scheme(scheme)),
    )
    .unwrap()
}

#[test]
fn the_preconditioner_is_a_setting_and_no_environment_variable_changes_it() {
    // The variable the engine used to read (NEEDLESIM_UNSPLIT_PRECONDITIONER) is set to the
    // slow z-line choice: a default simulation must still take the settings' default (Auto:
    // the multigrid V-cycle on this grid) and give bit-identical fields to an explicit
    // multigrid one, while `SolverSettings::preconditioner = ZLine` does choose z-line.
    // SAFETY: no test of this binary reads the environment concurrently (the engine no
    // longer reads it at all; that is what this test checks).
    unsafe { std::env::set_var("NEEDLESIM_UNSPLIT_PRECONDITIONER", "zline") };
    let (n, h, tol) = (32, 1800.0, 1e-10);
    assert_eq!(
        SolverSettings::fixed(h).preconditioner,
        UnsplitPreconditioner::Auto
    );
    let run = |mut sim: Simulation| {
        sim.step(h).unwrap();
        (
            sim.linear_solve_stats().iterations,
            sim.fields().as_slice().to_vec(),
        )
    };
    let (it_default, f_default) = run(channel_patch_with(n, h, tol, |s| s));
    let (it_mg, f_mg) = run(channel_patch(n, h, UnsplitPreconditioner::Multigrid, tol));
    let (it_zline, _) = run(channel_patch_with(n, h, tol, |s| {
        s.with_preconditioner(UnsplitPreconditioner::ZLine)
    }));
    unsafe { std::env::remove_var("NEEDLESIM_UNSPLIT_PRECONDITIONER") };
    assert_eq!(
        it_default, it_mg,
        "the environment changed the default preconditioner"
    );
    assert!(f_default == f_mg, "the environment changed the fields");
    assert!(
        it_zline > 2 * it_mg,
        "SolverSettings::preconditioner = ZLine was not used ({it_zline} vs {it_mg} iterations)"
    );
}

#[test]
fn unsplit_multigrid_agrees_with_zline_in_few_iterations() {
    // One 1800 s step (h D / Δx² up to 1.3e4 laterally) from a random field: both
    // preconditioners solve the same system to 1e-10 (ten decades); the multigrid V-cycle needs
    // ~20 iterations (measured 21), z-line block Jacobi about ten times more (measured 204).
    let (h, tol) = (1800.0, 1e-10);
    let mut fields = Vec::new();
    let mut its = Vec::new();
    for pc in [
        UnsplitPreconditioner::ZLine,
        UnsplitPreconditioner::Multigrid,
    ] {
        let mut sim = channel_patch(48, h, pc, tol);
        sim.step(h).unwrap();
        let st = sim.linear_solve_stats();
        println!("{pc:?}: {} CG iterations", st.iterations);
        its.push(st.iterations);
        fields.push(sim.fields().as_slice().to_vec());
    }
    let scale = fields[0].iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let diff = fields[0]
        .iter()
        .zip(&fields[1])
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    println!("max |multigrid − z-line| / max |c| = {:.2e}", diff / scale);
    assert!(diff <= 1e-7 * scale, "difference {:.2e}", diff / scale);
    assert!(its[1] <= 25, "multigrid needed {} iterations", its[1]);
    assert!(
        its[0] >= 3 * its[1],
        "z-line {} vs multigrid {}",
        its[0],
        its[1]
    );
}

#[test]
fn a_kept_multigrid_hierarchy_is_rebuilt_when_the_diffusivities_jump() {
    // The hierarchy is kept across small coefficient changes (an extra V-cycle costs less than
    // a rebuild) but rebuilt once any voxel's diffusivity may have moved by more than a factor
    // 2 since its build (the operator's drift), before a solve pays for a stale one.
    let n = 48;
    let h = 60.0;
    let mut sim = channel_patch(n, h, UnsplitPreconditioner::Multigrid, 1e-8);
    let channel = |scale: f64| -> Vec<(usize, f64)> {
        let mut u = Vec::new();
        for k in 0..3 {
            for j in n / 2 - 2..=n / 2 + 2 {
                for i in n / 3 - 2..=n / 3 + 2 {
                    u.push(((k * n + j) * n + i, 7e-10 * scale));
                }
            }
        }
        u
    };
    let factorisations = |sim: &Simulation| sim.linear_solve_stats().factorisations;
    sim.step(h).unwrap();
    let built = factorisations(&sim);
    assert!(sim.operator(0).drift == 0.0);
    // 10 % more open: kept.
    sim.update_diffusivity(0, &channel(1.1)).unwrap();
    let d1 = sim.operator(0).drift;
    assert!((d1 - 1.1f64.ln()).abs() < 1e-12, "drift {d1}");
    sim.step(h).unwrap();
    assert_eq!(
        factorisations(&sim),
        built,
        "a 10 % change keeps the hierarchy"
    );
    // The channel shuts in its top cells (7e-10 → 1e-14 m²/s): rebuilt before the solve.
    let before = sim.linear_solve_stats().iterations;
    sim.update_diffusivity(0, &channel(1e-14 / 7e-10)).unwrap();
    let d2 = sim.operator(0).drift;
    assert!(
        (d2 - d1 - (1.1 * 7e-10 / 1e-14f64).ln()).abs() < 1e-9,
        "drift {d2}"
    );
    sim.step(h).unwrap();
    let its = sim.linear_solve_stats().iterations - before;
    println!("drift {d1:.3} then {d2:.3}; the step after the jump took {its} CG iterations");
    assert_eq!(factorisations(&sim), built + 1, "rebuilt after the jump");
    assert!(its <= 12, "{its} iterations after the jump");
    // Setting a voxel to or from zero counts as the largest drift step.
    let mut u = channel(1e-14 / 7e-10);
    u.truncate(1);
    u[0].1 = 0.0;
    sim.update_diffusivity(0, &u).unwrap();
    assert_eq!(sim.operator(0).drift - d2, MAX_DRIFT_STEP);
}

#[test]
fn unsplit_bad_tolerance_is_a_clear_error() {
    let grid = Grid3::uniform([4, 4, 4], [1e-5; 3]).unwrap();
    let problem = Problem::builder(grid)
        .species(Species::new("c", 1e-10))
        .boundary_everywhere(Boundary::ZeroFlux)
        .build()
        .unwrap();
    for tol in [0.0, -1.0, f64::NAN, 0.5] {
        let scheme = Scheme::Unsplit {
            method: UnsplitMethod::BackwardEuler,
            tolerance: tol,
        };
        let e = Simulation::new(
            problem.clone(),
            SolverSettings::fixed(1.0).with_scheme(scheme),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("scheme.tolerance") && e.contains("1e-3"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Layered capacity: C ∂c/∂t = ∇·(D C ∇c)

/// Two layers of capacity C1 (top, l1) and C2 (below, l2) between c = 1 and c = 0: the steady
/// flux of the conserved amount is 1 / (l1/(D C1) + l2/(D C2)) and the profile is piecewise
/// linear; the finite-volume solution is exact (harmonic mean of D·C at the faces).
#[test]
fn layered_capacity_steady_flux_exact() {
    let (d, c1, c2, l1, l2) = (1e-10, 0.02, 1.0, 20e-6, 480e-6);
    let e = two_layer_steady_error(10, (l1, l2), (d * c1, d * c2), |nz, n| {
        let cap: Vec<f64> = (0..nz).map(|k| if k < n { c1 } else { c2 }).collect();
        Species::new("c", d).layered_capacity(cap)
    });
    println!("layered capacity (C ratio 50): steady flux / profile error {e:.2e}");
    assert!(e < 1e-9, "{e}");
}

/// A closed column with capacity 4 on top and 1 below, filled on top only: the stored amount
/// ∫ C c dV is conserved to round-off, c stays within its initial bounds (no negatives) and
/// tends to the uniform partition equilibrium c = ∫ C c₀ dV / ∫ C dV; on a 3-D grid and on an
/// axisymmetric one.
#[test]
fn layered_capacity_conserves_bounds_and_equilibrates() {
    let nz = 20;
    let z: Vec<f64> = (0..=nz).map(|k| 5e-6 * k as f64).collect();
    let cap: Vec<f64> = (0..nz).map(|k| if k < 8 { 4.0 } else { 1.0 }).collect();
    let geoms: [Geometry; 2] = [
        Grid3::with_z_faces(6, 5, 5e-6, 5e-6, z.clone())
            .unwrap()
            .into(),
        AxiGrid::new((0..=6).map(|i| 5e-6 * i as f64).collect(), z)
            .unwrap()
            .into(),
    ];
    for geom in geoms {
        let [nx, ny, _] = geom.shape();
        let plane = nx * ny;
        let c0: Vec<f64> = (0..plane * nz)
            .map(|v| if v / plane < 8 { 1.0 } else { 0.0 })
            .collect();
        for scheme in [
            Scheme::BackwardEuler,
            Scheme::CrankNicolson { damping_steps: 2 },
        ] {
            let problem = Problem::builder(geom.clone())
                .species(
                    Species::new("c", 1e-11)
                        .initial(c0.clone())
                        .layered_capacity(cap.clone()),
                )
                .boundary_everywhere(Boundary::ZeroFlux)
                .build()
                .unwrap();
            let mut sim =
                Simulation::new(problem, SolverSettings::fixed(2.0).with_scheme(scheme)).unwrap();
            let m0 = sim.total_amount(0); // ∫ C c₀ dV
            let vol_c: f64 = {
                let mut s2 = Simulation::new(
                    Problem::builder(geom.clone())
                        .species(
                            Species::new("one", 1e-11)
                                .initial(1.0)
                                .layered_capacity(cap.clone()),
                        )
                        .boundary_everywhere(Boundary::ZeroFlux)
                        .build()
                        .unwrap(),
                    SolverSettings::fixed(1.0),
                )
                .unwrap();
                s2.step(1.0).unwrap();
                s2.total_amount(0) // ∫ C dV
            };
            let mut lo = f64::INFINITY;
            let mut hi = f64::NEG_INFINITY;
            let mut drift: f64 = 0.0;
            for _ in 0..40 {
                sim.step(2.0).unwrap();
                drift = drift.max(((sim.total_amount(0) - m0) / m0).abs());
                for &x in sim.fields().species(0) {
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
            }
            sim.advance_to(1e4, |_| {}).unwrap();
            let eq = m0 / vol_c;
            let dev = sim
                .fields()
                .species(0)
                .iter()
                .fold(0.0f64, |m, x| m.max((x - eq).abs()));
            println!(
                "layered capacity {scheme:?} axisymmetric={}: drift {drift:.1e}, min {lo:.2e}, \
                 max {hi:.6}, equilibrium {eq:.6} (max deviation {dev:.1e})",
                geom.shape()[1] == 1
            );
            assert!(drift < 1e-13, "drift {drift}");
            if scheme == Scheme::BackwardEuler {
                assert!(lo >= 0.0 && hi <= 1.0 + 1e-15, "bounds {lo} {hi}");
            }
            assert!(dev < 1e-9, "not at the equilibrium {eq}: {dev}");
            // Uniform c is an exact steady state whatever the capacities: 4/(4·8 + 12) ≠ 1/2.
            assert!((eq - 32.0 / 44.0).abs() < 1e-12, "{eq}");
        }
    }
}

#[test]
fn layered_capacity_bad_input_is_a_clear_error() {
    let grid = Grid3::uniform([4, 4, 6], [1e-5; 3]).unwrap();
    let build = |sp: Species, lateral: Boundary| {
        Problem::builder(grid.clone())
            .species(sp)
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::XMin, lateral)
            .build()
    };
    let msg =
        |r: Result<Problem, TransportError>| r.err().map(|e| e.to_string()).unwrap_or_default();
    let m = msg(build(
        Species::new("c", 1e-10).layered_capacity(vec![1.0; 5]),
        Boundary::ZeroFlux,
    ));
    assert!(
        m.contains("capacity") && m.contains('5') && m.contains('6'),
        "{m}"
    );
    let m = msg(build(
        Species::new("c", 1e-10).layered_capacity(vec![1.0, 1.0, -2.0, 1.0, 1.0, 1.0]),
        Boundary::ZeroFlux,
    ));
    assert!(m.contains("z level 2") && m.contains("> 0"), "{m}");
    let m = msg(build(
        Species::new("c", vec![1e-10; 96]).layered_capacity(vec![1.0; 6]),
        Boundary::ZeroFlux,
    ));
    assert!(m.contains("uniform diffusivity"), "{m}");
    let m = msg(build(
        Species::new("c", 1e-10).layered_capacity(vec![1.0; 6]),
        Boundary::Dirichlet(1.0),
    ));
    assert!(m.contains("lateral face"), "{m}");
    let ok = build(
        Species::new("c", 1e-10).layered_capacity(vec![1.0; 6]),
        Boundary::ZeroFlux,
    )
    .unwrap();
    let e = Simulation::new(
        ok.clone(),
        SolverSettings::fixed(1.0).with_scheme(Scheme::unsplit(UnsplitMethod::BackwardEuler)),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(e.contains("split schemes"), "{e}");
    let mut sim = Simulation::new(ok, SolverSettings::fixed(1.0)).unwrap();
    let e = sim
        .update_diffusivity(0, &[(3, 1e-9)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("layered capacity"), "{e}");
    let e = sim
        .set_boundary(0, Face::YMax, Boundary::Flux(1.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("lateral face"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 10. a well-mixed compartment (a film) on the low z face, solved with each unsplit step

/// A film of `film_m` over the top of a layered, channelled box (multigrid CG) or an
/// axisymmetric cell (banded Cholesky), closed elsewhere; returns the simulation and the top
/// area.
fn film_sim(axi: bool, method: UnsplitMethod, saturation: f64) -> (Simulation, f64) {
    let scheme = Scheme::Unsplit {
        method,
        tolerance: 1e-12,
    };
    let z: Vec<f64> = (0..=12).map(|k| 2e-6 * k as f64).collect();
    let (problem, area) = if axi {
        let r: Vec<f64> = (0..=16).map(|i| 1e-6 * (i as f64).powf(1.3)).collect();
        let area = std::f64::consts::PI * r[16] * r[16];
        let grid = AxiGrid::new(r, z).unwrap();
        let p = Problem::builder(grid)
            .species(Species::new("c", layered_channel_d([16, 1, 12], 3)))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::ZMin, Boundary::Dirichlet(0.0))
            .build()
            .unwrap();
        (p, area)
    } else {
        let grid = Grid3::with_z_faces(16, 16, 2e-6, 2e-6, z).unwrap();
        let p = Problem::builder(grid)
            .species(Species::new("c", layered_channel_d([16, 16, 12], 3)))
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::ZMin, Boundary::Dirichlet(0.0))
            .build()
            .unwrap();
        (p, 32e-6 * 32e-6)
    };
    let mut sim = Simulation::new(problem, SolverSettings::fixed(1.0).with_scheme(scheme)).unwrap();
    let volume = 5e-6 * area;
    sim.set_compartment(
        0,
        Some(Compartment {
            volume,
            amount: 2.0 * volume,
            saturation,
        }),
    )
    .unwrap();
    (sim, area)
}

/// Runs `n` steps to `t_end`; returns the compartment's amount and the amount in the field.
fn film_run(axi: bool, method: UnsplitMethod, n: usize, t_end: f64) -> (f64, f64) {
    let (mut sim, _) = film_sim(axi, method, f64::INFINITY);
    for _ in 0..n {
        sim.step(t_end / n as f64).unwrap();
    }
    (sim.compartment(0).unwrap().amount, sim.total_amount(0))
}

#[test]
fn compartment_conserves_mass_and_converges_at_the_schemes_order() {
    let t_end = 20.0;
    for axi in [false, true] {
        for (method, order) in [
            (UnsplitMethod::TrBdf2, 2.0),
            (UnsplitMethod::BackwardEuler, 1.0),
        ] {
            let (reference, _) = film_run(axi, method, 1024, t_end);
            let a0 = film_sim(axi, method, f64::INFINITY)
                .0
                .compartment(0)
                .unwrap()
                .amount;
            let mut errors = Vec::new();
            for n in [8, 16, 32] {
                let (film, skin) = film_run(axi, method, n, t_end);
                // Film + skin keep what was applied (the box is closed).
                let drift = ((film + skin) / a0 - 1.0).abs();
                assert!(drift < 1e-9, "{method:?} axi {axi}: drift {drift:e}");
                errors.push((film - reference).abs() / a0);
            }
            let rates: Vec<f64> = errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
            println!(
                "compartment {method:?} axi {axi}: film at {t_end} s, {:.1}% taken up; errors \
                 {:?}, observed orders {rates:.2?}",
                100.0 * (1.0 - reference / a0),
                errors
                    .iter()
                    .map(|e| format!("{e:.2e}"))
                    .collect::<Vec<_>>()
            );
            // The film gave a good part of itself to the skin, and the errors fall at the
            // scheme's order.
            assert!(reference < 0.8 * a0, "{reference} of {a0}");
            for r in rates {
                assert!((r - order).abs() < 0.35, "{method:?} axi {axi}: order {r}");
            }
        }
    }
}

#[test]
fn adaptive_steps_restore_the_compartment_with_the_fields() {
    // Step doubling takes each step twice and rejects some: the compartment must be restored
    // with the fields, or film + field would lose what the discarded attempts took.
    let (sim, area) = film_sim(true, UnsplitMethod::TrBdf2, f64::INFINITY);
    let film = sim.compartment(0).unwrap();
    let scheme = Scheme::Unsplit {
        method: UnsplitMethod::TrBdf2,
        tolerance: 1e-12,
    };
    let mut sim = Simulation::new(
        sim.problem().clone(),
        SolverSettings::adaptive(1e-4, 1e-9, 5.0).with_scheme(scheme),
    )
    .unwrap();
    sim.set_compartment(0, Some(film)).unwrap();
    let st = sim.advance_to(20.0, |_| {}).unwrap();
    let left = sim.compartment(0).unwrap().amount;
    let drift = ((left + sim.total_amount(0)) / film.amount - 1.0).abs();
    println!(
        "adaptive steps with a compartment: {} accepted, {} rejected; {:.1} % taken up, drift \
         {drift:.1e} (top area {area:.2e} m²)",
        st.accepted,
        st.rejected,
        100.0 * (1.0 - left / film.amount)
    );
    assert!(st.rejected > 0, "{st:?}");
    assert!(left < 0.8 * film.amount);
    assert!(drift < 1e-9, "drift {drift:e}");
}

#[test]
fn saturated_compartment_holds_the_face_at_saturation() {
    // A film holding 2× what it can dissolve stays at its saturation while the excess lasts:
    // the field is that of a fixed Dirichlet face at that concentration.
    let (mut sim, _) = film_sim(false, UnsplitMethod::TrBdf2, 1.0);
    let mut fixed = film_sim(false, UnsplitMethod::TrBdf2, 1.0).0;
    fixed.set_compartment(0, None).unwrap();
    fixed
        .set_boundary(0, Face::ZMin, Boundary::Dirichlet(1.0))
        .unwrap();
    let a0 = sim.compartment(0).unwrap().amount;
    for _ in 0..5 {
        sim.step(0.5).unwrap();
        fixed.step(0.5).unwrap();
        let st = sim.last_compartment_step(0).unwrap();
        assert_eq!((st.start, st.stage, st.end), (1.0, 1.0, 1.0));
    }
    let film = sim.compartment(0).unwrap().amount;
    let skin = sim.total_amount(0);
    assert!(((film + skin) / a0 - 1.0).abs() < 1e-9);
    assert!(film > sim.compartment(0).unwrap().volume, "still saturated");
    let diff = sim
        .fields()
        .species(0)
        .iter()
        .zip(fixed.fields().species(0))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let top = fixed
        .fields()
        .species(0)
        .iter()
        .cloned()
        .fold(0.0, f64::max);
    assert!(diff <= 1e-9 * top, "{diff} vs {top}");
}

#[test]
fn compartment_errors_name_what_to_change() {
    let film = Compartment {
        volume: 1e-15,
        amount: 1e-15,
        saturation: f64::INFINITY,
    };
    // Split schemes: not supported.
    let grid = Grid3::uniform([4, 4, 4], [1e-5; 3]).unwrap();
    let problem = Problem::builder(grid.clone())
        .species(Species::new("c", 1e-10))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::ZMin, Boundary::Dirichlet(1.0))
        .build()
        .unwrap();
    let mut sim = Simulation::new(problem.clone(), SolverSettings::fixed(1.0)).unwrap();
    let e = sim.set_compartment(0, Some(film)).unwrap_err().to_string();
    assert!(e.contains("unsplit"), "{e}");
    // A periodic low z face.
    let settings = SolverSettings::fixed(1.0).with_scheme(unsplit_trbdf2());
    let periodic = Problem::builder(grid)
        .species(Species::new("c", 1e-10))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::ZMin, Boundary::Periodic)
        .boundary_all(Face::ZMax, Boundary::Periodic)
        .build()
        .unwrap();
    let mut sim = Simulation::new(periodic, settings).unwrap();
    let e = sim.set_compartment(0, Some(film)).unwrap_err().to_string();
    assert!(e.contains("periodic"), "{e}");
    // A negative amount is named.
    let mut sim = Simulation::new(problem, settings).unwrap();
    sim.set_boundary(0, Face::ZMin, Boundary::ZeroFlux).unwrap();
    let bad = Compartment {
        amount: -1.0,
        ..film
    };
    let e = sim.set_compartment(0, Some(bad)).unwrap_err().to_string();
    assert!(e.contains("compartment amount"), "{e}");
    // Accepted on a zero-flux face: it becomes Dirichlet(0) and the compartment supplies its
    // value.
    sim.set_compartment(0, Some(film)).unwrap();
    assert_eq!(
        sim.problem().boundary(0, Face::ZMin),
        Boundary::Dirichlet(0.0)
    );
    sim.step(1.0).unwrap();
    assert!(sim.total_amount(0) > 0.0);
}

/// The unsplit solve is linear: a field 2^±540 times another evolves as exactly 2^±540 times
/// it. Before the rescaling in `SpeciesSolver::solve`, CG's dot products on a field decayed to
/// ~1e-162 (the lidocaine example ten days after a wipe, issue 18 point 7) underflowed to zero,
/// `p·Ap = 0`, and the step blew up to -inf; at ~1e+162 they overflowed.
#[test]
fn unsplit_solve_is_scale_invariant_for_tiny_and_huge_fields() {
    let run = |scale: f64, axi: bool, method: UnsplitMethod| -> Vec<f64> {
        let scheme = Scheme::Unsplit {
            method,
            tolerance: 1e-10,
        };
        let sim = if axi {
            let grid = AxiGrid::new(
                (0..=30).map(|i| 1e-6 * (i as f64).powf(1.3)).collect(),
                (0..=25).map(|k| 2e-6 * k as f64).collect(),
            )
            .unwrap();
            let n = grid.len();
            let init: Vec<f64> = random_field(n, 5).iter().map(|v| v * scale).collect();
            Problem::builder(grid)
                .species(
                    Species::new("c", layered_channel_d([30, 1, 25], 7))
                        .initial(init)
                        .decay(1e-4),
                )
                .boundary_everywhere(Boundary::ZeroFlux)
                .build()
                .unwrap()
        } else {
            let shape = [24, 24, 12];
            let z: Vec<f64> = (0..=12).map(|k| 1e-6 * (k as f64).powf(1.5)).collect();
            let grid = Grid3::with_z_faces(24, 24, 2e-6, 2e-6, z).unwrap();
            let n = grid.len();
            let init: Vec<f64> = random_field(n, 1).iter().map(|v| v * scale).collect();
            Problem::builder(grid)
                .species(
                    Species::new("c", layered_channel_d(shape, 3))
                        .initial(init)
                        .decay(1e-4),
                )
                .boundary_everywhere(Boundary::ZeroFlux)
                .build()
                .unwrap()
        };
        let mut sim =
            Simulation::new(sim, SolverSettings::fixed(20.0).with_scheme(scheme)).unwrap();
        sim.advance_to(200.0, |_| {}).unwrap();
        sim.fields().species(0).to_vec()
    };
    for axi in [true, false] {
        for method in [UnsplitMethod::BackwardEuler, UnsplitMethod::TrBdf2] {
            let reference = run(1.0, axi, method);
            for e in [-540, 540] {
                let s = 2f64.powi(e);
                let got = run(s, axi, method);
                for (g, r) in got.iter().zip(&reference) {
                    assert!(g.is_finite(), "axi {axi} {method:?} 2^{e}: non-finite {g}");
                    let want = r * s;
                    assert!(
                        (g - want).abs() <= 1e-12 * want.abs(),
                        "axi {axi} {method:?} 2^{e}: {g:e} vs {want:e}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-voxel capacity on the unsplit scheme: C ∂u/∂t = ∇·(D ∇u) − C λ u + C S

/// Cumulative amount through the bottom sink of a 1-D membrane (thickness `l`, `nz` cells, unit
/// cross-section) of partition `k` and own diffusivity `dm` (engine: capacity `k`, conductance
/// `D = k dm`), donor `u = 1` on top from t = 0, after each step of `dt` up to `t_end`: the
/// bottom flux `D u_last / (dz/2)` integrated with the step's TR-BDF2 quadrature.
fn membrane_uptake(
    k: f64,
    dm: f64,
    l: f64,
    nz: usize,
    dt: f64,
    t_end: f64,
    per_voxel: bool,
) -> Vec<(f64, f64)> {
    let dz = l / nz as f64;
    let grid = Grid3::uniform([1, 1, nz], [dz, dz, dz]).unwrap();
    let cap: Coefficient = if per_voxel {
        vec![k; nz].into()
    } else {
        k.into()
    };
    let problem = Problem::builder(grid)
        .species(Species::new("c", k * dm).capacity(cap))
        .boundary_everywhere(Boundary::ZeroFlux)
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
        .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
        .build()
        .unwrap();
    let mut sim = Simulation::new(
        problem,
        SolverSettings::fixed(dt).with_scheme(Scheme::Unsplit {
            method: UnsplitMethod::TrBdf2,
            tolerance: 1e-12,
        }),
    )
    .unwrap();
    let out_rate = |u: &[f64]| dz * dz * k * dm * u[nz - 1] / (0.5 * dz);
    let mut q = 0.0;
    let mut rate0 = 0.0;
    let mut series = Vec::new();
    while sim.time() < t_end * (1.0 - 1e-12) {
        sim.step(dt).unwrap();
        let quad = sim.last_step_quadrature().unwrap();
        let [w0, w1, w2] = quad.weights;
        let rate1 = out_rate(sim.fields().species(0));
        let stage = quad.stage.map_or(0.0, out_rate);
        // The engine's own bottom flux (inward, so negative) agrees with the rate used here.
        let eng = -sim.boundary_flux(0, Face::BOTTOM);
        assert!(
            (eng - rate1).abs() <= 1e-12 * rate1.abs().max(1e-300),
            "{eng} {rate1}"
        );
        q += w0 * rate0 + w1 * stage + w2 * rate1;
        rate0 = rate1;
        series.push((sim.time(), q / (dz * dz)));
    }
    series
}

/// Least-squares line `q = a + b t` through the points with `t ≥ t0`.
fn fit_line(series: &[(f64, f64)], t0: f64) -> (f64, f64) {
    let pts: Vec<&(f64, f64)> = series.iter().filter(|p| p.0 >= t0).collect();
    let n = pts.len() as f64;
    let (st, sq) = pts.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mt, mq) = (st / n, sq / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for p in &pts {
        sxy += (p.0 - mt) * (p.1 - mq);
        sxx += (p.0 - mt) * (p.0 - mt);
    }
    let b = sxy / sxx;
    (mq - b * mt, b)
}

/// A membrane of partition K and diffusivity D between a fixed donor (u = 1) and a sink: the
/// cumulative amount through it tends to `K D ΔC / L (t − L²/(6 D))` (Crank, The Mathematics
/// of Diffusion, 2nd ed., eq. 4.24a): steady flux `K D ΔC / L`, lag `L²/(6 D)` whatever K.
/// The engine with capacity K and conductance K·D must give both within 1 % (here 0.1 %),
/// for a uniform and a per-voxel capacity alike.
#[test]
fn capacity_membrane_gives_the_analytic_lag_and_flux() {
    let (dm, l, nz) = (1e-12, 15e-6, 60);
    let lag = l * l / (6.0 * dm);
    for (k, per_voxel) in [(1.0, false), (43.0, false), (43.0, true), (0.2, true)] {
        let series = membrane_uptake(k, dm, l, nz, lag / 400.0, 10.0 * lag, per_voxel);
        // From 6 lags on (D t / L² ≥ 1) the transient is below e^(−π²) of the flux.
        let (a, b) = fit_line(&series, 6.0 * lag);
        let (flux, lag_num) = (b, -a / b);
        let flux_exact = k * dm / l;
        let (ef, el) = (flux / flux_exact - 1.0, lag_num / lag - 1.0);
        println!(
            "membrane K = {k} (per voxel {per_voxel}): flux {flux:.5e} (analytic {flux_exact:.5e}, \
             {ef:+.2e}), lag {lag_num:.2} s (analytic {lag:.2} s, {el:+.2e})"
        );
        assert!(ef.abs() < 1e-3, "flux error {ef}");
        assert!(el.abs() < 1e-3, "lag error {el}");
    }
}

/// Capacity 1 (uniform or per voxel) changes nothing: the fields of a channelled 3-D patch
/// (multigrid) and of an axisymmetric channel cell (banded Cholesky) are bit-identical to those
/// without a capacity.
#[test]
fn capacity_one_is_bit_identical_to_none() {
    let run_patch = |cap: Option<Coefficient>| {
        let mut sim = channel_patch_with(24, 60.0, 1e-8, |s| s);
        if let Some(c) = cap {
            // Rebuild the same problem with the capacity.
            let sp = sim.problem().species()[0].clone().capacity(c);
            let grid = sim.problem().geometry().clone();
            let mut b = Problem::builder(grid).species(sp);
            for f in Face::ALL {
                b = b.boundary_all(f, sim.problem().boundary(0, f));
            }
            sim = Simulation::new(b.build().unwrap(), *sim.settings()).unwrap();
        }
        for _ in 0..5 {
            sim.step(60.0).unwrap();
        }
        (sim.fields().as_slice().to_vec(), sim.total_amount(0))
    };
    let base = run_patch(None);
    let nv = base.0.len();
    for cap in [
        Coefficient::Uniform(1.0),
        Coefficient::PerVoxel(vec![1.0; nv]),
    ] {
        let with = run_patch(Some(cap));
        assert!(
            base.0
                .iter()
                .zip(&with.0)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "patch fields differ with capacity 1"
        );
        assert_eq!(base.1.to_bits(), with.1.to_bits());
    }
    let cell = channel_cell();
    let run_cell = |cap: bool| {
        let grid = AxiGrid::new(cell.r.clone(), cell.z.clone()).unwrap();
        let sp = Species::new("c", cell.d.clone());
        let sp = if cap { sp.capacity(1.0) } else { sp };
        let problem = Problem::builder(grid)
            .species(sp)
            .boundary_everywhere(Boundary::ZeroFlux)
            .boundary_all(Face::TOP, Boundary::Dirichlet(1.0))
            .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0))
            .build()
            .unwrap();
        let mut sim = Simulation::new(
            problem,
            SolverSettings::fixed(30.0).with_scheme(unsplit_trbdf2()),
        )
        .unwrap();
        sim.advance_to(600.0, |_| {}).unwrap();
        sim.fields().as_slice().to_vec()
    };
    let (a, b) = (run_cell(false), run_cell(true));
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

/// A closed box with random per-voxel capacities (1 to 50) and diffusivities: the stored
/// amount `∫ C u dV` is conserved to round-off through the steps and through capacity
/// updates (which rescale `u`), `u` stays non-negative, and it tends to the partition
/// equilibrium `u = ∫ C u₀ dV / ∫ C dV` (uniform u, stored concentrations in the ratio of C).
#[test]
fn capacity_conserves_the_stored_amount_and_equilibrates() {
    let grid = Grid3::with_z_faces(
        6,
        5,
        5e-6,
        5e-6,
        (0..=12).map(|k| 4e-6 * k as f64).collect(),
    )
    .unwrap();
    let nv = grid.len();
    let cap: Vec<f64> = random_field(nv, 3).iter().map(|x| 1.0 + 49.0 * x).collect();
    let d: Vec<f64> = random_field(nv, 4)
        .iter()
        .map(|x| 1e-12 + 1e-10 * x)
        .collect();
    let u0: Vec<f64> = random_field(nv, 5);
    for method in [UnsplitMethod::BackwardEuler, UnsplitMethod::TrBdf2] {
        let problem = Problem::builder(grid.clone())
            .species(
                Species::new("c", d.clone())
                    .initial(u0.clone())
                    .capacity(cap.clone()),
            )
            .boundary_everywhere(Boundary::ZeroFlux)
            .build()
            .unwrap();
        let mut sim = Simulation::new(
            problem,
            SolverSettings::fixed(0.5).with_scheme(Scheme::unsplit(method)),
        )
        .unwrap();
        let m0 = sim.total_amount(0);
        let direct: f64 = (0..nv)
            .map(|v| {
                let [i, j, k] = grid_coords(&grid, v);
                cap[v] * u0[v] * grid.volume(i, j, k)
            })
            .sum();
        assert!(((m0 - direct) / direct).abs() < 1e-13, "{m0} {direct}");
        let mut drift: f64 = 0.0;
        let mut lo = f64::INFINITY;
        for step in 0..40 {
            sim.step(0.5).unwrap();
            if step == 10 {
                // A "closing channel": a block of voxels goes from its capacity to 30.
                let ups: Vec<(usize, f64)> = (0..nv).step_by(7).map(|v| (v, 30.0)).collect();
                let before = sim.total_amount(0);
                sim.update_capacity(0, &ups).unwrap();
                let after = sim.total_amount(0);
                assert!(
                    ((after - before) / before).abs() < 1e-13,
                    "{before} {after}"
                );
            }
            drift = drift.max(((sim.total_amount(0) - m0) / m0).abs());
            lo = sim.fields().species(0).iter().fold(lo, |m, x| m.min(*x));
        }
        sim.advance_to(2e4, |_| {}).unwrap();
        let mut cap_now = cap.clone();
        for v in (0..nv).step_by(7) {
            cap_now[v] = 30.0;
        }
        let vol_c: f64 = (0..nv)
            .map(|v| {
                let [i, j, k] = grid_coords(&grid, v);
                cap_now[v] * grid.volume(i, j, k)
            })
            .sum();
        let eq = m0 / vol_c;
        let dev = sim
            .fields()
            .species(0)
            .iter()
            .fold(0.0f64, |m, x| m.max((x - eq).abs()));
        println!(
            "capacity box {method:?}: drift {drift:.1e}, min {lo:.2e}, equilibrium {eq:.6} \
             (max deviation {dev:.1e})"
        );
        assert!(drift < 1e-12, "drift {drift}");
        assert!(lo >= 0.0, "negative {lo}");
        assert!(
            dev < 1e-8 * eq,
            "not at the partition equilibrium {eq}: {dev}"
        );
    }
}

fn grid_coords(grid: &Grid3, v: usize) -> [usize; 3] {
    let [nx, ny, _] = grid.shape();
    [v % nx, (v / nx) % ny, v / (nx * ny)]
}

#[test]
fn capacity_bad_input_is_a_clear_error() {
    let grid = Grid3::uniform([4, 4, 6], [1e-5; 3]).unwrap();
    let build = |sp: Species| {
        Problem::builder(grid.clone())
            .species(sp)
            .boundary_everywhere(Boundary::ZeroFlux)
            .build()
    };
    let msg =
        |r: Result<Problem, TransportError>| r.err().map(|e| e.to_string()).unwrap_or_default();
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let m = msg(build(Species::new("c", 1e-10).capacity(bad)));
        assert!(m.contains("capacity") && m.contains("> 0"), "{bad}: {m}");
    }
    let mut v = vec![1.0; 96];
    v[17] = 0.0;
    let m = msg(build(Species::new("c", 1e-10).capacity(v)));
    assert!(m.contains("voxel 17") && m.contains("> 0"), "{m}");
    let m = msg(build(Species::new("c", 1e-10).capacity(vec![1.0; 95])));
    assert!(
        m.contains("capacity") && m.contains("95") && m.contains("96"),
        "{m}"
    );
    let m = msg(build(
        Species::new("c", 1e-10)
            .capacity(2.0)
            .layered_capacity(vec![1.0; 6]),
    ));
    assert!(m.contains("both"), "{m}");
    let ok = build(Species::new("c", vec![1e-10; 96]).capacity(2.0)).unwrap();
    let e = Simulation::new(ok.clone(), SolverSettings::fixed(1.0))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("unsplit"), "{e}");
    let mut sim =
        Simulation::new(ok, SolverSettings::fixed(1.0).with_scheme(unsplit_be())).unwrap();
    for (upd, want) in [
        ((3, 0.0), "voxel 3"),
        ((3, f64::NAN), "> 0"),
        ((500, 1.0), "voxel index"),
    ] {
        let e = sim.update_capacity(0, &[upd]).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    let plain = build(Species::new("c", 1e-10)).unwrap();
    let mut sim =
        Simulation::new(plain, SolverSettings::fixed(1.0).with_scheme(unsplit_be())).unwrap();
    let e = sim.update_capacity(0, &[(0, 2.0)]).unwrap_err().to_string();
    assert!(e.contains("no per-voxel capacity"), "{e}");
}
