// Plain-text tables for the terminal: columns padded to their widest cell.
#pragma once
#include <string>
#include <vector>

namespace tinyptq::cli {

std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string fixed(double v, int decimals);  // locale-independent fixed-point formatting
std::string join(const std::vector<std::string>& items, const std::string& sep);  // "a, b, c" for sep ", "

}  // namespace tinyptq::cli
