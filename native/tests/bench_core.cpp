// Engine-core measurements (standalone, no Node):
//   bench_core gemm M N K [dweight]     GEMM GFLOP/s (C = A . B^T, the linear layer's shape; dweight: C += A^T . B
//                                       with A stored K x M, the weight gradient's)
//   bench_core rss N CHUNK              peak RSS of one end-to-end step on a small ViT (64 px, dim 192,
//                                       depth 4) for a slide of N patches
//   bench_core train MODEL B CHUNK [S]  end-to-end training images/s (forward + backward + AdamW) for one
//                                       slide of B patches, S steps (MODEL: vit_tiny | vit_small, 224 px)
//   bench_core infer MODEL B [S]        embedding images/s
//   bench_core slide MODEL N CHUNK [S]  end-to-end slide step (one slide of N patches, chunk CHUNK): slides/s,
//                                       peak device memory (CUDA) and peak host RSS
//   bench_core estimate MODEL N CHUNK  the engine's estimate of a training step's memory beyond the model
//   bench_core oom MODEL N LEAVE_MB     out of device memory for real: holds all but LEAVE_MB of the device's free
//                                       memory, asks for a step with chunk N (must fail with the chunk size that
//                                       fits, model unchanged), then chunk 0 (must pick that size and train)
// MODEL: vit_tiny | vit_small | vit_base (224 px, /16). Threads: TESSERA_THREADS (default: all cores).
// TESSERA_BENCH_BACKEND=cuda runs the model on the CUDA backend (a build with it: test/gpu/run.sh);
// TESSERA_BENCH_BF16=1 turns on bf16 encoder matrix products (fp32 master weights and accumulation).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../engine/gemm.h"
#include "../engine/model.h"
#include "../engine/train.h"
#if defined(TESSERA_HAVE_CUDA)
#include "../cuda/backend_cuda.h"
#endif

using namespace tessera;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

long peakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

long currentRssKb() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return rss * 4;
}

ViTConfig vitConfig(const std::string& name) {
  ViTConfig c;
  c.img_size = 224;
  c.patch_size = 16;
  if (name == "vit_tiny") {
    c.embed_dim = 192;
    c.depth = 12;
    c.num_heads = 3;
  } else if (name == "vit_small") {
    c.embed_dim = 384;
    c.depth = 12;
    c.num_heads = 6;
  } else if (name == "vit_base") {
    c.embed_dim = 768;
    c.depth = 12;
    c.num_heads = 12;
  } else if (name == "small64") {
    c.img_size = 64;
    c.embed_dim = 192;
    c.depth = 4;
    c.num_heads = 3;
  } else {
    std::fprintf(stderr, "unknown model %s\n", name.c_str());
    std::exit(2);
  }
  return c;
}

AggregatorConfig aggConfig(const ViTConfig& v) {
  AggregatorConfig a;
  a.input_dim = v.outputDim();
  a.hidden_dim = 128;
  a.tasks = {TaskConfig{"msi", TaskKind::Binary, 2, 1.0f}, TaskConfig{"subtype", TaskKind::Categorical, 3, 1.0f}};
  return a;
}

std::vector<uint8_t> randomPixels(int64_t n, int img) {
  std::vector<uint8_t> px(static_cast<size_t>(n * img * img * 3));
  uint32_t s = 12345;
  for (auto& v : px) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<uint8_t>(s >> 24);
  }
  return px;
}

// The backend and precision the benchmark asks for (TESSERA_BENCH_BACKEND, TESSERA_BENCH_BF16); exits if absent.
void placeModel(Model& m) {
  const char* b = std::getenv("TESSERA_BENCH_BACKEND");
  const char* bf16 = std::getenv("TESSERA_BENCH_BF16");
  m.bf16EncoderMatmuls = bf16 && std::strcmp(bf16, "1") == 0;
  if (!b || !*b || std::strcmp(b, "cpu") == 0) return;
#if defined(TESSERA_HAVE_CUDA)
  if (std::strcmp(b, "cuda") == 0) {
    const Backend* cu = cudaBackend();
    if (!cu) {
      std::fprintf(stderr, "bench_core: no CUDA backend: %s\n", cudaStatus().message.c_str());
      std::exit(2);
    }
    m.setBackend(*cu);
    return;
  }
#endif
  std::fprintf(stderr, "bench_core: backend %s is not in this build\n", b);
  std::exit(2);
}

