// What every file in native/cuda includes instead of the CUDA headers: the runtime API and device intrinsics from
// CUDA itself when nvcc compiles (the runtime linked statically, so the addon loads without libcudart), or from the
// CPU emulator (emulate.h, emulate_runtime.cu) when g++ compiles with TESSERA_CUDA_EMULATE. Kernels launch through
// launchKernel() and use the few helpers below, so one source serves both builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#if defined(TESSERA_CUDA_EMULATE)
#include "emulate.h"
#include "emulate_runtime.h"
#else
#include <cuda_runtime.h>
#endif

namespace tessera {
namespace cuda {

// ---- launching -------------------------------------------------------------------------------------------------

#if defined(TESSERA_CUDA_EMULATE)
template <class... P, class... A>
cudaError_t launchKernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t,
                         A... args) {
  emu::launch(grid, block, sharedBytes, [&] { kernel(static_cast<P>(args)...); });
  return cudaSuccess;
}
#else
namespace detail {
template <class Tuple, size_t... I>
cudaError_t launchTuple(const void* kernel, dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
                        Tuple& params, std::index_sequence<I...>) {
  void* argv[sizeof...(I) > 0 ? sizeof...(I) : 1] = {static_cast<void*>(&std::get<I>(params))...};
  return cudaLaunchKernel(kernel, grid, block, argv, sharedBytes, stream);
}
}  // namespace detail

// kernel<<<grid, block, sharedBytes, stream>>>(args...), with each argument converted to the kernel's parameter
// type first (cudaLaunchKernel copies the parameters from these addresses).
template <class... P, class... A>
cudaError_t launchKernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
                         A... args) {
  static_assert(sizeof...(P) == sizeof...(A), "launchKernel: wrong number of kernel arguments");
  std::tuple<P...> params(static_cast<P>(args)...);
  return detail::launchTuple(reinterpret_cast<const void*>(kernel), grid, block, sharedBytes, stream, params,
                             std::index_sequence_for<P...>{});
}
#endif

// ---- device helpers ----------------------------------------------------------------------------------------------

// Dynamic shared memory of the running kernel.
#if defined(TESSERA_CUDA_EMULATE)
#define TESSERA_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::tessera::emu::dynamicShared())
#else
#define TESSERA_DYNAMIC_SHARED(type, name)             \
  extern __shared__ __align__(16) unsigned char name##Raw[]; \
  type* name = reinterpret_cast<type*>(name##Raw)
#endif

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ double warpSumDouble(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Two floats rounded to bf16 (round to nearest even) and packed lo | hi << 16, the mma operand format.
__device__ __forceinline__ uint32_t packBf16x2(float lo, float hi) {
#if defined(TESSERA_CUDA_EMULATE)
  auto round = [](float x) -> uint32_t {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (u >> 16) | 0x40u;  // quiet NaN
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  };
  return round(lo) | (round(hi) << 16);
#else
  uint32_t r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
#endif
}

// D = A B + C on the tensor cores: one warp, m16n8k16, bf16 inputs, fp32 accumulation (fragment layout: PTX ISA,
// "Matrix Fragments for mma.m16n8k16 with floating point type").
__device__ __forceinline__ void mmaBf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
#if defined(TESSERA_CUDA_EMULATE)
  emu::mmaBf16(d, a, b, c);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
#endif
}

}  // namespace cuda
}  // namespace tessera
