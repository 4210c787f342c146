// Workers for the FP32 engine. parallel_for hands out chunks of work items on demand: the caller and every
// worker claim the next unclaimed chunk until none is left, so a worker that the OS has not scheduled yet
// (a busy machine) delays nothing — the others take its share. Which thread runs a chunk never changes
// what the chunk computes. Idle workers poll briefly, then sleep on a condition variable (no CPU when idle).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tinyptq::fp32_engine {

class ThreadPool {
 public:
  // fn(worker, begin, end): computes items [begin, end); worker in [0, size()) names the caller's buffers.
  using ItemFn = std::function<void(int worker, int64_t begin, int64_t end)>;

  explicit ThreadPool(int threads);  // threads ≥ 1; a pool of size 1 starts no thread
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Runs fn over [0, items) in chunks of `grain` items; returns when all are done and rethrows the first
  // exception any chunk threw. One call at a time.
  void parallel_for(int64_t items, int64_t grain, const ItemFn& fn);

 private:
  struct Job {  // atomics: a late worker may read a job being replaced (it then claims nothing)
    std::atomic<const ItemFn*> fn{nullptr};
    std::atomic<int64_t> items{0}, grain{1};
  };
  void loop(int worker);
  void work(int worker, uint32_t generation);
  // Waits until `a` differs from `old` (polls, then sleeps on sleep_cv_) and returns the new value.
  template <typename T>
  T wait_change(const std::atomic<T>& a, T old);
  void wake_all();  // after changing generation_ or done_

  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint64_t> next_{0};  // (generation mod 2^24) << 40 | first unclaimed item
  std::atomic<int64_t> done_{0};   // items finished in the current job
  std::atomic<bool> stop_{false};
  Job jobs_[2];                    // by generation parity
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::mutex error_mu_;
  std::exception_ptr error_;
};

}  // namespace tinyptq::fp32_engine
