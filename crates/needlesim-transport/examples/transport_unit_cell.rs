//! A reservoir on top of an axisymmetric unit cell around one microneedle channel.
//!
//! Layered skin (stratum corneum, viable epidermis, dermis) with a water-filled channel whose
//! radius shrinks as it closes, capillary clearance in the dermis and a sink at depth. Prints the
//! amount delivered through the surface and where it is, hour by hour, for 24 h.
//!
//! Run: `cargo run --release -p needlesim-transport --example transport_unit_cell`
//! (add `-- --threads 1` to time it on one core).

use std::time::Instant;

use needlesim_transport::*;

const UM: f64 = 1e-6;
const HOUR: f64 = 3600.0;

/// Graded face positions: `n0` cells of size `h0` up to `x0`, then geometric growth to `x1`.
fn graded(h0: f64, x0: f64, x1: f64, growth: f64) -> Vec<f64> {
    let mut f = vec![0.0];
    let mut h = h0;
    while *f.last().unwrap_or(&0.0) < x1 - 1e-12 {
        let last = *f.last().unwrap_or(&0.0);
        if last >= x0 {
            h *= growth;
        }
        f.push((last + h).min(x1));
    }
    f
}

fn main() -> Result<(), TransportError> {
    let threads = std::env::args()
        .skip_while(|a| a != "--threads")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| TransportError::Unsupported(format!("thread pool: {e}")))?;
    pool.install(run)
}

fn run() -> Result<(), TransportError> {
    // Geometry: half the needle spacing (250 µm) around the channel, 1.5 mm deep.
    let (sc, epi, depth) = (15.0 * UM, 100.0 * UM, 1500.0 * UM);
    let r_faces = graded(2.5 * UM, 50.0 * UM, 250.0 * UM, 1.15);
    let mut z_faces: Vec<f64> = (0..=5).map(|k| k as f64 * 3.0 * UM).collect();
    for f in graded(5.0 * UM, 100.0 * UM - sc, depth - sc, 1.12)
        .into_iter()
        .skip(1)
    {
        z_faces.push(sc + f);
    }
    let grid = AxiGrid::new(r_faces, z_faces)?;
    let [nr, nz] = grid.shape();
    println!("unit cell: {nr} rings × {nz} slabs = {} voxels", grid.len());

    // Coefficients (illustrative values for a small hydrophilic molecule).
    let (d_sc, d_epi, d_derm, d_channel) = (1e-14, 1e-10, 2e-10, 5e-10);
    let clearance = 1e-4; // 1/s, capillary uptake in the dermis
    let (channel_depth, r0) = (600.0 * UM, 25.0 * UM);
    let closure_time = 4.0 * HOUR; // e-folding time of the channel radius
    let tissue_d = |k: usize| {
        let z = grid.centre(0, k)[1];
        if z < sc {
            d_sc
        } else if z < epi {
            d_epi
        } else {
            d_derm
        }
    };
    let diffusivity = |radius: f64| -> Vec<f64> {
        let mut d = vec![0.0; grid.len()];
        for k in 0..nz {
            for i in 0..nr {
                let [r, z] = grid.centre(i, k);
                d[grid.index(i, k)] = if r < radius && z < channel_depth {
                    d_channel
                } else {
                    tissue_d(k)
                };
            }
        }
        d
    };
    let decay: Vec<f64> = (0..grid.len())
        .map(|v| {
            if grid.centre(v % nr, v / nr)[1] > epi {
                clearance
            } else {
                0.0
            }
        })
        .collect();

    let problem = Problem::builder(grid.clone())
        .species(Species::new("drug", diffusivity(r0)).decay(decay))
        .boundary_all(Face::TOP, Boundary::Dirichlet(1.0)) // reservoir, 1 mol/m³
        .boundary_all(Face::BOTTOM, Boundary::Dirichlet(0.0)) // sink at depth
        .boundary_all(Face::R_OUTER, Boundary::ZeroFlux) // symmetry with the neighbouring channel
        .build()?;
    // Fixed 300 s steps of the unsplit backward Euler: the whole implicit system is solved at
    // once (conjugate gradients with a banded Cholesky preconditioner), so there is no splitting
    // error at the sharp diffusivity contrast between the channel and the stratum corneum, and the
    // step can be long against the 3 µm cells' ~0.02 s relaxation (see docs/TRANSPORT.md, the
    // unsplit scheme). The split LOD sweeps would need ~3 s steps for ~10 % accuracy here.
    let settings =
        SolverSettings::fixed(300.0).with_scheme(Scheme::unsplit(UnsplitMethod::BackwardEuler));
    let mut sim = Simulation::new(problem, settings)?;

    let area = std::f64::consts::PI * (250.0 * UM).powi(2);
    let mut delivered = 0.0; // mol through the surface
    let mut last_t = 0.0;
    let mut d_now = diffusivity(r0);
    let start = Instant::now();
    let mut total_steps = 0;
    println!(
        "{:>5} {:>10} {:>20} {:>18} {:>14} {:>14}",
        "t (h)",
        "radius µm",
        "delivered nmol/cm²",
        "flux nmol/cm²/h",
        "epidermis pmol",
        "dermis pmol"
    );
    for hour in 1..=24 {
        let stats = sim.advance_to(hour as f64 * HOUR, |s| {
            // Backward Euler takes the boundary flux at the end of each step, so the amount that
            // entered during a step is that flux times the step (a trapezoid would count the
            // unbounded flux of the first instant, whose weight grows with the step).
            delivered += s.boundary_flux(0, Face::TOP) * (s.time() - last_t);
            last_t = s.time();
        })?;
        total_steps += stats.accepted;
        // Close the channel: update only the voxels whose diffusivity changed.
        let radius = r0 * (-(hour as f64) * HOUR / closure_time).exp();
        let d_new = diffusivity(radius);
        let changed: Vec<(usize, f64)> = d_new
            .iter()
            .enumerate()
            .filter(|(v, d)| **d != d_now[*v])
            .map(|(v, d)| (v, *d))
            .collect();
        if !changed.is_empty() {
            sim.update_diffusivity(0, &changed)?;
            d_now = d_new;
        }
        let bands = sim.layer_amounts(0, &[0.0, epi, depth]);
        let per_cm2 = 1e9 * 1e-4 / area; // mol -> nmol/cm²
        println!(
            "{:>5} {:>10.2} {:>20.3} {:>18.3} {:>14.4} {:>14.4}",
            hour,
            radius / UM,
            delivered * per_cm2,
            sim.boundary_flux(0, Face::TOP) * per_cm2 * HOUR,
            bands[0] * 1e12,
            bands[1] * 1e12,
        );
    }
    println!(
        "24 h simulated in {:.3} s wall time, {total_steps} steps, backend {}",
        start.elapsed().as_secs_f64(),
        sim.backend_name()
    );
    Ok(())
}
