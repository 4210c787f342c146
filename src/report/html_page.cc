#include "report/html_page.h"

#include <algorithm>

namespace tinyptq::report {
namespace {

constexpr const char* kStyle = R"css(:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
  background:#f4f5f7;color:#1a1a1a;line-height:1.5}
main{max-width:1040px;margin:0 auto;padding:24px 32px 48px;background:#ffffff}
h1{font-size:1.7em;margin:.2em 0 .6em}
h2{font-size:1.3em;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid #e3e3e3}
h3{font-size:1.1em;margin:1.2em 0 .4em}
p{max-width:48em}
.table-wrap{overflow-x:auto;margin:.8em 0 1.2em}
table{border-collapse:collapse;font-size:.92em}
th,td{border:1px solid #dcdcdc;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#eef0f3;font-weight:600}
tbody tr:nth-child(even){background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.highlight td{background:#fff1bf;font-weight:600}
figure{margin:1.2em 0 1.6em}
figure svg{display:block;max-width:100%;height:auto}
figcaption{color:#555555;font-size:.9em;margin-top:.3em}
@media print{body{background:#ffffff}main{padding:0}}
)css";

// [+-]digits[.digits][e[+-]digits][%|x]: cells that read as numbers align right.
bool looks_numeric(const std::string& s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool any = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    any = digits() || any;
  }
  if (!any) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == '%' || s[i] == 'x')) ++i;
  return i == s.size();
}

}  // namespace

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::heading(const std::string& text, int level) {
  const std::string n = std::to_string(std::clamp(level, 1, 6));
  body_ += "<h" + n + ">" + html_escape(text) + "</h" + n + ">\n";
}

void HtmlPage::paragraph(const std::string& text) { body_ += "<p>" + html_escape(text) + "</p>\n"; }

void HtmlPage::raw(const std::string& html) { body_ += html + "\n"; }

void HtmlPage::table(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows, int highlight_row) {
  size_t cols = header.size();
  for (const auto& r : rows) cols = std::max(cols, r.size());
  std::string t = "<div class=\"table-wrap\"><table>\n";
  if (!header.empty()) {
    t += "<thead><tr>";
    for (size_t c = 0; c < cols; ++c)
      t += "<th>" + (c < header.size() ? html_escape(header[c]) : "") + "</th>";
    t += "</tr></thead>\n";
  }
  t += "<tbody>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    t += static_cast<int>(r) == highlight_row ? "<tr class=\"highlight\">" : "<tr>";
    for (size_t c = 0; c < cols; ++c) {
      const std::string cell = c < rows[r].size() ? rows[r][c] : "";
      t += looks_numeric(cell) ? "<td class=\"num\">" : "<td>";
      t += html_escape(cell) + "</td>";
    }
    t += "</tr>\n";
  }
  t += "</tbody>\n</table></div>\n";
  body_ += t;
}

void HtmlPage::figure(const std::string& svg, const std::string& caption) {
  static const std::string kXmlns = " xmlns=\"http://www.w3.org/2000/svg\"";
  std::string inline_svg = svg;
  for (size_t at; (at = inline_svg.find(kXmlns)) != std::string::npos;) inline_svg.erase(at, kXmlns.size());
  while (!inline_svg.empty() && inline_svg.back() == '\n') inline_svg.pop_back();
  body_ += "<figure>\n" + inline_svg + "\n";
  if (!caption.empty()) body_ += "<figcaption>" + html_escape(caption) + "</figcaption>\n";
  body_ += "</figure>\n";
}

std::string HtmlPage::str() const {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>" + html_escape(title_) + "</title>\n";
  s += "<style>\n" + std::string(kStyle) + "</style>\n</head>\n<body>\n<main>\n";
  s += "<h1>" + html_escape(title_) + "</h1>\n";
  s += body_;
  s += "</main>\n</body>\n</html>\n";
  return s;
}

}  // namespace tinyptq::report
