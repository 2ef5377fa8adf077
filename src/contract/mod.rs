//! Contracts: the schema registry, which schema applies to what, and the catalogue of rules a
//! server can break, each with a stable id.

pub mod classify;
pub mod known;
pub mod observe;
pub mod rules;
pub mod schema;

pub use rules::Rule;
