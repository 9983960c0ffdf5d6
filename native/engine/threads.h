// A tiny persistent thread pool. parallelFor hands out task indices, each thread first the tasks of its own contiguous
// share (number tasks by rows, and a thread keeps its rows from one job to the next); every task writes its own
// disjoint output and sums in a fixed order, so results never depend on the thread count or on scheduling.
// Calls from inside a task run serially (no nested parallelism).
#pragma once

#include <cstdint>
#include <functional>

namespace tessera {

// Runs fn(i) for i in [0, n). Blocks until all are done. Exceptions from fn are rethrown (the first one).
void parallelFor(int64_t n, const std::function<void(int64_t)>& fn);
// Number of threads parallelFor uses (including the caller).
int poolThreads();
void setPoolThreads(int n);
// p[0, n) = 0, split over the pool when it is large (zeroing gradient buffers is memory-bound: one core alone does
// not reach the memory bandwidth, and the other would wait).
void parallelZero(float* p, int64_t n);

}  // namespace tessera
