//! The posterior sample of the joint calibration: parameter vectors drawn by
//! `python/calibrate.py` (emcee) given every calibration case at once, read back by the core so
//! that the uncertainty bands are posterior-predictive.
//!
//! The file (`crates/needlesim/data/posterior.json`, bundled into the library) names the
//! registry it was drawn against: a fingerprint of every entry's `group.name` and unit, and the
//! number of entries. A file whose fingerprint, entry count, parameter names, or row lengths do
//! not match the registry compiled into this program is refused with an error naming the
//! mismatch ([`PosteriorError`]): its draws would be read into the wrong parameters.
//!
//! Format (`format = "needlesim-posterior"`, `format_version = 1`):
//!
//! ```json
//! { "format": "needlesim-posterior", "format_version": 1,
//!   "registry": { "fingerprint": "fnv1a64:…", "entries": 150 },
//!   "parameters": ["healing.collagen_output_activated", …],
//!   "units": ["1", …],
//!   "draws": [[26.9, …], …],
//!   "provenance": { "command": …, "seed": …, "date": …, "diagnostics": {…}, … } }
//! ```
//!
//! Only `healing.*` entries can be in the posterior: the bands sample the healing parameters per
//! draw (the injury and closure entries shape the channels, computed once per zone).

use serde::Deserialize;

use super::{GROUPS, ModelParams, entries};

/// The format name and version this program reads.
pub const FORMAT: &str = "needlesim-posterior";
pub const FORMAT_VERSION: u32 = 1;

/// Why a posterior file is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PosteriorError {
    #[error("posterior file: not valid JSON of the posterior format: {0}")]
    Parse(String),
    #[error(
        "posterior file: format `{found}` version {version}; this program reads `{FORMAT}` version {FORMAT_VERSION}"
    )]
    Format { found: String, version: u32 },
    #[error(
        "posterior file: drawn against a parameter registry of {file} entries, but this program's registry has {registry}"
    )]
    Count { file: usize, registry: usize },
    #[error(
        "posterior file: drawn against registry version {file}, but this program's registry is version {registry} (an entry was added, removed, renamed or changed unit)"
    )]
    Version { file: String, registry: String },
    #[error("posterior file: parameter `{name}` is not in the registry{}", super::did_you_mean(.closest))]
    UnknownName { name: String, closest: Vec<String> },
    #[error(
        "posterior file: parameter `{name}` is not a healing parameter (only healing.* entries are sampled per band draw)"
    )]
    NotHealing { name: String },
    #[error("posterior file: parameter `{name}` is listed twice")]
    Duplicate { name: String },
    #[error(
        "posterior file: parameter `{name}` has unit `{file}` but the registry's unit is `{registry}`"
    )]
    Unit {
        name: String,
        file: String,
        registry: String,
    },
    #[error("posterior file: {names} parameter names but {units} units")]
    UnitsCount { names: usize, units: usize },
    #[error("posterior file: draw {row} has {found} values for {expected} parameters")]
    RowLength {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error(
        "posterior file: draw {row}: `{name}` = {value} is outside its plausible range {min} to {max}"
    )]
    OutOfRange {
        row: usize,
        name: String,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("posterior file: no draws")]
    Empty,
}

impl PosteriorError {
    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        "rerun the calibration against this program's registry (`python/calibrate.py`, docs/CALIBRATION.md) or use the posterior file that came with this version"
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryRef {
    fingerprint: String,
    entries: usize,
}

#[derive(Deserialize)]
struct File {
    format: String,
    format_version: u32,
    registry: RegistryRef,
    parameters: Vec<String>,
    units: Vec<String>,
    draws: Vec<Vec<f64>>,
    #[serde(default)]
    provenance: serde_json::Value,
}

/// A checked posterior sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Posterior {
    /// `healing.<name>` of each column.
    pub parameters: Vec<String>,
    /// The draws, `draws[row][column]`, in the registry's units.
    pub draws: Vec<Vec<f64>>,
    /// Seed, command, date, diagnostics, cases: as the calibration wrote them.
    pub provenance: serde_json::Value,
}

/// The registry's version: FNV-1a (64 bit) of every entry's `group.name` and unit, one per
/// line, in listing order, and the number of entries.
pub fn registry_fingerprint() -> (String, usize) {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut n = 0;
    for group in GROUPS {
        for e in entries(group).expect("listed group") {
            for b in format!("{group}.{} {}\n", e.name, e.unit).bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            n += 1;
        }
    }
    (format!("fnv1a64:{h:016x}"), n)
}

