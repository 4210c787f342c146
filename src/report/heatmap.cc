// Heatmap: a rows×cols grid of viridis-coloured cells with their values, and a colour legend.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "report/chart_layout.h"

namespace tinyptq::report {
namespace {

constexpr double kCellFont = 11;
constexpr double kMinFont = 8;
constexpr double kCellHeight = 28;
constexpr double kMaxCellWidth = 110;
constexpr size_t kLabelChars = 28;
constexpr int kLegendSteps = 32;
constexpr double kLegendBar = 14;

}  // namespace

std::string heatmap_svg(const std::string& title, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& col_labels,
                        const std::vector<std::vector<double>>& values, const std::string& row_axis,
                        const std::string& col_axis, const std::string& value_format) {
  const std::string where = "report: heatmap '" + title + "': ";
  check(values.size() == row_labels.size(), where + std::to_string(values.size()) + " value rows but " +
                                                std::to_string(row_labels.size()) + " row labels");
  for (size_t r = 0; r < values.size(); ++r) {
    check(values[r].size() == col_labels.size(),
          where + "row " + std::to_string(r) + " has " + std::to_string(values[r].size()) +
              " values but there are " + std::to_string(col_labels.size()) + " column labels");
  }
  const char* fmt = value_format.c_str();
  format_number(0, fmt);  // throws early for a bad format
  const size_t rows = row_labels.size(), cols = col_labels.size();

  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  double text_w = 0;
  for (const auto& row : values) {
    for (double v : row) {
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      text_w = std::max(text_w, text_width(format_number(v, fmt), kCellFont));
    }
  }
  const bool has_grid = rows > 0 && cols > 0;
  const bool has_values = lo <= hi;  // else no colour legend (all cells missing)
  // Colour position of v in [0, 1]; all-equal values sit mid-scale, ±inf at the ends.
  auto position = [&](double v) {
    return hi > lo ? (v - lo) / (hi - lo) : v > lo ? 1.0 : v < lo ? 0.0 : 0.5;
  };

  // Legend ticks: round values inside [lo, hi] (one tick when all values are equal).
  Scale legend;
  double legend_w = 0;
  if (has_values) {
    if (hi > lo) {
      Axis a;
      a.min = lo, a.max = hi, a.format = value_format;
      legend = make_scale(a, {}, {.target_ticks = 6}, title);
    } else {
      legend.ticks = {lo};
    }
    legend_w = 20 + kLegendBar + 6 + max_tick_label_width(legend, value_format) + 8;
  }

  double row_w = 0, col_w = 0;
  for (const auto& s : row_labels)
    row_w = std::max(row_w, text_width(truncate_utf8(s, kLabelChars), kTickFont));
  for (const auto& s : col_labels)
    col_w = std::max(col_w, text_width(truncate_utf8(s, kLabelChars), kTickFont));
  const double left = 16 + (row_axis.empty() ? 0 : 18) + row_w + 8;
  const double available = kChartWidth - left - legend_w - 16;
  double cell_w = std::max(36.0, std::min(text_w, 80.0) + 10);
  if (cols > 0) cell_w = std::max(cell_w, std::min(available / static_cast<double>(cols), kMaxCellWidth));
  const bool rotate = col_w > cell_w - 6;
  const double col_label_h = rotate ? 12 + col_w * 0.65 : 20;  // sin(40°) ≈ 0.64
  Frame f;
  f.left = left;
  f.top = 44;
  f.right = left + cell_w * static_cast<double>(cols);
  f.bottom = f.top + kCellHeight * static_cast<double>(rows);
  if (!has_grid) f.right = std::max(f.right, kChartWidth - 16), f.bottom = std::max(f.bottom, f.top + 120);
  const double width = std::max(kChartWidth, f.right + legend_w + 16);
  const double legend_bar_h = std::clamp(f.height(), 60.0, 180.0);
  const double height =
      std::max(f.bottom + col_label_h + (col_axis.empty() ? 8 : 28), f.top + legend_bar_h + 16);

  SvgWriter w;
  std::string desc = "Heatmap of " + std::to_string(rows) + " rows" +
                     (row_axis.empty() ? "" : " (" + row_axis + ")") + " by " + std::to_string(cols) +
                     " columns" + (col_axis.empty() ? "" : " (" + col_axis + ")");
  if (lo <= hi) desc += "; values from " + format_number(lo, fmt) + " to " + format_number(hi, fmt);
  begin_chart(w, width, height, title, desc + ".");
  if (!has_grid) {
    draw_no_data(w, f);
    return w.finish();
  }

  w.open(Tag("g").str("class", "cells").str("text-anchor", "middle"));
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const double v = values[r][c];
      const double x = f.left + cell_w * static_cast<double>(c),
                   y = f.top + kCellHeight * static_cast<double>(r);
      const std::string text = format_number(v, fmt);
      const std::string tip = row_labels[r] + ", " + col_labels[c] + ": " + text;
      const bool missing = std::isnan(v);
      const double t = missing ? 0 : position(v);
      w.leaf_with_tooltip(Tag("rect")
                              .str("class", missing ? "missing" : "cell")
                              .num("x", x)
                              .num("y", y)
                              .num("width", cell_w)
                              .num("height", kCellHeight)
                              .str("fill", missing ? "#f2f2f2" : viridis(t))
                              .str("stroke", "#ffffff"),
                          tip);
      const double fit = (cell_w - 6) / std::max(1.0, text_width(text, 1));
      const double font = std::min(kCellFont, fit);
      if (font < kMinFont) continue;  // value stays in the tooltip
      Tag label("text");
      label.num("x", x + cell_w / 2)
          .num("y", y + kCellHeight / 2 + font * 0.35)
          .str("fill", missing ? "#888888" : text_color_on_viridis(t));
      if (font < kCellFont) label.num("font-size", font);
      w.text(label, text);
    }
  }
  w.close();

  w.open(Tag("g").str("class", "row-labels").str("text-anchor", "end").str("fill", "#222222"));
  for (size_t r = 0; r < rows; ++r) {
    const std::string shown = truncate_utf8(row_labels[r], kLabelChars);
    w.text(
        Tag("text").num("x", f.left - 8).num("y", f.top + kCellHeight * (static_cast<double>(r) + 0.5) + 4),
        shown, shown == row_labels[r] ? "" : row_labels[r]);
  }
  w.close();
  w.open(Tag("g").str("class", "col-labels").str("fill", "#222222"));
  for (size_t c = 0; c < cols; ++c) {
    const std::string shown = truncate_utf8(col_labels[c], kLabelChars);
    const std::string tip = shown == col_labels[c] ? "" : col_labels[c];
    const double cx = f.left + cell_w * (static_cast<double>(c) + 0.5);
    if (rotate) {
      const double ty = f.bottom + 12;
      w.text(Tag("text")
                 .num("x", cx)
                 .num("y", ty)
                 .str("text-anchor", "end")
                 .str("transform", "rotate(-40 " + svg_num(cx) + " " + svg_num(ty) + ")"),
             shown, tip);
    } else {
      w.text(Tag("text").num("x", cx).num("y", f.bottom + 16).str("text-anchor", "middle"), shown, tip);
    }
  }
  w.close();
  draw_x_label(w, f, col_axis, f.bottom + col_label_h + 18);
  draw_y_label(w, f, row_axis, 22);

  if (!has_values) return w.finish();
  // Colour legend: a vertical bar, high at the top, with round ticks.
  const double lx = f.right + 20;
  const double bar_h = legend_bar_h;
  const double ly0 = f.top, ly1 = f.top + bar_h;
  legend.r0 = ly1, legend.r1 = ly0;
  w.open(Tag("g").str("class", "color-legend"));
  for (int i = 0; i < kLegendSteps; ++i) {
    const double t0 = static_cast<double>(i) / kLegendSteps;
    const double y = ly1 - bar_h * (t0 + 1.0 / kLegendSteps);
    w.leaf(Tag("rect")
               .num("x", lx)
               .num("y", y)
               .num("width", kLegendBar)
               .num("height", bar_h / kLegendSteps + 0.5)
               .str("fill", viridis(hi > lo ? t0 + 0.5 / kLegendSteps : 0.5)));
  }
  w.leaf(Tag("rect")
             .num("x", lx)
             .num("y", ly0)
             .num("width", kLegendBar)
             .num("height", bar_h)
             .str("fill", "none")
             .str("stroke", "#888888"));
  for (double t : legend.ticks) {
    const double y = hi > lo ? legend.map(t) : (ly0 + ly1) / 2;
    w.leaf(Tag("line")
               .num("x1", lx + kLegendBar)
               .num("y1", y)
               .num("x2", lx + kLegendBar + 4)
               .num("y2", y)
               .str("stroke", "#888888"));
    w.text(Tag("text").num("x", lx + kLegendBar + 6).num("y", y + 4).str("fill", "#444444"),
           legend.tick_label(t, value_format));
  }
  w.close();
  return w.finish();
}

}  // namespace tinyptq::report
