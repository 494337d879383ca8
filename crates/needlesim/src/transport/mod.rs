//! Reaction-diffusion transport engine (issue 3). The transport helper owns this module.
