// Plain-text tables for the terminal: columns padded to their widest cell.
#pragma once
#include <string>
#include <vector>

namespace tinyptq::cli {

std::string text_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string fixed(double v, int decimals);  // locale-independent fixed-point formatting

}  // namespace tinyptq::cli
