// A fixed set of worker threads that run one function on every worker at once (fork-join). The calling
// thread is worker 0, so a pool of size 1 starts no thread.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tinyptq::qdq {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads ≥ 1
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Calls fn(w) for every worker w in [0, size()) concurrently and returns when all are done. The first
  // exception thrown by any call is rethrown here.
  void run(const std::function<void(int)>& fn);

 private:
  void loop(int worker);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace tinyptq::qdq
