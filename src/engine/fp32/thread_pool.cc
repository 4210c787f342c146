#include "engine/fp32/thread_pool.h"

#include <algorithm>

namespace tinyptq::fp32_engine {

namespace {

constexpr int kSpins = 1 << 14;  // ~100 µs of polling before sleeping
constexpr int kItemBits = 40;
constexpr uint64_t kItemMask = (uint64_t(1) << kItemBits) - 1;
constexpr uint32_t kGenerationMask = (1u << 24) - 1;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

template <typename T>
T ThreadPool::wait_change(const std::atomic<T>& a, T old) {
  for (int i = 0; i < kSpins; ++i) {
    const T v = a.load(std::memory_order_acquire);
    if (v != old) return v;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(sleep_mu_);
  sleep_cv_.wait(lock, [&] { return a.load(std::memory_order_acquire) != old; });
  return a.load(std::memory_order_acquire);
}

void ThreadPool::wake_all() {
  { std::lock_guard<std::mutex> lock(sleep_mu_); }  // a sleeper has either seen the change or is waiting
  sleep_cv_.notify_all();
}

ThreadPool::ThreadPool(int threads) {
  for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { loop(w); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  wake_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::loop(int worker) {
  uint32_t seen = 0;  // generation_'s initial value: a change made before this thread started is not missed
  for (;;) {
    seen = wait_change(generation_, seen);
    if (stop_.load(std::memory_order_acquire)) return;
    work(worker, seen);
  }
}

void ThreadPool::work(int worker, uint32_t generation) {
  const uint64_t tag = uint64_t(generation & kGenerationMask) << kItemBits;
  for (;;) {
    uint64_t v = next_.load(std::memory_order_acquire);
    if ((v & ~kItemMask) != tag) return;  // another job is current
    const Job& job = jobs_[generation & 1];
    const ItemFn* fn = job.fn.load(std::memory_order_relaxed);
    const int64_t items = job.items.load(std::memory_order_relaxed);
    const int64_t grain = job.grain.load(std::memory_order_relaxed);
    const int64_t begin = int64_t(v & kItemMask);
    if (begin >= items) return;
    // Claiming succeeds only while this job is current, so fn/items/grain read above belong to it.
    if (!next_.compare_exchange_weak(v, v + uint64_t(grain), std::memory_order_acq_rel)) continue;
    const int64_t end = std::min(items, begin + grain);
    try {
      (*fn)(worker, begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
    if (done_.fetch_add(end - begin, std::memory_order_acq_rel) + (end - begin) == items) wake_all();
  }
}

void ThreadPool::parallel_for(int64_t items, int64_t grain, const ItemFn& fn) {
  if (items <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (workers_.empty() || items <= grain) {
    fn(0, 0, items);
    return;
  }
  error_ = nullptr;
  const uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  Job& job = jobs_[generation & 1];
  job.fn.store(&fn, std::memory_order_relaxed);
  job.items.store(items, std::memory_order_relaxed);
  job.grain.store(grain, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  next_.store(uint64_t(generation & kGenerationMask) << kItemBits, std::memory_order_release);
  generation_.store(generation, std::memory_order_release);
  wake_all();
  work(0, generation);
  for (int64_t d = done_.load(std::memory_order_acquire); d != items;) d = wait_change(done_, d);
  if (error_) std::rethrow_exception(error_);
}

}  // namespace tinyptq::fp32_engine
