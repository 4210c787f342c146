// Report rendering primitives: number formatting, escaping, SVG charts (well-formed, right number of data
// marks, finite in-canvas geometry, deterministic), Markdown tables and the self-contained HTML page.
#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <locale>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "report/html_page.h"
#include "report/markdown.h"
#include "report/svg_chart.h"

namespace tinyptq::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------------------
// A tiny markup checker/parser: balanced and properly nested tags, quoted unique attributes, valid entity
// references, no raw '<' in attribute values, exactly one root (XML mode). HTML mode additionally accepts
// <!DOCTYPE html>, void elements and raw-text <style>.

struct Element {
  std::string name;
  std::map<std::string, std::string> attrs;  // raw (still escaped) values
  std::string text;                          // character data directly inside (escaped form)
  int parent = -1;
};

struct Markup {
  std::string error;  // empty when well-formed
  std::vector<Element> elements;
};

bool entity_ok(const std::string& s, size_t i) {
  const size_t semi = s.find(';', i);
  if (semi == std::string::npos || semi - i > 10) return false;
  const std::string name = s.substr(i + 1, semi - i - 1);
  static const std::set<std::string> kNamed = {"lt", "gt", "amp", "quot", "apos"};
  if (kNamed.count(name)) return true;
  if (name.size() >= 2 && name[0] == '#') {
    const bool hex = name[1] == 'x';
    const std::string digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    for (char c : digits) {
      if (!(hex ? std::isxdigit(static_cast<unsigned char>(c))
                : std::isdigit(static_cast<unsigned char>(c)))) {
        return false;
      }
    }
    return true;
  }
  return false;
}

Markup parse_markup(const std::string& s, bool html) {
  static const std::set<std::string> kVoid = {"meta", "link", "br", "hr", "img", "input"};
  Markup m;
  std::vector<int> stack;
  size_t i = 0;
  int roots = 0;
  auto fail = [&](const std::string& what) {
    m.error = what + " at offset " + std::to_string(i) + ": '" + s.substr(i, 40) + "'";
    return m;
  };
  auto is_name = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_' || c == '.';
  };
  auto skip_ws = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  while (i < s.size()) {
    if (s[i] != '<') {
      if (s[i] == '&' && !entity_ok(s, i)) return fail("bad entity reference");
      if (stack.empty()) {
        if (!std::isspace(static_cast<unsigned char>(s[i]))) return fail("text outside the root element");
      } else {
        m.elements[stack.back()].text += s[i];
      }
      ++i;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t end = s.find("-->", i);
      if (end == std::string::npos) return fail("unterminated comment");
      i = end + 3;
      continue;
    }
    if (html && s.compare(i, 9, "<!DOCTYPE") == 0) {
      if (i != 0) return fail("DOCTYPE not at the start");
      i = s.find('>', i);
      if (i == std::string::npos) return fail("unterminated DOCTYPE");
      ++i;
      continue;
    }
    if (s.compare(i, 2, "</") == 0) {
      i += 2;
      const size_t start = i;
      while (i < s.size() && is_name(s[i])) ++i;
      const std::string name = s.substr(start, i - start);
      skip_ws();
      if (i >= s.size() || s[i] != '>') return fail("malformed end tag");
      if (stack.empty() || m.elements[stack.back()].name != name) return fail("mismatched </" + name + ">");
      stack.pop_back();
      ++i;
      continue;
    }
    ++i;  // '<'
    const size_t start = i;
    while (i < s.size() && is_name(s[i])) ++i;
    Element e;
    e.name = s.substr(start, i - start);
    if (e.name.empty()) return fail("empty tag name");
    bool self_close = false;
    for (;;) {
      const size_t before = i;
      skip_ws();
      if (i >= s.size()) return fail("unterminated tag");
      if (s[i] == '>') {
        ++i;
        break;
      }
      if (s.compare(i, 2, "/>") == 0) {
        self_close = true;
        i += 2;
        break;
      }
      if (i == before) return fail("attributes must be separated by whitespace");
      const size_t a = i;
      while (i < s.size() && is_name(s[i])) ++i;
      const std::string key = s.substr(a, i - a);
      if (key.empty()) return fail("bad attribute name");
      if (i >= s.size() || s[i] != '=') return fail("attribute without value: " + key);
      ++i;
      if (i >= s.size() || (s[i] != '"' && s[i] != '\'')) return fail("unquoted attribute: " + key);
      const char quote = s[i++];
      const size_t close = s.find(quote, i);
      if (close == std::string::npos) return fail("unterminated attribute value");
      const std::string value = s.substr(i, close - i);
      if (value.find('<') != std::string::npos) return fail("'<' in attribute value");
      for (size_t k = value.find('&'); k != std::string::npos; k = value.find('&', k + 1)) {
        if (!entity_ok(value, k)) return fail("bad entity in attribute " + key);
      }
      if (!e.attrs.emplace(key, value).second) return fail("duplicate attribute " + key);
      i = close + 1;
    }
    if (stack.empty() && ++roots > 1 && !html) return fail("second root element");
    e.parent = stack.empty() ? -1 : stack.back();
    m.elements.push_back(e);
    if (self_close || (html && kVoid.count(e.name))) continue;
    if (html && (e.name == "style" || e.name == "script")) {
      const size_t end = s.find("</" + e.name + ">", i);
      if (end == std::string::npos) return fail("unterminated raw text element");
      i = end + e.name.size() + 3;
      continue;
    }
    stack.push_back(static_cast<int>(m.elements.size()) - 1);
  }
  if (!stack.empty()) {
    m.error = "unclosed <" + m.elements[stack.back()].name + ">";
  } else if (roots == 0) {
    m.error = "no root element";
  }
  return m;
}

