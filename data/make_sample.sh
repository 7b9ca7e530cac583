#!/usr/bin/env bash
# Regenerates data/customers_sample.parquet: 20,000 synthetic customers, seed 42, the default 6 planted segments.
# The output is deterministic: the same crate version writes the same bytes, whatever the number of threads.
set -euo pipefail
cd "$(dirname "$0")/.."

# The binary embeds this file (include_bytes! in src/cli/segment.rs), so it must exist before the first build.
# An empty placeholder is enough; the generator replaces it atomically.
[ -e data/customers_sample.parquet ] || : > data/customers_sample.parquet

cargo run --release -- generate --customers 20000 --seed 42 --output data/customers_sample.parquet
ls -l data/customers_sample.parquet
