//! Progress reports of long runs, through a plain callback (the command line draws bars; the
//! library draws nothing).
//!
//! The callback gets the stage name, the units done and the units in the stage; it is called
//! when a unit starts (`done < total`) and once when the stage ends (`done == total`). Units are
//! coarse (a zone, an arm, a case), so the callback costs nothing measurable.

/// A progress callback: `(stage, done, total)`.
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// A callback that ignores every report.
pub fn silent(_stage: &str, _done: usize, _total: usize) {}
