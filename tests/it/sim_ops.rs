//! Every documented chat operation against the simulator.
