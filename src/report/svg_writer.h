// A minimal SVG element writer: every attribute value and text node is escaped, coordinates are printed
// with fixed precision (non-finite ones are never printed), and open/close calls are checked to balance.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace tinyptq::report {

// Coordinate text: at most 2 decimals, trailing zeros trimmed, "-0" printed as "0", non-finite as "0".
std::string svg_num(double v);

// One element's name and attributes, in insertion order.
class Tag {
 public:
  explicit Tag(std::string name) : name_(std::move(name)) {}
  Tag& num(const char* key, double value);              // coordinate / size
  Tag& str(const char* key, const std::string& value);  // any text, escaped on output
  const std::string& name() const { return name_; }
  std::string open_text(bool self_close) const;

 private:
  std::string name_;
  std::vector<std::pair<std::string, std::string>> attrs_;  // values already in output form
};

class SvgWriter {
 public:
  void open(const Tag& tag);
  void close();               // closes the innermost open element
  void leaf(const Tag& tag);  // <tag .../>
  // <tag ...>[<title>tooltip</title>]content</tag>; the tooltip is omitted when empty.
  void text(const Tag& tag, const std::string& content, const std::string& tooltip = "");
  void leaf_with_tooltip(const Tag& tag, const std::string& tooltip);  // <tag ...><title>..</title></tag>
  std::string finish();                                                // closes what is still open

 private:
  std::string out_;
  std::vector<std::string> open_;
};

// SVG path data for a polyline through pts ("M x y L x y ..."), empty for no points.
std::string svg_polyline_path(const std::vector<std::pair<double, double>>& pts);

}  // namespace tinyptq::report
