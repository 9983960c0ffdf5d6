#include "host_memory.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tessera {

void* allocHost(size_t bytes) {
  if (bytes < kHugePageBytes) return std::aligned_alloc(256, bytes ? (bytes + 255) / 256 * 256 : 256);
  const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  void* p = std::aligned_alloc(kHugePageBytes, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: where transparent huge pages are off (or "never") the pages stay 4 KiB and nothing else changes.
  if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return p;
}

void freeHost(void* p) { std::free(p); }

HostFloats allocHostFloats(size_t n) {
  void* p = allocHost(n * sizeof(float));
  if (!p) throw std::bad_alloc();
  return HostFloats(static_cast<float*>(p));
}

bool hostHugePageAdvised(const void* p) {
#if defined(__linux__)
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2) inside = at >= lo && at < hi;
    else if (inside && line.rfind("VmFlags:", 0) == 0) return (line + " ").find(" hg ") != std::string::npos;
  }
#else
  (void)p;
#endif
  return false;
}

}  // namespace tessera
