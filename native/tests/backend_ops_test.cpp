// Every op of every backend present against the CPU reference (ggml's test-backend-ops is the model), plus
// finite-difference checks of every op's backward on the CPU tables.
//
// A case names its tensors (inputs, outputs, gradients that accumulate) and runs one or more table functions on
// them. For each backend the harness draws fresh random inputs, copies them to the backend's memory, fills every
// output with NaN (so an element the op never writes fails the comparison), runs the case there and on the reference
// (the CPU fp32 table on the portable path, plain loops), and compares each output by relative L2 error against the
// op's tolerance. Gradients start from random values, so a backward that overwrites instead of accumulating fails.
//
// Backends: the CPU tables on every path this CPU has (fp32 and bf16), the guarded table (the CPU ops on memory host
// code cannot touch), and the CUDA tables when present (TESSERA_HAVE_CUDA: the real device, or the emulator in an
// emulated build), with and without cuBLASLt where it was loaded.
//
// Usage: backend_ops_test [--backend NAME]   (NAME: a backend's name as printed, or a prefix such as "cuda")
// Prints PASS/FAIL lines and a final "SUMMARY {json}"; exits 1 if any check fails.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../engine/backend.h"
#include "../engine/cpu_features.h"
#include "backend_guarded.h"
#if defined(TESSERA_HAVE_CUDA)
#include "../cuda/backend_cuda.h"
#endif

using namespace tessera;

namespace {

int passed = 0, failed = 0;

void check(bool ok, const std::string& name, const std::string& detail = "") {
  (ok ? passed : failed)++;
  std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : "  ", detail.c_str());
  std::fflush(stdout);
}

// Relative L2 error in double; NaN anywhere (an unwritten output) gives +inf.
double relL2(const double* a, const double* b, size_t n) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return std::numeric_limits<double>::infinity();
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den == 0.0 ? std::sqrt(num) : std::sqrt(num / den);
}

std::string fmtErr(double e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "rel_l2=%.2e", e);
  return buf;
}

// TESSERA_TEST_SEED draws other inputs (the GPU check uses a fresh seed each run); the default keeps CI reproducible.
std::mt19937 rng([] {
  const char* e = std::getenv("TESSERA_TEST_SEED");
  return e && *e ? static_cast<unsigned>(std::strtoul(e, nullptr, 10)) : 20240611u;
}());

// ---- cases ---------------------------------------------------------------------------------------------------

enum class Role { In, Out, Acc, Private };  // Private: backend-specific state, never compared
enum class Type { F32, F64, U8 };

struct TensorSpec {
  std::string name;
  Role role;
  Type type;
  std::function<int64_t(const Backend&)> size;
  float scale = 1.0f;  // inputs and accumulators: normal(0, scale); U8: uniform bytes
};

// Backend pointers of a case's tensors, in spec order.
struct Ptrs {
  std::vector<void*> p;
  float* f(size_t i) const { return static_cast<float*>(p[i]); }
  double* d(size_t i) const { return static_cast<double*>(p[i]); }
  const uint8_t* u8(size_t i) const { return static_cast<const uint8_t*>(p[i]); }
};

// Which tolerance class an op belongs to.
enum class Tol { Exact, Elementwise, Reduction, Matmul, Attention };

struct Case {
  std::string name;
  std::vector<TensorSpec> tensors;
  std::function<void(const Backend&, const Ptrs&)> run;
  Tol tol;
  // A bf16 table must really round this case's products (its result differs from fp32): every linear product, and
  // attention at head dim 64, which every ViT in use has (the CUDA bf16 table takes its fp32 kernels at others).
  bool bf16Required = false;
};

TensorSpec t(const std::string& name, Role role, int64_t n, float scale = 1.0f, Type type = Type::F32) {
  return TensorSpec{name, role, type, [n](const Backend&) { return n; }, scale};
}

size_t elemBytes(Type ty) { return ty == Type::F64 ? 8 : ty == Type::U8 ? 1 : 4; }

// Fresh values for one run: inputs and accumulators random, outputs NaN (U8 outputs do not occur).
struct HostTensor {
  std::vector<unsigned char> bytes;
};