const char* backendLabel(const Model& m) { return m.encoderBackend().name; }

int64_t deviceBytesInUse() {
#if defined(TESSERA_HAVE_CUDA)
  return cudaMemoryInUse();
#else
  return 0;
#endif
}

int64_t deviceBytesPeak(bool reset) {
#if defined(TESSERA_HAVE_CUDA)
  return cudaPeakMemoryInUse(reset);
#else
  (void)reset;
  return 0;
#endif
}

std::string jsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: see the comment at the top of bench_core.cpp\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "gemm" && argc >= 5) {
    const int64_t M = std::atoll(argv[2]), N = std::atoll(argv[3]), K = std::atoll(argv[4]);
    // "dweight": the weight gradient's layout, dW (M = out, N = in) += dout^T (column-major) . x (row-major).
    const bool dweight = argc > 5 && std::string(argv[5]) == "dweight";
    std::vector<float> A(M * K, 0.5f), B(N * K, 0.25f), C(M * N);
    const MatView a = dweight ? MatView{A.data(), 1, M} : MatView{A.data(), K, 1};
    const MatView b = dweight ? MatView{B.data(), N, 1} : MatView{B.data(), 1, K};
    gemm(M, N, K, a, b, C.data(), N, dweight);
    int reps = 0;
    const double t0 = now(), c0 = cpuSeconds();
    while (now() - t0 < 2.0 || reps < 3) {
      gemm(M, N, K, a, b, C.data(), N, dweight);
      reps++;
    }
    const double dt = (now() - t0) / reps, ct = (cpuSeconds() - c0) / reps;
    // gflops: wall clock; gflops_per_cpu_s: per second of CPU time used (robust on a shared machine).
    std::printf("{\"mode\":\"gemm\",\"M\":%lld,\"N\":%lld,\"K\":%lld,\"threads\":%d,\"kernel\":\"%s\",\"gflops\":%.2f,"
                "\"gflops_per_cpu_s\":%.2f}\n",
                (long long)M, (long long)N, (long long)K, numThreads(), gemmKernelName(), 2.0 * M * N * K / dt / 1e9,
                2.0 * M * N * K / ct / 1e9);
    return 0;
  }
  if (mode == "rss" && argc >= 4) {
    const int64_t N = std::atoll(argv[2]);
    const int chunk = std::atoi(argv[3]);
    const ViTConfig vc = vitConfig("small64");
    Model m(vc, aggConfig(vc));
    m.initRandom(1);
    std::vector<uint8_t> px = randomPixels(N, vc.img_size);
    m.grads();
    m.adamM();
    const long baseline = currentRssKb();  // model, grads, AdamW state and the input pixels are resident
    TrainOptions o;
    o.chunkSize = chunk;
    const double t0 = now();
    const StepResult r = trainStepEndToEnd(m, {SlidePatches{px.data(), N, {1, 2}}}, o);
    const double dt = now() - t0;
    const long peak = peakRssKb();
    const double estimateMb = estimateTrainStepBytes(m, chunk, N) / 1048576.0;
    std::printf("{\"mode\":\"rss\",\"N\":%lld,\"chunk\":%d,\"estimate_mb\":%.1f,\"peak_rss_mb\":%.1f,\"baseline_rss_mb\":%.1f,"
                "\"step_extra_mb\":%.1f,\"input_mb\":%.1f,\"embeddings_mb\":%.2f,\"seconds\":%.2f,\"loss\":%.4f}\n",
                (long long)N, chunk, estimateMb, peak / 1024.0, baseline / 1024.0, (peak - baseline) / 1024.0,
                px.size() / 1048576.0, N * vc.outputDim() * 4 / 1048576.0, dt, r.loss);
    return 0;
  }
  if (mode == "estimate" && argc >= 5) {
    const ViTConfig vc = vitConfig(argv[2]);
    Model m(vc, aggConfig(vc));
    const int64_t N = std::atoll(argv[3]);
    const int chunk = std::atoi(argv[4]);
    std::printf("{\"mode\":\"estimate\",\"model\":\"%s\",\"patches\":%lld,\"chunk\":%d,\"step_mb\":%.1f,"
                "\"model_mb\":%.1f}\n",
                argv[2], (long long)N, chunk, estimateTrainStepBytes(m, chunk, N) / 1048576.0,
                m.numParams() * 4.0 * 4 / 1048576.0);
    return 0;
  }
  if (mode == "oom" && argc >= 5) {
    const ViTConfig vc = vitConfig(argv[2]);
    const int64_t N = std::atoll(argv[3]);
    const int64_t leave = std::atoll(argv[4]) << 20;
    Model m(vc, aggConfig(vc));
    m.initRandom(1);
    placeModel(m);
    std::vector<uint8_t> px = randomPixels(N, vc.img_size);
    TrainOptions o;
    o.chunkSize = 8;
    trainStepEndToEnd(m, {SlidePatches{px.data(), std::min<int64_t>(N, 8), {1, 2}}}, o);  // state on the device
    const Backend& be = m.backend();
    int64_t freeBytes = 0, totalBytes = 0;
    void* blocker = nullptr;
    if (be.memory_info && be.memory_info(&freeBytes, &totalBytes) && freeBytes > leave) blocker = be.alloc(freeBytes - leave);
    const std::vector<SlidePatches> slide = {SlidePatches{px.data(), N, {1, 2}}};
    const int64_t stepBefore = m.step;
    std::string message, error;
    o.chunkSize = static_cast<int>(N);
    try {
      trainStepEndToEnd(m, slide, o);
    } catch (const BackendOutOfMemory& e) {
      message = e.what();
    } catch (const std::exception& e) {
      error = std::string("not an out-of-memory error: ") + e.what();
    }
    const bool unchanged = m.step == stepBefore && m.pendingMicroSteps == 0;
    const int64_t chosen = suggestChunkSize(m, N, true);
    bool trained = false;
    o.chunkSize = 0;
    try {
      trained = trainStepEndToEnd(m, slide, o).optimizerStepped;
    } catch (const std::exception& e) {
      error += std::string(error.empty() ? "" : "; ") + "chunk 0: " + e.what();
    }
    be.free(blocker);
    const bool ok = message.find("use chunk size") != std::string::npos && unchanged && trained && chosen > 0 &&
                    chosen < N && error.empty();
    std::printf("{\"mode\":\"oom\",\"model\":\"%s\",\"backend\":\"%s\",\"patches\":%lld,\"left_mb\":%lld,"
                "\"message\":%s,\"model_unchanged\":%s,\"auto_chunk\":%lld,\"auto_trained\":%s,\"error\":%s,"
                "\"ok\":%s}\n",
                argv[2], backendLabel(m), (long long)N, (long long)(leave >> 20), jsonString(message).c_str(),
                unchanged ? "true" : "false", (long long)chosen, trained ? "true" : "false", jsonString(error).c_str(),
                ok ? "true" : "false");
    return ok ? 0 : 1;
  }
  if (mode == "slide" && argc >= 5) {
    const ViTConfig vc = vitConfig(argv[2]);
    const int64_t N = std::atoll(argv[3]);
    const int chunk = std::atoi(argv[4]);
    const int steps = argc > 5 ? std::atoi(argv[5]) : 1;
    Model m(vc, aggConfig(vc));
    m.initRandom(1);
    placeModel(m);
    std::vector<uint8_t> px = randomPixels(N, vc.img_size);
    TrainOptions o;
    o.chunkSize = chunk;
    o.lrEncoder = 1e-6f;
    const std::vector<SlidePatches> slide = {SlidePatches{px.data(), N, {1, 2}}};
    // Warm-up on one chunk's worth: parameters, gradients and optimizer state on the device, kernels loaded.
    trainStepEndToEnd(m, {SlidePatches{px.data(), std::min<int64_t>(N, chunk), {1, 2}}}, o);
    const int64_t resident = deviceBytesInUse();  // parameters, gradients, optimizer state
    deviceBytesPeak(true);  // the high-water mark from here on
    const double t0 = now();
    double loss = 0.0;
    for (int s = 0; s < steps; s++) loss = trainStepEndToEnd(m, slide, o).loss;
    const double dt = (now() - t0) / steps;
    const int64_t peak = deviceBytesPeak(false);
    std::printf("{\"mode\":\"slide\",\"model\":\"%s\",\"backend\":\"%s\",\"patches\":%lld,\"chunk\":%d,"
                "\"slides_per_s\":%.4f,\"patches_per_s\":%.1f,\"peak_device_mb\":%.1f,\"resident_device_mb\":%.1f,"
                "\"estimate_mb\":%.1f,\"peak_rss_mb\":%.1f,\"input_mb\":%.1f,\"loss\":%.4f}\n",
                argv[2], backendLabel(m), (long long)N, chunk, 1.0 / dt, N / dt, peak / 1048576.0,
                resident / 1048576.0, estimateTrainStepBytes(m, chunk, N) / 1048576.0, peakRssKb() / 1024.0, px.size() / 1048576.0, loss);
    return 0;
  }
  if ((mode == "train" && argc >= 5) || (mode == "infer" && argc >= 4)) {
    const ViTConfig vc = vitConfig(argv[2]);
    const int64_t B = std::atoll(argv[3]);
    const int chunk = mode == "train" ? std::atoi(argv[4]) : 32;
    const int steps = argc > (mode == "train" ? 5 : 4) ? std::atoi(argv[mode == "train" ? 5 : 4]) : 2;
    Model m(vc, aggConfig(vc));
    m.initRandom(1);
    placeModel(m);
    std::vector<uint8_t> px = randomPixels(B, vc.img_size);
    std::vector<float> out(static_cast<size_t>(B * vc.outputDim()));
    TrainOptions o;
    o.chunkSize = chunk;
    auto once = [&] {
      if (mode == "train") trainStepEndToEnd(m, {SlidePatches{px.data(), B, {1, 0}}}, o);
      else embed(m, px.data(), B, out.data(), static_cast<int>(B));
    };
    once();  // warm-up
    const double t0 = now(), c0 = cpuSeconds();
    double best = 1e30;  // the fastest step: other processes on a shared machine only ever slow one down
    for (int s = 0; s < steps; s++) {
      const double ts = now();
      once();
      best = std::min(best, now() - ts);
    }
    const double dt = (now() - t0) / steps, cpu = (cpuSeconds() - c0) / steps;
    // FLOPs per image of the matmuls (2 per multiply-add), forward only.
    const double T = vc.numTokens(), D = vc.embed_dim, P = vc.numPatches();
    const double fwd = 2.0 * (P * 3 * 256 * D + vc.depth * (T * (4 * D * D + 2 * D * vc.mlpHidden()) + 2 * T * T * D));
    // Training runs forward + backward (2x forward) and recomputes every chunk but the last.
    const double chunks = static_cast<double>((B + chunk - 1) / chunk);
    const double passes = mode == "train" ? 3.0 + (chunks - 1.0) / chunks : 1.0;
    std::printf("{\"mode\":\"%s\",\"model\":\"%s\",\"backend\":\"%s\",\"images\":%lld,\"chunk\":%d,\"threads\":%d,\"kernel\":\"%s\","
                "\"images_per_s\":%.3f,\"gflops\":%.1f,\"best_gflops\":%.1f,\"cpu_s_per_image\":%.4f,\"gflops_per_cpu_s\":%.1f}\n",
                mode.c_str(), argv[2], backendLabel(m), (long long)B, chunk, numThreads(), gemmKernelName(), B / dt,
                B * fwd * passes / dt / 1e9, B * fwd * passes / best / 1e9, cpu / B, B * fwd * passes / cpu / 1e9);
    return 0;
  }
  std::fprintf(stderr, "bad arguments\n");
  return 2;
}
