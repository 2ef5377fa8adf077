//! Integration tests: the simulator and the harness over real loopback sockets.

mod client;
mod contract;
mod csrf_login;
mod files;
mod fuzz_corpus;
mod hostile;
mod interop;
mod load;
mod readme;
mod run;
mod schemas;
mod secrets;
mod selftest;
mod signals;
mod sim;
mod sim_files;
mod sim_ops;
mod support;
mod tegsoft;
mod tegsoft_suite;
mod tls;
mod verdicts;
