//! The integration test binary: one `mod` per area, driving the library and the `custseg` binary as a user would.

mod util;

mod assign;
mod bad_input;
mod categorical;
mod choose_device;
mod choose_k;
mod cli;
mod compare;
mod explain;
mod features;
mod generate;
mod gpu;
mod margin;
mod model;
mod numbering;
mod oracle;
mod parquet_real;
mod previous;
mod pseudonym;
mod report;
mod shaders;
mod tables;
mod tails;
