//! Planner benchmark: each bundled example patient from file text to plan.json + report.html
//! (parse, screen, recommend with skin checks and session-time estimates, schedule, aftercare,
//! render), median of several runs, first with the healing model's optimisation (the
//! `needlesim plan` path) and then without prediction. Also the optimiser's own overhead per protocol with a
//! zero-cost stand-in predictor (NOT a model: it only times the search, the constraint checks
//! and the trade-off curve; the healing model's cost comes on top once it is merged).
//!
//! Run: `cargo bench -p needlesim --bench plan`.

use std::path::Path;
use std::time::{Duration, Instant};

use needlesim::plan::patient::{self, ConcernKind, DeviceChoice, PatientConcern};
use needlesim::plan::predict::{
    Constraints, Estimate, PredictInput, Prediction, Predictor, SearchSpace, ZoneProtocol, optimise,
};
use needlesim::plan::{self, Models, NumbingModel};
use needlesim::skin::{self, Person, Site, ThicknessOverrides};

const REPS: usize = 21;
/// Runs of each full plan with optimisation.
const FULL_REPS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct StandIn;

impl Predictor for StandIn {
    fn name(&self) -> String {
        "zero-cost stand-in (timing only)".into()
    }
    fn predict(&self, i: &PredictInput<'_>) -> Result<Prediction, String> {
        let b = Estimate {
            mean: i.protocol.setting_mm,
            lo: 0.0,
            hi: 1.0,
        };
        Ok(Prediction {
            metric: "none".into(),
            unit: "%".into(),
            calibrated: false,
            calibration: "a test stand-in".into(),
            improvement_pct: b,
            downtime_days: vec![b; i.protocol.sessions as usize],
            pih_risk: None,
            trajectory: vec![],
            horizon_days: 0.0,
        })
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patients");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/patients")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    // Full plans with the healing model's optimisation (what `needlesim plan` does), median of
    // a few runs (each takes up to about a second).
    let healing = plan::healing_predictor::HealingPredictor::default();
    println!(
        "{:<40} {:>12} {:>10}",
        "example patient (with optimisation)", "plan ms", "protocols"
    );
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut tp = Vec::new();
        let mut n = 0;
        for _ in 0..FULL_REPS {
            let t0 = Instant::now();
            // A fresh numbing model per plan, as `needlesim plan` makes (its calibration and
            // per-site onsets are cached only within one instance).
            let numbing = plan::ModelNumbing::default();
            let models = Models {
                numbing: &numbing,
                predictor: Some(&healing),
            };
            let p = patient::parse(&text, "bench").unwrap();
            let pl = plan::plan(&p, &models).unwrap();
            tp.push(t0.elapsed());
            if let plan::PredictionSection::Done { zones, .. } = &pl.prediction {
                n = zones.iter().map(|z| z.optimisation.evaluated).sum();
            }
            std::hint::black_box(pl);
        }
        println!(
            "{:<40} {:>12.1} {:>10}",
            f.file_name().unwrap().to_string_lossy(),
            median(tp).as_secs_f64() * 1e3,
            n
        );
    }
    println!();
    // The numbing stage alone: a fresh delivery-model numbing per plan (calibration of the
    // product on its label + one intact-skin run per zone site), against the label times.
    println!(
        "{:<40} {:>12} {:>12}",
        "example patient (numbing stage)", "model ms", "label ms"
    );
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let p = patient::parse(&text, "bench").unwrap();
        let zones: Vec<(String, Site)> = p.zones.iter().map(|z| (z.name.clone(), z.site)).collect();
        let (mut tm, mut tl) = (Vec::new(), Vec::new());
        for _ in 0..REPS {
            let t0 = Instant::now();
            let m = plan::ModelNumbing::default();
            std::hint::black_box(m.onset(p.goals.numbing, &p.person, &zones, 1.0));
            tm.push(t0.elapsed());
            let t0 = Instant::now();
            std::hint::black_box(plan::LabelNumbing.onset(p.goals.numbing, &p.person, &zones, 1.0));
            tl.push(t0.elapsed());
        }
        println!(
            "{:<40} {:>12.2} {:>12.4}",
            f.file_name().unwrap().to_string_lossy(),
            median(tm).as_secs_f64() * 1e3,
            median(tl).as_secs_f64() * 1e3
        );
    }
    println!();
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "example patient (--no-predict)", "plan ms", "render ms", "total ms"
    );
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (mut tp, mut tr, mut tt) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..REPS {
            let t0 = Instant::now();
            let p = patient::parse(&text, "bench").unwrap();
            let pl = plan::plan(&p, &Models::default()).unwrap();
            let t1 = Instant::now();
            let json = serde_json::to_string_pretty(&pl).unwrap();
            let html = plan::render::html(&pl);
            let txt = plan::render::text(&pl);
            std::hint::black_box((json, html, txt));
            let t2 = Instant::now();
            tp.push(t1 - t0);
            tr.push(t2 - t1);
            tt.push(t2 - t0);
        }
        println!(
            "{:<40} {:>10.2} {:>10.2} {:>10.2}",
            f.file_name().unwrap().to_string_lossy(),
            median(tp).as_secs_f64() * 1e3,
            median(tr).as_secs_f64() * 1e3,
            median(tt).as_secs_f64() * 1e3
        );
    }

    let person = Person {
        age_years: 30.0,
        sex: skin::Sex::Female,
        phototype: 3,
    };
    let column = skin::column(Site::Cheek, &person, &ThicknessOverrides::default()).unwrap();
    let concern = PatientConcern {
        kind: ConcernKind::AcneScars,
        grade: Some(3),
        scar_types: vec![],
    };
    let proto = ZoneProtocol::uniform(1.5, 3, 4, 28);
    let base = PredictInput {
        person: &person,
        column: &column,
        concern: &concern,
        device: DeviceChoice::Pen,
        protocol: &proto,
        bands: false,
    };
    let space = SearchSpace {
        settings_mm: (1..=8).map(|i| 0.25 * f64::from(i)).collect(),
        passes: vec![2, 3, 4, 5, 6],
        sessions: (1..=6).collect(),
        intervals_days: vec![28, 42],
    };
    let cons = Constraints {
        max_downtime_days: Some(4.0),
        max_pih_risk: None,
        max_sessions: Some(5),
        ..Default::default()
    };
    let mut t = Vec::new();
    let mut n = 0;
    for _ in 0..REPS {
        let t0 = Instant::now();
        let o = optimise(&StandIn, &base, &space, &cons);
        t.push(t0.elapsed());
        n = o.evaluated;
    }
    let m = median(t).as_secs_f64();
    println!(
        "optimiser overhead: {n} protocols in {:.3} ms ({:.2} µs per protocol, stand-in predictor)",
        m * 1e3,
        m * 1e6 / n as f64
    );
}
