#!/usr/bin/env bash
# The Python package's CI: installs the toolchain's Python side (pinned), Java for Spark if missing, builds the
# wheel with maturin, installs it, and runs the tests with pytest (the Spark ones in local[2] on 127.0.0.1, UI off).
# Usage: python/ci.sh [VENV]   (default VENV: python/.venv-ci; /work/venv on the project's machines)
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
venv="${1:-.venv-ci}"

if ! command -v java >/dev/null 2>&1; then
  echo "ci.sh: installing a Java runtime for Spark"
  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# Absolute, because the tests run from python/tests (a relative VENV broke CI once).
py="$(cd "$venv" && pwd)/bin/python"
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q "maturin==1.16.0" "pytest==9.2.0" "numpy==2.4.6" "pandas==3.1.1" "pyarrow==26.0.1" \
  "scikit-learn==1.9.1" "pyspark==4.3.0" "polars==2.1.0"

# `pip install ./python` builds the wheel (maturin, release) and installs it, as a user would.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
"$py" -m pip install -q --force-reinstall --no-deps .
echo "ci.sh: built and installed the wheel in $(( $(date +%s) - start )) s"

# Run from outside the source tree, so the tests import the installed package, not ./custseg.
export PYSPARK_PYTHON="$py" PYSPARK_DRIVER_PYTHON="$py" SPARK_LOCAL_IP=127.0.0.1
(cd tests && "$py" -m pytest -q -p no:cacheprovider .)
echo "ci.sh: done in $(( $(date +%s) - start )) s"
