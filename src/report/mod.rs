//! Reports: one writer per format, each a pure function from the result tree to a writer.

pub mod console;
pub mod coverage;
pub mod har;
pub mod html;
pub mod json;
pub mod junit;
pub mod load;

/// Version of the JSON report's shape (`schemas/chatprobe/report.schema.json`).
pub const REPORT_VERSION: u32 = 2;
