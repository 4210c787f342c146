// Small string helpers shared by messages and reports.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tinyptq {

// items separated by sep: join({"a", "b", "c"}, ", ") == "a, b, c"; "" for no items.
inline std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string s;
  for (size_t k = 0; k < items.size(); ++k) {
    if (k) s += sep;
    s += items[k];
  }
  return s;
}

}  // namespace tinyptq