std::vector<HostTensor> drawInputs(const Case& c, const Backend& be) {
  std::vector<HostTensor> h;
  for (const TensorSpec& s : c.tensors) {
    const int64_t n = s.size(be);
    HostTensor ht;
    ht.bytes.resize(static_cast<size_t>(n) * elemBytes(s.type));
    if (s.type == Type::U8) {
      for (auto& b : ht.bytes) b = static_cast<unsigned char>(rng() & 255);
    } else if (s.type == Type::F32) {
      float* f = reinterpret_cast<float*>(ht.bytes.data());
      std::normal_distribution<float> nd(0.0f, s.scale);
      for (int64_t i = 0; i < n; i++)
        f[i] = (s.role == Role::In || s.role == Role::Acc) ? nd(rng) : std::numeric_limits<float>::quiet_NaN();
    } else {
      double* d = reinterpret_cast<double*>(ht.bytes.data());
      for (int64_t i = 0; i < n; i++) d[i] = std::numeric_limits<double>::quiet_NaN();
    }
    h.push_back(std::move(ht));
  }
  return h;
}

// Runs the case on `be` from the given host values; returns every tensor's values afterwards as doubles.
std::vector<std::vector<double>> runOn(const Case& c, const Backend& be, const std::vector<HostTensor>& init) {
  std::vector<BackendBuffer> bufs;
  Ptrs ptrs;
  for (size_t i = 0; i < c.tensors.size(); i++) {
    bufs.emplace_back(be, init[i].bytes.size());
    if (!init[i].bytes.empty()) be.copy_to_device(bufs.back().data(), init[i].bytes.data(), init[i].bytes.size());
    ptrs.p.push_back(bufs.back().data());
  }
  c.run(be, ptrs);
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < c.tensors.size(); i++) {
    std::vector<unsigned char> raw(init[i].bytes.size());
    if (!raw.empty()) be.copy_to_host(raw.data(), bufs[i].data(), raw.size());
    std::vector<double> v;
    const TensorSpec& s = c.tensors[i];
    const size_t n = raw.size() / elemBytes(s.type);
    for (size_t k = 0; k < n; k++) {
      if (s.type == Type::F32) v.push_back(reinterpret_cast<const float*>(raw.data())[k]);
      else if (s.type == Type::F64) v.push_back(reinterpret_cast<const double*>(raw.data())[k]);
      else v.push_back(raw[k]);
    }
    out.push_back(std::move(v));
  }
  return out;
}

const float kMean[3] = {0.485f, 0.456f, 0.406f}, kStd[3] = {0.229f, 0.224f, 0.225f};

