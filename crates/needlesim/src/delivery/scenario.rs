//! Old path of the `[delivery]` section's file types and loader, kept while callers move to
//! [`crate::input::delivery`].

pub use crate::input::delivery::{ApplicationFile, DeliveryFile, load, parse, validate};
