// AdamW as one kernel over every parameter run (ParamSegment: a learning rate and a weight decay each), with the
// global-norm clipping scale folded into the gradient read, in torch.optim.AdamW's operation order (the CPU's,
// engine/adamw.cpp). Each thread finds its element's run by binary search in a table staged in shared memory.
#include <cmath>
#include <vector>

#include "cuda_internal.h"
#include "ops.h"

namespace tessera {
namespace cuda {

namespace {

struct AdamSegment {
  int64_t begin, end;
  float decay, stepSize;
};

struct AdamShared {
  float beta1, beta2, oneMinusB1, oneMinusB2, bc2Sqrt, eps, gradScale;
};

constexpr int kMaxSharedSegments = 2048;

__global__ void adamwKernel(float* p, const float* g, float* m, float* v, const AdamSegment* segs, int nsegs,
                            AdamShared s) {
  TESSERA_DYNAMIC_SHARED(AdamSegment, table);
  for (int k = threadIdx.x; k < nsegs; k += blockDim.x) table[k] = segs[k];
  __syncthreads();
  const int64_t first = table[0].begin, last = table[nsegs - 1].end;
  for (int64_t i = first + static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < last;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int lo = 0, hi = nsegs - 1;  // the first segment whose end is past i
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (table[mid].end <= i) lo = mid + 1;
      else hi = mid;
    }
    const AdamSegment& seg = table[lo];
    if (i < seg.begin) continue;  // a gap between runs: not trained
    const float gi = g[i] * s.gradScale;
    float pi = p[i] * seg.decay;
    const float mi = m[i] * s.beta1 + s.oneMinusB1 * gi;
    const float vi = v[i] * s.beta2 + s.oneMinusB2 * gi * gi;
    const float denom = sqrtf(vi) / s.bc2Sqrt + s.eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - seg.stepSize * (mi / denom);
  }
}

}  // namespace

void adamw_update(float* p, const float* g, float* m, float* v, const ParamSegment* segs, int nsegs, float gradScale,
                  float beta1, float beta2, float eps, int64_t t) {
  if (nsegs <= 0) return;
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(t));
  const AdamShared shared{beta1, beta2, 1.0f - beta1, 1.0f - beta2, static_cast<float>(std::sqrt(bc2)), eps, gradScale};
  for (int first = 0; first < nsegs; first += kMaxSharedSegments) {  // one launch unless the table is huge
    const int n = nsegs - first < kMaxSharedSegments ? nsegs - first : kMaxSharedSegments;
    std::vector<AdamSegment> table(static_cast<size_t>(n));
    for (int k = 0; k < n; k++) {
      const ParamSegment& seg = segs[first + k];
      table[static_cast<size_t>(k)] = AdamSegment{seg.begin, seg.end,
                                                  static_cast<float>(1.0 - static_cast<double>(seg.lr) * seg.weightDecay),
                                                  static_cast<float>(seg.lr / bc1)};
    }
    Scratch onDevice(sizeof(AdamSegment) * table.size());
    check(cudaMemcpyAsync(onDevice.data(), table.data(), sizeof(AdamSegment) * table.size(), cudaMemcpyHostToDevice,
                          stream()),
          "adamw_update");
    const int64_t span = table.back().end - table.front().begin;
    check(launchKernel(adamwKernel, dim3(gridFor(span, 256)), dim3(256), sizeof(AdamSegment) * table.size(), stream(), p,
                       g, m, v, static_cast<const AdamSegment*>(onDevice.data()), n, shared),
          "adamw_update");
  }
}

}  // namespace cuda
}  // namespace tessera
