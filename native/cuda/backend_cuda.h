// The CUDA backend (native/cuda): the engine's Backend tables on an NVIDIA GPU, chosen at run time. Built into the
// addon when nvcc was found at install (TESSERA_HAVE_CUDA); the CUDA runtime is linked statically and loads the
// driver lazily, so the addon loads and the CPU backend runs on machines with no GPU or no driver, and cudaBackend()
// returns null with the reason in cudaStatus().message. cuBLASLt is loaded at run time when present.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../engine/backend.h"

namespace tessera {

struct CudaStatus {
  bool compiled = false;   // the addon was built with the CUDA backend
  bool available = false;  // a device is usable: cudaBackend() is not null
  std::string message;     // one line: the device in use, or why there is none
  std::string archs;       // GPU architectures compiled in, e.g. "sm_80 sm_86 sm_89 sm_90"
  int device = -1;
  int deviceCount = 0;
  std::string deviceName;
  int computeMajor = 0, computeMinor = 0;
  int multiprocessors = 0;
  int64_t totalBytes = 0, freeBytes = 0;
  int driverVersion = 0, runtimeVersion = 0;  // e.g. 13000 = 13.0; driver 0: no driver found
  bool cublasLt = false;   // cuBLASLt loaded (matrix products go through it unless switched off)
  std::string cublasLtInfo;  // its file and version, or why it was not loaded
};

// Probes once (the device, driver, cuBLASLt); the free memory is read afresh on every call.
CudaStatus cudaStatus();

// The fp32 table (its bf16 twin is ->bf16) on the selected device; null when there is none.
const Backend* cudaBackend();

// Chooses the device by index before first use (default: TESSERA_CUDA_DEVICE, else 0). False with *error set when
// the index is out of range or the backend is already in use on another device.
bool cudaSelectDevice(int index, std::string* error);

// Device memory in use by the backend's allocations now and at most since the last reset (the memory pool's figures;
// 0 where there is no device). For the GPU benchmark's peak-memory rows.
int64_t cudaMemoryInUse();
int64_t cudaPeakMemoryInUse(bool reset);

// Matrix products through cuBLASLt (when loaded) or the backend's own kernels (tests compare the two).
void cudaUseCublasLt(bool on);

}  // namespace tessera
