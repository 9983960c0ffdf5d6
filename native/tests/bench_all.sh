#!/bin/bash
# Engine-core measurements, engine and PyTorch side by side in one run (JSON lines on stdout):
#   native/tests/bench_all.sh [reps]
# GEMM GFLOP/s; peak RSS of an end-to-end step for N = 64, 256, 1024 (chunk 32) and full-graph N = 256;
# ViT-Ti/16 and ViT-S/16 224 px inference (16 images) and training (one slide of 8 patches: chunk 8 = no recompute,
# chunk 4 = recompute) on 2 threads, each followed by PyTorch (/usr/bin/python3, python3-torch) on the
# same model and work.
set -e
here=$(cd "$(dirname "$0")" && pwd)
reps=${1:-1}
out=$(mktemp -d)
EXTRA_PROGRAMS=bench_core CXXFLAGS=-O3 "$here/build.sh" "$out" >/dev/null
export TESSERA_THREADS=2
b="$out/bench_core"
echo "{\"machine\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"cpus\":$(nproc),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
"$b" gemm 6304 1152 384
"$b" gemm 6304 384 1536
TESSERA_THREADS=1 "$b" gemm 6304 1152 384
TESSERA_CPU_PATH=avx2 "$b" gemm 6304 1152 384
TESSERA_CPU_PATH=portable "$b" gemm 6304 1152 384
for n in 64 256 1024; do "$b" rss $n 32; done
"$b" rss 256 256
for r in $(seq "$reps"); do
  for m in vit_tiny vit_small; do
    "$b" infer $m 16 2
    /usr/bin/python3 "$here/bench_torch.py" infer $m 16 2
    "$b" train $m 8 8 2
    "$b" train $m 8 4 2
    /usr/bin/python3 "$here/bench_torch.py" train $m 8 2
  done
done
echo "{\"load_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
rm -rf "$out"
