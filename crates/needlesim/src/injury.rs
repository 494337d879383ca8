//! Punctures + skin -> channels.
