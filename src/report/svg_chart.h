// Inline-SVG charts for the comparison report. Each function returns one standalone <svg> element
// (viewBox-scaled, ~640×360 user units, no scripts, ids or external references) with a <title>, an
// aria-label, axis ticks at round values, gridlines, a legend where there is more than one thing to tell
// apart, and the Okabe–Ito colour-blind-safe palette (heatmaps: viridis). Output is deterministic.
//
// Data handling, common to all charts: NaN/±inf values are skipped (a line breaks there), values <= 0 are
// skipped on a log axis, an empty or all-missing chart renders its frame and "No data", and all-equal
// values get a padded domain. Data marks carry class="cell" (heatmap), "point" (line/scatter markers) or
// "bar" so callers and tests can find them. Mismatched sizes throw Error naming the chart and series.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/format.h"

namespace tinyptq::report {

// One data series. x/y must have equal length; y_low/y_high are optional (both empty or both x-sized):
// a spread band on line charts, error bars on bar charts. Grouped bars ignore x (y holds one value per
// category).
struct Series {
  std::string name;
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;
};

// A value axis. min/max pin the domain (else it is the data range rounded out to round tick values);
// format (printf-style, see format_number) is used for tick and value labels, with extra decimals on
// ticks when the tick step needs them.
struct Axis {
  std::string label;
  bool log_scale = false;
  std::optional<double> min, max;
  std::string format = "%.1f";
};

struct Point {
  std::string label;
  double x, y;
  std::string group;
};

// rows×cols grid coloured low→high (viridis) with a colour legend and each cell's value as text.
// NaN cells are drawn as "n/a" placeholders (class="missing"), not as cells.
std::string heatmap_svg(const std::string& title, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& col_labels,
                        const std::vector<std::vector<double>>& values, const std::string& row_axis,
                        const std::string& col_axis, const std::string& value_format);

// Numeric x/y lines with circle markers; a translucent spread band where y_low/y_high are given.
std::string line_chart_svg(const std::string& title, const Axis& x, const Axis& y,
                           const std::vector<Series>& series);

// One group of bars per category, one bar per series (y[i] belongs to categories[i]); bars start at zero
// (at the axis minimum on a log axis); error bars where y_low/y_high are given.
std::string grouped_bar_svg(const std::string& title, const std::vector<std::string>& categories,
                            const std::vector<Series>& series, const Axis& y);

// One horizontal bar per label from zero; negative values extend left of zero in a second colour.
std::string horizontal_bar_svg(const std::string& title, const std::vector<std::string>& labels,
                               const std::vector<double>& values, const Axis& x);

// Labelled points coloured by group (legend in order of first appearance).
std::string scatter_svg(const std::string& title, const Axis& x, const Axis& y,
                        const std::vector<Point>& points);

}  // namespace tinyptq::report
