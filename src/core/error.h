// Errors: every user-facing failure is a tinyptq::Error whose message names the file/layer and the
// problem. The CLI catches it, prints "tinyptq: error: <message>" once and exits with status 1.
#pragma once
#include <stdexcept>
#include <string>

namespace tinyptq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error(message) when cond is false. For validating untrusted input, never for internal bugs.
inline void check(bool cond, const std::string& message) {
  if (!cond) throw Error(message);
}

}  // namespace tinyptq
