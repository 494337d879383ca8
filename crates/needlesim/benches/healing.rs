//! Benchmark: the lumped healing model of a 4-session, 6-month protocol (two compartments,
//! 33 state variables), final state only (the planner's path) and with a full output grid.
//! Baseline in the same run: the same protocol integrated at a 10x tighter tolerance.
//!
//! Run: `cargo bench -p needlesim --bench healing`

use std::time::Instant;

use needlesim::healing::lumped::{self, Accuracy, InjuryInput, LumpedModel, SessionInput};
use needlesim::healing::params::{DAY, HealingParams};
use needlesim::skin::{self, Person, Site, ThicknessOverrides};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let col = match skin::column(
        Site::Cheek,
        &Person::default(),
        &ThicknessOverrides::default(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let model = LumpedModel::new(&col, 35.0, 3, &HealingParams::default());
    let inj = InjuryInput {
        injured_volume_fraction: [0.02, 0.02, 0.02, 0.01, 0.0],
        bleeding_fraction: 0.7,
        recoil: 0.5,
        open_surface_fraction: 0.01,
        density_m2: 2.5e6,
        mean_depth_m: 1.2e-3,
    };
    let sessions: Vec<SessionInput> = (0..4)
        .map(|k| SessionInput {
            t_s: k as f64 * 42.0 * DAY,
            injury: inj,
        })
        .collect();
    let t_end = 182.0 * DAY;
    let grid: Vec<f64> = (0..=182).map(|d| d as f64 * DAY).collect();
    let tight = Accuracy {
        rtol: 1e-4,
        atol_frac: 1e-4,
    };
    let report = |name: &str, f: &dyn Fn() -> lumped::Trajectory| {
        let _ = f();
        let reps = 200;
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..reps {
            let t0 = Instant::now();
            let tr = f();
            times.push(t0.elapsed().as_secs_f64());
            last = Some(tr);
        }
        let st = last.map(|t| t.stats).unwrap_or_default();
        let m = median(times);
        println!(
            "{name:<44} median {:>8.3} ms  ({} steps, {} rejected, {} f-evals, {} Jacobians, {} LU)",
            m * 1e3,
            st.steps,
            st.rejected,
            st.rhs_evals,
            st.jacobians,
            st.factorisations
        );
        m
    };
    let a = report("lumped, 4 sessions / 6 months, final state", &|| {
        lumped::final_state(&model, &sessions, t_end, Accuracy::default()).expect("solve")
    });
    report("lumped, 4 sessions / 6 months, daily output", &|| {
        lumped::simulate(&model, &sessions, t_end, &grid, Accuracy::default()).expect("solve")
    });
    let b = report("baseline: same at 10x tighter tolerance", &|| {
        lumped::final_state(&model, &sessions, t_end, tight).expect("solve")
    });
    println!("ratio default/tight: {:.2}", a / b);
}
