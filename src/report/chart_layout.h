// Shared pieces of the SVG charts: palette, scales with round ticks, the frame (title, axes, gridlines)
// and the legend. Internal to src/report.
#pragma once
#include <string>
#include <vector>

#include "report/svg_chart.h"
#include "report/svg_writer.h"

namespace tinyptq::report {

constexpr double kChartWidth = 640;
constexpr double kChartHeight = 360;
constexpr double kTickFont = 11;
constexpr double kTitleFont = 15;

// Okabe–Ito colour i (cycled); distinguishable with the common colour-vision deficiencies.
const std::string& palette_color(size_t i);
// Stroke dash pattern for line series i (cycled, "" = solid), so lines differ without colour too.
const std::string& dash_pattern(size_t i);
// Viridis colour for t in [0, 1] (clamped) and the text colour (near-black or white) readable on it.
std::string viridis(double t);
std::string text_color_on_viridis(double t);

// Estimated rendered width of text in a sans-serif font (0.6 em per code point; errs wide).
double text_width(const std::string& text, double font_size);

// Data → pixel mapping, linear or log10, with a domain rounded out to round tick values.
struct Scale {
  bool log = false;
  bool has_data = false;      // at least one usable value went into the domain
  double d0 = 0, d1 = 1;      // domain (log10 units on a log scale)
  double r0 = 0, r1 = 1;      // pixel range
  std::vector<double> ticks;  // tick values in data units, ascending
  int decimals = 0;           // decimals a linear tick step needs

  bool usable(double v) const;     // finite, |v| <= 1e100, and > 0 on a log scale
  bool in_domain(double v) const;  // usable and inside the domain
  double map(double v) const;      // pixel position, clamped to the range
  double lowest() const;           // domain minimum in data units (bar baseline on log scales)
  std::string tick_label(double v, const std::string& format) const;
};

struct ScaleOptions {
  bool include_zero = false;  // linear only: the domain always contains 0 (bar charts)
  int target_ticks = 5;
};

// Domain and ticks from the usable values; throws Error (naming chart) for inconsistent axis limits.
Scale make_scale(const Axis& axis, const std::vector<double>& values, const ScaleOptions& options,
                 const std::string& chart);

struct Frame {
  double left, top, right, bottom;  // plot area in pixels
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

// Opens the root <svg> with title, description, background and the visible (truncated) title.
void begin_chart(SvgWriter& w, double width, double height, const std::string& title,
                 const std::string& description);
// Tick labels, gridlines and the axis line; labels are thinned when they would overlap.
void draw_x_axis(SvgWriter& w, const Scale& s, const Frame& f, const std::string& format, bool grid);
void draw_y_axis(SvgWriter& w, const Scale& s, const Frame& f, const std::string& format, bool grid);
// Axis titles: x centred under the plot at baseline y, y rotated and centred at x.
void draw_x_label(SvgWriter& w, const Frame& f, const std::string& label, double y);
void draw_y_label(SvgWriter& w, const Frame& f, const std::string& label, double x);
void draw_no_data(SvgWriter& w, const Frame& f);
// Widest tick label of s, for sizing the left margin.
double max_tick_label_width(const Scale& s, const std::string& format);

struct LegendEntry {
  enum class Kind { kLine, kSwatch, kMarker };
  std::string name;
  std::string color;
  Kind kind = Kind::kSwatch;
  std::string dash;  // kLine only
};
constexpr double kLegendRow = 18;
double legend_width(const std::vector<LegendEntry>& entries);
void draw_legend(SvgWriter& w, const std::vector<LegendEntry>& entries, double x, double y);

}  // namespace tinyptq::report
