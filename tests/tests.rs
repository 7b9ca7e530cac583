//! The integration test binary: one `mod` per area, driving the library and the `custseg` binary as a user would.

mod util;

mod bad_input;
mod cli;
mod features;
mod generate;
mod gpu;
mod model;
mod oracle;
mod parquet_real;
mod report;
mod shaders;
