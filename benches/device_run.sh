#!/usr/bin/env bash
# The whole GPU measurement as one script for the GPU machine: adapter, tests, custseg bench, peers, end to end.
#
# Stage here with `bash benches/stage_device.sh`, then call the device tool's run with carry [".device"] and
#   source .device/prelude.sh; bash benches/device_run.sh          (timeout_s 600: prelude.sh + at most BUDGET_S)
# Every step runs under `timeout`, cut to what is left of BUDGET_S (default 480 s), so the script ends in time; a
# failed step is recorded and the script goes on. It writes 8 files under $OUT (the device tool brings back 8):
#   summary.txt       one line per step (ok / failed / timeout / skipped, seconds, exit code), then the machine
#                     (custseg devices, nvidia-smi, CPU, memory)
#   tests.txt         every staged test executable, CI=true (GPU tests fail rather than skip without an adapter)
#   bench.json        custseg bench --n $N_BENCH --d $D_BENCH --k $K_BENCH --backends $BACKENDS --json: run as one
#                     command per (n, d) and merged (same schema: cpu_peak, gpu_peak, rows; plus command, parts)
#   bench.txt         the tables of bench.json and of bench_extra.json (made from the JSON: one run, not two), and
#                     the bench logs
#   bench_extra.json  {"peer_shape": custseg bench at the peers' shape, "tune": the GPU launch-shape sweep, one
#                     run per d (custseg bench --gpu-points/--gpu-workgroup/--gpu-groups), "n50m": the optional
#                     50M x 16 GPU run}
#   peers.json        {"custseg": the peer-shape rows, "peers": lloyd_peers.py rows, "ratios": per K and peer}
#   peers.txt         lloyd_peers.py output per peer, the wheel install, and the ratio table
#   e2e.txt           generate, then segment --device gpu and --device cpu (wall s, peak RSS KB), on the generated
#                     customers (8 features) and on a 16-feature blobs file (written with numpy + pyarrow); then
#                     K = 256 on the blobs file on the GPU, seeded from every row (--init-sample full) and from the
#                     default sample, for the cost of k-means++ on the GPU; `assign` of the blobs file with the GPU
#                     fit's model on the GPU and on the CPU (stage times, and whether it reproduced the fit's file)
#
# Settings (environment; the defaults are the GPU run's, small values make a local try on lavapipe):
#   OUT (/tmp/devout)  BUDGET_S (480)  WORK (/tmp/custseg-devrun: scratch files)
#   N_BENCH (1000000,10000000)  D_BENCH (8,16,32)  K_BENCH (8,64,256)  BACKENDS (cpu,gpu)  BENCH_ITERS (custseg's)
#   GPU_PEAK_GBS, GPU_PEAK_GFLOPS (override custseg's table of GPU peaks for the floor)
#   BENCH_50M (auto: only if T_50M s are left at the end; 1: run it if any time is left; 0: never)  N_50M (50000000)
#   SKIP_PEERS (0)  N_PEERS (10000000)  KS_PEERS (16,64,256)  PEERS (sklearn,faiss,torch,fpk)  PEER_ITERS (10)
#   E2E_CUSTOMERS (10000000)  E2E_BLOBS16 (1)  SKIP_TESTS (0)
#   TUNE (1)  TUNE_N (10000000)  TUNE_D (16,32)  TUNE_K (16,64,256)  TUNE_POINTS (2,4,8)  TUNE_WG (64,128,256)
#   TUNE_GROUPS (1024,4096)  TUNE_COPIES (1,8)
#   T_TESTS (each test executable) T_BENCH_PART (each (n, d) of the bench) T_BENCH (the peer-shape bench) T_PEER
#   (each peer) T_E2E (each end-to-end command) T_TUNE (each d of the sweep) T_50M: per-step time limits in seconds
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-/tmp/devout}
WORK=${WORK:-/tmp/custseg-devrun}
DEV=${DEV:-.device}
BUDGET_S=${BUDGET_S:-480}
N_BENCH=${N_BENCH:-1000000,10000000}
D_BENCH=${D_BENCH:-8,16,32}
K_BENCH=${K_BENCH:-8,64,256}
BACKENDS=${BACKENDS:-cpu,gpu}
BENCH_ITERS=${BENCH_ITERS:-}
BENCH_50M=${BENCH_50M:-auto}
N_50M=${N_50M:-50000000}
SKIP_PEERS=${SKIP_PEERS:-0}
N_PEERS=${N_PEERS:-10000000}
KS_PEERS=${KS_PEERS:-16,64,256}
PEERS=${PEERS:-sklearn,faiss,torch,fpk}
PEER_ITERS=${PEER_ITERS:-10}
E2E_CUSTOMERS=${E2E_CUSTOMERS:-10000000}
E2E_BLOBS16=${E2E_BLOBS16:-1}
SKIP_TESTS=${SKIP_TESTS:-0}
T_TESTS=${T_TESTS:-120}
T_BENCH=${T_BENCH:-120}
T_BENCH_PART=${T_BENCH_PART:-90}
T_PEER=${T_PEER:-90}
T_E2E=${T_E2E:-90}
T_50M=${T_50M:-120}
TUNE=${TUNE:-1}
TUNE_N=${TUNE_N:-10000000}
TUNE_D=${TUNE_D:-16,32}
TUNE_K=${TUNE_K:-16,64,256}
TUNE_POINTS=${TUNE_POINTS:-2,4,8}
TUNE_WG=${TUNE_WG:-64,128,256}
TUNE_GROUPS=${TUNE_GROUPS:-1024,4096}
TUNE_COPIES=${TUNE_COPIES:-1,8}
T_TUNE=${T_TUNE:-90}
RESERVE_S=15 # kept for the reports at the end