std::string xml_error(const std::string& s) { return parse_markup(s, false).error; }

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
  return n;
}

std::vector<Element> with_class(const Markup& m, const std::string& cls) {
  std::vector<Element> out;
  for (const auto& e : m.elements) {
    const auto it = e.attrs.find("class");
    if (it != e.attrs.end() && it->second == cls) out.push_back(e);
  }
  return out;
}

// Text of <text> elements inside the first <g class="cls">, in order.
std::vector<std::string> texts_in_group(const Markup& m, const std::string& cls) {
  int group = -1;
  for (size_t k = 0; k < m.elements.size() && group < 0; ++k) {
    const auto it = m.elements[k].attrs.find("class");
    if (m.elements[k].name == "g" && it != m.elements[k].attrs.end() && it->second == cls)
      group = static_cast<int>(k);
  }
  std::vector<std::string> out;
  for (const auto& e : m.elements) {
    if (e.name == "text" && e.parent == group && group >= 0) out.push_back(e.text);
  }
  return out;
}

double num(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && !s.empty() ? v : kNaN;
}

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

// Every geometric attribute is a finite number inside the viewBox (paths: M/L/Z commands and coordinate
// pairs; transforms: rotate(a x y)). Returns the first problem, or "".
std::string geometry_error(const std::string& svg) {
  const Markup m = parse_markup(svg, false);
  if (!m.error.empty()) return m.error;
  if (m.elements.empty() || m.elements[0].name != "svg") return "root is not <svg>";
  const auto vb = split_ws(m.elements[0].attrs.count("viewBox") ? m.elements[0].attrs.at("viewBox") : "");
  if (vb.size() != 4) return "no viewBox";
  const double w = num(vb[2]), h = num(vb[3]);
  if (!(w > 0 && h > 0)) return "bad viewBox";
  static const std::set<std::string> kX = {"x", "cx", "x1", "x2"}, kY = {"y", "cy", "y1", "y2"};
  static const std::set<std::string> kSize = {"width",     "height",       "r",
                                              "font-size", "stroke-width", "fill-opacity"};
  auto in_range = [](double v, double hi) { return std::isfinite(v) && v >= -1 && v <= hi + 1; };
  for (const auto& e : m.elements) {
    for (const auto& [k, v] : e.attrs) {
      const std::string where = "<" + e.name + " " + k + "=\"" + v + "\">";
      if (kX.count(k) && !in_range(num(v), w)) return "x outside canvas: " + where;
      if (kY.count(k) && !in_range(num(v), h)) return "y outside canvas: " + where;
      if (kSize.count(k) && !(num(v) >= 0 && std::isfinite(num(v)))) return "bad size: " + where;
      if (k == "d") {
        int coord = 0;
        for (const auto& t : split_ws(v)) {
          const bool cmd = t[0] == 'M' || t[0] == 'L';
          const std::string n = cmd ? t.substr(1) : t;
          if (t == "Z") continue;
          if (!in_range(num(n), coord % 2 == 0 ? w : h)) return "bad path coordinate: " + where;
          ++coord;
        }
        if (coord % 2 != 0) return "odd number of path coordinates: " + where;
      }
      if (k == "transform") {
        if (v.rfind("rotate(", 0) != 0 || v.back() != ')') return "unexpected transform: " + where;
        const auto parts = split_ws(v.substr(7, v.size() - 8));
        if (parts.size() != 3) return "rotate needs 3 numbers: " + where;
        for (const auto& p : parts) {
          if (!std::isfinite(num(p))) return "bad rotate: " + where;
        }
      }
    }
  }
  return "";
}

