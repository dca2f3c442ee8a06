//! The token core's integration suite: published vectors, the attack table, key handling and
//! property tests, all against the public API only.

mod common;
mod round_trip;
