#!/bin/bash
# Builds the standalone engine-core test driver and benchmarks with g++ (no Node needed):
#   native/tests/build.sh [outdir]   (default native/build/tests)
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build/tests}
mkdir -p "$out"
core="model threads cpu_features gemm gemm_avx512 matmul layernorm attention mlp layer_scale patch_embed mil_attention heads adamw
      backend_cpu backend_cpu_bf16 pos_embed_resample vit aggregator train vector_math vector_math_avx512"
srcs=""
for f in $core; do srcs="$srcs $here/../engine/$f.cpp"; done
CXX=${CXX:-g++}
FLAGS=${CXXFLAGS:--O2}
# Compile the core once into objects (2 jobs at most), then link each program.
objs=""
for f in $core; do
  o="$out/$f.o"
  objs="$objs $o"
  if [ ! -f "$o" ] || [ "$here/../engine/$f.cpp" -nt "$o" ] || [ -n "$(find "$here/../engine" -name '*.h' -newer "$o")" ]; then
    $CXX -std=c++17 $FLAGS -pthread -c "$here/../engine/$f.cpp" -o "$o" &
    [ "$(jobs -p | wc -l)" -ge 2 ] && wait -n 2>/dev/null || true
  fi
done
wait
for prog in engine_core_test ${EXTRA_PROGRAMS:-}; do
  $CXX -std=c++17 $FLAGS -pthread "$here/$prog.cpp" $objs -o "$out/$prog"
done
echo "$out/engine_core_test"
