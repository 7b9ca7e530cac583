//! The `custseg` binary.
fn main() {}
