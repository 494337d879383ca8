//! The `[params]` table of a scenario or patient file, checked into [`ModelParams`].

use crate::params::{
    GROUPS, ModelParams, ParamError, ParamsFile, closest, did_you_mean, entries, format_sig,
};

use super::Checker;

impl Checker {
    /// The model parameters of a file: the defaults with its `[params.<group>]` overrides, each
    /// checked (known group and name, settable, within range). Problems are recorded as field
    /// errors at `params.<group>.<name>`.
    pub(crate) fn model_params(&mut self, raw: &ParamsFile) -> ModelParams {
        let mut m = ModelParams::default();
        for (group, table) in raw {
            if entries(group).is_none() {
                let closest = closest(group, GROUPS.iter().copied());
                self.fail(
                    &format!("params.{group}"),
                    "(table)",
                    format!(
                        "unknown parameter group `{group}`{}; groups: {}",
                        did_you_mean(&closest),
                        GROUPS.join(", ")
                    ),
                    "`needlesim params` lists every group and name",
                );
                continue;
            }
            for (name, &value) in table {
                if let Err(e) = m.set(&format!("{group}.{name}"), value) {
                    let message = match &e {
                        ParamError::OutOfRange {
                            min,
                            max,
                            unit,
                            why,
                            ..
                        } => format!(
                            "is outside the plausible range {} to {} {unit} ({why})",
                            format_sig(*min),
                            format_sig(*max)
                        ),
                        other => other.to_string(),
                    };
                    self.fail(
                        &format!("params.{group}.{name}"),
                        format_sig(value),
                        message,
                        e.hint(),
                    );
                }
            }
        }
        m
    }
}
