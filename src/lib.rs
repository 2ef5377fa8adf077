//! chatprobe: a contract test harness and load generator for contact-centre chat APIs.

pub mod api;
pub mod cli;
pub mod client;
pub mod contract;
pub mod load;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod selftest;
pub mod sim;
