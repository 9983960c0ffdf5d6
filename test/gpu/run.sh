#!/bin/bash
# The CUDA backend's check on an NVIDIA GPU (issue 16), in one run of about 6 to 8 minutes. No Node.js: nvcc and g++
# build the engine core, the CUDA backend and the C++ drivers (native/tests/build.sh); the machine's python3 with
# PyTorch (CUDA) and timm is the reference. Run from anywhere:
#   test/gpu/run.sh
# Environment: OUT (logs and results, 8 files at most; default test/gpu/out), TESSERA_GPU_SEED (default: from the clock, printed),
# TESSERA_GPU_SKIP_BENCH=1, TESSERA_GPU_SKIP_COMPILE=1 (no torch.compile rows), PYTHON (default python3),
# TESSERA_GPU_BUILD_DIR (default native/build/gpu-tests-ARCH: a rerun on the same machine recompiles only what changed).
#
#  1. build    for this GPU's architecture (nvidia-smi's compute capability), TESSERA_BUILD_JOBS = cores
#  2. ops      backend_ops_test --backend cuda: every op of the fp32 and bf16 tables, with cuBLASLt and with the
#              backend's own kernels, against the CPU reference on fresh random inputs (the seed), every output and
#              every device allocation poisoned with NaN first (TESSERA_CUDA_POISON=1)
#  3. e2e      fresh fixtures made by PyTorch on this GPU (fp32, TF32 off, the seed; ViT of width 384, head dim 64),
#              then engine_core_test on the CUDA backend: embeddings, attention, probabilities, loss and every
#              gradient for chunk sizes 1, 2 and 8, three AdamW steps, bf16 matmuls; bounds 1e-3 (fp32) and 1e-2
#              (bf16); once through cuBLASLt, once through the backend's own kernels; allocations poisoned
#  4. oom      a real out-of-memory: the error names the chunk size that fits, chunk 0 picks it and trains
#  5. bench    bf16 matmul rate; ViT-S/16 and ViT-B/16 training images/s (engine bf16 vs PyTorch eager bf16
#              autocast and torch.compile); end-to-end slide step ViT-S/16 chunk 256 at 1,024, 4,096 and 16,384
#              patches: slides/s and peak device memory
#  6. the table (test/gpu/summary.py), last
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-$here/out}
mkdir -p "$OUT"
: > "$OUT/errors.log"  # stderr of the fixture maker, the out-of-memory check and the benchmark rows
PY=${PYTHON:-python3}
seed=${TESSERA_GPU_SEED:-$(( $(date +%s) % 1000000 ))}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
stamp() { echo "[$(( $(date +%s) - started )) s] $*"; }

nvidia-smi --query-gpu=name,compute_cap,memory.total,memory.used,driver_version --format=csv,noheader
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | grep -o '[0-9][0-9]*\.[0-9]' | head -1 | tr -d .)
export TESSERA_CUDA_ARCH=sm_${cc:-90}
stamp "seed $seed, building for $TESSERA_CUDA_ARCH with $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"

