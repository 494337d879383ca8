//! The `[delivery]` section of a scenario file and its validation.
//!
//! A delivery scenario is an ordinary scenario (person, skin, device, technique, zones) plus a
//! `[delivery]` table saying what is applied, when and how, and optionally `[[compounds]]`
//! entries that extend the built-in library. Every field is checked here, all problems are
//! reported at once with the field path, value, allowed range and a hint, and the result is a
//! [`DeliveryPlan`] in SI units.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Checker, FieldError, ScenarioError, scenario};
use crate::delivery::closure::{ClosureParams, Occlusion};
use crate::delivery::compounds::{CompoundEntry, Library, limits};
use crate::delivery::dosing::{Application, Dose, MAX_PRODUCT_KG_M2, Schedule};
use crate::delivery::experiment::{Endpoint, Experiment, PlasmaModel};
use crate::delivery::model::{DeliveryNumerics, Setup};
use crate::delivery::physchem::{PermeabilityModel, PhysChemParams};
use crate::delivery::run::{DeliveryPlan, EffectThreshold, GeometryKind};
use crate::scenario::Scenario;
use crate::units::{HOUR, MINUTE, MM};

/// What is applied after needling, when, and how the run is set up.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFile {
    /// Zone to simulate (default: the first zone).
    pub zone: Option<String>,
    /// A product of the library (`lidocaine_4_cream`, `vitamin_c_serum_15`, ...), or leave it
    /// out and give `compound` and `concentration_mg_g`.
    pub product: Option<String>,
    /// Compound name or alias (library or `[[compounds]]`).
    pub compound: Option<String>,
    /// Active per vehicle mass, mg/g (0-1000; vehicle density taken as 1 g/cm³).
    pub concentration_mg_g: Option<f64>,
    /// "finite" (default: a film that depletes) or "infinite" (a reservoir).
    pub dose: Option<String>,
    /// Product applied, mg/cm² (finite dose; 0.01-1000; default: the product's usual dose).
    pub dose_mg_cm2: Option<f64>,
    /// Minutes after the end of needling when the product goes on (0-10080, default 0).
    pub apply_after_min: Option<f64>,
    /// Minutes after the end of needling when it is wiped off (after application; default never).
    pub wipe_after_min: Option<f64>,
    /// "none", "serum" or "patch" while the product is on (default from the vehicle: patch for
    /// patches, none for solutions, serum otherwise).
    pub occlusion: Option<String>,
    /// Repeated applications; when given they replace the single-application fields above.
    #[serde(default)]
    pub applications: Vec<ApplicationFile>,
    /// Simulated time after needling, h (0.05-336, default 24).
    pub duration_h: Option<f64>,
    /// "potts_guy_1992" (default) or "refit_2023".
    pub permeability: Option<String>,
    /// "in_vivo" (default) or "franz_cell" (excised skin on a receptor: no clearance, no healing).
    pub setup: Option<String>,
    /// What the study measured, compared needled vs intact in the same run: "receptor"
    /// (cumulative amount in a Franz cell's receptor; the default of franz_cell),
    /// "receptor_flux" (steady flux into it), "skin_content" (amount in the skin with the stratum
    /// corneum: extraction, imaging), "viable_skin_content" (below the stratum corneum), "blood"
    /// (cumulative input into blood; the default in vivo) or "plasma" (one-compartment plasma
    /// levels, in vivo, with [delivery.plasma]).
    pub endpoint: Option<String>,
    /// Sampling times after needling, h (receptor samples or blood draws; default: the end).
    pub sampling_h: Option<Vec<f64>>,
    /// Window for the steady-state flux Jss, [from, to] h after needling (default: the second
    /// half of the time from the first application to the end). Both arms use it.
    pub steady_window_h: Option<Vec<f64>>,
    /// One-compartment plasma kinetics (endpoint = "plasma" only).
    pub plasma: Option<PlasmaFile>,
    /// "unit_cell" (default, fast) or "patch" (3-D over the real puncture map).
    pub geometry: Option<String>,
    /// Side of the square 3-D patch, mm (0.5-20, default 10 = 1 cm²).
    pub patch_side_mm: Option<f64>,
    /// Lateral voxel size of the 3-D patch, µm (5-100, default 40).
    pub patch_voxel_um: Option<f64>,
    /// Times after needling for depth profiles and amounts per layer, h (default: 1 and the end).
    pub profile_times_h: Option<Vec<f64>>,
    /// Effect threshold: amount in viable epidermis + dermis, µg/cm² (> 0).
    pub effect_threshold_ug_cm2: Option<f64>,
    /// Alternative: set the threshold to what intact skin holds this many minutes after
    /// application (a labelled onset on intact skin, e.g. 30 for LMX-4), 1-600.
    pub effect_intact_onset_min: Option<f64>,
}

