// TESSERA_HD marks small math functions that both the CPU ops and the CUDA kernels (native/cuda) call, so the two
// backends compute the same numbers from one definition.
#pragma once

#if defined(__CUDACC__)
#define TESSERA_HD __host__ __device__ inline
#else
#define TESSERA_HD inline
#endif