# cuBLASLt from PyTorch's wheels or the toolkit, matching the CUDA runtime's major version (nvcc's).
major=$(nvcc --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
lt=$("$PY" - "$major" <<'EOF'
import glob, os, sys
m = sys.argv[1]
for d in sys.path + ['/usr/local/cuda/lib64']:
    for pat in (f'nvidia/cu{m}/lib/libcublasLt.so.{m}*', f'nvidia/cublas/lib/libcublasLt.so.{m}*', f'libcublasLt.so.{m}*'):
        hits = sorted(glob.glob(os.path.join(d or '.', pat)))
        if hits:
            print(hits[0])
            sys.exit()
EOF
)
if [ -n "$lt" ]; then export TESSERA_CUBLASLT=$lt; stamp "cuBLASLt: $lt"; else stamp "cuBLASLt: not found (own kernels only)"; fi

# 1. build
bin=${TESSERA_GPU_BUILD_DIR:-$root/native/build/gpu-tests-$TESSERA_CUDA_ARCH}
if ! TESSERA_CUDA_NVCC=1 TESSERA_BUILD_JOBS=$(nproc) EXTRA_PROGRAMS=bench_core CXXFLAGS=-O3 \
     timeout 240 bash "$root/native/tests/build.sh" "$bin" > "$OUT/build.log" 2>&1; then
  tail -30 "$OUT/build.log"
  stamp "BUILD FAILED (log: $OUT/build.log)"
  exit 1
fi
stamp "built"

export TESSERA_CUDA_POISON=1 TESSERA_THREADS=$(nproc)

# 2. ops
TESSERA_TEST_SEED=$seed timeout 120 "$bin/backend_ops_test" --backend cuda > "$OUT/ops.log" 2>&1
stamp "ops: $(grep -c '^PASS' "$OUT/ops.log") passed, $(grep -c '^FAIL' "$OUT/ops.log") failed"

# 3. e2e against PyTorch on this GPU
fx="$work/fixtures"
if timeout 120 "$PY" "$root/test/fixtures/engine/make_fixtures.py" --out "$fx" --seed "$seed" --scale gpu --device cuda \
     >> "$OUT/errors.log" 2>&1; then
  for mode in cublaslt own-kernels; do
    lt_env=${TESSERA_CUBLASLT:-0}
    [ "$mode" = own-kernels ] && lt_env=0
    [ "$mode" = cublaslt ] && [ -z "${TESSERA_CUBLASLT:-}" ] && continue
    TESSERA_CUBLASLT=$lt_env TESSERA_TEST_BACKEND=cuda TESSERA_TEST_FP32_TOL=1e-3 TESSERA_TEST_BF16_TOL=1e-2 \
      timeout 150 "$bin/engine_core_test" "$fx" > "$OUT/e2e-$mode.log" 2>&1
    stamp "e2e ($mode): $(grep -c '^PASS' "$OUT/e2e-$mode.log") passed, $(grep -c '^FAIL' "$OUT/e2e-$mode.log") failed"
  done
else
  tail -20 "$OUT/errors.log"
  stamp "making the PyTorch fixtures on the GPU failed (log: $OUT/errors.log)"
fi
unset TESSERA_CUDA_POISON

# 4. Out of device memory for real: all but 4 GiB of the free memory held, a ViT-S/16 step over 1,024 patches in one
# chunk must fail naming the chunk size that fits, and chunk 0 must pick it and train.
TESSERA_BENCH_BACKEND=cuda timeout 120 "$bin/bench_core" oom vit_small 1024 4096 > "$OUT/oom.jsonl" 2>> "$OUT/errors.log"
stamp "out of memory: $(grep -o '"ok":[a-z]*' "$OUT/oom.jsonl" || echo 'no result')"

# 5. bench (each line JSON, appended to bench.jsonl)
bench="$OUT/bench.jsonl"
: > "$bench"
if [ -z "${TESSERA_GPU_SKIP_BENCH:-}" ]; then
  # Each row gets at most its own limit and what is left of the run's budget (TESSERA_GPU_BUDGET_S, default 460 s of
  # the 8 minutes); the torch.compile rows, the slowest to start, go last and are the first to be dropped.
  budget=${TESSERA_GPU_BUDGET_S:-460}
  run() {
    local t=$1 left=$(( budget - ($(date +%s) - started) ))
    shift
    [ "$left" -lt "$t" ] && t=$left
    if [ "$t" -lt 15 ]; then echo "skipped (out of time): $*" >> "$OUT/errors.log"; return; fi
    timeout "$t" "$@" 2>> "$OUT/errors.log" | tee -a "$bench"
  }
  run 60 "$PY" "$here/bench_torch.py" matmul
  for spec in "vit_small 128" "vit_base 64"; do
    set -- $spec
    TESSERA_BENCH_BACKEND=cuda TESSERA_BENCH_BF16=1 run 90 "$bin/bench_core" train "$1" "$2" "$2" 10
    run 90 "$PY" "$here/bench_torch.py" train "$1" "$2" eager 10
  done
  stamp "bench: training rows done"
  for n in 1024 4096 16384; do
    TESSERA_BENCH_BACKEND=cuda TESSERA_BENCH_BF16=1 run 150 "$bin/bench_core" slide vit_small "$n" 256 1
  done
  stamp "bench: slide rows done"
  if [ -z "${TESSERA_GPU_SKIP_COMPILE:-}" ]; then
    run 150 "$PY" "$here/bench_torch.py" train vit_small 128 compile 10
    run 180 "$PY" "$here/bench_torch.py" train vit_base 64 compile 10
  fi
  stamp "bench done"
fi

# 6. the table
"$PY" "$here/summary.py" "$OUT"