/// `[delivery.plasma]`: one-compartment kinetics of the active in the body.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlasmaFile {
    /// Volume of distribution, L (0.1-100000).
    pub volume_l: f64,
    /// Elimination half-life, h (0.01-1000).
    pub half_life_h: f64,
    /// Treated area under the product, cm² (0.01-20000; default: the zone's area).
    pub area_cm2: Option<f64>,
}

/// One of repeated applications.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationFile {
    /// Minutes after the end of needling (0-10080).
    pub after_min: f64,
    /// "finite" (default) or "infinite".
    pub dose: Option<String>,
    /// Product applied, mg/cm² (finite).
    pub dose_mg_cm2: Option<f64>,
    /// Minutes after needling when it is wiped off.
    pub wipe_after_min: Option<f64>,
    /// "none", "serum" or "patch".
    pub occlusion: Option<String>,
}

/// Delivery-section checks, on the shared field-error collector.
impl Checker {
    fn choice<T: Copy>(
        &mut self,
        path: &str,
        v: Option<&str>,
        default: T,
        allowed: &[(&str, T)],
        hint: &str,
    ) -> T {
        match v {
            None => default,
            Some(s) => match allowed.iter().find(|(n, _)| *n == s) {
                Some((_, t)) => *t,
                None => {
                    let names: Vec<String> =
                        allowed.iter().map(|(n, _)| format!("{n:?}")).collect();
                    self.fail(
                        path,
                        format!("{s:?}"),
                        format!("allowed: {}", names.join(", ")),
                        hint,
                    );
                    default
                }
            },
        }
    }
}

const OCCLUSIONS: [(&str, Occlusion); 3] = [
    ("none", Occlusion::None),
    ("serum", Occlusion::Serum),
    ("patch", Occlusion::Patch),
];

