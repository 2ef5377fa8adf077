//! Integration tests: the simulator and the harness over real loopback sockets.

mod client;
mod contract;
mod interop;
mod run;
mod schemas;
mod sim;
mod sim_ops;
