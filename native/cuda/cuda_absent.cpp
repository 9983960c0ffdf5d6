// The CUDA backend's entry points in an addon built without it (nvcc was not found at install, or TESSERA_CUDA=0):
// the CPU backend runs, and cudaStatus() says why there is no GPU backend.
#include "backend_cuda.h"

namespace tessera {

CudaStatus cudaStatus() {
  CudaStatus s;
  s.message = "This build has no CUDA backend (nvcc was not found when the engine was built, or TESSERA_CUDA=0 was set).";
  return s;
}

const Backend* cudaBackend() { return nullptr; }

bool cudaSelectDevice(int, std::string* error) {
  if (error) *error = "This build has no CUDA backend.";
  return false;
}

int64_t cudaMemoryInUse() { return 0; }
int64_t cudaPeakMemoryInUse(bool) { return 0; }

void cudaUseCublasLt(bool) {}

}  // namespace tessera
