//! Integration tests: the simulator and the harness over real loopback sockets.

mod client;
mod contract;
mod csrf_login;
mod files;
mod hostile;
mod interop;
mod load;
mod load_signals;
mod readme;
mod run;
mod schemas;
mod secrets;
mod selftest;
mod shards;
mod signals;
mod sim;
mod sim_csrf;
mod sim_files;
mod sim_latitude;
mod sim_ops;
mod sim_security;
mod support;
mod tegsoft;
mod tegsoft_suite;
mod tls;
mod verdicts;
