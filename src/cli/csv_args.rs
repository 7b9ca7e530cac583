//! `--csv-schema`, shared by the commands that read tables (`segment`, `choose-k`, `assign`, `features`).

use arrow::datatypes::DataType;
use clap::Args;

/// The flags that say how CSV input is read.
#[derive(Debug, Args, Clone)]
pub struct CsvArgs {
    /// For CSV input (*.csv, *.csv.gz): read these columns as these types instead of the types inferred from the
    /// first 10,000 rows of each file, e.g. zip:utf8,spend:float64. Types: int64, int32, float64, float32, utf8,
    /// bool, date, timestamp.
    // Parsed by the library rather than by clap, so that a bad value is one line like every other input error.
    #[arg(long, value_name = "COL:TYPE,...")]
    pub csv_schema: Option<String>,
}

impl CsvArgs {
    /// The overrides (none without the flag), checked.
    pub fn overrides(&self) -> crate::Result<Vec<(String, DataType)>> {
        self.csv_schema.as_deref().map(crate::io::parse_csv_schema).transpose().map(Option::unwrap_or_default)
    }
}
