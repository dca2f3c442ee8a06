//! The token core's integration suite: published vectors, the attack table, key handling and
//! property tests, all against the public API only.

// Helpers outside `#[test]` functions panic on purpose: a failed fixture is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attacks;
mod common;
mod forge;
mod keys;
mod properties;
mod rfc_vectors;
mod round_trip;
mod wycheproof;