/// Reads a scenario file with a `[delivery]` section.
pub fn load(path: &Path) -> Result<(Scenario, DeliveryPlan), ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Parses and validates scenario text with a `[delivery]` section (every section is validated
/// once, by [`scenario::validate_all`]).
pub fn parse(text: &str, file: &str) -> Result<(Scenario, DeliveryPlan), ScenarioError> {
    let raw = scenario::parse_raw(text, file)?;
    let checked = scenario::validate_all(&raw, file);
    if raw.delivery.is_some() {
        let (s, plan) = checked?;
        let plan = plan.ok_or_else(|| ScenarioError::Invalid {
            file: file.into(),
            errors: super::point_into_book(
                "scenario",
                vec![FieldError::new(
                    "delivery",
                    "-",
                    "incomplete delivery section",
                    "see examples/deliver_*.toml",
                )],
            ),
        })?;
        return Ok((s, plan));
    }
    let mut errors = match checked {
        Ok(_) => Vec::new(),
        Err(ScenarioError::Invalid { errors, .. }) => errors,
        Err(other) => return Err(other),
    };
    errors.push(FieldError::new(
        "delivery",
        "(missing)",
        "a [delivery] table is required by `needlesim deliver`",
        "add [delivery] with product (or compound + concentration_mg_g); see examples/deliver_*.toml",
    ));
    Err(ScenarioError::Invalid {
        file: file.into(),
        errors: super::point_into_book("scenario", errors),
    })
}

/// `[[compounds]]`: the built-in library with the file's compounds added.
pub(crate) fn library(c: &mut Checker, compounds: &[CompoundEntry]) -> Library {
    let mut lib = Library::builtin().clone();
    for (i, e) in compounds.iter().enumerate() {
        let mut errs = Vec::new();
        if let Some(comp) = e.to_compound(&format!("compounds[{i}]"), &mut errs) {
            lib.add_compound(comp, &mut errs);
        }
        for m in errs {
            let (path, rest) = m.split_once(" = ").unwrap_or(("compounds", m.as_str()));
            let (value, msg) = rest.split_once(": ").unwrap_or(("-", rest));
            c.fail(
                path,
                value,
                msg,
                "see data/compounds.toml for the keys and units of a compound",
            );
        }
    }
    lib
}

/// Validates the `[delivery]` and `[[compounds]]` parts of a raw scenario.
pub fn validate(raw: &scenario::ScenarioFile) -> Result<DeliveryPlan, Vec<FieldError>> {
    let mut c = Checker::new();
    let Some(d) = &raw.delivery else {
        c.fail(
            "delivery",
            "(missing)",
            "a [delivery] table is required by `needlesim deliver`",
            "add [delivery] with product (or compound + concentration_mg_g); see examples/deliver_*.toml",
        );
        return Err(c.errors);
    };
    let mut warnings = Vec::new();
    let lib = library(&mut c, &raw.compounds);

    // Product or compound.
    let (product_name, vehicle, compound, mass_fraction, default_dose) =
        match (&d.product, &d.compound) {
            (Some(p), None) => match lib.product(p) {
                Ok(prod) => {
                    if d.concentration_mg_g.is_some() {
                        c.fail(
                            "delivery.concentration_mg_g",
                            d.concentration_mg_g.unwrap_or_default(),
                            "does not apply with `product` (the product fixes it)",
                            "remove it, or give compound + concentration_mg_g instead of product",
                        );
                    }
                    let comp = lib.compound(&prod.compound).ok().cloned();
                    (
                        prod.name.clone(),
                        prod.vehicle.clone(),
                        comp,
                        Some(prod.mass_fraction),
                        Some(prod.default_dose_kg_m2),
                    )
                }
                Err(e) => {
                    c.fail(
                        "delivery.product",
                        format!("{p:?}"),
                        e.to_string(),
                        "products are listed under [[product]] in data/compounds.toml",
                    );
                    (p.clone(), String::new(), None, None, None)
                }
            },
            (None, Some(name)) => {
                let comp = match lib.compound(name) {
                    Ok(x) => Some(x.clone()),
                    Err(e) => {
                        c.fail(
                            "delivery.compound",
                            format!("{name:?}"),
                            e.to_string(),
                            "names are in data/compounds.toml; add your own under [[compounds]]",
                        );
                        None
                    }
                };
                let frac = match d.concentration_mg_g {
                    Some(v) => c
                        .range(
                            "delivery.concentration_mg_g",
                            v,
                            1e-9,
                            limits::CONC_MG_G.1,
                            "mg/g",
                            "a 15 % serum is 150 mg/g; 1 mg/mL is about 1 mg/g",
                        )
                        .map(|v| v / 1000.0),
                    None => {
                        c.fail(
                            "delivery.concentration_mg_g",
                            "(missing)",
                            "is required with `compound`",
                            "e.g. concentration_mg_g = 20",
                        );
                        None
                    }
                };
                (name.clone(), "solution".to_string(), comp, frac, None)
            }
            (Some(_), Some(_)) => {
                c.fail(
                    "delivery.product",
                    "product and compound",
                    "give either product or compound, not both",
                    "a product already names its compound",
                );
                (String::new(), String::new(), None, None, None)
            }
            (None, None) => {
                c.fail(
                    "delivery.product",
                    "(missing)",
                    "give a product, or a compound with concentration_mg_g",
                    "e.g. product = \"lidocaine_4_cream\"",
                );
                (String::new(), String::new(), None, None, None)
            }
        };
    let default_occ = match vehicle.as_str() {
        "patch" => Occlusion::Patch,
        "solution" => Occlusion::None,
        _ => Occlusion::Serum,
    };

    // Applications.
    let dose_kind = |c: &mut Checker, path: &str, v: Option<&str>| {
        c.choice(
            path,
            v,
            false,
            &[("finite", false), ("infinite", true)],
            "finite: a film that depletes; infinite: a reservoir",
        )
    };
    let time_min = |c: &mut Checker, path: &str, v: f64| {
        if v < 0.0 && v.is_finite() {
            c.fail(
                path,
                v,
                "is before the end of needling: products are applied at 0 min or later",
                "pre-needling application is not modelled; use 0 for 'right after needling'",
            );
            None
        } else {
            c.range(
                path,
                v,
                0.0,
                10_080.0,
                "min",
                "minutes after the end of needling (up to one week)",
            )
        }
    };
    let make_app = |c: &mut Checker,
                    base: &str,
                    after: f64,
                    dose: Option<&str>,
                    dose_mg: Option<f64>,
                    wipe: Option<f64>,
                    occ: Option<&str>|
     -> Option<Application> {
        let t = time_min(c, &format!("{base}apply_after_min"), after);
        let infinite = dose_kind(c, &format!("{base}dose"), dose);
        let occlusion = c.choice(
            &format!("{base}occlusion"),
            occ,
            default_occ,
            &OCCLUSIONS,
            "serum: a film of product; patch: an occlusive dressing",
        );
        let wipe_s = wipe.and_then(|w| time_min(c, &format!("{base}wipe_after_min"), w));
        if let (Some(t), Some(w)) = (t, wipe_s)
            && w <= t
        {
            c.fail(
                &format!("{base}wipe_after_min"),
                w,
                format!("must be later than the application ({t} min)"),
                "times are minutes after the end of needling",
            );
        }
        let frac = mass_fraction?;
        let dose = if infinite {
            if dose_mg.is_some() {
                c.fail(
                    &format!("{base}dose_mg_cm2"),
                    dose_mg.unwrap_or_default(),
                    "does not apply to an infinite dose",
                    "remove it, or set dose = \"finite\"",
                );
            }
            Dose::Infinite {
                concentration_kg_m3: frac * crate::delivery::dosing::VEHICLE_DENSITY_KG_M3,
            }
        } else {
            let amount = match (dose_mg, default_dose) {
                (Some(v), _) => {
                    if v <= 0.0 {
                        c.fail(
                            &format!("{base}dose_mg_cm2"),
                            v,
                            "must be positive",
                            "a serum layer is about 1-5 mg/cm²; a thick cream 50-150 mg/cm²",
                        );
                        return None;
                    }
                    c.range(&format!("{base}dose_mg_cm2"), v, 0.01, MAX_PRODUCT_KG_M2 * 100.0, "mg/cm²", "a serum layer is about 1-5 mg/cm²; a thick cream 50-150 mg/cm² (above 1000 mg/cm² is a centimetre-thick layer)")? * 1e-2
                }
                (None, Some(v)) => v,
                (None, None) => {
                    c.fail(
                        &format!("{base}dose_mg_cm2"),
                        "(missing)",
                        "is required for a finite dose of a compound",
                        "e.g. dose_mg_cm2 = 2",
                    );
                    return None;
                }
            };
            Dose::Finite {
                product_kg_m2: amount,
                mass_fraction: frac,
            }
        };
        Some(Application {
            t_apply_s: t? * MINUTE,
            dose,
            wipe_s: wipe_s.map(|w| w * MINUTE),
            occlusion,
        })
    };
    let mut apps = Vec::new();
    if d.applications.is_empty() {
        if let Some(a) = make_app(
            &mut c,
            "delivery.",
            d.apply_after_min.unwrap_or(0.0),
            d.dose.as_deref(),
            d.dose_mg_cm2,
            d.wipe_after_min,
            d.occlusion.as_deref(),
        ) {
            apps.push(a);
        }
    } else {
        for (field, set) in [
            ("apply_after_min", d.apply_after_min.is_some()),
            ("dose", d.dose.is_some()),
            ("dose_mg_cm2", d.dose_mg_cm2.is_some()),
            ("wipe_after_min", d.wipe_after_min.is_some()),
            ("occlusion", d.occlusion.is_some()),
        ] {
            if set {
                c.fail(
                    &format!("delivery.{field}"),
                    "-",
                    "cannot be combined with [[delivery.applications]]",
                    "move it into each application",
                );
            }
        }
        for (i, a) in d.applications.iter().enumerate() {
            let base = format!("delivery.applications[{i}].");
            if let Some(x) = make_app(
                &mut c,
                &base,
                a.after_min,
                a.dose.as_deref(),
                a.dose_mg_cm2,
                a.wipe_after_min,
                a.occlusion.as_deref(),
            ) {
                apps.push(x);
            }
        }
    }
    // make_app names the application time `apply_after_min`; in a list it is `after_min`.
    for e in &mut c.errors {
        if e.path.starts_with("delivery.applications[") {
            e.path = e.path.replace(".apply_after_min", ".after_min");
        }
    }

    let duration = d
        .duration_h
        .map_or(Some(24.0), |v| {
            c.range(
                "delivery.duration_h",
                v,
                0.05,
                336.0,
                "h",
                "delivery is usually followed for 1-48 h",
            )
        })
        .unwrap_or(24.0)
        * HOUR;
    for (i, a) in apps.iter().enumerate() {
        if a.t_apply_s >= duration {
            c.fail(
                if d.applications.is_empty() {
                    "delivery.apply_after_min".to_string()
                } else {
                    format!("delivery.applications[{i}].after_min")
                }
                .as_str(),
                a.t_apply_s / MINUTE,
                format!("is after the end of the run ({} h)", duration / HOUR),
                "increase delivery.duration_h",
            );
        }
    }
    let permeability = c.choice(
        "delivery.permeability",
        d.permeability.as_deref(),
        PermeabilityModel::PottsGuy1992,
        &[
            ("potts_guy_1992", PermeabilityModel::PottsGuy1992),
            ("refit_2023", PermeabilityModel::Refit2023),
        ],
        "Potts & Guy 1992 or its 2023 refit",
    );
    let setup = c.choice(
        "delivery.setup",
        d.setup.as_deref(),
        Setup::InVivo,
        &[("in_vivo", Setup::InVivo), ("franz_cell", Setup::FranzCell)],
        "franz_cell: excised skin on a receptor (no blood flow, no healing)",
    );
    let experiment = experiment(&mut c, d, setup, duration);
    let geometry_patch = c.choice(
        "delivery.geometry",
        d.geometry.as_deref(),
        false,
        &[("unit_cell", false), ("patch", true)],
        "unit_cell is fast; patch uses the real puncture map",
    );
    let side = d
        .patch_side_mm
        .map_or(Some(10.0), |v| {
            c.range(
                "delivery.patch_side_mm",
                v,
                0.5,
                20.0,
                "mm",
                "10 mm gives 1 cm²",
            )
        })
        .unwrap_or(10.0)
        * MM;
    let mut resolution = if geometry_patch {
        DeliveryNumerics::patch()
    } else {
        DeliveryNumerics::default()
    };
    if let Some(v) = d.patch_voxel_um
        && let Some(v) = c.range(
            "delivery.patch_voxel_um",
            v,
            5.0,
            100.0,
            "µm",
            "the default 40 µm runs a 1 cm² patch in under a minute on two cores within ~3 % of 12.5 µm voxels; 25 µm within ~0.5 % at ~2.5× the time",
        )
    {
        resolution.dx_patch_m = v * 1e-6;
    }
    if !geometry_patch {
        for (f, set) in [
            ("patch_side_mm", d.patch_side_mm.is_some()),
            ("patch_voxel_um", d.patch_voxel_um.is_some()),
        ] {
            if set {
                c.fail(
                    &format!("delivery.{f}"),
                    "-",
                    "applies only to geometry = \"patch\"",
                    "remove it or set geometry = \"patch\"",
                );
            }
        }
    }
    let profile_times: Vec<f64> = match &d.profile_times_h {
        Some(v) => v
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                c.range(
                    &format!("delivery.profile_times_h[{i}]"),
                    *t,
                    0.0,
                    duration / HOUR,
                    "h",
                    "times after needling within the run",
                )
                .map(|t| t * HOUR)
            })
            .collect(),
        None => {
            let t0 = apps.first().map_or(0.0, |a| a.t_apply_s);
            vec![(t0 + HOUR).min(duration), duration]
        }
    };
    let effect = match (d.effect_threshold_ug_cm2, d.effect_intact_onset_min) {
        (Some(v), None) => c
            .range(
                "delivery.effect_threshold_ug_cm2",
                v,
                1e-9,
                1e6,
                "µg/cm²",
                "amount in viable epidermis + dermis that produces the effect",
            )
            .map(|v| EffectThreshold::Amount {
                kg_m2: v / crate::delivery::run::UG_CM2,
            }),
        (None, Some(m)) => c
            .range(
                "delivery.effect_intact_onset_min",
                m,
                1.0,
                600.0,
                "min",
                "e.g. 30 for a 4 % liposomal lidocaine cream on intact skin",
            )
            .map(|m| EffectThreshold::IntactOnset { t_s: m * MINUTE }),
        (Some(_), Some(_)) => {
            c.fail(
                "delivery.effect_threshold_ug_cm2",
                "-",
                "give either effect_threshold_ug_cm2 or effect_intact_onset_min",
                "one way to set the threshold",
            );
            None
        }
        (None, None) => None,
    };
    let zone = match &d.zone {
        Some(z) => z.clone(),
        None => raw
            .zones
            .first()
            .map(|z| z.name.clone())
            .unwrap_or_default(),
    };
    if let Some(comp) = &compound
        && let Some(r) = comp.r_h_m
        && r > 1e-6
    {
        c.fail("delivery.compound", format!("{:?}", comp.name), format!("has a hydrodynamic radius of {:.0} nm: too large for a meaningful permeability (a particle, not a solute)", r * 1e9), "the diffusion model covers solutes up to 1 µm radius");
    }
    let schedule = if c.errors.is_empty() {
        match Schedule::new(apps) {
            Ok(s) => Some(s),
            Err(e) => {
                c.fail(
                    "delivery",
                    "-",
                    e.to_string(),
                    "check the application times and doses",
                );
                None
            }
        }
    } else {
        None
    };
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let (Some(compound), Some(schedule)) = (compound, schedule) else {
        return Err(vec![FieldError::new(
            "delivery",
            "-",
            "incomplete delivery section",
            "see examples/deliver_*.toml",
        )]);
    };
    warnings.extend(crate::delivery::physchem::mw_domain_warning(&compound));
    Ok(DeliveryPlan {
        zone,
        product_name,
        vehicle,
        compound,
        schedule,
        permeability,
        setup,
        experiment: experiment.unwrap_or_else(|| Experiment::default_for(setup)),
        geometry: if geometry_patch {
            GeometryKind::Patch { side_m: side }
        } else {
            GeometryKind::UnitCell
        },
        duration_s: duration,
        profile_times_s: profile_times,
        effect,
        physchem: PhysChemParams::default(),
        closure: ClosureParams::default(),
        resolution,
        warnings,
    })
}