impl Posterior {
    /// Reads and checks a posterior file against this program's registry.
    pub fn parse(text: &str) -> Result<Posterior, PosteriorError> {
        let f: File =
            serde_json::from_str(text).map_err(|e| PosteriorError::Parse(e.to_string()))?;
        if f.format != FORMAT || f.format_version != FORMAT_VERSION {
            return Err(PosteriorError::Format {
                found: f.format,
                version: f.format_version,
            });
        }
        let (fp, count) = registry_fingerprint();
        if f.registry.entries != count {
            return Err(PosteriorError::Count {
                file: f.registry.entries,
                registry: count,
            });
        }
        if f.registry.fingerprint != fp {
            return Err(PosteriorError::Version {
                file: f.registry.fingerprint,
                registry: fp,
            });
        }
        if f.units.len() != f.parameters.len() {
            return Err(PosteriorError::UnitsCount {
                names: f.parameters.len(),
                units: f.units.len(),
            });
        }
        let defaults = ModelParams::default();
        let mut bounds = Vec::new();
        for (i, (name, unit)) in f.parameters.iter().zip(&f.units).enumerate() {
            if f.parameters[..i].contains(name) {
                return Err(PosteriorError::Duplicate { name: name.clone() });
            }
            match defaults.get(name) {
                Err(super::ParamError::UnknownName { closest, .. }) => {
                    return Err(PosteriorError::UnknownName {
                        name: name.clone(),
                        closest: closest
                            .into_iter()
                            .map(|c| format!("{}.{c}", name.split('.').next().unwrap_or("")))
                            .collect(),
                    });
                }
                Err(_) => {
                    return Err(PosteriorError::UnknownName {
                        name: name.clone(),
                        closest: Vec::new(),
                    });
                }
                Ok(_) => {}
            }
            let Some(short) = name.strip_prefix("healing.") else {
                return Err(PosteriorError::NotHealing { name: name.clone() });
            };
            let e = super::healing::ENTRIES
                .iter()
                .find(|e| e.name == short)
                .expect("known healing entry");
            if e.unit != unit {
                return Err(PosteriorError::Unit {
                    name: name.clone(),
                    file: unit.clone(),
                    registry: e.unit.to_string(),
                });
            }
            bounds.push(e.range.bounds(defaults.get(name).expect("known")));
        }
        if f.draws.is_empty() {
            return Err(PosteriorError::Empty);
        }
        for (row, d) in f.draws.iter().enumerate() {
            if d.len() != f.parameters.len() {
                return Err(PosteriorError::RowLength {
                    row,
                    found: d.len(),
                    expected: f.parameters.len(),
                });
            }
            for ((v, name), (min, max)) in d.iter().zip(&f.parameters).zip(&bounds) {
                if !(v.is_finite() && v >= min && v <= max) {
                    return Err(PosteriorError::OutOfRange {
                        row,
                        name: name.clone(),
                        value: *v,
                        min: *min,
                        max: *max,
                    });
                }
            }
        }
        Ok(Posterior {
            parameters: f.parameters,
            draws: f.draws,
            provenance: f.provenance,
        })
    }

    /// The column of `healing.<short>`, if the posterior has it.
    pub fn column(&self, short: &str) -> Option<usize> {
        self.parameters
            .iter()
            .position(|p| p.strip_prefix("healing.") == Some(short))
    }

    /// The median of each column (the registry's nominal value of a calibrated entry).
    pub fn medians(&self) -> Vec<f64> {
        (0..self.parameters.len())
            .map(|j| {
                let mut v: Vec<f64> = self.draws.iter().map(|d| d[j]).collect();
                v.sort_by(f64::total_cmp);
                let n = v.len();
                if n % 2 == 1 {
                    v[n / 2]
                } else {
                    0.5 * (v[n / 2 - 1] + v[n / 2])
                }
            })
            .collect()
    }
}

/// The bundled posterior file (`crates/needlesim/data/posterior.json`).
pub const BUNDLED_TEXT: &str = include_str!("../../data/posterior.json");