std::vector<Case> allCases() {
  std::vector<Case> cs;
  const Role In = Role::In, Out = Role::Out, Acc = Role::Acc, Private = Role::Private;
  // linear: sizes from one element to tile edges in every direction, bias or not
  struct Lin {
    int64_t M, K, N;
  };
  for (const Lin& s : {Lin{1, 1, 1}, Lin{37, 29, 13}, Lin{130, 96, 200}, Lin{394, 64, 192}, Lin{257, 384, 1152}}) {
    const std::string shape = std::to_string(s.M) + "x" + std::to_string(s.K) + "x" + std::to_string(s.N);
    for (int bias = 0; bias < 2; bias++)
      cs.push_back({"linear_forward " + shape + (bias ? " +bias" : ""),
                    {t("inp", In, s.M * s.K), t("weight", In, s.N * s.K, 0.2f), t("bias", In, s.N), t("out", Out, s.M * s.N)},
                    [s, bias](const Backend& be, const Ptrs& p) {
                      be.linear_forward(p.f(3), p.f(0), p.f(1), bias ? p.f(2) : nullptr, s.M, s.K, s.N);
                    },
                    Tol::Matmul});
    cs.push_back({"linear_backward " + shape,
                  {t("dout", In, s.M * s.N), t("inp", In, s.M * s.K), t("weight", In, s.N * s.K, 0.2f),
                   t("dinp", Acc, s.M * s.K), t("dweight", Acc, s.N * s.K), t("dbias", Acc, s.N)},
                  [s](const Backend& be, const Ptrs& p) {
                    be.linear_backward(p.f(3), p.f(4), p.f(5), p.f(0), p.f(1), p.f(2), s.M, s.K, s.N);
                  },
                  Tol::Matmul});
    // The optional written form: dinp starts as NaN here, so a backend that reads it fails.
    cs.push_back({"linear_backward_write (or zero + linear_backward) " + shape,
                  {t("dout", In, s.M * s.N), t("inp", In, s.M * s.K), t("weight", In, s.N * s.K, 0.2f),
                   t("dinp", Out, s.M * s.K), t("dweight", Acc, s.N * s.K), t("dbias", Acc, s.N)},
                  [s](const Backend& be, const Ptrs& p) {
                    if (be.linear_backward_write) {
                      be.linear_backward_write(p.f(3), p.f(4), p.f(5), p.f(0), p.f(1), p.f(2), s.M, s.K, s.N);
                    } else {
                      be.zero(p.f(3), sizeof(float) * s.M * s.K);
                      be.linear_backward(p.f(3), p.f(4), p.f(5), p.f(0), p.f(1), p.f(2), s.M, s.K, s.N);
                    }
                  },
                  Tol::Matmul});
  }
  // The optional fused ops (linear + GELU, and the backward of a linear layer after a GELU); a table without them
  // runs the two ops they replace, which must give the same numbers.
  for (const Lin& s : {Lin{37, 29, 13}, Lin{257, 384, 1152}}) {
    const std::string shape = std::to_string(s.M) + "x" + std::to_string(s.K) + "x" + std::to_string(s.N);
    cs.push_back({"linear_gelu_forward (or linear + gelu) " + shape,
                  {t("inp", In, s.M * s.K), t("weight", In, s.N * s.K, 0.2f), t("bias", In, s.N),
                   t("pre", Out, s.M * s.N), t("act", Out, s.M * s.N)},
                  [s](const Backend& be, const Ptrs& p) {
                    if (be.linear_gelu_forward) {
                      be.linear_gelu_forward(p.f(3), p.f(4), p.f(0), p.f(1), p.f(2), s.M, s.K, s.N);
                    } else {
                      be.linear_forward(p.f(3), p.f(0), p.f(1), p.f(2), s.M, s.K, s.N);
                      be.gelu_forward(p.f(4), p.f(3), s.M * s.N);
                    }
                  },
                  Tol::Matmul});
    // the layer maps act = gelu(pre) (M,N) to (M,K): dout (M,K), weight (K,N)
    cs.push_back({"gelu_linear_backward (or linear_backward + gelu_backward) " + shape,
                  {t("dout", In, s.M * s.K), t("pre", In, s.M * s.N, 2.0f), t("weight", In, s.K * s.N, 0.2f),
                   t("act", Private, s.M * s.N), t("scratch", Private, s.M * s.N), t("dpre", Out, s.M * s.N),
                   t("dweight", Acc, s.K * s.N), t("dbias", Acc, s.K)},
                  [s](const Backend& be, const Ptrs& p) {
                    be.gelu_forward(p.f(3), p.f(1), s.M * s.N);
                    if (be.gelu_linear_backward) {
                      be.gelu_linear_backward(p.f(5), p.f(6), p.f(7), p.f(0), p.f(1), p.f(3), p.f(2), s.M, s.N, s.K);
                    } else {
                      be.zero(p.f(4), sizeof(float) * s.M * s.N);
                      be.linear_backward(p.f(4), p.f(6), p.f(7), p.f(0), p.f(3), p.f(2), s.M, s.N, s.K);
                      be.zero(p.f(5), sizeof(float) * s.M * s.N);  // the fused op writes dpre, not adds to it
                      be.gelu_backward(p.f(5), p.f(4), p.f(1), s.M * s.N);
                    }
                  },
                  Tol::Matmul});
  }
  cs.push_back({"linear_backward 65x48x40, no dinp, no dbias",
                {t("dout", In, 65 * 40), t("inp", In, 65 * 48), t("weight", In, 40 * 48), t("dweight", Acc, 40 * 48)},
                [](const Backend& be, const Ptrs& p) {
                  be.linear_backward(nullptr, p.f(3), nullptr, p.f(0), p.f(1), p.f(2), 65, 48, 40);
                },
                Tol::Matmul});
  // strided rows: a column block of a wider output from every 5th row of a token matrix (the pruned last block)
  cs.push_back({"linear_forward_rows 33 rows of every 5th, column block",
                {t("inp", In, 33 * 5 * 40), t("weight", In, 24 * 40, 0.2f), t("bias", In, 24),
                 t("out", Acc, 33 * 72)},
                [](const Backend& be, const Ptrs& p) {
                  be.linear_forward_rows(p.f(3) + 24, 72, p.f(0), 5 * 40, p.f(1), p.f(2), 33, 40, 24);
                },
                Tol::Matmul});
  // layernorm, with and without saved statistics
  for (int64_t C : {24, 768})
    for (int64_t M : {37, 300}) {
      const std::string shape = std::to_string(M) + "x" + std::to_string(C);
      cs.push_back({"layernorm_forward+backward " + shape,
                    {t("inp", In, M * C, 2.0f), t("weight", In, C), t("bias", In, C), t("dout", In, M * C),
                     t("out", Out, M * C), t("mean", Out, M), t("rstd", Out, M), t("dinp", Acc, M * C),
                     t("dweight", Acc, C), t("dbias", Acc, C)},
                    [M, C](const Backend& be, const Ptrs& p) {
                      be.layernorm_forward(p.f(4), p.f(5), p.f(6), p.f(0), p.f(1), p.f(2), M, C, 1e-6f);
                      be.layernorm_backward(p.f(7), p.f(8), p.f(9), p.f(3), p.f(0), p.f(1), p.f(5), p.f(6), M, C);
                    },
                    Tol::Reduction});
      cs.push_back({"layernorm_forward (inference) " + shape,
                    {t("inp", In, M * C, 2.0f), t("weight", In, C), t("bias", In, C), t("out", Out, M * C)},
                    [M, C](const Backend& be, const Ptrs& p) {
                      be.layernorm_forward(p.f(3), nullptr, nullptr, p.f(0), p.f(1), p.f(2), M, C, 1e-6f);
                    },
                    Tol::Reduction});
    }
  // attention: head dims 6 (the fixtures') and 64 (the fused kernels'), every query or the first only
  struct Att {
    int64_t B, T, Tq, C, NH;
  };
  for (const Att& a : {Att{2, 5, 5, 24, 4}, Att{2, 5, 1, 24, 4}, Att{2, 197, 197, 384, 6}, Att{3, 50, 1, 128, 2},
                       Att{1, 70, 70, 128, 2}, Att{2, 33, 33, 64, 2}}) {
    const std::string shape = "B" + std::to_string(a.B) + " T" + std::to_string(a.T) + " Tq" + std::to_string(a.Tq) +
                              " C" + std::to_string(a.C) + " NH" + std::to_string(a.NH);
    const bool bf16Required = a.C / a.NH == 64;
    // qkv, dout, out, saved, dqkv: added into (attention_backward) or written (attention_backward_write).
    const auto tensors = [&](Role dqkv) {
      return std::vector<TensorSpec>{
          t("qkv", In, a.B * a.T * 3 * a.C), t("dout", In, a.B * a.Tq * a.C), t("out", Out, a.B * a.Tq * a.C),
          TensorSpec{"saved", Role::Private, Type::F32,
                     [a](const Backend& be) { return be.attention_saved_floats(a.B, a.T, a.Tq, a.C, a.NH); }},
          t("dqkv", dqkv, a.B * a.T * 3 * a.C)};
    };
    cs.push_back({"attention_forward+backward " + shape,
                  tensors(Acc),
                  [a](const Backend& be, const Ptrs& p) {
                    be.attention_forward(p.f(2), p.f(3), p.f(0), a.B, a.T, a.Tq, a.C, a.NH);
                    be.attention_backward(p.f(4), p.f(1), p.f(0), p.f(2), p.f(3), a.B, a.T, a.Tq, a.C, a.NH);
                  },
                  Tol::Attention, bf16Required});
    // The optional written form: dqkv starts as NaN here, so a backend that reads it, or leaves the q rows past Tq
    // unwritten, fails.
    cs.push_back({"attention_backward_write (or zero + attention_backward) " + shape,
                  tensors(Out),
                  [a](const Backend& be, const Ptrs& p) {
                    be.attention_forward(p.f(2), p.f(3), p.f(0), a.B, a.T, a.Tq, a.C, a.NH);
                    if (be.attention_backward_write) {
                      be.attention_backward_write(p.f(4), p.f(1), p.f(0), p.f(2), p.f(3), a.B, a.T, a.Tq, a.C, a.NH);
                    } else {
                      be.zero(p.f(4), sizeof(float) * a.B * a.T * 3 * a.C);
                      be.attention_backward(p.f(4), p.f(1), p.f(0), p.f(2), p.f(3), a.B, a.T, a.Tq, a.C, a.NH);
                    }
                  },
                  Tol::Attention, bf16Required});
    cs.push_back({"attention_forward (inference) " + shape,
                  {t("qkv", In, a.B * a.T * 3 * a.C), t("out", Out, a.B * a.Tq * a.C)},
                  [a](const Backend& be, const Ptrs& p) {
                    be.attention_forward(p.f(1), nullptr, p.f(0), a.B, a.T, a.Tq, a.C, a.NH);
                  },
                  Tol::Attention, bf16Required});
  }
  for (int64_t n : {1, 1000, 100003})
    cs.push_back({"gelu_forward+backward n" + std::to_string(n),
                  // n = 1 at a moderate scale: one element deep in the tail (|x| > 5.6, where the CPU's rational erf
                  // saturates) has a tiny value whose relative error means nothing
                  {t("inp", In, n, n == 1 ? 1.0f : 3.0f), t("dout", In, n), t("out", Out, n), t("dinp", Acc, n)},
                  [n](const Backend& be, const Ptrs& p) {
                    be.gelu_forward(p.f(2), p.f(0), n);
                    be.gelu_backward(p.f(3), p.f(1), p.f(0), n);
                  },
                  Tol::Elementwise});
  cs.push_back({"swiglu_forward+backward 37x50",
                {t("inp", In, 37 * 100, 2.0f), t("dout", In, 37 * 50), t("out", Out, 37 * 50), t("dinp", Acc, 37 * 100)},
                [](const Backend& be, const Ptrs& p) {
                  be.swiglu_forward(p.f(2), p.f(0), 37, 50);
                  be.swiglu_backward(p.f(3), p.f(1), p.f(0), 37, 50);
                },
                Tol::Elementwise});
  for (int gamma = 0; gamma < 2; gamma++) {
    const int64_t M = 130, C = 96;
    cs.push_back({std::string("residual_scale_forward+backward") + (gamma ? " LayerScale" : ""),
                  {t("residual", In, M * C), t("inp", In, M * C), t("gamma", In, C), t("dout", In, M * C),
                   t("out", Out, M * C), t("dinp", Acc, M * C), t("dgamma", Acc, C)},
                  [gamma, M, C](const Backend& be, const Ptrs& p) {
                    be.residual_scale_forward(p.f(4), p.f(0), p.f(1), gamma ? p.f(2) : nullptr, M, C);
                    be.residual_scale_backward(p.f(5), gamma ? p.f(6) : nullptr, p.f(3), p.f(1),
                                               gamma ? p.f(2) : nullptr, M, C);
                  },
                  Tol::Reduction});
  }
  cs.push_back({"residual_scale_forward in place (out = residual)",
                {t("x", Acc, 37 * 24), t("inp", In, 37 * 24), t("gamma", In, 24)},
                [](const Backend& be, const Ptrs& p) { be.residual_scale_forward(p.f(0), p.f(0), p.f(1), p.f(2), 37, 24); },
                Tol::Elementwise});
  struct Patch {
    int64_t B, H, p, C;
  };
  for (const Patch& s : {Patch{2, 32, 8, 24}, Patch{3, 48, 16, 64}}) {
    const int64_t P = (s.H / s.p) * (s.H / s.p), K = 3 * s.p * s.p, BP = s.B * P;
    cs.push_back({"patch_embed_forward+backward B" + std::to_string(s.B) + " " + std::to_string(s.H) + "px p" +
                      std::to_string(s.p) + " C" + std::to_string(s.C),
                  {t("pixels", In, s.B * s.H * s.H * 3, 1.0f, Type::U8), t("weight", In, s.C * K, 0.1f),
                   t("bias", In, s.C), t("dout", In, BP * s.C), t("out", Out, BP * s.C), t("cols", Out, BP * K),
                   t("dweight", Acc, s.C * K), t("dbias", Acc, s.C)},
                  [s, BP, K](const Backend& be, const Ptrs& p) {
                    be.patch_embed_forward(p.f(4), p.f(5), p.u8(0), p.f(1), p.f(2), s.B, s.H, s.H, s.p, s.C, kMean, kStd);
                    be.patch_embed_backward(p.f(6), p.f(7), p.f(3), p.f(5), BP, K, s.C);
                  },
                  Tol::Matmul});
  }
  struct Tok {
    bool cls;
    int64_t R, posFirst;
  };
  for (const Tok& k : {Tok{true, 0, 0}, Tok{true, 2, 3}, Tok{true, 1, 0}, Tok{false, 0, 0}}) {
    const int64_t B = 3, P = 16, C = 24, nc = k.cls ? 1 : 0, T = nc + k.R + P;
    cs.push_back({"tokens_forward+backward" + std::string(k.cls ? " class" : " no class") + " R" + std::to_string(k.R) +
                      " posFirst " + std::to_string(k.posFirst),
                  {t("patches", In, B * P * C), t("cls", In, C), t("reg", In, std::max<int64_t>(k.R, 1) * C),
                   t("pos", In, (T - k.posFirst) * C), t("dx", In, B * T * C), t("x", Out, B * T * C),
                   t("dpatches", Acc, B * P * C), t("dcls", Acc, C), t("dreg", Acc, std::max<int64_t>(k.R, 1) * C),
                   t("dpos", Acc, (T - k.posFirst) * C)},
                  [k, B, P, C](const Backend& be, const Ptrs& p) {
                    be.tokens_forward(p.f(5), p.f(0), k.cls ? p.f(1) : nullptr, k.R ? p.f(2) : nullptr, p.f(3), B, P,
                                      k.R, C, k.posFirst);
                    be.tokens_backward(p.f(6), k.cls ? p.f(7) : nullptr, k.R ? p.f(8) : nullptr, p.f(9), p.f(4), B, P,
                                       k.R, C, k.posFirst, k.cls);
                  },
                  Tol::Elementwise});
  }
  struct Pool {
    int64_t rows;
    bool token, avg;
  };
  for (const Pool& k : {Pool{17, true, false}, Pool{17, false, true}, Pool{19, true, true}, Pool{1, true, false}}) {
    const int64_t B = 3, C = 40, Cout = (k.token ? C : 0) + (k.avg ? C : 0), first = k.rows > 1 ? k.rows - 16 : 0;
    cs.push_back({"pool_forward+backward rows " + std::to_string(k.rows) + (k.token ? " token" : "") +
                      (k.avg ? " avg" : ""),
                  {t("x", In, B * k.rows * C), t("dout", In, B * Cout), t("out", Out, B * Cout),
                   t("dx", Acc, B * k.rows * C)},
                  [k, B, C, first](const Backend& be, const Ptrs& p) {
                    be.pool_forward(p.f(2), p.f(0), B, k.rows, C, first, k.token, k.avg);
                    be.pool_backward(p.f(3), p.f(1), B, k.rows, C, first, k.token, k.avg);
                  },
                  Tol::Elementwise});
  }
  for (float prob : {0.0f, 0.25f}) {
    const int64_t n = 1000;
    cs.push_back({"dropout_forward+backward p " + std::to_string(prob).substr(0, 4),
                  {t("inp", In, n), t("dout", In, n), t("out", Out, n), t("mask", Out, n), t("dinp", Acc, n)},
                  [prob, n](const Backend& be, const Ptrs& p) {
                    be.dropout_forward(p.f(2), p.f(3), p.f(0), n, prob, 0x1234abcdULL);
                    be.dropout_backward(p.f(4), p.f(1), p.f(3), n);
                  },
                  Tol::Exact});
  }
  struct Mil {
    int64_t N, D, Dh;
  };
  for (const Mil& m : {Mil{1, 24, 8}, Mil{300, 64, 32}, Mil{2100, 384, 128}}) {
    const int64_t N = m.N, D = m.D, Dh = m.Dh;
    cs.push_back({"mil_attention_forward+backward N" + std::to_string(N) + " D" + std::to_string(D) + " Dh" +
                      std::to_string(Dh),
                  {t("h", In, N * D), t("wa", In, Dh * D, 0.1f), t("ba", In, Dh), t("wb", In, Dh * D, 0.1f),
                   t("bb", In, Dh), t("wc", In, Dh), t("dz", In, D), t("z", Out, D), t("attn", Out, N),
                   t("a", Out, N * Dh), t("g", Out, N * Dh), t("dh", Acc, N * D), t("dwa", Acc, Dh * D),
                   t("dba", Acc, Dh), t("dwb", Acc, Dh * D), t("dbb", Acc, Dh), t("dwc", Acc, Dh),
                   TensorSpec{"scratch", Role::Private, Type::F32, [=](const Backend&) { return N * (2 * Dh + 1); }}},
                  [N, D, Dh](const Backend& be, const Ptrs& p) {
                    be.mil_attention_forward(p.f(7), p.f(8), p.f(9), p.f(10), p.f(0), p.f(1), p.f(2), p.f(3), p.f(4),
                                             p.f(5), nullptr, N, D, Dh);
                    be.mil_attention_backward(p.f(11), p.f(12), p.f(13), p.f(14), p.f(15), p.f(16), nullptr, p.f(6),
                                              p.f(8), p.f(9), p.f(10), p.f(0), p.f(1), p.f(3), p.f(5), p.f(17), N, D,
                                              Dh);
                  },
                  Tol::Reduction});
  }
  struct Loss {
    bool binary;
    int64_t C;
    int label;
  };
  for (const Loss& l : {Loss{true, 1, 0}, Loss{true, 1, 1}, Loss{true, 1, -1}, Loss{false, 3, 2}, Loss{false, 4, -1}})
    cs.push_back({std::string("task_loss ") + (l.binary ? "BCE" : "cross-entropy") + " label " + std::to_string(l.label),
                  {t("logits", In, l.C, 2.0f), t("dlogits", Acc, l.C), t("loss", Out, 1, 1.0f, Type::F64)},
                  [l](const Backend& be, const Ptrs& p) {
                    be.task_loss(p.d(2), p.f(1), p.f(0), l.C, l.binary, l.label, 0.5f);
                  },
                  Tol::Elementwise});
  for (int64_t n : {1, 200003})
    cs.push_back({"sum_squares n" + std::to_string(n),
                  {t("x", In, n), t("out", Out, 1, 1.0f, Type::F64)},
                  [n](const Backend& be, const Ptrs& p) { be.sum_squares(p.d(1), p.f(0), n); },
                  Tol::Reduction});
  {
    const int64_t n = 70001;
    const ParamSegment segs[3] = {{0, 1000, 1e-3f, 0.05f}, {1000, 1003, 1e-3f, 0.0f}, {1003, n, 5e-3f, 0.05f}};
    cs.push_back({"adamw_update 3 segments, clipped gradients, step 3",
                  {t("g", In, n), t("p", Acc, n), t("m", Acc, n, 0.1f), t("v", Acc, n, 0.1f)},
                  [segs](const Backend& be, const Ptrs& p) {
                    be.adamw_update(p.f(1), p.f(0), p.f(2), p.f(3), segs, 3, 0.7f, 0.9f, 0.999f, 1e-8f, 3);
                  },
                  Tol::Elementwise});
    cs.push_back({"adamw_update_zero_grads (or adamw_update + zero) 3 segments",
                  {t("g", Acc, n), t("p", Acc, n), t("m", Acc, n, 0.1f), t("v", Acc, n, 0.1f)},
                  [segs](const Backend& be, const Ptrs& p) {
                    if (be.adamw_update_zero_grads) {
                      be.adamw_update_zero_grads(p.f(1), p.f(0), p.f(2), p.f(3), segs, 3, 0.7f, 0.9f, 0.999f, 1e-8f, 3);
                    } else {
                      be.adamw_update(p.f(1), p.f(0), p.f(2), p.f(3), segs, 3, 0.7f, 0.9f, 0.999f, 1e-8f, 3);
                      be.zero(p.f(0), sizeof(float) * n);
                    }
                  },
                  Tol::Elementwise});
  }
  // memory functions: copy within the backend, strided row copy, zero, staging through both slots
  cs.push_back({"copy, copy_rows, zero, prefetch",
                {t("src", In, 40 * 30), t("copy", Out, 40 * 30), t("rows", Acc, 20 * 50), t("zeroed", Acc, 333),
                 t("staged", Out, 64)},
                [](const Backend& be, const Ptrs& p) {
                  be.copy(p.f(1), p.f(0), sizeof(float) * 40 * 30);
                  be.copy_rows(p.f(2) + 3, 50, p.f(0) + 7, 60, 20, 25);  // every other source row, 25 columns
                  be.zero(p.f(3), sizeof(float) * 333);
                  std::vector<float> host(64);
                  for (int i = 0; i < 64; i++) host[i] = static_cast<float>(i) * 0.5f;
                  be.prefetch(p.f(4), host.data(), sizeof(float) * 32, 0);
                  be.prefetch(p.f(4) + 32, host.data() + 32, sizeof(float) * 32, 1);
                  std::fill(host.begin(), host.end(), -1.0f);  // the source may be reused when prefetch returns
                  be.prefetch_wait(0);
                  be.prefetch_wait(1);
                  be.prefetch_release(0);
                  be.prefetch_release(1);
                  be.synchronize();
                },
                Tol::Exact});
  return cs;
}