mkdir -p "$OUT" "$WORK"
OUT=$(cd "$OUT" && pwd); WORK=$(cd "$WORK" && pwd); DEV=$(cd "$DEV" 2>/dev/null && pwd || echo "$PWD/$DEV")
rm -f "$OUT"/{summary,tests,bench,bench_extra,peers,e2e}.{txt,json}
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))
SUMMARY="$WORK/summary.lines"
: > "$SUMMARY"
EXE="$WORK/exe" # the executables, unpacked here: .device/ itself stays as staged (and small enough to carry)
CS="$EXE/bin/custseg"
E2E="$OUT/e2e.txt"
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan}
export OUT WORK DEV EXE CS E2E E2E_CUSTOMERS

log() { echo "[$(($(date +%s) - START))s] $*"; }
# A summary line without running anything.
note() { printf '%-26s %-8s %7s  %s\n' "$1" "$2" "-" "$3" >> "$SUMMARY"; log "$1: $2 $3"; }
# step NAME LIMIT_S STDOUT STDERR CMD...: runs CMD under timeout (LIMIT_S, cut to the time left), appending its
# stdout and stderr to the two files (the same file: both into it); records a summary line; returns CMD's status.
step() {
  local name=$1 limit=$2 so=$3 se=$4; shift 4
  local left=$((DEADLINE - $(date +%s) - RESERVE_S))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 5 ]; then note "$name" skipped "no time left${STEP_NOTE:+ ($STEP_NOTE)}"; STEP_NOTE=; return 99; fi
  local t0 rc status
  # timeout runs programs, not shell functions: a function runs in a child bash (it and its variables are exported).
  [ "$(type -t "$1")" = function ] && set -- bash -c '"$@"' step-fn "$@"
  t0=$(date +%s.%N)
  if [ "$so" = "$se" ]; then timeout -k 5 "$limit" "$@" >> "$so" 2>&1; else timeout -k 5 "$limit" "$@" >> "$so" 2>> "$se"; fi
  rc=$?
  case $rc in 0) status=ok ;; 124 | 137) status=timeout ;; *) status=failed ;; esac
  local secs
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf '%-26s %-8s %6ss  rc=%s%s\n' "$name" "$status" "$secs" "$rc" "${STEP_NOTE:+  $STEP_NOTE}" >> "$SUMMARY"
  log "$name: $status (${secs}s, rc=$rc)"
  STEP_NOTE=
  return $rc
}
STEP_NOTE=

