// Test backend registry (test_backends.h).
#include "test_backends.h"

#include "backend_guarded.h"
#if defined(TESSERA_HAVE_CUDA)
#include "../cuda/backend_cuda.h"
#endif

namespace tessera {
namespace test {

const Backend* findTestBackend(const std::string& name, std::string* whyNot) {
  if (name.empty() || name == "cpu") return &cpuBackend();
  if (name == "guarded") return &guardedBackend();
#if defined(TESSERA_HAVE_CUDA)
  if (name == "cuda") {
    const Backend* b = cudaBackend();
    if (!b && whyNot) *whyNot = cudaStatus().message;
    return b;
  }
#endif
  if (whyNot) *whyNot = "no backend named \"" + name + "\" in this build";
  return nullptr;
}

std::vector<std::string> testBackendNames() {
  std::vector<std::string> names = {"cpu", "guarded"};
#if defined(TESSERA_HAVE_CUDA)
  names.push_back("cuda");
#endif
  return names;
}

}  // namespace test
}  // namespace tessera
