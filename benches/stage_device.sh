#!/usr/bin/env bash
# Stages what benches/device_run.sh needs on the GPU machine into .device/, and checks it fits the device tool's 64 MiB.
#
# Usage, from the crate's folder (or anywhere: it changes to the crate):
#   bash benches/stage_device.sh                 # ../shared/gpu/stage.sh (release build of the CLI, tests, benches),
#                                                # then the extras below
#   STAGE_FROM_TARGET=1 bash benches/stage_device.sh
#                                                # no build: a partial .device/ from the binaries already in target/
#                                                # (the CLI and the newest integration test executable), for local tries
# Then, with the device tool:  run  carry [".device"]  command
#   source .device/prelude.sh; bash benches/device_run.sh
#
# On top of stage.sh this script:
#   - drops .device/benches (device_run.sh does not run the criterion benches),
#   - copies ../shared/peers/lloyd_peers.py, ../shared/fixtures/parquet-testing (tests/parquet_real.rs reads it) and
#     this machine's /usr/bin/time (for wall time and peak RSS, in case the GPU machine has none) into .device/,
#   - downloads the faiss-cpu and fast-pytorch-kmeans wheels into .device/whl (command from ../shared/peers/README.md),
#   - xz-compresses the executables (device_run.sh unpacks them first: stripped, they are ~25 MB each),
#   - prints every staged file's size and the total the device tool would carry (this working tree + .device/), and
#     drops, while it is over 64 MiB: the unit-test executables, then the faiss wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
crate=$PWD
top=$(git rev-parse --show-toplevel)
dev="$top/.device"
shared=${SHARED:-$crate/../shared}
limit=$((64 * 1024 * 1024))

if [ "${STAGE_FROM_TARGET:-0}" = 1 ]; then
  echo "== partial .device from target/ (no build)"
  grep -qxF '/.device/' "$top/.git/info/exclude" 2>/dev/null || { mkdir -p "$top/.git/info"; echo '/.device/' >> "$top/.git/info/exclude"; }
  rm -rf "$dev/bin" "$dev/tests" "$dev/benches"
  mkdir -p "$dev/bin" "$dev/tests" "$dev/debs"
  [ -x target/release/custseg ] || { echo "target/release/custseg is missing: cargo build --release first" >&2; exit 1; }
  cp target/release/custseg "$dev/bin/"
  # The newest integration test executable, release first (its CARGO_BIN_EXE_custseg is target/<profile>/custseg).
  t=$(ls -t target/release/deps/integration-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)
  [ -n "$t" ] || t=$(ls -t target/debug/deps/integration-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)
  if [ -n "$t" ]; then cp "$t" "$dev/tests/"; else echo "no integration test executable in target/: tests not staged" >&2; fi
  strip "$dev"/bin/* "$dev"/tests/* 2>/dev/null || true
  if [ "$(ls "$dev"/debs/*.deb 2>/dev/null | wc -l)" -lt 7 ]; then
    mkdir -p /tmp/amd64/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    apt-get "${o[@]}" update -qq && (cd "$dev/debs" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null) \
      || echo "warning: could not download the Vulkan loader packages into .device/debs" >&2
  fi
  echo "$top" > "$dev/checkout-path"
  cp "$shared/gpu/prelude.sh" "$dev/prelude.sh"
else
  "$shared/gpu/stage.sh" "$@"
fi

echo "== extras for benches/device_run.sh"
rm -rf "$dev/benches"
cp "$shared/peers/lloyd_peers.py" "$dev/"
rm -rf "$dev/fixtures" && mkdir -p "$dev/fixtures"
if [ -d "$shared/fixtures/parquet-testing" ]; then cp -r "$shared/fixtures/parquet-testing" "$dev/fixtures/" && chmod -R u+w "$dev/fixtures"; fi
[ -x /usr/bin/time ] && cp /usr/bin/time "$dev/bin/time"
mkdir -p "$dev/whl"
if [ "$(ls "$dev"/whl/*.whl 2>/dev/null | wc -l)" -lt 2 ]; then
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$dev/whl" fast-pytorch-kmeans faiss-cpu \
    || echo "warning: wheel download failed: the peers will run without faiss and fast-pytorch-kmeans" >&2
fi

# Compress the executables; device_run.sh unpacks every .device/{bin,tests}/*.xz before it starts.
for f in "$dev"/bin/* "$dev"/tests/*; do
  [ -f "$f" ] || continue
  case "$f" in *.xz) continue ;; esac
  [ "$(basename "$f")" = time ] && continue
  xz -T0 -6 -f "$f"
done

tree_bytes() {  # what the device tool copies of the working tree: tracked files and untracked, not ignored ones
  (cd "$top" && git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
}
total() { echo $(( $(tree_bytes) + $(du -sb "$dev" | cut -f1) )); }
if [ "$(total)" -gt "$limit" ]; then
  for f in "$dev"/tests/*; do
    case "$(basename "$f")" in integration-*) ;; *) echo "over 64 MiB: dropping $(basename "$f")"; rm -f "$f" ;; esac
  done
fi
if [ "$(total)" -gt "$limit" ]; then
  echo "over 64 MiB: dropping the faiss wheel"; rm -f "$dev"/whl/faiss_cpu-*.whl
fi

echo "== staged"
(cd "$dev" && find . -type f ! -path './fixtures/*' -printf '%10s  %p\n' | sort -k2)
echo "fixtures: $(du -sb "$dev/fixtures" | cut -f1) bytes"
t=$(tree_bytes); d=$(du -sb "$dev" | cut -f1)
awk -v t="$t" -v d="$d" 'BEGIN { printf "working tree %.1f MiB + .device %.1f MiB = %.1f MiB carried (limit 64 MiB)\n", t/1048576, d/1048576, (t+d)/1048576 }'
if [ $((t + d)) -gt "$limit" ]; then echo "error: still over 64 MiB" >&2; exit 1; fi
