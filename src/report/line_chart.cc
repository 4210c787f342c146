// Line chart: numeric x and y axes, one polyline + markers per series, optional spread band.
#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "report/chart_layout.h"

namespace tinyptq::report {
namespace {

using Pixels = std::vector<std::pair<double, double>>;

void check_series(const std::string& chart, size_t i, const Series& s) {
  const std::string where =
      "report: chart '" + chart + "', series " + std::to_string(i) + " '" + s.name + "': ";
  check(s.x.size() == s.y.size(),
        where + "x has " + std::to_string(s.x.size()) + " values but y has " + std::to_string(s.y.size()));
  const bool no_band = s.y_low.empty() && s.y_high.empty();
  check(no_band || (s.y_low.size() == s.x.size() && s.y_high.size() == s.x.size()),
        where + "y_low and y_high must both be empty or both have " + std::to_string(s.x.size()) + " values");
}

// Closed path: upper edge left→right, lower edge back.
std::string band_path(const Pixels& high, const Pixels& low) {
  Pixels ring = high;
  ring.insert(ring.end(), low.rbegin(), low.rend());
  return svg_polyline_path(ring) + " Z";
}

void draw_series(SvgWriter& w, const Series& s, size_t index, const Scale& sx, const Scale& sy, const Axis& x,
                 const Axis& y) {
  const std::string& color = palette_color(index);
  // Stable order by x so lines never double back.
  std::vector<size_t> order(s.x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return sx.usable(s.x[a]) && (!sx.usable(s.x[b]) || s.x[a] < s.x[b]);
  });

  w.open(Tag("g").str("class", "series"));
  if (!s.y_low.empty()) {
    Pixels high, low;
    auto flush = [&] {
      if (high.size() >= 2) {
        w.leaf(Tag("path")
                   .str("class", "band")
                   .str("d", band_path(high, low))
                   .str("fill", color)
                   .num("fill-opacity", 0.18)
                   .str("stroke", "none"));
      }
      high.clear();
      low.clear();
    };
    for (size_t i : order) {
      if (!sx.in_domain(s.x[i]) || !sy.usable(s.y_low[i]) || !sy.usable(s.y_high[i])) {
        flush();
        continue;
      }
      const double px = sx.map(s.x[i]);
      high.emplace_back(px, sy.map(std::max(s.y_low[i], s.y_high[i])));
      low.emplace_back(px, sy.map(std::min(s.y_low[i], s.y_high[i])));
    }
    flush();
  }

  Pixels run, markers;
  std::vector<size_t> marker_index;
  auto flush = [&] {
    if (run.size() >= 2) {
      Tag path("path");
      path.str("class", "line")
          .str("d", svg_polyline_path(run))
          .str("fill", "none")
          .str("stroke", color)
          .num("stroke-width", 2)
          .str("stroke-linejoin", "round");
      if (!dash_pattern(index).empty()) path.str("stroke-dasharray", dash_pattern(index));
      w.leaf(path);
    }
    run.clear();
  };
  for (size_t i : order) {
    if (!sx.in_domain(s.x[i]) || !sy.in_domain(s.y[i])) {
      flush();
      continue;
    }
    run.emplace_back(sx.map(s.x[i]), sy.map(s.y[i]));
    markers.push_back(run.back());
    marker_index.push_back(i);
  }
  flush();
  for (size_t k = 0; k < markers.size(); ++k) {
    const size_t i = marker_index[k];
    std::string tip = s.name.empty() ? "" : s.name + ": ";
    tip += x.label.empty() ? "x" : x.label;
    tip += " = " + format_number(s.x[i], x.format.c_str()) + ", " + (y.label.empty() ? "y" : y.label) +
           " = " + format_number(s.y[i], y.format.c_str());
    if (!s.y_low.empty()) {
      tip += " (" + format_number(s.y_low[i], y.format.c_str()) + " to " +
             format_number(s.y_high[i], y.format.c_str()) + ")";
    }
    w.leaf_with_tooltip(Tag("circle")
                            .str("class", "point")
                            .num("cx", markers[k].first)
                            .num("cy", markers[k].second)
                            .num("r", 3.5)
                            .str("fill", color)
                            .str("stroke", "#ffffff")
                            .num("stroke-width", 1),
                        tip);
  }
  w.close();
}

}  // namespace

std::string line_chart_svg(const std::string& title, const Axis& x, const Axis& y,
                           const std::vector<Series>& series) {
  std::vector<double> xs, ys;
  size_t points = 0;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    check_series(title, i, s);
    points += s.x.size();
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    ys.insert(ys.end(), s.y_low.begin(), s.y_low.end());
    ys.insert(ys.end(), s.y_high.begin(), s.y_high.end());
  }
  Scale sx = make_scale(x, xs, {}, title);
  Scale sy = make_scale(y, ys, {}, title);

  std::vector<LegendEntry> legend;
  const bool named =
      std::any_of(series.begin(), series.end(), [](const Series& s) { return !s.name.empty(); });
  if (named) {
    for (size_t i = 0; i < series.size(); ++i) {
      legend.push_back({series[i].name, palette_color(i), LegendEntry::Kind::kLine, dash_pattern(i)});
    }
  }
  const double width = kChartWidth;
  const double height = std::max(kChartHeight, 44 + kLegendRow * static_cast<double>(legend.size()) + 24);
  Frame f;
  f.left = 12 + (y.label.empty() ? 0 : 18) + max_tick_label_width(sy, y.format) + 8;
  f.right = width - 16 - (legend.empty() ? 0 : legend_width(legend) + 16);
  f.top = 44;
  f.bottom = height - (x.label.empty() ? 28 : 48);
  sx.r0 = f.left, sx.r1 = f.right;
  sy.r0 = f.bottom, sy.r1 = f.top;

  SvgWriter w;
  begin_chart(w, width, height, title,
              "Line chart with " + std::to_string(series.size()) + " series and " + std::to_string(points) +
                  " points. x axis: " + x.label + (x.log_scale ? " (log scale)" : "") +
                  ". y axis: " + y.label + (y.log_scale ? " (log scale)" : "") + ".");
  draw_y_axis(w, sy, f, y.format, true);
  draw_x_axis(w, sx, f, x.format, true);
  draw_x_label(w, f, x.label, f.bottom + 38);
  draw_y_label(w, f, y.label, 20);
  if (!sx.has_data || !sy.has_data) draw_no_data(w, f);
  for (size_t i = 0; i < series.size(); ++i) draw_series(w, series[i], i, sx, sy, x, y);
  draw_legend(w, legend, f.right + 16, f.top);
  return w.finish();
}

}  // namespace tinyptq::report