// ---- backends ------------------------------------------------------------------------------------------------

struct Target {
  std::string name;
  const Backend* be;
  CpuPath path;      // the CPU path while it runs
  bool bf16;         // its matrix products are bf16
  std::function<void()> select;  // switches a backend-wide option (cuBLASLt on/off) before it runs
};

double tolerance(Tol tol, bool bf16) {
  switch (tol) {
    case Tol::Exact: return 0.0;
    case Tol::Elementwise: return 1e-6;
    case Tol::Reduction: return 1e-5;
    case Tol::Matmul: return bf16 ? 1e-2 : 2e-5;
    case Tol::Attention: return bf16 ? 1e-2 : 2e-5;
  }
  return 0.0;
}

void runTarget(const Target& tg, const std::vector<Case>& cases) {
  const Backend& ref = cpuBackend();
  for (const Case& c : cases) {
    // A single product's bf16 error relative to a result that may nearly cancel its bias means nothing.
    if (tg.bf16 && c.name.find(" 1x1x1") != std::string::npos) continue;
    if (tg.select) tg.select();
    // Inputs drawn for the backend under test (sizes of private tensors differ), shared with the reference.
    std::vector<HostTensor> init = drawInputs(c, *tg.be);
    std::vector<HostTensor> refInit = init;
    for (size_t i = 0; i < c.tensors.size(); i++)
      if (c.tensors[i].role == Role::Private) refInit[i].bytes.resize(c.tensors[i].size(ref) * elemBytes(c.tensors[i].type));
    // adamw: second moments must be non-negative
    if (c.name.rfind("adamw_update", 0) == 0) {
      for (auto* h : {&init[3], &refInit[3]}) {
        float* v = reinterpret_cast<float*>(h->bytes.data());
        for (size_t i = 0; i < h->bytes.size() / 4; i++) v[i] = std::fabs(v[i]);
      }
    }
    setCpuPath(CpuPath::Portable);
    std::vector<std::vector<double>> want, got;
    std::string error;
    try {
      want = runOn(c, ref, refInit);
      setCpuPath(tg.path);
      got = runOn(c, *tg.be, init);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      check(false, tg.name + ": " + c.name, "threw: " + error);
      continue;
    }
    double worst = 0.0;
    std::string worstName;
    for (size_t i = 0; i < c.tensors.size(); i++) {
      const TensorSpec& s = c.tensors[i];
      if (s.role == Role::In || s.role == Role::Private) continue;
      const double e = relL2(got[i].data(), want[i].data(), got[i].size());
      if (e > worst || worstName.empty()) {
        worst = e;
        worstName = s.name;
      }
    }
    const double tol = tolerance(c.tol, tg.bf16);
    // bf16 matrix products must differ from fp32 ones somewhere (bf16 really ran), unless the product is tiny.
    const bool bf16Ran = !tg.bf16 || (c.tol != Tol::Matmul && !c.bf16Required) || worst > 1e-7;
    check(worst <= (tol == 0.0 ? 1e-12 : tol) && bf16Ran, tg.name + ": " + c.name,
          fmtErr(worst) + " (" + worstName + ", tolerance " + fmtErr(tol).substr(7) + ")" +
              (bf16Ran ? "" : " identical to fp32: bf16 did not run"));
  }
  setCpuPath(widestCpuPath());
}

