#!/bin/bash
# Builds the standalone engine-core test drivers and benchmarks with g++ (no Node needed):
#   native/tests/build.sh [outdir]   (default native/build/tests)
# Programs: engine_core_test, backend_ops_test and EXTRA_PROGRAMS (e.g. bench_core). TESSERA_CUDA_EMULATE=1 also
# compiles the CUDA backend (native/cuda) against its CPU emulator (native/cuda/emulate.h) and links it in, so the
# drivers' "cuda" backend runs the CUDA code on the CPU. TESSERA_CUDA_NVCC=1 compiles it with nvcc for the GPU instead
# (TESSERA_CUDA_ARCH, default sm_90; test/gpu/run.sh) and links the static CUDA runtime.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build/tests}
mkdir -p "$out"
core="model host_memory threads cpu_features gemm gemm_avx512 matmul layernorm attention mlp layer_scale patch_embed mil_attention heads adamw
      backend_cpu tokens dropout pos_embed_resample vit aggregator train vector_math vector_math_avx512"
CXX=${CXX:-g++}
FLAGS=${CXXFLAGS:--O2}
DEFS=""
# Sources to objects (TESSERA_BUILD_JOBS at once, default 2), rebuilt when the source or any header of the engine, tests or cuda is newer.
objs=""
compile() {  # src obj [extra flags] [compiler]
  local src=$1 o=$2
  objs="$objs $o"
  if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find "$here/../engine" "$here" "$here/../cuda" -name '*.h' -newer "$o" 2>/dev/null)" ] \
     || [ -n "$(find "$here/../cuda" -name '*.cuh' -newer "$o" 2>/dev/null)" ]; then
    if [ -n "${4:-}" ]; then $4 $DEFS ${3:-} -c "$src" -o "$o" &
    else $CXX -std=c++17 $FLAGS $DEFS ${3:-} -pthread -c "$src" -o "$o" &
    fi
    [ "$(jobs -p | wc -l)" -ge "${TESSERA_BUILD_JOBS:-2}" ] && wait -n 2>/dev/null || true
  fi
}
for f in $core; do compile "$here/../engine/$f.cpp" "$out/$f.o"; done
if [ -n "${TESSERA_CUDA_EMULATE:-}" ]; then
  DEFS="-DTESSERA_HAVE_CUDA -DTESSERA_CUDA_EMULATE"
  for f in "$here"/../cuda/*.cu; do
    compile "$f" "$out/emu_$(basename "$f" .cu).o" "-x c++ -Wno-unknown-pragmas"
  done
fi
LIBS=""
if [ -n "${TESSERA_CUDA_NVCC:-}" ]; then
  NVCC=${NVCC:-nvcc}
  arch=${TESSERA_CUDA_ARCH:-sm_90}
  # The CUDA root holding lib64/libcudart_static.a (nvcc may be a wrapper script elsewhere).
  cuda_home=${CUDA_HOME:-}
  for h in "$(dirname "$(readlink -f "$(command -v "$NVCC")")")/.." /usr/local/cuda; do
    [ -z "$cuda_home" ] && [ -f "$h/lib64/libcudart_static.a" ] && cuda_home=$(cd "$h" && pwd)
  done
  DEFS="-DTESSERA_HAVE_CUDA"
  for f in "$here"/../cuda/*.cu; do
    [ "$(basename "$f")" = emulate_runtime.cu ] && continue
    compile "$f" "$out/gpu_$(basename "$f" .cu).o" "-std=c++17 -O3 -arch=$arch -DTESSERA_CUDA_ARCHS=\"$arch\" -Xcompiler=-fPIC" "$NVCC"
  done
  LIBS="-L$cuda_home/lib64 -lcudart_static -ldl -lrt"
fi
for f in backend_guarded test_backends; do compile "$here/$f.cpp" "$out/$f.o"; done
wait
for prog in engine_core_test backend_ops_test ${EXTRA_PROGRAMS:-}; do
  $CXX -std=c++17 $FLAGS $DEFS -pthread "$here/$prog.cpp" $objs $LIBS -o "$out/$prog"
done
echo "$out/engine_core_test"
