//! The parameter registry moved to [`crate::params`] (every model's constants, not only the
//! healing model's); these names are kept for existing callers.

pub use crate::params::{ParamKind, ParamRow, all_rows, format_sig, to_csv};
