// One self-contained HTML5 report page: inline stylesheet, inline SVG figures, no scripts and no
// external references (fonts, CSS, images), so it reads the same offline. Output is deterministic.
#pragma once
#include <string>
#include <vector>

#include "report/format.h"

namespace tinyptq::report {

class HtmlPage {
 public:
  explicit HtmlPage(std::string title);  // also the page's <h1>

  void heading(const std::string& text, int level = 2);  // level clamped to 1..6; text escaped
  void paragraph(const std::string& text);               // text escaped
  void raw(const std::string& html);                     // appended verbatim (trusted markup)
  // header/rows are plain text (escaped). Rows shorter than the widest row are padded with empty
  // cells. highlight_row (index into rows, -1 = none) is emphasised. Numeric-looking cells align right.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
             int highlight_row = -1);
  // An SVG chart from svg_chart.h with a caption (escaped). The svg's xmlns attribute is dropped: HTML5
  // places <svg> in the SVG namespace itself, and the page then holds no URL at all.
  void figure(const std::string& svg, const std::string& caption);

  std::string str() const;

 private:
  std::string title_;
  std::string body_;
};

}  // namespace tinyptq::report
