//! Benchmark: the hair model (issue 20) on a 6-month scalp protocol at the lumped resolution:
//! 26 weekly 1.5 mm roller sessions with twice-daily 5 % minoxidil, Norwood IV. Timed in the
//! same run: the whole arm (wound-signal kernel from one lumped healing run, minoxidil routes,
//! 2 x 5 cycle states stepped exactly on a 6-hour grid) and, as the baseline, the lumped healing model alone on
//! the same protocol (what the planner already runs per candidate). The session's injury (the
//! puncture map) is built once before timing, as the planner caches it.
//!
//! Run: `cargo bench -p needlesim --bench hair`

use std::time::Instant;

use needlesim::delivery::compounds::Library;
use needlesim::device::{Device, Roller, Technique};
use needlesim::hair::{self, Alopecia, HairProtocol, Needling, Scale, Topical};
use needlesim::healing::lumped::{self, Accuracy, LumpedModel, SessionInput};
use needlesim::params::ModelParams;
use needlesim::skin::{self, Person, Sex, Site, ThicknessOverrides};
use needlesim::units::{DAY, MM};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mp = ModelParams::default();
    let person = Person {
        age_years: 30.0,
        sex: Sex::Male,
        phototype: 3,
    };
    let column = skin::column(Site::Scalp, &person, &ThicknessOverrides::default()).unwrap();
    let scalp = hair::scalp::scalp(
        &column,
        &person,
        Alopecia {
            scale: Scale::Norwood,
            grade: 4,
        },
        None,
        &mp.hair,
    )
    .unwrap();
    let device = Device::Roller(Roller::mf8_with_length(1.5 * MM));
    let (injury, radius) =
        hair::session_injury(&device, &Technique::roller_standard(), &column, &mp, 20).unwrap();
    let lib = Library::builtin();
    let product = lib.product("minoxidil_5_solution").unwrap();
    let compound = lib.compound(&product.compound).unwrap();
    let topical = Topical::new(product, compound, 2, 24.0, &mp.physchem).unwrap();
    let days: Vec<f64> = (0..26).map(|k| f64::from(k) * 7.0).collect();
    let protocol = HairProtocol {
        needling: Some(Needling {
            session_days: days.clone(),
            injury,
            channel_radius_m: radius,
            prp: false,
        }),
        topical: Some(topical),
        duration_days: 182.0,
    };
    let reps = 50;
    let mut hair_ms = Vec::new();
    let mut last = 0.0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let r = hair::simulate(&scalp, &column, &protocol, &mp).unwrap();
        hair_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        last = r.count_change(182.0);
    }
    let model = LumpedModel::new(&column, 30.0, 3, &mp.healing);
    let sessions: Vec<SessionInput> = days
        .iter()
        .map(|d| SessionInput {
            t_s: d * DAY,
            injury,
        })
        .collect();
    let mut heal_ms = Vec::new();
    for _ in 0..reps {
        let t0 = Instant::now();
        let _ = lumped::simulate(
            &model,
            &sessions,
            182.0 * DAY,
            &[182.0 * DAY],
            Accuracy::planning(),
        )
        .unwrap();
        heal_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let (h, b) = (median(hair_ms), median(heal_ms));
    println!(
        "hair model, 26 weekly sessions + minoxidil, 182 days: median {h:.3} ms (change {last:+.1} hairs/cm²)"
    );
    println!("lumped healing alone, same 26 sessions (baseline): median {b:.3} ms");
    println!("ratio hair / healing: {:.2}", h / b);
}