// The checks every chart must pass: well-formed, accessible frame, finite in-canvas geometry.
void expect_valid_chart(const std::string& svg, const std::string& title_escaped) {
  SCOPED_TRACE(svg.substr(0, 300));
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(geometry_error(svg), "");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 0), 0u);
  EXPECT_NE(svg.find(" role=\"img\""), std::string::npos);
  EXPECT_NE(svg.find(" aria-label=\"" + title_escaped + "\""), std::string::npos);
  // <title> is the first child (accessible name for SVG viewers).
  EXPECT_NE(svg.find(">\n<title>" + title_escaped + "</title>\n"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(count(svg, "http"), 1u) << "only the xmlns may hold a URL";
}

// ---------------------------------------------------------------------------------------------------------

TEST(MarkupChecker, AcceptsWellFormedAndRejectsBroken) {
  EXPECT_EQ(xml_error("<svg a=\"1\"><g><text x='2'>a &amp; b</text></g><rect/></svg>"), "");
  EXPECT_NE(xml_error("<svg><g></svg>"), "");                 // unclosed / mis-nested
  EXPECT_NE(xml_error("<svg><g></text></g></svg>"), "");      // wrong end tag
  EXPECT_NE(xml_error("<svg x=1></svg>"), "");                // unquoted attribute
  EXPECT_NE(xml_error("<svg x=\"1\" x=\"2\"></svg>"), "");    // duplicate attribute
  EXPECT_NE(xml_error("<svg><text>a & b</text></svg>"), "");  // raw ampersand
  EXPECT_NE(xml_error("<svg><text>a <b</text></svg>"), "");   // raw '<'
  EXPECT_NE(xml_error("<svg x=\"<\"></svg>"), "");            // '<' in attribute
  EXPECT_NE(xml_error("<svg></svg><svg></svg>"), "");         // two roots
  EXPECT_NE(xml_error("<svg x=\"1\"y=\"2\"></svg>"), "");     // attributes run together
  EXPECT_EQ(
      parse_markup("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>a>b{}</style></head></html>",
                   true)
          .error,
      "");
}

TEST(FormatNumber, PrintfConversions) {
  EXPECT_EQ(format_number(3.14159, "%.1f"), "3.1");
  EXPECT_EQ(format_number(3.14159, "%.3f"), "3.142");
  EXPECT_EQ(format_number(2.5, "%.0f"), "2");  // round half to even, as printf
  EXPECT_EQ(format_number(91.234, "%.2f%%"), "91.23%");
  EXPECT_EQ(format_number(1.5, "x=%+.2f ms"), "x=+1.50 ms");
  EXPECT_EQ(format_number(1.5, "%6.2f|"), "  1.50|");
  EXPECT_EQ(format_number(1.5, "%-6.2f|"), "1.50  |");
  EXPECT_EQ(format_number(-1.5, "%07.2f"), "-001.50");
  EXPECT_EQ(format_number(12345.678, "%.3e"), "1.235e+04");
  EXPECT_EQ(format_number(12345.678, "%.3E"), "1.235E+04");
  EXPECT_EQ(format_number(0.0001234, "%g"), "0.0001234");
  EXPECT_EQ(format_number(1234567.0, "%g"), "1.23457e+06");
  EXPECT_EQ(format_number(41.6, "%d"), "42");
  EXPECT_EQ(format_number(3.0, "%lf"), "3.000000");
  EXPECT_EQ(format_number(1e300, "%.0e"), "1e+300");
}

TEST(FormatNumber, SpecialValues) {
  EXPECT_EQ(format_number(kNaN, "%.1f"), "n/a");
  EXPECT_EQ(format_number(-kNaN, "%.2f%%"), "n/a");
  EXPECT_EQ(format_number(kInf, "%.1f"), "inf");
  EXPECT_EQ(format_number(-kInf, "%.1f"), "-inf");
  EXPECT_EQ(format_number(-0.0, "%.1f"), "0.0");
  EXPECT_EQ(format_number(-0.04, "%.1f"), "0.0");  // rounds to zero: no "-0.0"
  EXPECT_EQ(format_number(-0.06, "%.1f"), "-0.1");
  EXPECT_EQ(format_number(-0.0, "%+.1f"), "+0.0");
}

TEST(FormatNumber, MinDecimalsWidensFixedOnly) {
  EXPECT_EQ(format_number_min_decimals(0.25, "%.1f", 2), "0.25");
  EXPECT_EQ(format_number_min_decimals(0.25, "%.3f", 2), "0.250");
  EXPECT_EQ(format_number_min_decimals(0.25, "%.1f%%", 2), "0.25%");
  EXPECT_EQ(format_number_min_decimals(0.25, "%.1e", 4), "2.5e-01");
}

TEST(FormatNumber, RejectsUnsupportedFormats) {
  for (const char* bad : {"", "plain", "%s", "%.1f %.1f", "%q", "%#.1f", "%.1", "%999f", "%.99f"}) {
    EXPECT_THROW(format_number(1.0, bad), Error) << bad;
  }
  EXPECT_THROW(format_number(1.0, nullptr), Error);
  EXPECT_EQ(format_number(1.0, "100%% %.0f"), "100% 1");
}

// A comma-decimal global C++ locale (and C locale, where one is installed) must not change the output.
struct CommaDecimal : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
};

TEST(FormatNumber, LocaleIndependent) {
  const std::locale saved;
  std::locale::global(std::locale(std::locale::classic(), new CommaDecimal));
  const std::string saved_c = std::setlocale(LC_ALL, nullptr);
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"}) {
    if (std::setlocale(LC_ALL, name) != nullptr) break;
  }
  const std::string a = format_number(1234.5, "%.2f");
  const std::string b = format_number(0.125, "%.2e");
  const std::string svg =
      line_chart_svg("t", Axis{}, Axis{}, {Series{"s", {0.5, 1.5}, {0.25, 0.75}, {}, {}}});
  std::setlocale(LC_ALL, saved_c.c_str());
  std::locale::global(saved);
  EXPECT_EQ(a, "1234.50");
  EXPECT_EQ(b, "1.25e-01");
  EXPECT_EQ(geometry_error(svg), "");
  EXPECT_EQ(svg, line_chart_svg("t", Axis{}, Axis{}, {Series{"s", {0.5, 1.5}, {0.25, 0.75}, {}, {}}}));
}