/// `endpoint`, `sampling_h`, `steady_window_h` and `[delivery.plasma]`: the experiment, checked
/// against the set-up (a Franz cell has no plasma, an in-vivo study no receptor).
fn experiment(
    c: &mut Checker,
    d: &DeliveryFile,
    setup: Setup,
    duration_s: f64,
) -> Option<Experiment> {
    let endpoint = c.choice(
        "delivery.endpoint",
        d.endpoint.as_deref(),
        Endpoint::default_for(setup),
        &Endpoint::ALL,
        "what the study measured: receptor / receptor_flux (Franz cell), blood / plasma (in vivo), skin_content / viable_skin_content (either)",
    );
    let setup_name = match setup {
        Setup::InVivo => "in_vivo",
        Setup::FranzCell => "franz_cell",
    };
    let mut ok = true;
    if let Err(why) = endpoint.fits(setup) {
        ok = false;
        c.fail(
            "delivery.endpoint",
            format!("{:?} with setup = {setup_name:?}", d.endpoint.as_deref().unwrap_or("")),
            why,
            match setup {
                Setup::FranzCell => "use endpoint = \"receptor\", \"receptor_flux\" or \"skin_content\", or set setup = \"in_vivo\" for a study with plasma levels",
                Setup::InVivo => "use endpoint = \"blood\", \"plasma\" or \"skin_content\", or set setup = \"franz_cell\" for an in-vitro study",
            },
        );
    }
    let hours = duration_s / HOUR;
    let sampling_s: Vec<f64> = match &d.sampling_h {
        Some(v) => {
            let mut out = Vec::new();
            for (i, t) in v.iter().enumerate() {
                match c.range(
                    &format!("delivery.sampling_h[{i}]"),
                    *t,
                    0.0,
                    hours,
                    "h",
                    "sampling times after needling within the run (duration_h)",
                ) {
                    Some(t) => out.push(t * HOUR),
                    None => ok = false,
                }
            }
            if out.windows(2).any(|w| w[1] <= w[0]) {
                ok = false;
                c.fail(
                    "delivery.sampling_h",
                    format!("{v:?}"),
                    "must increase",
                    "list the sampling times in order, e.g. [1, 2, 4, 8, 12]",
                );
            }
            out
        }
        None => Vec::new(),
    };
    let steady_window_s = match &d.steady_window_h {
        None => None,
        Some(w) => match w.as_slice() {
            [a, b]
                if a.is_finite() && b.is_finite() && *a >= 0.0 && a < b && *b <= hours + 1e-9 =>
            {
                Some((a * HOUR, b * HOUR))
            }
            _ => {
                ok = false;
                c.fail(
                    "delivery.steady_window_h",
                    format!("{w:?}"),
                    format!("must be [from, to] with 0 <= from < to <= {hours} h (duration_h)"),
                    "the part of the run where the receptor curve is straight, e.g. [6, 24]",
                );
                None
            }
        },
    };
    let plasma = match (&d.plasma, endpoint) {
        (None, Endpoint::Plasma) => {
            ok = false;
            c.fail(
                "delivery.plasma",
                "(missing)",
                "endpoint = \"plasma\" needs the active's kinetics in the body",
                "add [delivery.plasma] with volume_l and half_life_h (from the drug's label), and area_cm2 if the product covers more than the zone",
            );
            None
        }
        (Some(_), e) if e != Endpoint::Plasma => {
            ok = false;
            c.fail(
                "delivery.plasma",
                "(given)",
                format!(
                    "applies only to endpoint = \"plasma\" (endpoint is {:?})",
                    Endpoint::ALL.iter().find(|x| x.1 == e).map_or("", |x| x.0)
                ),
                "remove [delivery.plasma], or set endpoint = \"plasma\" (in vivo)",
            );
            None
        }
        (Some(p), _) => {
            let v = c.range(
                "delivery.plasma.volume_l",
                p.volume_l,
                0.1,
                1e5,
                "L",
                "volume of distribution from the drug's label, e.g. 1350 L for naltrexone",
            );
            let h = c.range(
                "delivery.plasma.half_life_h",
                p.half_life_h,
                0.01,
                1000.0,
                "h",
                "elimination half-life from the drug's label, e.g. 4 h for naltrexone",
            );
            // Without area_cm2: the zone's area, filled in by the run (NaN here).
            let a = match p.area_cm2 {
                Some(a) => c.range(
                    "delivery.plasma.area_cm2",
                    a,
                    0.01,
                    20_000.0,
                    "cm²",
                    "the area under the product (a patch's area)",
                ),
                None => Some(f64::NAN),
            };
            match (v, h, a) {
                (Some(v), Some(h), Some(a)) => Some(PlasmaModel {
                    volume_m3: v * 1e-3,
                    half_life_s: h * HOUR,
                    area_m2: a * 1e-4,
                }),
                _ => {
                    ok = false;
                    None
                }
            }
        }
        (None, _) => None,
    };
    ok.then_some(Experiment {
        endpoint,
        sampling_s,
        steady_window_s,
        plasma,
    })
}
