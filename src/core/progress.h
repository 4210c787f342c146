// A progress bar with ETA on stderr, drawn only when stderr is a terminal (silent in pipes and CI).
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace tinyptq {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  ~Progress();
  void advance(int64_t n = 1);  // thread-safe
  void finish();

 private:
  void draw(bool final_line);
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
};

}  // namespace tinyptq