# ---- 0. unpack the executables (stage_device.sh xz-compresses them) into $WORK/exe -----------------------------
unpack() {
  local f sub dst
  rm -rf "$EXE" && mkdir -p "$EXE/bin" "$EXE/tests" || return 1
  for sub in bin tests; do
    for f in "$DEV/$sub"/*; do
      [ -f "$f" ] || continue
      dst="$EXE/$sub/$(basename "${f%.xz}")"
      case $f in
        *.xz)
          if command -v xz > /dev/null; then xz -dc "$f" > "$dst"; else
            python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$f" "$dst"
          fi || return 1 ;;
        *) cp "$f" "$dst" || return 1 ;;
      esac
      chmod +x "$dst"
    done
  done
  ls -la "$EXE"/bin "$EXE"/tests
  # The integration tests run target/release/custseg (CARGO_BIN_EXE_custseg: prelude.sh links the checkout's path
  # here, but target/ does not travel) and read ../shared/fixtures/parquet-testing beside the (physical) checkout.
  if [ ! -e target/release/custseg ]; then mkdir -p target/release && ln -sf "$CS" target/release/custseg; fi
  local fx
  fx="$(dirname "$(pwd -P)")/shared/fixtures/parquet-testing"
  if [ ! -e "$fx" ] && [ -d "$DEV/fixtures/parquet-testing" ]; then
    mkdir -p "$(dirname "$fx")" && ln -s "$DEV/fixtures/parquet-testing" "$fx" || echo "cannot link $fx"
  fi
  "$CS" --version
}
export -f unpack
step unpack 60 "$WORK/unpack.log" "$WORK/unpack.log" unpack || { cat "$WORK/unpack.log"; }

# Wall time and peak RSS: /usr/bin/time, the staged copy, or a Python stand-in with the same output line.
if [ -x /usr/bin/time ]; then TIME=/usr/bin/time; elif [ -x "$EXE/bin/time" ]; then TIME="$EXE/bin/time"; else
  cat > "$WORK/ptime.py" << 'EOF'
import resource, subprocess, sys, time
a = sys.argv[1:]; o = None; f = "%e s %M KB"
while a and a[0] in ("-f", "-o"):
    if a[0] == "-f": f = a[1]
    else: o = a[1]
    a = a[2:]
t = time.time(); rc = subprocess.call(a); e = time.time() - t
m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
line = f.replace("%e", f"{e:.2f}").replace("%M", str(m)) + "\n"
(open(o, "w") if o else sys.stderr).write(line); sys.exit(rc)
EOF
  TIME="python3 $WORK/ptime.py"
fi
export TIME

# ---- 1. the machine ------------------------------------------------------------------------------------------
machine() {
  echo "== date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host: $(hostname)  custseg: $("$CS" --version 2>&1)"
  echo "== custseg devices"; "$CS" devices
  local rc=$? # the step's status is this command's
  echo "== custseg devices --json"; "$CS" devices --json
  echo "== nvidia-smi"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem,power.limit,pcie.link.gen.max,pcie.link.width.max --format=csv 2>&1
    nvidia-smi 2>&1 | head -n 25
  else echo "(no nvidia-smi)"; fi
  echo "== CPU and memory"
  lscpu 2>/dev/null | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|Flags)' | cut -c1-200
  free -g 2>/dev/null
  echo "== python: $(python3 -c 'import sys; print(sys.version.split()[0])' 2>&1)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -n 1
  python3 -c 'import numpy, sklearn; print("numpy", numpy.__version__, "sklearn", sklearn.__version__)' 2>&1 | tail -n 1
  python3 -c 'import pyarrow; print("pyarrow", pyarrow.__version__)' 2>&1 | tail -n 1
  echo "== staged"; ls -la "$DEV"/bin "$DEV"/tests "$DEV"/whl "$EXE"/bin "$EXE"/tests 2>&1
  return $rc
}
export -f machine
step devices 60 "$WORK/machine.txt" "$WORK/machine.txt" machine
grep -A3 '^== custseg devices$' "$WORK/machine.txt" | tail -n +2 | head -n 3 | sed 's/^/  adapter: /'

# ---- 2. the tests ---------------------------------------------------------------------------------------------
if [ "$SKIP_TESTS" = 1 ]; then note tests skipped "SKIP_TESTS=1"; else
  skips=()
  # tests/report.rs fails under CI=true without Chromium, which the GPU machine does not have.
  [ -x /usr/bin/chromium ] || skips=(--skip report_renders_in_headless_chromium)
  ran=0
  for t in "$EXE"/tests/*; do
    [ -x "$t" ] && [ -f "$t" ] || continue
    ran=1
    name=$(basename "$t")
    echo "==== $name (CI=true ${skips[*]})" >> "$OUT/tests.txt"
    from=$(($(wc -l < "$OUT/tests.txt") + 1))
    STEP_NOTE="$name"
    CI=true step "tests:${name%%-*}" "$T_TESTS" "$OUT/tests.txt" "$OUT/tests.txt" "$t" ${skips[@]+"${skips[@]}"}
    echo "==== $name: exit $?" >> "$OUT/tests.txt"
    result=$(tail -n +"$from" "$OUT/tests.txt" | grep -E '^test result:' | tail -n 1)
    echo "  ${result:-(no test result line: see tests.txt)}" >> "$SUMMARY"
    tail -n +"$from" "$OUT/tests.txt" | grep -E '^test .* FAILED$' | head -n 20 | sed 's/^/    /' >> "$SUMMARY"
  done
  [ "$ran" = 1 ] || note tests failed "no test executable in $DEV/tests"
fi

# ---- 3. custseg bench -----------------------------------------------------------------------------------------
bench_flags=()
[ -n "$BENCH_ITERS" ] && bench_flags+=(--iters "$BENCH_ITERS")
[ -n "${GPU_PEAK_GBS:-}" ] && [ -n "${GPU_PEAK_GFLOPS:-}" ] && bench_flags+=(--gpu-peak-gbs "$GPU_PEAK_GBS" --gpu-peak-gflops "$GPU_PEAK_GFLOPS")
# One custseg bench per (n, d), merged into bench.json, so that a part that fails or runs out of time loses only
# its own rows (the rows are the same as one `--n $N_BENCH --d $D_BENCH` command's; each part measures the CPU peak).
: > "$WORK/bench.err"
rm -f "$WORK"/bench_part_*.json
IFS=, read -ra bench_ns <<< "$N_BENCH"
IFS=, read -ra bench_ds <<< "$D_BENCH"
part=0
for n in "${bench_ns[@]}"; do
  for d in "${bench_ds[@]}"; do
    part=$((part + 1))
    echo "== part $part: custseg bench --n $n --d $d --k $K_BENCH --backends $BACKENDS ${bench_flags[*]} --json" >> "$WORK/bench.err"
    STEP_NOTE="n=$n d=$d k=$K_BENCH $BACKENDS"
    step "bench:$n,$d" "$T_BENCH_PART" "$WORK/bench_part_$(printf %02d $part).json" "$WORK/bench.err" \
      "$CS" bench --n "$n" --d "$d" --k "$K_BENCH" --backends "$BACKENDS" ${bench_flags[@]+"${bench_flags[@]}"} --json
  done
done
python3 - "$WORK" "$OUT/bench.json" "custseg bench --n $N_BENCH --d $D_BENCH --k $K_BENCH --backends $BACKENDS ${bench_flags[*]} --json" << 'EOF' >> "$WORK/bench.err" 2>&1
import glob, json, os, sys
work, out, cmd = sys.argv[1:4]
merged = dict(command=cmd + "  (run as one command per (n, d), rows merged)", cpu_peak=None, gpu_peak=None,
              gpu_peak_measured=None, rows=[], uploads=[], parts=[])
for f in sorted(glob.glob(os.path.join(work, "bench_part_*.json"))):
    try:
        v = json.load(open(f))
    except Exception as e:
        merged["parts"].append(dict(file=os.path.basename(f), error=str(e))); continue
    merged["cpu_peak"] = merged["cpu_peak"] or v.get("cpu_peak")
    merged["gpu_peak"] = merged["gpu_peak"] or v.get("gpu_peak")
    merged["gpu_peak_measured"] = merged["gpu_peak_measured"] or v.get("gpu_peak_measured")
    merged["rows"] += v.get("rows", [])
    merged["uploads"] += v.get("uploads", [])
    merged["parts"].append(dict(file=os.path.basename(f), cpu_peak=v.get("cpu_peak"), gpu_peak=v.get("gpu_peak"), rows=len(v.get("rows", []))))
json.dump(merged, open(out, "w"), indent=1)
print(f"bench.json: {len(merged['rows'])} rows from {len(merged['parts'])} parts")
EOF

# ---- 4. the peers, at N_PEERS x 16, and custseg at the same shape in the same run -----------------------------
SITE="$WORK/site"
if [ "$SKIP_PEERS" = 1 ]; then note peers skipped "SKIP_PEERS=1"; else
  echo "== custseg bench --n $N_PEERS --d 16 --k $KS_PEERS --backends $BACKENDS --iters $PEER_ITERS" > "$WORK/peershape.err"
  rm -f "$WORK/peershape.json"
  STEP_NOTE="n=$N_PEERS d=16 k=$KS_PEERS"
  step peers:custseg "$T_BENCH" "$WORK/peershape.json" "$WORK/peershape.err" \
    "$CS" bench --n "$N_PEERS" --d 16 --k "$KS_PEERS" --backends "$BACKENDS" --iters "$PEER_ITERS" --warmup 2 ${bench_flags[@]+"${bench_flags[@]}"} --json
  if ls "$DEV"/whl/*.whl > /dev/null 2>&1; then
    echo "== pip install ${DEV}/whl/*.whl" >> "$OUT/peers.txt"
    install_wheels() {  # pip, or (no pip there) unzip: these two wheels need nothing more than their files in place
      python3 -m pip install -q --no-index --no-deps --target "$SITE" "$DEV"/whl/*.whl || {
        echo "pip failed: unzipping the wheels instead"
        python3 -c 'import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]' "$SITE" "$DEV"/whl/*.whl; }
    }
    export SITE; export -f install_wheels
    step peers:install 60 "$OUT/peers.txt" "$OUT/peers.txt" install_wheels
  else
    note peers:install skipped "no wheels in $DEV/whl"
  fi
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  # A peer whose module does not import (or, for the GPU peers, without CUDA) is skipped, not failed.
  for p in ${PEERS//,/ }; do
    case $p in
      sklearn) probe='import sklearn; print("scikit-learn", sklearn.__version__)' ;;
      faiss) probe='import faiss; print("faiss", faiss.__version__)' ;;
      torch) probe='import torch; assert torch.cuda.is_available(), "no CUDA"; print("torch", torch.__version__, torch.cuda.get_device_name(0))' ;;
      fpk) probe='import torch, fast_pytorch_kmeans; assert torch.cuda.is_available(), "no CUDA"; print("fast-pytorch-kmeans, torch", torch.__version__)' ;;
      *) probe='raise SystemExit("unknown peer")' ;;
    esac
    if ! why=$(python3 -c "$probe" 2>&1); then note "peers:$p" skipped "$(echo "$why" | tail -n 1 | cut -c1-80)"; continue; fi
    echo "== PEERS=$p N=$N_PEERS D=16 KS=$KS_PEERS ITERS=$PEER_ITERS python3 lloyd_peers.py   ($(echo "$why" | tail -n 1))" >> "$OUT/peers.txt"
    mkdir -p "$WORK/peers_$p" && rm -f "$WORK/peers_$p"/*.json
    PEERS=$p N=$N_PEERS D=16 KS=$KS_PEERS ITERS=$PEER_ITERS OUT="$WORK/peers_$p" \
      step "peers:$p" "$T_PEER" "$OUT/peers.txt" "$OUT/peers.txt" python3 "$DEV/lloyd_peers.py"
  done
  python3 - "$WORK" "$OUT" "$BACKENDS" >> "$OUT/peers.txt" 2>&1 << 'EOF'
import glob, json, os, re, sys
work, out, backends = sys.argv[1:4]
try:
    custseg = json.load(open(os.path.join(work, "peershape.json")))["rows"]
except Exception as e:
    custseg = []; print(f"no custseg peer-shape rows: {e}")
peers = []
for f in sorted(glob.glob(os.path.join(work, "peers_*", "peers_*.json"))):
    peers += json.load(open(f))
# A peer that ran out of time wrote no JSON: take its finished lines from the log.
done = {(r["peer"], r["k"]) for r in peers}
pat = re.compile(r"^(\S+)\s+n=(\d+) d=(\d+) k=\s*(\d+)\s+([\d.]+) ms/iter\s+iters=(\d+) inertia=(\S+)")
for line in open(os.path.join(out, "peers.txt")):
    m = pat.match(line)
    if m and (m[1], int(m[4])) not in done:
        peers.append(dict(peer=m[1], n=int(m[2]), d=int(m[3]), k=int(m[4]), s_per_iter=float(m[5]) / 1e3,
                          iters=int(m[6]), inertia=float(m[7]), from_log=True))
def ms(kind, k):
    for r in custseg:
        if r["k"] == k and r["backend"].split()[0].lower().startswith(kind):
            return r["ms"]
ratios = []
print("\n== ms per Lloyd iteration in this run, and custseg's speed-up over each peer (peer ms / custseg ms)")
print(f"{'peer':28s} {'k':>4s} {'peer ms':>10s} {'custseg gpu':>12s} {'custseg cpu':>12s} {'gpu x':>7s} {'cpu x':>7s}")
for r in sorted(peers, key=lambda r: (r["k"], r["peer"])):
    pm = r["s_per_iter"] * 1e3; g = ms("gpu", r["k"]); c = ms("cpu", r["k"])
    x = dict(peer=r["peer"], k=r["k"], peer_ms=pm, custseg_gpu_ms=g, custseg_cpu_ms=c,
             gpu_speedup=pm / g if g else None, cpu_speedup=pm / c if c else None)
    ratios.append(x)
    f = lambda v, p="{:.2f}": p.format(v) if v is not None else "-"
    print(f"{r['peer']:28s} {r['k']:4d} {pm:10.2f} {f(g):>12s} {f(c):>12s} {f(x['gpu_speedup'], '{:.1f}x'):>7s} {f(x['cpu_speedup'], '{:.1f}x'):>7s}")
for r in custseg:
    print(f"custseg {r['backend'][:40]:40s} n={r['n']} d={r['d']} k={r['k']:4d} {r['ms']:10.3f} ms/iter")
json.dump(dict(custseg=custseg, peers=peers, ratios=ratios), open(os.path.join(out, "peers.json"), "w"), indent=1)
EOF
fi

# ---- 5. end to end: generate, then segment on the GPU and on the CPU ------------------------------------------
timed() {  # timed LABEL CMD...: runs CMD under time, its stdout and stderr into e2e.txt with the time line
  local label=$1; shift
  echo "==== $label: $*" >> "$E2E"
  $TIME -f "%e s %M KB" -o "$WORK/time.txt" "$@" > "$WORK/cmd.out" 2> "$WORK/cmd.err"
  local rc=$?
  grep -v '^\s*$' "$WORK/cmd.err" | tail -n 20 >> "$E2E"
  python3 - "$WORK/cmd.out" >> "$E2E" 2>/dev/null << 'EOF' || head -c 2000 "$WORK/cmd.out" >> "$E2E"
import json, sys
j = json.load(open(sys.argv[1]))
j.pop("segments", None)
print("json:", json.dumps(j))
EOF
  echo "time: $(tail -n 1 "$WORK/time.txt")   ($label, exit $rc)" | tee -a "$E2E" > "$WORK/time.$label"
  return $rc
}
export -f timed
rm -f "$WORK"/time.* "$WORK"/c.parquet "$WORK"/b16.parquet
STEP_NOTE="$E2E_CUSTOMERS customers"
step e2e:generate "$T_E2E" "$E2E" "$E2E" timed generate "$CS" generate --customers "$E2E_CUSTOMERS" --seed 1 --output "$WORK/c.parquet"
python3 - "$WORK/c.parquet" >> "$E2E" 2>&1 << 'EOF' || true
import sys
try:
    import pyarrow.parquet as pq
    s = pq.read_schema(sys.argv[1]); print("columns:", ", ".join(f"{f.name}:{f.type}" for f in s))
except ImportError:
    print("columns: (no pyarrow to read the schema) customer_id, recency_days, frequency, monetary, avg_basket, "
          "tenure_days, n_categories, online_share, returns_rate: 8 numeric features; planted_segment is a string")
EOF
echo "note: custseg generate writes 8 numeric features, not 16; the 16-feature case is the blobs file below" >> "$E2E"
for dev in gpu cpu; do
  if [ -f "$WORK/c.parquet" ]; then
    step "e2e:segment-$dev" "$T_E2E" "$E2E" "$E2E" timed "segment-$dev" "$CS" segment --input "$WORK/c.parquet" --k 8 --n-init 3 \
      --log1p monetary,avg_basket --device "$dev" -o "$WORK/s_$dev.parquet" --model "$WORK/m_$dev.json" --json
  else note "e2e:segment-$dev" skipped "no generated file"; fi
done
if [ "$E2E_BLOBS16" = 1 ]; then
  blobs16() {
    python3 - "$E2E_CUSTOMERS" "$WORK/b16.parquet" << 'EOF'
import sys, time
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
n, path, d = int(sys.argv[1]), sys.argv[2], 16
t = time.time()
rng = np.random.default_rng(1)
centers = rng.normal(0, 5, (32, d)).astype(np.float32)
w = pq.ParquetWriter(path, pa.schema([("customer_id", pa.int64())] + [(f"f{j:02d}", pa.float32()) for j in range(d)]))
step = 1 << 20
for a in range(0, n, step):
    m = min(step, n - a)
    x = (centers[rng.integers(0, 32, m)] + rng.normal(0, 1, (m, d))).astype(np.float32)
    cols = [pa.array(np.arange(a, a + m, dtype=np.int64))] + [pa.array(x[:, j]) for j in range(d)]
    w.write_table(pa.table(cols, names=["customer_id"] + [f"f{j:02d}" for j in range(d)]), row_group_size=step)
w.close()
print(f"wrote {n} x {d} float32 blobs (32 centres) to {path} in {time.time() - t:.1f} s")
EOF
  }
  export -f blobs16
  STEP_NOTE="$E2E_CUSTOMERS x 16, numpy+pyarrow"
  echo "==== blobs16: $E2E_CUSTOMERS x 16 float32 Gaussian blobs, written by numpy + pyarrow (the CLI writes 8 features)" >> "$E2E"
  step e2e:blobs16-write "$T_E2E" "$E2E" "$E2E" blobs16
  for dev in gpu cpu; do
    if [ -f "$WORK/b16.parquet" ]; then
      step "e2e:blobs16-$dev" "$T_E2E" "$E2E" "$E2E" timed "blobs16-$dev" "$CS" segment --input "$WORK/b16.parquet" --k 8 --n-init 3 \
        --device "$dev" -o "$WORK/sb_$dev.parquet" --model "$WORK/mb_$dev.json" --json
    else note "e2e:blobs16-$dev" skipped "no blobs file"; fi
  done
  # Scoring the same rows with the GPU fit's model (issue 17: `assign` throughput, GPU and CPU): the stage lines give
  # read, scale, assign, drift and write; `cmp` against the GPU fit's segments file says whether assign reproduced it.
  for dev in gpu cpu; do
    if [ -f "$WORK/mb_gpu.json" ]; then
      step "e2e:assign16-$dev" "$T_E2E" "$E2E" "$E2E" timed "assign16-$dev" "$CS" assign --model "$WORK/mb_gpu.json" \
        --input "$WORK/b16.parquet" --device "$dev" -o "$WORK/ab_$dev.parquet" --json
      if [ ! -f "$WORK/ab_$dev.parquet" ]; then echo "assign16-$dev: no output" >> "$E2E"
      elif cmp -s "$WORK/ab_$dev.parquet" "$WORK/sb_gpu.parquet"; then
        echo "assign16-$dev: the GPU fit's segments file, to the byte" >> "$E2E"
      else echo "assign16-$dev: differs from the GPU fit's segments file (labels may differ at f32 ties across devices)" >> "$E2E"; fi
    else note "e2e:assign16-$dev" skipped "no GPU model"; fi
  done
else note e2e:blobs16 skipped "E2E_BLOBS16=0"; fi
# k-means++ at K = 256 on the blobs file: seeding from every row on the GPU (its distance updates run there) against
# the default sample, 20 Lloyd iterations; the "k-means run timing" lines give init_seconds and lloyd_seconds.
if [ "$E2E_BLOBS16" = 1 ] && [ -f "$WORK/b16.parquet" ]; then
  for init in full auto; do
    step "e2e:pp256-$init" "$T_E2E" "$E2E" "$E2E" timed "pp256-$init" "$CS" segment --input "$WORK/b16.parquet" --k 256 \
      --max-iter 20 --init-sample "$init" --device gpu -o "$WORK/spp_$init.parquet" --model "$WORK/mpp_$init.json" --json
  done
fi
{
  echo "==== end to end, this run (wall s, peak RSS KB; memory bound 1.5 x matrix + 200 MB)"
  for f in generate segment-gpu segment-cpu blobs16-gpu blobs16-cpu assign16-gpu assign16-cpu pp256-full pp256-auto; do [ -f "$WORK/time.$f" ] && cat "$WORK/time.$f"; done
  grep -h "k-means run timing\|uploaded the features" "$E2E" | sed 's/^/  /' | tail -n 20
  awk -v n="$E2E_CUSTOMERS" 'BEGIN { printf "matrix: 8 features %.0f MB (bound %.0f MB), 16 features %.0f MB (bound %.0f MB)\n",
    n*8*4/1e6, 1.5*n*8*4/1e6 + 200, n*16*4/1e6, 1.5*n*16*4/1e6 + 200 }'
  for p in segment blobs16; do
    g=$(awk '{print $2}' "$WORK/time.$p-gpu" 2>/dev/null); c=$(awk '{print $2}' "$WORK/time.$p-cpu" 2>/dev/null)
    [ -n "$g" ] && [ -n "$c" ] && awk -v g="$g" -v c="$c" -v p="$p" 'BEGIN { if (g > 0) printf "%s: gpu speed-up over cpu (cpu wall / gpu wall) = %.2fx\n", p, c / g }'
  done
  python3 - "$WORK" << 'EOF'
import json, os, sys
for tag, g, c in (("segment", "m_gpu.json", "m_cpu.json"), ("blobs16", "mb_gpu.json", "mb_cpu.json")):
    try:
        mg, mc = (json.load(open(os.path.join(sys.argv[1], f))) for f in (g, c))
    except Exception:
        continue
    ig, ic = mg.get("inertia"), mc.get("inertia")
    if ig is not None and ic:
        print(f"{tag}: inertia gpu {ig:.6g} cpu {ic:.6g} (relative difference {abs(ig - ic) / ic:.2e}); "
              f"n_iter gpu {mg.get('n_iter')} cpu {mc.get('n_iter')}; backends: {mg.get('backend')} / {mc.get('backend')}")
EOF
} >> "$E2E"

# ---- 6. the GPU kernel's launch shapes: every combination, on the same uploaded data, per d ---------------------
rm -f "$WORK"/tune_*.json
: > "$WORK/tune.err"
if [ "$TUNE" = 1 ]; then
  IFS=, read -ra tune_ds <<< "$TUNE_D"
  for d in "${tune_ds[@]}"; do
    echo "== custseg bench --n $TUNE_N --d $d --k $TUNE_K --backends gpu --gpu-points $TUNE_POINTS --gpu-workgroup $TUNE_WG --gpu-groups $TUNE_GROUPS --gpu-copies $TUNE_COPIES --json" >> "$WORK/tune.err"
    STEP_NOTE="n=$TUNE_N d=$d k=$TUNE_K P=$TUNE_POINTS WG=$TUNE_WG G=$TUNE_GROUPS C=$TUNE_COPIES"
    step "tune:$d" "$T_TUNE" "$WORK/tune_$d.json" "$WORK/tune.err" \
      "$CS" bench --n "$TUNE_N" --d "$d" --k "$TUNE_K" --backends gpu --gpu-points "$TUNE_POINTS" \
      --gpu-workgroup "$TUNE_WG" --gpu-groups "$TUNE_GROUPS" --gpu-copies "$TUNE_COPIES" ${bench_flags[@]+"${bench_flags[@]}"} --json
  done
else note tune skipped "TUNE=0"; fi

# ---- 7. optional: 50M x 16 on the GPU only ---------------------------------------------------------------------
left=$((DEADLINE - $(date +%s) - RESERVE_S))
if [ "$BENCH_50M" = 0 ]; then note bench:50m skipped "BENCH_50M=0"
elif [ "$BENCH_50M" = auto ] && [ "$left" -lt "$T_50M" ]; then note bench:50m skipped "BENCH_50M=auto and only ${left}s left (< T_50M=${T_50M}s)"
else
  echo "== custseg bench --n $N_50M --d 16 --k $K_BENCH --backends gpu --json" > "$WORK/b50m.err"
  rm -f "$WORK/b50m.json"
  STEP_NOTE="n=$N_50M d=16 k=$K_BENCH gpu"
  step bench:50m "$T_50M" "$WORK/b50m.json" "$WORK/b50m.err" \
    "$CS" bench --n "$N_50M" --d 16 --k "$K_BENCH" --backends gpu ${bench_flags[@]+"${bench_flags[@]}"} --json
fi

# ---- reports --------------------------------------------------------------------------------------------------
python3 - "$WORK" "$OUT" > "$OUT/bench.txt" 2>&1 << 'EOF'
import json, os, sys
work, out = sys.argv[1:3]
def load(p):
    try: return json.load(open(p))
    except Exception as e: return None
def table(title, v):
    print(f"== {title}")
    if not v: print("(no result)\n"); return
    for which in ("cpu_peak", "gpu_peak", "gpu_peak_measured"):
        p = v.get(which)
        if p: print(f"{which}: {p.get('gbs')} GB/s, {p.get('gflops')} GFLOP/s ({p.get('source') or p.get('clock')})")
    for u in v.get("uploads", []):
        print(f"upload n={u['n']} d={u['d']}: {u['bytes'] / 1e6:.1f} MB in {u['seconds'] * 1e3:.1f} ms = {u['gbs']:.2f} GB/s")
    f = lambda x, p: p.format(x) if isinstance(x, (int, float)) else "-"
    def shape(l):
        if not l: return ""
        t = f"P{l['points_per_thread']} WG{l['workgroup_size']} G{l['workgroups']} T{l['tiles']}"
        t += f" C{l.get('sum_copies')}" if l.get("private_sums", True) else " global"
        return t + ("" if l.get("rows_cached", True) else " uncached")
    print(f"{'backend':36s} {'n':>9s} {'d':>3s} {'k':>4s} {'ms/iter':>10s} {'min ms':>10s} {'gpu ms':>9s} {'assign':>9s} {'GB/s':>8s} {'GFLOP/s':>9s} {'floor ms':>9s} {'%floor':>7s} {'vs cpu':>7s}  launch")
    for r in v.get("rows", []):
        print(f"{r['backend'][:36]:36s} {r['n']:9d} {r['d']:3d} {r['k']:4d} {f(r['ms'], '{:.3f}'):>10s} {f(r.get('ms_min'), '{:.3f}'):>10s} "
              f"{f(r.get('gpu_ms'), '{:.3f}'):>9s} {f(r.get('gpu_assign_ms'), '{:.3f}'):>9s} {f(r.get('gbs'), '{:.1f}'):>8s} {f(r.get('gflops'), '{:.1f}'):>9s} "
              f"{f(r.get('floor_ms'), '{:.3f}'):>9s} {f(r.get('pct_of_floor'), '{:.1f}%'):>7s} {f(r.get('speedup_vs_cpu'), '{:.1f}x'):>7s}  {shape(r.get('launch'))}")
    for line in v.get("fastest_launch", []):
        print(line)
    print()
print("Tables made from the JSON of each run (bench.json, bench_extra.json), not from second runs.\n")
main, peer, n50 = load(os.path.join(out, "bench.json")), load(os.path.join(work, "peershape.json")), load(os.path.join(work, "b50m.json"))
table("bench.json", main)
table("bench_extra.json: peer_shape", peer)
import glob
tune = {os.path.basename(p)[5:-5]: load(p) for p in sorted(glob.glob(os.path.join(work, "tune_*.json")))}
for d, v in tune.items():
    table(f"bench_extra.json: tune, d={d}", v)
table("bench_extra.json: n50m", n50)
json.dump(dict(peer_shape=peer, tune=tune, n50m=n50), open(os.path.join(out, "bench_extra.json"), "w"), indent=1)
for e in ("bench.err", "peershape.err", "tune.err", "b50m.err"):
    p = os.path.join(work, e)
    if os.path.exists(p):
        print(f"== log: {e}"); print(open(p).read()[-20000:])
EOF
[ -s "$OUT/bench.json" ] || echo '{"error": "custseg bench wrote nothing: see bench.txt and summary.txt"}' > "$OUT/bench.json"

elapsed=$(($(date +%s) - START))
{
  echo "custseg device run: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), ${elapsed}s of a ${BUDGET_S}s budget"
  echo "settings: N_BENCH=$N_BENCH D_BENCH=$D_BENCH K_BENCH=$K_BENCH BACKENDS=$BACKENDS BENCH_50M=$BENCH_50M N_PEERS=$N_PEERS KS_PEERS=$KS_PEERS PEERS=$PEERS PEER_ITERS=$PEER_ITERS E2E_CUSTOMERS=$E2E_CUSTOMERS E2E_BLOBS16=$E2E_BLOBS16 SKIP_PEERS=$SKIP_PEERS SKIP_TESTS=$SKIP_TESTS TUNE=$TUNE TUNE_N=$TUNE_N TUNE_D=$TUNE_D TUNE_K=$TUNE_K"
  echo
  printf '%-26s %-8s %7s  %s\n' step status seconds "exit, what"
  cat "$SUMMARY"
  echo
  echo "==== the machine"
  cat "$WORK/machine.txt" 2>/dev/null
  echo "==== unpack"
  cat "$WORK/unpack.log" 2>/dev/null
} > "$OUT/summary.txt"

# The device tool brings back at most 8 files of 16 MiB: cut anything larger, and say what is there.
for f in "$OUT"/*; do
  if [ "$(stat -c %s "$f")" -gt $((15 * 1024 * 1024)) ]; then
    head -c $((15 * 1024 * 1024)) "$f" > "$f.cut" && mv "$f.cut" "$f" && echo "(cut to 15 MiB)" >> "$f"
  fi
done
n=$(find "$OUT" -maxdepth 1 -type f | wc -l)
echo "files under \$OUT: $n (at most 8 come back): $(cd "$OUT" && ls | tr '\n' ' ')" | tee -a "$OUT/summary.txt"
echo
sed -n '1,/^==== the machine/p' "$OUT/summary.txt" | head -n -1
sed -n '/^== ms per Lloyd/,$p' "$OUT/peers.txt" 2>/dev/null | head -n 30
sed -n '/^==== end to end, this run/,$p' "$E2E" 2>/dev/null
grep -h '^fastest launch' "$OUT/bench.txt" 2>/dev/null
