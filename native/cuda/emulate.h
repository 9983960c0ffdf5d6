// A CPU emulator for the subset of CUDA the kernels in this folder use, so they can be run and checked on a machine
// without a GPU (native/tests/build.sh with TESSERA_CUDA_EMULATE=1 compiles the .cu files with g++ against it).
//
// Blocks run one after another; the threads of a block run as coroutines on the calling OS thread, switched at
// __syncthreads, warp shuffles and mma (each waits for the others of its block or warp), so shared memory, barriers
// and warp-level data exchange behave as on the device for correct, race-free code. __shared__ variables are
// function statics (one block at a time). Dynamic shared memory starts filled with NaN bytes. The mma.sync tile
// (m16n8k16, bf16 inputs, fp32 accumulators) is computed from the PTX ISA's fragment layout, written here
// independently of the kernels' own fragment loads. What it cannot show: races between threads (a missing barrier
// usually still works here), timing, occupancy, and anything about the real hardware's numerics beyond IEEE fp32
// and the bf16 rounding.
#pragma once

#if !defined(TESSERA_CUDA_EMULATE)
#error "emulate.h is for the CPU emulation build only"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>

namespace tessera {
namespace emu {

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct ThreadIndex {
  unsigned x, y, z;
};

// The running thread's and block's indices (valid inside a kernel).
const ThreadIndex& threadIndex();
const dim3& blockIndex();
const dim3& blockDimension();
const dim3& gridDimension();
void* dynamicShared();

// Barriers: the block's threads, or the warp's lanes (for shuffles and mma).
void syncBlock();
// Exchanges 64 bits per lane across the calling warp: every lane publishes `value`, then reads lane `src`'s.
uint64_t warpExchange(uint64_t value, int src);

// The warp-level bf16 matrix product D (16x8) = A (16x16) B (16x8) + C, fragments per the PTX ISA (mma.sync
// m16n8k16 .row.col .f32.bf16.bf16.f32): a[4], b[2] packed bf16 pairs, c[4], d[4] floats of this lane.
void mmaBf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);

// Runs fn() once per thread of every block of the grid.
void launch(dim3 grid, dim3 block, size_t sharedBytes, const std::function<void()>& fn);

}  // namespace emu
}  // namespace tessera

using tessera::emu::dim3;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict
#define threadIdx (::tessera::emu::threadIndex())
#define blockIdx (::tessera::emu::blockIndex())
#define blockDim (::tessera::emu::blockDimension())
#define gridDim (::tessera::emu::gridDimension())

inline void __syncthreads() { ::tessera::emu::syncBlock(); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::tessera::emu::warpExchange(0, 0); }

template <class T>
T tesseraShfl(T v, int src) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a small value");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = ::tessera::emu::warpExchange(bits, src);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
inline int tesseraLane() { return static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) & 31; }
template <class T>
T __shfl_xor_sync(unsigned, T v, int laneMask, int = 32) {
  return tesseraShfl(v, tesseraLane() ^ laneMask);
}
template <class T>
T __shfl_sync(unsigned, T v, int src, int = 32) {
  return tesseraShfl(v, src & 31);
}
template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int = 32) {
  const int src = tesseraLane() + static_cast<int>(delta);
  return tesseraShfl(v, src < 32 ? src : tesseraLane());
}
template <class T>
T __ldg(const T* p) {
  return *p;
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
// One OS thread runs every emulated thread, so atomics are plain read-modify-writes.
template <class T>
T atomicAdd(T* p, T v) {
  T old = *p;
  *p = old + v;
  return old;
}
