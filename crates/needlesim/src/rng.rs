//! Seeded random streams.
//!
//! Every stochastic part of needlesim draws from a generator derived from the scenario seed and
//! a fixed tuple of indices (session, zone, pass, stroke, ...). Streams therefore do not depend
//! on the order in which work is scheduled, which keeps results identical for any thread count.

use rand_pcg::Pcg64Mcg;

/// A 64-bit mixing function (SplitMix64 finaliser, Steele, Lea & Flood 2014), used to derive
/// independent stream seeds from a seed and an index path.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives a seed from a base seed and a path of indices, e.g. `(seed, [session, zone, pass])`.
pub fn derive(seed: u64, path: &[u64]) -> u64 {
    path.iter().fold(mix(seed), |acc, &i| {
        mix(acc ^ mix(i.wrapping_add(0x632B_E59B_D9B4_E019)))
    })
}

/// The fixed tags that start the index paths of [`derive`] and [`stream`], one per kind of
/// stream. Changing one changes every result drawn from it, so they are named once, here.
pub mod tag {
    /// A zone's puncture map and channels: `derive(seed, [ZONE, zone])` (`punctures`,
    /// `simulate`'s first session, `deliver`).
    pub const ZONE: u64 = 0;
    /// The healing outcomes of a zone (`simulate`): `derive(seed, [OUTCOMES, zone])`.
    pub const OUTCOMES: u64 = 5;
    /// The puncture map of a later session of a zone (`simulate`, patch):
    /// `derive(seed, [SESSION, zone, session])`.
    pub const SESSION: u64 = 8;
    /// Under a zone's seed, pass `p`'s frame (`stream(zone_seed, [p, PASS_FRAME])`) and its
    /// stroke `j` (`stream(zone_seed, [p, FIRST_STROKE + j])`) in `device::generate`.
    pub const PASS_FRAME: u64 = 0;
    /// See [`PASS_FRAME`].
    pub const FIRST_STROKE: u64 = 1;
    /// Under a zone's seed, the injury of chunk `c` of its channels:
    /// `stream(zone_seed, [CHANNEL_CHUNK, c])` (far above any pass index of the same seed).
    pub const CHANNEL_CHUNK: u64 = 1 << 40;
    /// Under a zone's outcomes seed, the parameter draw of uncertainty sample `k`:
    /// `stream(outcomes_seed, [PARAMETER_SAMPLE, k])`.
    pub const PARAMETER_SAMPLE: u64 = 0x4EA1;
}

/// A generator for the stream identified by `(seed, path)`.
pub fn stream(seed: u64, path: &[u64]) -> Pcg64Mcg {
    let s = derive(seed, path);
    Pcg64Mcg::new(((s as u128) << 64) | (mix(s) as u128) | 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: f64 = stream(7, &[1, 2]).random();
        let b: f64 = stream(7, &[1, 2]).random();
        let c: f64 = stream(7, &[2, 1]).random();
        let d: f64 = stream(8, &[1, 2]).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