std::vector<Target> presentTargets() {
  std::vector<Target> ts;
  for (int p = static_cast<int>(widestCpuPath()); p >= 0; p--) {
    const CpuPath path = static_cast<CpuPath>(p);
    ts.push_back({std::string("cpu/") + cpuPathName(path), &cpuBackend(), path, false, nullptr});
    ts.push_back({std::string("cpu-bf16/") + cpuPathName(path), &cpuBf16Backend(), path, true, nullptr});
  }
  ts.push_back({"guarded", &test::guardedBackend(), widestCpuPath(), false, nullptr});
  ts.push_back({"guarded-bf16", &test::guardedBf16Backend(), widestCpuPath(), true, nullptr});
#if defined(TESSERA_HAVE_CUDA)
  if (const Backend* cu = cudaBackend()) {
    const bool lt = cudaStatus().cublasLt;
    for (int useLt = lt ? 1 : 0; useLt >= 0; useLt--) {
      const std::string suffix = lt ? (useLt ? " (cuBLASLt)" : " (own kernels)") : "";
      auto sel = [useLt] { cudaUseCublasLt(useLt != 0); };
      ts.push_back({std::string(cu->name) + suffix, cu, widestCpuPath(), false, sel});
      ts.push_back({std::string(cu->bf16->name) + suffix, cu->bf16, widestCpuPath(), true, sel});
    }
  } else {
    std::printf("NOTE cuda backend not present: %s\n", cudaStatus().message.c_str());
  }
#endif
  return ts;
}

}  // namespace

