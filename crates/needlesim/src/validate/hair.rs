//! Hair metrics (`hair.*`): one trial arm on the scalp, set up from the case's `[inputs]`.

use crate::delivery::compounds::Library;
use crate::device::{Device, Pen, Roller, Technique};
use crate::hair::{self, Alopecia, HairProtocol, HairRun, Needling, Scale, Topical};
use crate::params::ModelParams;
use crate::skin::{Person, Sex, Site, ThicknessOverrides};
use crate::units::MM;

/// The hair metrics.
pub const METRICS: &[&str] = &[
    "hair.density_per_cm2",
    "hair.anagen_fraction",
    "hair.kenogen_fraction",
    "hair.count_change_per_cm2",
    "hair.diameter_change_um",
    "hair.absorbed_fraction",
    "hair.wnt_peak_day",
];

/// Seed of the scalp patch punctures.
pub const SEED: u64 = 20;

fn num(t: &toml::Table, key: &str) -> Option<f64> {
    match t.get(key)? {
        toml::Value::Float(x) => Some(*x),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

fn text<'a>(t: &'a toml::Table, key: &str) -> Option<&'a str> {
    t.get(key)?.as_str()
}

/// The arm described by a case's inputs: the scalp, its column and the protocol.
pub struct Arm {
    pub scalp: hair::Scalp,
    pub column: crate::skin::SkinColumn,
    pub protocol: HairProtocol,
    pub params: ModelParams,
}

/// Builds the arm of a case (missing optional inputs: no needling, no product, 24 h delay,
/// twice-daily application, a roller's standard passes).
pub fn arm(t: &toml::Table, duration_days: f64, params: &ModelParams) -> Result<Arm, String> {
    let params = params.clone();
    let sex = match text(t, "sex").unwrap_or("male") {
        "female" => Sex::Female,
        _ => Sex::Male,
    };
    let person = Person {
        age_years: num(t, "age_years").unwrap_or(35.0),
        sex,
        phototype: num(t, "phototype").map_or(3, |x| x as u8),
    };
    let column = crate::skin::column_with(
        Site::Scalp,
        &person,
        &ThicknessOverrides::default(),
        &params.skin,
    )
    .map_err(|e| e.to_string())?;
    let scale = Scale::from_name(text(t, "alopecia_scale").unwrap_or("none"))
        .ok_or("unknown alopecia_scale")?;
    let alopecia = Alopecia {
        scale,
        grade: num(t, "alopecia_grade").unwrap_or(0.0) as u8,
    };
    let scalp = hair::scalp::scalp(&column, &person, alopecia, None, &params.hair)
        .map_err(|e| e.to_string())?;
    let needle_mm = num(t, "needle_mm").unwrap_or(0.0);
    let sessions = num(t, "sessions").unwrap_or(0.0) as u32;
    let needling = if needle_mm > 0.0 && sessions > 0 {
        let interval = num(t, "interval_days").unwrap_or(7.0);
        let (device, mut technique) = match text(t, "device").unwrap_or("roller") {
            "pen" => (
                Device::Pen(Pen::dermapen_like(needle_mm * MM)),
                Technique::pen_typical(),
            ),
            _ => (
                Device::Roller(Roller::mf8_with_length(needle_mm * MM)),
                Technique::roller_standard(),
            ),
        };
        if let Some(p) = num(t, "passes") {
            technique.passes = p as u32;
        }
        let (injury, radius) = hair::session_injury(&device, &technique, &column, &params, SEED)
            .map_err(|e| e.to_string())?;
        Some(Needling {
            session_days: (0..sessions).map(|k| f64::from(k) * interval).collect(),
            injury,
            channel_radius_m: radius,
            prp: text(t, "prp") == Some("yes"),
        })
    } else {
        None
    };
    let topical = match text(t, "product").unwrap_or("none") {
        "none" => None,
        name => {
            let lib = Library::builtin();
            let product = lib.product(name).map_err(|e| e.to_string())?;
            let compound = lib.compound(&product.compound).map_err(|e| e.to_string())?;
            Some(
                Topical::new(
                    product,
                    compound,
                    num(t, "applications_per_day").unwrap_or(2.0) as u32,
                    num(t, "delay_after_needling_h").unwrap_or(24.0),
                    &params.physchem,
                )
                .map_err(|e| e.to_string())?,
            )
        }
    };
    Ok(Arm {
        scalp,
        column,
        protocol: HairProtocol {
            needling,
            topical,
            duration_days,
        },
        params,
    })
}

/// Runs the arm to `day`.
pub fn run(t: &toml::Table, day: f64, params: &ModelParams) -> Result<HairRun, String> {
    let a = arm(t, day.max(1.0), params)?;
    hair::simulate(&a.scalp, &a.column, &a.protocol, &a.params).map_err(|e| e.to_string())
}

/// Evaluates a hair metric with the default parameters.
pub fn evaluate(metric: &str, t: &toml::Table) -> Result<f64, String> {
    evaluate_with(metric, t, &ModelParams::default())
}

/// Evaluates a hair metric with `params` (calibration runs vary the hair group).
pub fn evaluate_with(metric: &str, t: &toml::Table, params: &ModelParams) -> Result<f64, String> {
    let run = |t: &toml::Table, day: f64| run(t, day, params);
    let day = num(t, "day").unwrap_or(0.0);
    match metric {
        "hair.density_per_cm2" => Ok(run(t, 1.0)?.hairs_per_cm2[0]),
        "hair.anagen_fraction" => Ok(run(t, 1.0)?.anagen_fraction[0]),
        "hair.kenogen_fraction" => Ok(arm(t, 1.0, params)?.scalp.kenogen_fraction()),
        "hair.count_change_per_cm2" => Ok(run(t, day)?.count_change(day)),
        "hair.diameter_change_um" => {
            let r = run(t, day)?;
            Ok(r.at(&r.mean_diameter_um, day) - r.mean_diameter_um[0])
        }
        "hair.absorbed_fraction" => {
            let r = run(t, 10.0)?;
            if r.applications.is_empty() {
                return Err("no product applied (give `product`)".into());
            }
            Ok(r.applications.iter().map(|a| a.1).sum::<f64>() / r.applications.len() as f64)
        }
        "hair.wnt_peak_day" => run(t, 60.0)?
            .wnt_peak_day
            .ok_or_else(|| "no needling (give `needle_mm` and `sessions`)".to_string()),
        other => Err(format!("unknown hair metric `{other}`")),
    }
}