TEST(HtmlEscape, EscapesMarkupAndRepairsBadBytes) {
  EXPECT_EQ(html_escape("<b>&"), "&lt;b&gt;&amp;");
  EXPECT_EQ(html_escape("a\"b'c"), "a&quot;b&#39;c");
  EXPECT_EQ(html_escape("µ-law → ok"), "µ-law → ok");  // valid UTF-8 kept
  EXPECT_EQ(html_escape("a\xff"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");  // malformed byte
  EXPECT_EQ(html_escape("a\x01"
                        "b\tc"),
            "a\xEF\xBF\xBD"
            "b\tc");
  EXPECT_EQ(html_escape("\xC3"), "\xEF\xBF\xBD");                                  // truncated sequence
  EXPECT_EQ(html_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(Utf8, LengthAndTruncation) {
  EXPECT_EQ(utf8_length("héllo"), 5u);
  EXPECT_EQ(truncate_utf8("héllo", 5), "héllo");
  EXPECT_EQ(truncate_utf8("héllo", 3), "hé…");
  EXPECT_EQ(truncate_utf8("héllo", 0), "");
  EXPECT_EQ(utf8_length(truncate_utf8(std::string(100, 'a'), 10)), 10u);
}

// ---------------------------------------------------------------------------------------------------------
// Heatmap

TEST(Heatmap, CellsLegendAndLabels) {
  const std::vector<std::string> rows = {"ResNet8 <b>&", "per-tensor", "per-channel"};
  const std::vector<std::string> cols = {"MinMax", "Percentile 99.99", "MSE", "KL"};
  const std::vector<std::vector<double>> values = {
      {85.1, 86.2, kNaN, 84.0}, {70.5, 80.25, 81.0, 79.9}, {87.0, kNaN, 87.4, 86.9}};
  const std::string svg = heatmap_svg("Top-1 <b>&", rows, cols, values, "granularity", "observer", "%.1f");
  expect_valid_chart(svg, "Top-1 &lt;b&gt;&amp;");
  const Markup m = parse_markup(svg, false);
  EXPECT_EQ(with_class(m, "cell").size(), 3u * 4u - 2u);
  EXPECT_EQ(with_class(m, "missing").size(), 2u);
  EXPECT_NE(svg.find(">ResNet8 &lt;b&gt;&amp;</text>"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
  EXPECT_NE(svg.find(">80.2</text>"), std::string::npos);  // cell text uses the value format
  EXPECT_NE(svg.find(">granularity</text>"), std::string::npos);
  EXPECT_NE(svg.find(">observer</text>"), std::string::npos);
  // Low and high ends of the scale get the ends of viridis.
  std::set<std::string> fills;
  for (const auto& c : with_class(m, "cell")) fills.insert(c.attrs.at("fill"));
  EXPECT_TRUE(fills.count("#440154")) << "lowest value (70.5) is dark purple";
  EXPECT_TRUE(fills.count("#fde725")) << "highest value (87.4) is yellow";
  // Legend ticks are round values inside the data range.
  const auto ticks = texts_in_group(m, "color-legend");
  ASSERT_GE(ticks.size(), 2u);
  for (const auto& t : ticks) {
    EXPECT_GE(num(t), 70.5);
    EXPECT_LE(num(t), 87.4);
    EXPECT_EQ(std::fmod(num(t), 1.0), 0.0) << t;
  }
  EXPECT_EQ(svg, heatmap_svg("Top-1 <b>&", rows, cols, values, "granularity", "observer", "%.1f"));
}

TEST(Heatmap, EdgeCases) {
  const std::vector<std::string> one = {"a"};
  struct Case {
    std::string name;
    std::vector<std::string> rows, cols;
    std::vector<std::vector<double>> values;
    size_t cells, missing;
    bool legend;
  };
  const std::vector<Case> cases = {
      {"empty", {}, {}, {}, 0, 0, false},
      {"no columns", {"a", "b"}, {}, {{}, {}}, 0, 0, false},
      {"single", one, one, {{42.0}}, 1, 0, true},
      {"all equal", {"a", "b"}, {"x", "y"}, {{5, 5}, {5, 5}}, 4, 0, true},
      {"all nan", {"a"}, {"x", "y"}, {{kNaN, kNaN}}, 0, 2, false},
      {"infinite", {"a"}, {"x", "y", "z"}, {{1, kInf, -kInf}}, 3, 0, true},
      {"huge", {"a"}, {"x", "y"}, {{-1e300, 1e300}}, 2, 0, true},
      {"long labels", {std::string(80, 'r')}, {std::string(60, 'c'), "d"}, {{1, 2}}, 2, 0, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string svg = heatmap_svg(c.name, c.rows, c.cols, c.values, "rows", "cols", "%.2f");
    expect_valid_chart(svg, c.name);
    const Markup m = parse_markup(svg, false);
    EXPECT_EQ(with_class(m, "cell").size(), c.cells);
    EXPECT_EQ(with_class(m, "missing").size(), c.missing);
    EXPECT_EQ(with_class(m, "color-legend").size(), c.legend ? 1u : 0u);
    EXPECT_EQ(with_class(m, "no-data").size(), c.rows.empty() || c.cols.empty() ? 1u : 0u);
  }
}

TEST(Heatmap, RejectsShapeMismatchAndBadFormat) {
  EXPECT_THROW(heatmap_svg("t", {"a", "b"}, {"x"}, {{1}}, "", "", "%.1f"), Error);
  EXPECT_THROW(heatmap_svg("t", {"a"}, {"x", "y"}, {{1}}, "", "", "%.1f"), Error);
  EXPECT_THROW(heatmap_svg("t", {"a"}, {"x"}, {{1}}, "", "", "%s"), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Line chart

Axis axis(const std::string& label, bool log = false) {
  Axis a;
  a.label = label;
  a.log_scale = log;
  return a;
}

TEST(LineChart, SeriesMarkersBandAndLegend) {
  Series a{"int8 <per-tensor>", {1, 2, 4, 8}, {60, 75, 82, 84}, {55, 70, 80, 83}, {65, 79, 84, 85}};
  Series b{"int8 per-channel", {1, 2, 4, 8}, {70, 80, 85, 86}, {}, {}};
  const std::string svg =
      line_chart_svg("Accuracy vs calibration size", axis("images"), axis("top-1 %"), {a, b});
  expect_valid_chart(svg, "Accuracy vs calibration size");
  const Markup m = parse_markup(svg, false);
  EXPECT_EQ(with_class(m, "point").size(), 8u);
  EXPECT_EQ(with_class(m, "line").size(), 2u);
  EXPECT_EQ(with_class(m, "band").size(), 1u);
  EXPECT_EQ(with_class(m, "series").size(), 2u);
  EXPECT_NE(svg.find(">int8 &lt;per-tensor&gt;</text>"), std::string::npos);  // legend, escaped
  EXPECT_NE(svg.find(">top-1 %</text>"), std::string::npos);
  // Second series is dashed so the lines differ without colour.
  const auto lines = with_class(m, "line");
  EXPECT_EQ(lines[0].attrs.count("stroke-dasharray"), 0u);
  EXPECT_EQ(lines[1].attrs.count("stroke-dasharray"), 1u);
  EXPECT_NE(lines[0].attrs.at("stroke"), lines[1].attrs.at("stroke"));
  // y ticks: round values covering 55..86 → 50..90 step 10.
  EXPECT_EQ(texts_in_group(m, "y-axis"), (std::vector<std::string>{"50.0", "60.0", "70.0", "80.0", "90.0"}));
  EXPECT_EQ(svg, line_chart_svg("Accuracy vs calibration size", axis("images"), axis("top-1 %"), {a, b}));
}

TEST(LineChart, NaNBreaksTheLine) {
  Series s{"s", {0, 1, 2, 3, 4}, {1, 2, kNaN, 4, 5}, {}, {}};
  const Markup m = parse_markup(line_chart_svg("gap", axis("x"), axis("y"), {s}), false);
  EXPECT_EQ(with_class(m, "point").size(), 4u);
  EXPECT_EQ(with_class(m, "line").size(), 2u);
}

TEST(LineChart, UnsortedXIsDrawnInOrder) {
  Series s{"s", {3, 1, 2}, {30, 10, 20}, {}, {}};
  const Markup m = parse_markup(line_chart_svg("order", axis("x"), axis("y"), {s}), false);
  const auto lines = with_class(m, "line");
  ASSERT_EQ(lines.size(), 1u);
  const auto tokens = split_ws(lines[0].attrs.at("d"));
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_LT(num(tokens[0].substr(1)), num(tokens[2].substr(1)));
  EXPECT_LT(num(tokens[2].substr(1)), num(tokens[4].substr(1)));
}

TEST(LineChart, LogScaleSkipsNonPositiveAndTicksAtPowersOfTen) {
  Series s{"s", {1, 10, 100, 1e5}, {0.5, -1, 0, 0.001}, {}, {}};
  const std::string svg = line_chart_svg("log", axis("n", true), axis("err", true), {s});
  expect_valid_chart(svg, "log");
  const Markup m = parse_markup(svg, false);
  EXPECT_EQ(with_class(m, "point").size(), 2u);
  for (const auto& t : texts_in_group(m, "x-axis")) {
    const double v = num(t);
    EXPECT_NEAR(std::log10(v), std::round(std::log10(v)), 1e-9) << t;
  }
  const auto y_ticks = texts_in_group(m, "y-axis");
  ASSERT_FALSE(y_ticks.empty());
  // y spans < 3 decades: domain [0.001, 0.5] rounded to 1-2-5 values, with 2× and 5× ticks.
  EXPECT_EQ(y_ticks, (std::vector<std::string>{"0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1",
                                               "0.2", "0.5"}));  // extra decimals where the tick needs them
}

TEST(LineChart, EdgeCases) {
  struct Case {
    std::string name;
    std::vector<Series> series;
    Axis x, y;
    size_t points;
  };
  Axis pinned = axis("pinned");
  pinned.min = 0;
  pinned.max = 1;
  const std::vector<Case> cases = {
      {"no series", {}, axis("x"), axis("y"), 0},
      {"empty series", {Series{"e", {}, {}, {}, {}}}, axis("x"), axis("y"), 0},
      {"single point", {Series{"p", {3}, {7}, {}, {}}}, axis("x"), axis("y"), 1},
      {"single point log", {Series{"p", {3}, {7}, {}, {}}}, axis("x", true), axis("y", true), 1},
      {"all equal", {Series{"eq", {1, 1, 1}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}}}, axis("x"), axis("y"), 3},
      {"all zero", {Series{"z", {0, 0}, {0, 0}, {}, {}}}, axis("x"), axis("y"), 2},
      {"all nan", {Series{"n", {kNaN, 1}, {1, kNaN}, {}, {}}}, axis("x"), axis("y"), 0},
      {"infinities", {Series{"i", {0, 1, kInf}, {kInf, 1, 2}, {}, {}}}, axis("x"), axis("y"), 1},
      {"log non-positive only", {Series{"l", {1, 2}, {0, -3}, {}, {}}}, axis("x"), axis("y", true), 0},
      {"outside pinned axis", {Series{"o", {0, 0.5, 1}, {-5, 0.5, 5}, {}, {}}}, pinned, pinned, 1},
      {"band beyond pinned axis",
       {Series{"b", {0, 0.5, 1}, {0.5, 0.5, 0.5}, {-9, -9, -9}, {9, 9, 9}}},
       pinned,
       pinned,
       3},
      {"huge", {Series{"h", {0, 1}, {-1e300, 1e300}, {}, {}}}, axis("x"), axis("y"), 0},
      {"tiny span", {Series{"t", {0, 1}, {1, 1 + 1e-15}, {}, {}}}, axis("x"), axis("y"), 2},
      {"nan band", {Series{"b", {0, 1, 2}, {1, 2, 3}, {kNaN, 1, 2}, {2, kNaN, 4}}}, axis("x"), axis("y"), 3},
      {"unnamed",
       {Series{"", {0, 1}, {1, 2}, {}, {}}, Series{"", {0, 1}, {2, 1}, {}, {}}},
       axis(""),
       axis(""),
       4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string svg = line_chart_svg(c.name, c.x, c.y, c.series);
    expect_valid_chart(svg, c.name);
    EXPECT_EQ(with_class(parse_markup(svg, false), "point").size(), c.points);
    EXPECT_EQ(svg, line_chart_svg(c.name, c.x, c.y, c.series));
  }
  // Many series: colours and dashes cycle, legend grows the canvas instead of overflowing.
  std::vector<Series> many;
  for (int i = 0; i < 20; ++i)
    many.push_back(Series{"series " + std::to_string(i), {0, 1}, {0.0 + i, 1.0 + i}, {}, {}});
  const std::string svg = line_chart_svg("many", axis("x"), axis("y"), many);
  expect_valid_chart(svg, "many");
  EXPECT_EQ(with_class(parse_markup(svg, false), "point").size(), 40u);
}

TEST(LineChart, RejectsInconsistentInput) {
  EXPECT_THROW(line_chart_svg("t", axis("x"), axis("y"), {Series{"s", {1, 2}, {1}, {}, {}}}), Error);
  EXPECT_THROW(line_chart_svg("t", axis("x"), axis("y"), {Series{"s", {1, 2}, {1, 2}, {1, 2}, {}}}), Error);
  Axis inverted = axis("y");
  inverted.min = 5;
  inverted.max = 1;
  EXPECT_THROW(line_chart_svg("t", axis("x"), inverted, {}), Error);
  Axis log_negative = axis("y", true);
  log_negative.min = -1;
  EXPECT_THROW(line_chart_svg("t", axis("x"), log_negative, {}), Error);
  Axis bad_format = axis("y");
  bad_format.format = "%s";
  EXPECT_THROW(line_chart_svg("t", axis("x"), bad_format, {}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// Bar charts

TEST(GroupedBar, BarsErrorBarsAndEscaping) {
  const std::vector<std::string> cats = {"fp32", "int8 <pt>", "int8 pc"};
  Series acc{"top-1", {}, {87.1, 85.0, kNaN}, {86.9, 84.0, kNaN}, {87.3, 86.0, kNaN}};
  Series drop{"drop & more", {}, {0.0, -2.1, -0.4}, {}, {}};
  const std::string svg = grouped_bar_svg("Accuracy", cats, {acc, drop}, axis("%"));
  expect_valid_chart(svg, "Accuracy");
  const Markup m = parse_markup(svg, false);
  EXPECT_EQ(with_class(m, "bar").size(), 5u);
  EXPECT_EQ(with_class(m, "errorbar").size(), 2u);
  EXPECT_EQ(with_class(m, "missing").size(), 1u);
  EXPECT_EQ(with_class(m, "zero-line").size(), 1u);  // domain spans zero
  EXPECT_NE(svg.find(">int8 &lt;pt&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">drop &amp; more</text>"), std::string::npos);
  // Negative bars hang below the zero line, positive ones stand on it.
  const auto bars = with_class(m, "bar");
  const double zero_y = num(with_class(m, "zero-line")[0].attrs.at("y1"));
  EXPECT_NEAR(num(bars[0].attrs.at("y")) + num(bars[0].attrs.at("height")), zero_y, 0.02);
  EXPECT_NEAR(num(bars[3].attrs.at("y")), zero_y, 0.02);  // drop, int8 <pt>: -2.1
  EXPECT_GT(num(bars[3].attrs.at("height")), 0);
  EXPECT_EQ(svg, grouped_bar_svg("Accuracy", cats, {acc, drop}, axis("%")));
  EXPECT_THROW(grouped_bar_svg("t", cats, {Series{"s", {}, {1, 2}, {}, {}}}, axis("y")), Error);
}

TEST(GroupedBar, EdgeCases) {
  Axis log_axis = axis("latency", true);
  Axis pinned = axis("pinned");
  pinned.min = 0;
  pinned.max = 1;
  struct Case {
    std::string name;
    std::vector<std::string> cats;
    std::vector<Series> series;
    Axis y;
    size_t bars;
  };
  const std::vector<Case> cases = {
      {"nothing", {}, {}, axis("y"), 0},
      {"no series", {"a", "b"}, {}, axis("y"), 0},
      {"single", {"a"}, {Series{"s", {}, {3}, {}, {}}}, axis("y"), 1},
      {"all zero", {"a", "b"}, {Series{"s", {}, {0, 0}, {}, {}}}, axis("y"), 2},
      {"all nan", {"a", "b"}, {Series{"s", {}, {kNaN, kNaN}, {}, {}}}, axis("y"), 0},
      {"log", {"a", "b", "c"}, {Series{"s", {}, {0.5, 0, 200}, {}, {}}}, log_axis, 2},
      {"beyond pinned axis", {"a", "b"}, {Series{"s", {}, {5, -3}, {-9, -9}, {9, 9}}}, pinned, 2},
      {"many long categories",
       std::vector<std::string>(30, "a rather long category name"),
       {Series{"s", {}, std::vector<double>(30, 1.0), {}, {}}},
       axis("y"),
       30},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string svg = grouped_bar_svg(c.name, c.cats, c.series, c.y);
    expect_valid_chart(svg, c.name);
    EXPECT_EQ(with_class(parse_markup(svg, false), "bar").size(), c.bars);
  }
}

TEST(HorizontalBar, NegativeValuesExtendLeftOfZero) {
  const std::vector<std::string> labels = {"conv1 <in>", "conv2", "dense", "missing"};
  const std::vector<double> values = {2.5, -1.25, 0.5, kNaN};
  const std::string svg = horizontal_bar_svg("Sensitivity", labels, values, axis("Δ top-1 (pp)"));
  expect_valid_chart(svg, "Sensitivity");
  const Markup m = parse_markup(svg, false);
  const auto bars = with_class(m, "bar");
  ASSERT_EQ(bars.size(), 3u);
  const double zero_x = num(with_class(m, "zero-line").at(0).attrs.at("x1"));
  auto left = [](const Element& e) { return num(e.attrs.at("x")); };
  auto right = [](const Element& e) { return num(e.attrs.at("x")) + num(e.attrs.at("width")); };
  EXPECT_NEAR(left(bars[0]), zero_x, 0.02);
  EXPECT_NEAR(right(bars[1]), zero_x, 0.02);
  EXPECT_LT(left(bars[1]), zero_x);
  EXPECT_NE(bars[0].attrs.at("fill"), bars[1].attrs.at("fill"));
  // Widths proportional to |value|.
  EXPECT_NEAR((right(bars[0]) - zero_x) / (zero_x - left(bars[1])), 2.0, 0.01);
  EXPECT_NEAR((right(bars[0]) - zero_x) / (right(bars[2]) - zero_x), 5.0, 0.05);
  EXPECT_NE(svg.find(">conv1 &lt;in&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">-1.2</text>"), std::string::npos);  // value label (round half to even)
  EXPECT_EQ(with_class(m, "missing").size(), 1u);
  EXPECT_THROW(horizontal_bar_svg("t", {"a"}, {1, 2}, axis("x")), Error);
}

TEST(HorizontalBar, EdgeCases) {
  struct Case {
    std::string name;
    std::vector<std::string> labels;
    std::vector<double> values;
    Axis x;
    size_t bars;
  };
  const std::vector<Case> cases = {
      {"empty", {}, {}, axis("x"), 0},
      {"single", {"a"}, {4}, axis("x"), 1},
      {"all equal", {"a", "b"}, {-3, -3}, axis("x"), 2},
      {"all nan", {"a"}, {kNaN}, axis("x"), 0},
      {"log", {"a", "b", "c"}, {10, -1, 1000}, axis("x", true), 2},
      {"long label", {std::string(200, 'L')}, {1}, axis("x"), 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string svg = horizontal_bar_svg(c.name, c.labels, c.values, c.x);
    expect_valid_chart(svg, c.name);
    EXPECT_EQ(with_class(parse_markup(svg, false), "bar").size(), c.bars);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Scatter

TEST(Scatter, PointsGroupsAndLabels) {
  const std::vector<Point> pts = {
      {"minmax <a>", 85.1, 1.2, "per-tensor"}, {"mse", 86.0, 1.5, "per-tensor"},
      {"kl", 85.7, 2.0, "per-channel & more"}, {"pct", 86.9, 2.1, "per-channel & more"},
      {"nan", kNaN, 1.0, "per-tensor"},        {"", 84.0, 0.9, "fp32"}};
  const std::string svg = scatter_svg("Accuracy vs latency", axis("top-1"), axis("ms"), pts);
  expect_valid_chart(svg, "Accuracy vs latency");
  const Markup m = parse_markup(svg, false);
  const auto points = with_class(m, "point");
  EXPECT_EQ(points.size(), 5u);
  EXPECT_EQ(texts_in_group(m, "legend").size(), 3u);
  EXPECT_NE(svg.find(">minmax &lt;a&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">per-channel &amp; more</text>"), std::string::npos);
  EXPECT_EQ(texts_in_group(m, "point-labels").size(), 4u);  // unlabelled point has no label
  // Colour by group.
  EXPECT_EQ(points[0].attrs.at("fill"), points[1].attrs.at("fill"));
  EXPECT_NE(points[0].attrs.at("fill"), points[2].attrs.at("fill"));
  EXPECT_EQ(points[2].attrs.at("fill"), points[3].attrs.at("fill"));
  EXPECT_EQ(svg, scatter_svg("Accuracy vs latency", axis("top-1"), axis("ms"), pts));
}

TEST(Scatter, EdgeCases) {
  struct Case {
    std::string name;
    std::vector<Point> points;
    Axis x, y;
    size_t shown;
  };
  std::vector<Point> crowd;
  for (int i = 0; i < 40; ++i) {
    // (Built with append: "p" + std::to_string(i) trips a GCC 12 -Wrestrict false positive.)
    Point p{"p", 1.0 + (i % 3) * 1e-3, 1.0, "g"};
    p.label.append(std::to_string(i));
    p.group.append(std::to_string(i % 9));
    crowd.push_back(p);
  }
  const std::vector<Case> cases = {
      {"empty", {}, axis("x"), axis("y"), 0},
      {"single", {{"only", 1, 1, ""}}, axis("x"), axis("y"), 1},
      {"all equal", {{"a", 2, 2, "g"}, {"b", 2, 2, "g"}}, axis("x"), axis("y"), 2},
      {"log",
       {{"a", 10, 0.1, "g"}, {"b", -1, 1, "g"}, {"c", 100, 0, "g"}},
       axis("x", true),
       axis("y", true),
       1},
      {"infinite", {{"a", kInf, 1, ""}, {"b", 1, -kInf, ""}}, axis("x"), axis("y"), 0},
      {"crowded", crowd, axis("x"), axis("y"), 40},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string svg = scatter_svg(c.name, c.x, c.y, c.points);
    expect_valid_chart(svg, c.name);
    EXPECT_EQ(with_class(parse_markup(svg, false), "point").size(), c.shown);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Markdown

TEST(Markdown, EscapesPipesAndAlignsColumns) {
  const std::string t =
      markdown_table({"model", "top-1", "note"},
                     {{"fp32", "87.10", "a|b"}, {"int8 µ", "85.2", "line\nbreak"}, {"x"}}, {'l', 'r', 'c'});
  std::vector<std::string> lines;
  std::istringstream in(t);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], "| model  | top-1 |    note    |");
  EXPECT_EQ(lines[1], "| :----- | ----: | :--------: |");
  EXPECT_EQ(lines[2], "| fp32   | 87.10 |    a\\|b    |");
  EXPECT_EQ(lines[3], "| int8 µ |  85.2 | line break |");
  EXPECT_EQ(lines[4], "| x      |       |            |");
  for (const auto& l : lines) EXPECT_EQ(utf8_length(l), utf8_length(lines[0])) << l;
}

TEST(Markdown, DefaultsAndEdgeCases) {
  EXPECT_EQ(markdown_table({}, {}, {}), "");
  EXPECT_EQ(markdown_table({"a", "b"}, {}, {}), "| a   | b   |\n| --- | --- |\n");
  EXPECT_EQ(markdown_table({}, {{"1", "2"}}, {'r'}), "|     |     |\n| --: | --- |\n|   1 | 2   |\n");
  EXPECT_THROW(markdown_table({"a"}, {}, {'x'}), Error);
}

// ---------------------------------------------------------------------------------------------------------
// HTML page

TEST(HtmlPage, SelfContainedValidLookingHtml5) {
  HtmlPage page("tinyptq <study> & results");
  page.heading("Summary");
  page.paragraph("Accuracy <drop> is 1.2 pp & latency 3 ms.");
  page.table({"config", "top-1", "Δ"},
             {{"fp32", "87.10", "0.00"}, {"int8 <pc>", "86.40", "-0.70"}, {"short"}}, 1);
  page.figure(line_chart_svg("Accuracy", axis("n"), axis("%"), {Series{"a", {1, 2}, {3, 4}, {}, {}}}),
              "Figure 1: accuracy <vs> n");
  page.figure(heatmap_svg("Heat", {"r"}, {"c"}, {{1}}, "", "", "%.1f"), "");
  page.heading("Details", 9);
  page.raw("<p class=\"note\">trusted</p>");
  const std::string html = page.str();

  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  const Markup m = parse_markup(html, true);
  EXPECT_EQ(m.error, "");
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(html.find("<title>tinyptq &lt;study&gt; &amp; results</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>tinyptq &lt;study&gt; &amp; results</h1>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Summary</h2>"), std::string::npos);
  EXPECT_NE(html.find("<h6>Details</h6>"), std::string::npos);  // level clamped
  EXPECT_NE(html.find("<p>Accuracy &lt;drop&gt; is 1.2 pp &amp; latency 3 ms.</p>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"highlight\"><td>int8 &lt;pc&gt;</td><td class=\"num\">86.40</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><td>short</td><td></td><td></td></tr>"), std::string::npos);  // padded
  EXPECT_NE(html.find("<figcaption>Figure 1: accuracy &lt;vs&gt; n</figcaption>"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"note\">trusted</p>"), std::string::npos);
  EXPECT_EQ(count(html, "<figure>"), 2u);
  EXPECT_EQ(count(html, "<figcaption>"), 1u);
  EXPECT_EQ(count(html, "<svg viewBox="), 2u);
  // Inline SVGs nest inside <figure> elements.
  for (const Element& e : m.elements) {
    if (e.name == "svg") {
      ASSERT_GE(e.parent, 0);
      EXPECT_EQ(m.elements[e.parent].name, "figure");
    }
  }
  HtmlPage again("tinyptq <study> & results");
  again.heading("Summary");
  EXPECT_NE(again.str(), html);
  EXPECT_EQ(again.str(), again.str());
}

}  // namespace
}  // namespace tinyptq::report
