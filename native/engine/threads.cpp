// Thread pool behind parallelFor. Each job's task indices are split into one contiguous share per thread (the caller
// has the first): a thread runs its own share in order, then takes what is left of the others' shares. The layers
// number their tasks by rows (GEMM row blocks, parallelRange's row ranges, attention's images), so consecutive jobs
// give each thread the same rows, and the rows one job wrote are in that thread's own caches when the next reads
// them. With one shared counter the two threads' tasks interleaved: every job read half its rows from the other
// core's caches, or from another core complex's when the host placed the two vCPUs apart. Alternated per step on an
// AMD EPYC Zen 4 (2 vCPUs), ViT-Ti and ViT-S training and inference: best steps 0.955-0.989 of the shared counter's,
// and 0.85 in a stretch with the vCPUs apart (test/bench/RESULTS.md).
// Between jobs workers spin for up to 300 us, then sleep on a condition variable: the layers issue jobs back to back,
// and waking a sleeping thread costs 15-35 us here (200 us at the 99th percentile), which on a small model's many
// short jobs left a core idle for a few percent of the time. The caller waits for the workers' last tasks the same
// way. A training step runs ~440 jobs (ViT-Ti, 8 images); with a 50 us spin 45-105 of them ended in a sleep on 2
// threads, with 300 us 5-35 (the spin only burns a core that would otherwise wait).
#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

namespace {

thread_local bool insideTask = false;

// One thread's share of a job, tasks [next, end): its owner and any thread done with its own share take from the
// front (a counter past end means the share is done).
struct alignas(64) TaskShare {
  std::atomic<int64_t> next{0};
  int64_t end = 0;
};

// Polls pred() for up to kSpin; true when it held.
constexpr std::chrono::microseconds kSpin{300};
template <class Pred>
bool spinUntil(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + kSpin;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_ia32_pause();
#endif
  }
  return true;
}

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    std::lock_guard<std::mutex> runLock(runMutex_);  // never while a job runs
    n = std::max(1, n);
    if (n == size() && !workers_.empty()) return;
    stop();
    quit_.store(false);
    // A new worker starts at the current generation: from 0 it took the last finished job for a new one and
    // counted itself out of it, and again out of the next job, whose caller then waited for ever on -1.
    const uint64_t current = generation_.load();
    shares_ = std::vector<TaskShare>(static_cast<size_t>(n));
    for (int i = 0; i < n - 1; i++) workers_.emplace_back([this, current, i] { loop(current, i + 1); });
  }

  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    std::lock_guard<std::mutex> runLock(runMutex_);  // one job at a time (calls from several threads queue)
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      const int64_t P = static_cast<int64_t>(shares_.size());
      for (int64_t p = 0; p < P; p++) {
        TaskShare& share = shares_[static_cast<size_t>(p)];
        share.next.store(n / P * p + std::min(p, n % P));
        share.end = n / P * (p + 1) + std::min(p + 1, n % P);
      }
      active_.store(static_cast<int>(workers_.size()));
      error_ = nullptr;
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    drain(0);
    spinUntil([this] { return active_.load() == 0; });
    std::unique_lock<std::mutex> lk(m_);
    doneCv_.wait(lk, [this] { return active_.load() == 0; });
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // The next task for thread `self`: from its own share, else from the first other share with tasks left.
  bool take(int self, int64_t& i) {
    const size_t P = shares_.size();
    for (size_t d = 0; d < P; d++) {
      TaskShare& share = shares_[(static_cast<size_t>(self) + d) % P];
      if (share.next.load(std::memory_order_relaxed) >= share.end) continue;
      i = share.next.fetch_add(1);
      if (i < share.end) return true;
    }
    return false;
  }

  void drain(int self) {
    insideTask = true;
    int64_t i = 0;
    while (take(self, i)) {
      try {
        (*fn_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        for (TaskShare& share : shares_) share.next.store(share.end);  // drop the tasks not yet taken
      }
    }
    insideTask = false;
  }

  void loop(uint64_t seen, int self) {
    for (;;) {
      spinUntil([&] { return quit_.load() || generation_.load() != seen; });
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return quit_.load() || generation_.load() != seen; });
        if (quit_.load()) return;
        seen = generation_.load();
      }
      drain(self);
      if (active_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lk(m_);  // the caller checks active_ under the lock: no lost wake-up
        doneCv_.notify_all();
      }
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      quit_.store(true);
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex runMutex_;
  std::mutex m_;
  std::condition_variable cv_, doneCv_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  std::vector<TaskShare> shares_;  // one per thread; [0] is the caller's
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::exception_ptr error_;
};

int defaultThreads() {
  if (const char* env = std::getenv("TESSERA_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

Pool& pool() {
  static Pool p(defaultThreads());
  return p;
}

std::mutex configMutex;

}  // namespace

void parallelFor(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  if (n == 1 || insideTask || pool().size() == 1) {
    for (int64_t i = 0; i < n; i++) fn(i);
    return;
  }
  pool().run(n, fn);
}

int poolThreads() { return pool().size(); }

void parallelZero(float* p, int64_t n) {
  constexpr int64_t kBlock = int64_t(1) << 16;  // 256 KiB per task
  if (n <= 0) return;
  parallelFor((n + kBlock - 1) / kBlock, [&](int64_t b) {
    const int64_t i0 = b * kBlock, len = std::min(kBlock, n - i0);
    std::memset(p + i0, 0, sizeof(float) * static_cast<size_t>(len));
  });
}

void setPoolThreads(int n) {
  std::lock_guard<std::mutex> lk(configMutex);
  pool().resize(n);
}

}  // namespace tessera
