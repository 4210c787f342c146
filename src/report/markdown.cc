#include "report/markdown.h"

#include <algorithm>

#include "core/error.h"

namespace tinyptq::report {
namespace {

std::string escape_cell(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '|')
      out += "\\|";
    else if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n')
      continue;  // "\r\n" -> one space
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

// Appends s padded with spaces to width code points. (Built with append: GCC 12 warns falsely on some
// operator+ chains.)
void append_padded(std::string& out, const std::string& s, size_t width, char align) {
  const size_t n = utf8_length(s);
  const size_t fill = n >= width ? 0 : width - n;
  const size_t before = align == 'r' ? fill : align == 'c' ? fill / 2 : 0;
  out.append(before, ' ');
  out.append(s);
  out.append(fill - before, ' ');
}

// Delimiter-row cell: width dashes with ':' on the aligned side(s); width >= 3.
void append_separator(std::string& out, size_t width, char align) {
  const bool left = align == 'l' || align == 'c', right = align == 'r' || align == 'c';
  if (left) out.push_back(':');
  out.append(width - left - right, '-');
  if (right) out.push_back(':');
}

}  // namespace

std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows,
                           const std::vector<char>& align) {
  size_t cols = header.size();
  for (const auto& r : rows) cols = std::max(cols, r.size());
  if (cols == 0) return "";
  for (char a : align) {
    check(a == 'l' || a == 'r' || a == 'c',
          std::string("report: markdown table alignment must be 'l', 'r' or 'c', got '") + a + "'");
  }
  auto cells_of = [&](const std::vector<std::string>& r) {
    std::vector<std::string> out(cols);
    for (size_t c = 0; c < r.size(); ++c) out[c] = escape_cell(r[c]);
    return out;
  };
  std::vector<std::vector<std::string>> grid;
  grid.push_back(cells_of(header));
  for (const auto& r : rows) grid.push_back(cells_of(r));
  std::vector<size_t> width(cols, 3);
  for (const auto& r : grid) {
    for (size_t c = 0; c < cols; ++c) width[c] = std::max(width[c], utf8_length(r[c]));
  }
  auto align_of = [&](size_t c) { return c < align.size() ? align[c] : ' '; };
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    out.push_back('|');
    for (size_t c = 0; c < cols; ++c) {
      out.push_back(' ');
      append_padded(out, cells[c], width[c], align_of(c));
      out.append(" |");
    }
    out.push_back('\n');
  };
  line(grid[0]);
  out.push_back('|');
  for (size_t c = 0; c < cols; ++c) {
    out.push_back(' ');
    append_separator(out, width[c], align_of(c));
    out.append(" |");
  }
  out.push_back('\n');
  for (size_t r = 1; r < grid.size(); ++r) line(grid[r]);
  return out;
}

}  // namespace tinyptq::report
