// Fork-join helpers for the AdaRound / layer-runner math. Every part computes its own outputs alone, and
// callers choose parts so that results never depend on the thread count: either fixed part boundaries
// (images per part, Gram partial sums added in part order) or parts whose outputs do not interact (blocks
// of AdaRound rows).
#pragma once
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace tinyptq::adaround {

// [begin, end) of part p of n items split into `parts` contiguous parts: [n·p/parts, n·(p+1)/parts).
inline int64_t part_begin(int64_t n, int64_t parts, int64_t p) { return n * p / parts; }

// Calls fn(p) for every p in [0, parts) on up to `threads` threads (the caller is one of them); part p goes
// to thread p mod threads. Rethrows the first exception (by part order) after all threads finished.
inline void run_parts(int64_t parts, int threads, const std::function<void(int64_t)>& fn) {
  if (parts <= 0) return;
  const int t = int(std::max<int64_t>(1, std::min<int64_t>(threads, parts)));
  std::vector<std::exception_ptr> errors(size_t(t), nullptr);
  auto worker = [&](int w) {
    try {
      for (int64_t p = w; p < parts; p += t) fn(p);
    } catch (...) {
      errors[size_t(w)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < t; ++w) pool.emplace_back(worker, w);
  worker(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace tinyptq::adaround
