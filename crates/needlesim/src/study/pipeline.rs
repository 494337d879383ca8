//! The one pipeline: every command is this flow, or a part of it.
//!
//! ```text
//! per zone:     device::generate -> injury::channels -> summary     (stream [crate::rng::tag::ZONE, zone])
//! delivery?:    the plan's zone, right after needling -> needled and intact arms
//! per session:  the zone's injury -> healing (lumped) -> outcomes   (stream [crate::rng::tag::OUTCOMES, zone])
//!               unit cell or 3-D patch, when asked                  (later sessions' maps:
//!                                                                    [crate::rng::tag::SESSION, zone, session])
//! ```
//!
//! [`run`] shows the whole flow; the stage functions it calls ([`channels`], [`punctures`],
//! [`deliver`], [`heal`], [`spatial`], defined in [`crate::pipeline::stages`] below the planner
//! and the validation, and re-exported here) are the only places the zone loop and the random streams
//! are written, and the planner's predictor and the validation cases call them too. Every stage
//! is timed into one [`Timings`].

pub use crate::pipeline::stages::*;

use crate::delivery::run::DeliveryPlan;
use crate::error::{Error, Result};
use crate::healing::HealingParams;
use crate::healing::simulate::Resolution;
use crate::scenario::Scenario;
use crate::timings::Timings;

/// The whole flow of a scenario, in one place.
pub fn run(
    s: &Scenario,
    stages: Stages,
    plan: Option<&DeliveryPlan>,
    params: &HealingParams,
    ctl: &Control<'_>,
    t: &mut Timings,
) -> Result<Flow> {
    // The run-wide memory estimate first (punctures of every zone, patch voxels, samples):
    // a run that would exhaust memory is refused before anything is allocated.
    let limit = ctl
        .memory_limit_bytes
        .unwrap_or(crate::budget::DEFAULT_LIMIT_BYTES);
    let estimate = match (stages, plan) {
        (Stages::Delivery, Some(plan)) => crate::budget::delivery(s, plan),
        (Stages::Delivery, None) | (Stages::Punctures, _) => crate::budget::punctures(s),
        (Stages::Healing(resolution), _) => crate::budget::simulate(s, resolution),
    };
    estimate.check(limit)?;
    let mut flow = Flow::default();
    match stages {
        Stages::Delivery => {
            // The plan's zone only: punctures -> channels -> the product after needling.
            let plan = plan.ok_or_else(|| {
                Error::Input(format!(
                    "scenario `{}` has no [delivery] section; `deliver` needs one",
                    s.title
                ))
            })?;
            flow.delivery = Some(deliver(s, plan, ctl.progress, t)?);
        }
        Stages::Punctures => {
            // Per zone: punctures -> channels -> summary.
            flow.punctures = Some(punctures(s, ctl.progress, t)?);
        }
        Stages::Healing(resolution) => {
            // Per zone: punctures -> channels; then per session: healing -> outcomes.
            let zones = punctures(s, ctl.progress, t)?;
            let mut healing = heal(s, &zones, params, ctl.progress, t)?;
            if resolution != Resolution::Lumped {
                spatial(s, &zones, &mut healing, resolution, params, ctl, t)?;
            }
            flow.punctures = Some(zones);
            flow.healing = Some(healing);
        }
    }
    Ok(flow)
}
