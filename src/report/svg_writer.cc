#include "report/svg_writer.h"

#include <charconv>
#include <cmath>

#include "report/format.h"

namespace tinyptq::report {

std::string svg_num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  if (r.ec != std::errc()) return "0";
  std::string s(buf, r.ptr);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

Tag& Tag::num(const char* key, double value) {
  attrs_.emplace_back(key, svg_num(value));
  return *this;
}

Tag& Tag::str(const char* key, const std::string& value) {
  attrs_.emplace_back(key, html_escape(value));
  return *this;
}

std::string Tag::open_text(bool self_close) const {
  std::string s = "<" + name_;
  for (const auto& [k, v] : attrs_) s += " " + k + "=\"" + v + "\"";
  s += self_close ? "/>" : ">";
  return s;
}

void SvgWriter::open(const Tag& tag) {
  out_ += tag.open_text(false) + "\n";
  open_.push_back(tag.name());
}

void SvgWriter::close() {
  if (open_.empty()) return;
  out_ += "</" + open_.back() + ">\n";
  open_.pop_back();
}

void SvgWriter::leaf(const Tag& tag) { out_ += tag.open_text(true) + "\n"; }

void SvgWriter::text(const Tag& tag, const std::string& content, const std::string& tooltip) {
  out_ += tag.open_text(false);
  if (!tooltip.empty()) out_ += "<title>" + html_escape(tooltip) + "</title>";
  out_ += html_escape(content) + "</" + tag.name() + ">\n";
}

void SvgWriter::leaf_with_tooltip(const Tag& tag, const std::string& tooltip) {
  out_ += tag.open_text(false) + "<title>" + html_escape(tooltip) + "</title></" + tag.name() + ">\n";
}

std::string SvgWriter::finish() {
  while (!open_.empty()) close();
  return std::move(out_);
}

std::string svg_polyline_path(const std::vector<std::pair<double, double>>& pts) {
  std::string d;
  for (size_t i = 0; i < pts.size(); ++i) {
    d += (i == 0 ? "M" : " L") + svg_num(pts[i].first) + " " + svg_num(pts[i].second);
  }
  return d;
}

}  // namespace tinyptq::report
