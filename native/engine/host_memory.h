// Host memory for the engine's large arrays: activations, parameters, gradients, AdamW moments and the GEMM's packed
// operands. Allocations of 2 MiB or more are 2 MiB aligned and, on Linux, asked for transparent huge pages
// (madvise MADV_HUGEPAGE, which the common "madvise" setting of /sys/kernel/mm/transparent_hugepage/enabled needs).
// A training step walks these arrays in strided panels (a weight gradient reads an activation's columns a few values
// per row, one row per 4 KiB page): with 4 KiB pages most of those reads miss the first-level TLB.
#pragma once

#include <cstddef>
#include <memory>

namespace tessera {

constexpr size_t kHugePageBytes = size_t(2) << 20;

// Uninitialised, aligned to at least 256 bytes; nullptr when out of memory (bytes 0: a valid 256-byte block).
// Freed with freeHost.
void* allocHost(size_t bytes);
void freeHost(void* p);
// Whether the mapping that holds p carries the huge-page advice (the "hg" flag of /proc/self/smaps; tests). False
// where it cannot tell (not Linux).
bool hostHugePageAdvised(const void* p);

struct HostDeleter {
  void operator()(float* p) const { freeHost(p); }
};
using HostFloats = std::unique_ptr<float[], HostDeleter>;
// n floats (uninitialised); throws std::bad_alloc when out of memory.
HostFloats allocHostFloats(size_t n);

}  // namespace tessera