/// The bundled posterior, checked against the registry once (first use).
pub fn bundled() -> Result<&'static Posterior, &'static PosteriorError> {
    static CELL: std::sync::OnceLock<Result<Posterior, PosteriorError>> =
        std::sync::OnceLock::new();
    CELL.get_or_init(|| Posterior::parse(BUNDLED_TEXT)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(params: &[&str], units: &[&str], draws: &[&[f64]]) -> String {
        let (fp, n) = registry_fingerprint();
        serde_json::json!({
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "registry": {"fingerprint": fp, "entries": n},
            "parameters": params, "units": units, "draws": draws,
            "provenance": {"command": "test"},
        })
        .to_string()
    }

    #[test]
    fn a_matching_file_is_read() {
        let p = Posterior::parse(&file(
            &["healing.collagen_output_activated", "healing.pih_hazard"],
            &["1", "1"],
            &[&[20.0, 1e-3], &[30.0, 2e-3], &[25.0, 3e-3]],
        ))
        .unwrap();
        assert_eq!(p.column("pih_hazard"), Some(1));
        assert_eq!(p.medians(), vec![25.0, 2e-3]);
    }

    #[test]
    fn mismatches_are_refused_naming_them() {
        let (fp, n) = registry_fingerprint();
        let good = file(&["healing.pih_hazard"], &["1"], &[&[1e-3]]);
        let count = good.replace(
            &format!("\"entries\":{n}"),
            &format!("\"entries\":{}", n - 1),
        );
        let e = Posterior::parse(&count).unwrap_err();
        assert!(matches!(e, PosteriorError::Count { .. }), "{e}");
        assert!(e.to_string().contains(&format!("{}", n - 1)), "{e}");
        let version = good.replace(&fp, "fnv1a64:0000000000000000");
        let e = Posterior::parse(&version).unwrap_err();
        assert!(
            e.to_string()
                .contains("registry version fnv1a64:0000000000000000"),
            "{e}"
        );
        let e = Posterior::parse(&file(&["healing.pih_hazzard"], &["1"], &[&[1e-3]])).unwrap_err();
        assert!(e.to_string().contains("`healing.pih_hazzard`"), "{e}");
        assert!(
            e.to_string().contains("healing.pih_hazard"),
            "closest named: {e}"
        );
        let e = Posterior::parse(&file(&["injury.recoil"], &["1"], &[&[0.5]])).unwrap_err();
        assert!(matches!(e, PosteriorError::NotHealing { .. }), "{e}");
        let e = Posterior::parse(&file(&["healing.pih_hazard"], &["1/s"], &[&[1e-3]])).unwrap_err();
        assert!(matches!(e, PosteriorError::Unit { .. }), "{e}");
        let e =
            Posterior::parse(&file(&["healing.pih_hazard"], &["1"], &[&[1e-3, 2.0]])).unwrap_err();
        assert!(
            e.to_string()
                .contains("draw 0 has 2 values for 1 parameters"),
            "{e}"
        );
        let e = Posterior::parse(&file(&["healing.pih_hazard"], &["1"], &[&[100.0]])).unwrap_err();
        assert!(matches!(e, PosteriorError::OutOfRange { .. }), "{e}");
        let e = Posterior::parse(&file(&["healing.pih_hazard"], &["1"], &[])).unwrap_err();
        assert_eq!(e, PosteriorError::Empty);
        let e = Posterior::parse("{").unwrap_err();
        assert!(matches!(e, PosteriorError::Parse(_)), "{e}");
    }

    /// The bundled file matches the registry, was written by a converged run, and the
    /// registry's value of each calibrated entry is its posterior median (the nominal run is
    /// the centre of the bands).
    #[test]
    fn bundled_posterior_matches_the_registry() {
        let p = bundled().unwrap_or_else(|e| panic!("{e}; {}", e.hint()));
        assert!(p.draws.len() >= 100, "{} draws", p.draws.len());
        assert_eq!(
            p.provenance["diagnostics"]["converged"],
            serde_json::json!(true)
        );
        let d = super::super::HealingParams::default();
        for (name, med) in p.parameters.iter().zip(p.medians()) {
            let v = d.get(&name["healing.".len()..]).unwrap();
            assert!(
                ((v - med) / med).abs() < 5e-3,
                "{name}: registry {v} vs posterior median {med}: copy the medians printed by python/calibrate.py into params/healing.rs"
            );
        }
    }

    /// No band re-perturbs a fitted entry on its own: every calibrated healing entry that the
    /// bands vary (spread > 0) is a column of the joint posterior, drawn with the others.
    #[test]
    fn every_sampled_calibrated_entry_is_in_the_posterior() {
        let p = bundled().unwrap();
        let missing: Vec<&str> = super::super::healing::TABLE
            .iter()
            .filter(|e| e.kind == super::super::ParamKind::Calibrated && e.spread > 0.0)
            .filter(|e| p.column(e.name).is_none())
            .map(|e| e.name)
            .collect();
        assert!(
            missing.is_empty(),
            "calibrated entries perturbed independently of the posterior: {missing:?} (add them to python/calibrate.py ANCHORED and rerun it)"
        );
    }

    /// Band samples take the calibrated entries from the posterior draws (jointly, one draw
    /// per sample), and perturb the others around their values.
    #[test]
    fn band_samples_draw_calibrated_entries_from_the_posterior() {
        let p = bundled().unwrap();
        let d = super::super::HealingParams::default();
        let mut rng = crate::rng::stream(7, &[1]);
        let mut rows = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let s = d.sample(&mut rng);
            let got: Vec<f64> = p
                .parameters
                .iter()
                .map(|n| s.get(&n["healing.".len()..]).unwrap())
                .collect();
            let row = p.draws.iter().position(|r| *r == got);
            assert!(row.is_some(), "{got:?} is not a posterior draw");
            rows.insert(row.unwrap());
        }
        assert!(
            rows.len() > 20,
            "draws spread over the sample: {}",
            rows.len()
        );
    }
}
