//! `needlesim export sbml`: one zone's lumped healing model as SBML, built from the same inputs
//! as `needlesim simulate` (the zone's puncture map and channels from the zone's random stream,
//! the protocol's sessions, the person, the column, and the model parameters with the file's
//! `[params.*]` overrides), and optionally needlesim's own trajectory of every state variable
//! at the integrator tolerances of `[params.numerics]` (the reference of the cross-check in
//! `docs/SBML.md`).

use super::{Error, Result, Study};
use crate::healing::lumped::{self, InjuryInput};
use crate::healing::sbml::{self, SbmlInput};
use crate::healing::simulate;
use crate::timings::Timings;

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct SbmlOptions {
    /// The zone (by name); `None`: the scenario's first zone.
    pub zone: Option<String>,
    /// Seed of the random streams (overrides the scenario's `seed`).
    pub seed: Option<u64>,
    /// Also integrate the model with needlesim's own solver and return its trajectory.
    pub trajectory: bool,
}

/// The export.
#[derive(Clone, Debug)]
pub struct SbmlExport {
    /// The SBML document.
    pub xml: String,
    /// The zone exported.
    pub zone: String,
    pub sessions: usize,
    /// State variables (rate rules).
    pub variables: usize,
    /// needlesim's trajectory ([`sbml::trajectory_csv`] at [`sbml::trajectory_times`]).
    pub trajectory_csv: Option<String>,
}

impl Study {
    /// The lumped healing model of one zone as SBML (see [`crate::healing::sbml`]).
    pub fn export_sbml(&self, o: &SbmlOptions) -> Result<SbmlExport> {
        let Some(scenario) = self.scenario() else {
            return Err(Error::Input(format!(
                "`{}` is a patient file: `needlesim export sbml` needs a scenario file with a [protocol] section (see examples/simulate_*.toml)",
                self.source.name
            )));
        };
        let mut s = scenario.clone();
        if let Some(seed) = o.seed {
            s.seed = seed;
        }
        let Some(protocol) = s.protocol.clone() else {
            return Err(Error::Input(format!(
                "scenario `{}` has no [protocol] section; `needlesim export sbml` exports the healing model over a protocol's sessions\n  hint: add e.g.\n    [protocol]\n    sessions = 4\n    interval_days = 30\n    follow_up_days = 180\n    concerns = [\"acne_scars\"]",
                self.source.name
            )));
        };
        let zi = match &o.zone {
            None => 0,
            Some(z) => s
                .zones
                .iter()
                .position(|zp| zp.zone.name == *z)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "--zone `{z}`: scenario `{}` has no such zone; its zones: {}",
                        self.source.name,
                        s.zones
                            .iter()
                            .map(|zp| format!("`{}`", zp.zone.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
        };
        crate::budget::punctures(&s).check(crate::budget::DEFAULT_LIMIT_BYTES)?;
        let (set, ch) = super::pipeline::zone_channels(&s, zi, &mut Timings::default())?;
        let sessions =
            simulate::sessions_of(&protocol, InjuryInput::from_channels(&ch, set.density_m2()));
        let zp = &s.zones[zi];
        let provenance = format!(
            "scenario `{}`, zone `{}` (index {zi}), seed {}",
            self.source.name, zp.zone.name, s.seed
        );
        let input = SbmlInput {
            title: &s.title,
            zone: &zp.zone.name,
            provenance: &provenance,
            column: &zp.column,
            age_years: s.person.age_years,
            phototype: s.person.phototype,
            params: &s.params.healing,
            sessions: &sessions,
            t_end_s: protocol.follow_up_s,
            reseal_rate_per_s: crate::healing::outcomes::reseal_rate_per_s(
                &s.params.closure,
                &sessions,
                s.person.age_years,
                s.person.phototype,
                zp.column.site,
            ),
        };
        let model = sbml::build(&input);
        let trajectory_csv = if o.trajectory {
            let times = sbml::trajectory_times(&sessions, protocol.follow_up_s);
            let tr = lumped::simulate(
                &sbml::lumped_model(&input),
                &sessions,
                protocol.follow_up_s,
                &times,
                s.params.numerics.accuracy(),
            )
            .map_err(|source| simulate::SimulateError::Ode {
                zone: zp.zone.name.clone(),
                source,
            })?;
            Some(sbml::trajectory_csv(&tr))
        } else {
            None
        };
        Ok(SbmlExport {
            xml: model.to_xml(),
            zone: zp.zone.name.clone(),
            sessions: sessions.len(),
            variables: model.state_ids().len(),
            trajectory_csv,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Study {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/simulate_acne_scars.toml");
        Study::from_path(&p).expect("example scenario")
    }

    /// The export of a scenario is well-formed XML, byte-identical on rerun, carries the
    /// protocol's 4 sessions, and follows the seed (another puncture map).
    #[test]
    fn scenario_export_is_well_formed_and_deterministic() {
        let study = example();
        let o = SbmlOptions::default();
        let a = study.export_sbml(&o).expect("export");
        let b = study.export_sbml(&o).expect("export");
        assert_eq!(a.xml, b.xml);
        assert_eq!((a.zone.as_str(), a.sessions, a.variables), ("cheek", 4, 33));
        let mut r = quick_xml::Reader::from_str(&a.xml);
        let (mut depth, mut events) = (0i32, 0);
        loop {
            match r.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Start(e) => {
                    depth += 1;
                    events += usize::from(e.name().as_ref() == "event");
                }
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!((depth, events), (0, 4));
        let other = study
            .export_sbml(&SbmlOptions {
                seed: Some(12),
                ..SbmlOptions::default()
            })
            .expect("export");
        assert_ne!(other.xml, a.xml);
    }

    #[test]
    fn unknown_zone_is_bad_input() {
        let e = example()
            .export_sbml(&SbmlOptions {
                zone: Some("chin".into()),
                ..SbmlOptions::default()
            })
            .expect_err("no such zone");
        assert!(e.is_bad_input());
        assert!(e.to_string().contains("`cheek`"), "{e}");
    }
}
