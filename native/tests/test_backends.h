// The backends a test driver can run the engine on, by name (TESSERA_TEST_BACKEND, --backend):
//   cpu            the CPU tables (the path set by TESSERA_CPU_PATH)
//   guarded        the CPU ops on memory host code cannot touch outside the table (backend_guarded.h)
//   cuda           the CUDA backend, when the driver is built with it (TESSERA_HAVE_CUDA) and a device is present;
//                  in a build against the CUDA emulator (TESSERA_CUDA_EMULATE) the same code on the CPU
#pragma once

#include <string>
#include <vector>

#include "../engine/backend.h"

namespace tessera {
namespace test {

// Null with a reason in *whyNot when the named backend is not present here.
const Backend* findTestBackend(const std::string& name, std::string* whyNot);
// The names findTestBackend accepts in this build, present or not.
std::vector<std::string> testBackendNames();

}  // namespace test
}  // namespace tessera
