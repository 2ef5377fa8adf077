//! Contracts: the schema registry, which schema applies to what, and the catalogue of rules a
//! server can break, each with a stable id; the Tegsoft answers' shapes, made from the profile.

pub mod classify;
pub mod known;
pub mod observe;
pub mod rules;
pub mod schema;
pub mod tegsoft;

pub use rules::Rule;