// ---- finite differences on the CPU tables ----------------------------------------------------------------------

namespace {
#include "fd_checks.inc"
}  // namespace

int main(int argc, char** argv) {
  std::string only;
  for (int i = 1; i + 1 < argc; i++)
    if (std::strcmp(argv[i], "--backend") == 0) only = argv[i + 1];
  std::vector<std::string> names;
  try {
    const std::vector<Case> cases = allCases();
    for (const Target& tg : presentTargets()) {
      if (!only.empty() && tg.name.rfind(only, 0) != 0) continue;
      names.push_back(tg.name);
      runTarget(tg, cases);
    }
    if (only.empty() || only == "cpu")
      for (int p = static_cast<int>(widestCpuPath()); p >= 0; p--) {
        setCpuPath(static_cast<CpuPath>(p));
        runFiniteDifferences(std::string("cpu/") + cpuPathName(static_cast<CpuPath>(p)));
      }
    setCpuPath(widestCpuPath());
  } catch (const std::exception& e) {
    check(false, "driver", e.what());
  }
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "\"" : ", \"") + n + "\"";
  const char* seed = std::getenv("TESSERA_TEST_SEED");
  std::printf("SUMMARY {\"passed\": %d, \"failed\": %d, \"backends\": [%s], \"seed\": \"%s\"}\n", passed, failed,
              list.c_str(), seed && *seed ? seed : "20240611");
  return failed ? 1 : 0;
}
