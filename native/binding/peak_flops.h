// Measures this machine's fp32 FMA throughput (GFLOP/s) with independent AVX2 FMA chains on n threads;
// the benchmark reports the engine's achieved GFLOP/s against it.
#pragma once

namespace tessera_binding {
double measurePeakGflops(int threads, double seconds);
}
