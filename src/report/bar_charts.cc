// Grouped vertical bars (categories × series) and horizontal bars (one value per label, signed).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "report/chart_layout.h"

namespace tinyptq::report {
namespace {

constexpr double kValueFont = 10;
constexpr size_t kCategoryChars = 24;
constexpr size_t kRowLabelChars = 32;
constexpr const char* kPositiveColor = "#0072B2";
constexpr const char* kNegativeColor = "#D55E00";

void draw_zero_line_h(SvgWriter& w, const Scale& sy, const Frame& f) {
  if (sy.log || !(sy.d0 < 0 && sy.d1 > 0)) return;
  const double y = sy.map(0);
  w.leaf(Tag("line")
             .str("class", "zero-line")
             .num("x1", f.left)
             .num("y1", y)
             .num("x2", f.right)
             .num("y2", y)
             .str("stroke", "#555555"));
}

void draw_zero_line_v(SvgWriter& w, const Scale& sx, const Frame& f) {
  if (sx.log || !(sx.d0 < 0 && sx.d1 > 0)) return;
  const double x = sx.map(0);
  w.leaf(Tag("line")
             .str("class", "zero-line")
             .num("x1", x)
             .num("y1", f.top)
             .num("x2", x)
             .num("y2", f.bottom)
             .str("stroke", "#555555"));
}

}  // namespace

std::string grouped_bar_svg(const std::string& title, const std::vector<std::string>& categories,
                            const std::vector<Series>& series, const Axis& y) {
  std::vector<double> ys;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const std::string where =
        "report: chart '" + title + "', series " + std::to_string(i) + " '" + s.name + "': ";
    check(s.y.size() == categories.size(), where + "has " + std::to_string(s.y.size()) + " values for " +
                                               std::to_string(categories.size()) + " categories");
    const bool no_band = s.y_low.empty() && s.y_high.empty();
    check(no_band || (s.y_low.size() == s.y.size() && s.y_high.size() == s.y.size()),
          where + "y_low and y_high must both be empty or both have one value per category");
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    ys.insert(ys.end(), s.y_low.begin(), s.y_low.end());
    ys.insert(ys.end(), s.y_high.begin(), s.y_high.end());
  }
  Scale sy = make_scale(y, ys, {.include_zero = true}, title);

  std::vector<LegendEntry> legend;
  if (std::any_of(series.begin(), series.end(), [](const Series& s) { return !s.name.empty(); })) {
    for (size_t i = 0; i < series.size(); ++i)
      legend.push_back({series[i].name, palette_color(i), LegendEntry::Kind::kSwatch, ""});
  }
  const double width = kChartWidth;
  Frame f;
  f.left = 12 + (y.label.empty() ? 0 : 18) + max_tick_label_width(sy, y.format) + 8;
  f.right = width - 16 - (legend.empty() ? 0 : legend_width(legend) + 16);
  f.top = 44;
  const size_t ncat = categories.size();
  double band = ncat == 0 ? f.width() : f.width() / static_cast<double>(ncat);
  double label_w = 0;
  for (const auto& c : categories)
    label_w = std::max(label_w, text_width(truncate_utf8(c, kCategoryChars), kTickFont));
  const bool rotate = label_w > band - 6;
  if (rotate) {
    // The first rotated label reaches label_w·cos(35°) left of its band centre: keep it on the canvas.
    f.left = std::max(f.left, 0.82 * label_w - band / 2 + 6);
    band = ncat == 0 ? f.width() : f.width() / static_cast<double>(ncat);
  }
  const double bottom_margin = rotate ? 20 + label_w * 0.58 : 30;  // sin(35°) ≈ 0.57
  const double height = std::max({kChartHeight, kChartHeight - 30 + bottom_margin,
                                  44 + kLegendRow * static_cast<double>(legend.size()) + bottom_margin});
  f.bottom = height - bottom_margin;
  sy.r0 = f.bottom, sy.r1 = f.top;

  SvgWriter w;
  begin_chart(w, width, height, title,
              "Bar chart of " + std::to_string(ncat) + " categories and " + std::to_string(series.size()) +
                  " series. y axis: " + y.label + (y.log_scale ? " (log scale)" : "") + ".");
  draw_y_axis(w, sy, f, y.format, true);
  draw_y_label(w, f, y.label, 20);
  if (!sy.has_data || ncat == 0 || series.empty()) draw_no_data(w, f);

  const double group = band * 0.8;
  const double bar_w = series.empty() ? 0 : group / static_cast<double>(series.size());
  const double base = sy.log ? sy.lowest() : 0.0;
  const double y_base = sy.map(base);
  const bool value_labels = ncat * series.size() <= 48;
  w.open(Tag("g").str("class", "bars"));
  for (size_t j = 0; j < series.size(); ++j) {
    const Series& s = series[j];
    for (size_t c = 0; c < ncat; ++c) {
      const double x = f.left + band * static_cast<double>(c) + band * 0.1 + bar_w * static_cast<double>(j);
      const double cx = x + bar_w / 2;
      const double v = s.y[c];
      if (!sy.usable(v)) {
        if (bar_w >= 14) {
          w.text(Tag("text")
                     .str("class", "missing")
                     .num("x", cx)
                     .num("y", y_base - 4)
                     .str("text-anchor", "middle")
                     .num("font-size", 9)
                     .str("fill", "#888888"),
                 "n/a");
        }
        continue;
      }
      const double y_v = sy.map(v);
      std::string tip =
          (s.name.empty() ? "" : s.name + ", ") + categories[c] + ": " + format_number(v, y.format.c_str());
      const bool has_err = !s.y_low.empty() && sy.usable(s.y_low[c]) && sy.usable(s.y_high[c]);
      if (has_err) {
        tip += " (" + format_number(s.y_low[c], y.format.c_str()) + " to " +
               format_number(s.y_high[c], y.format.c_str()) + ")";
      }
      const double inset = std::min(bar_w * 0.08, 2.0);
      w.leaf_with_tooltip(Tag("rect")
                              .str("class", "bar")
                              .num("x", x + inset)
                              .num("y", std::min(y_v, y_base))
                              .num("width", bar_w - 2 * inset)
                              .num("height", std::fabs(y_base - y_v))
                              .str("fill", palette_color(j)),
                          tip);
      double top = std::min(y_v, y_base), bottom = std::max(y_v, y_base);
      if (has_err) {
        const double y_lo = sy.map(s.y_low[c]), y_hi = sy.map(s.y_high[c]);
        const double cap = std::min(bar_w * 0.25, 6.0);
        // Whisker from low to high with a cap at each end.
        std::string d = svg_polyline_path({{cx, y_lo}, {cx, y_hi}});
        d.append(" ").append(svg_polyline_path({{cx - cap, y_lo}, {cx + cap, y_lo}}));
        d.append(" ").append(svg_polyline_path({{cx - cap, y_hi}, {cx + cap, y_hi}}));
        w.leaf(Tag("path")
                   .str("class", "errorbar")
                   .str("d", d)
                   .str("stroke", "#333333")
                   .num("stroke-width", 1.2)
                   .str("fill", "none"));
        top = std::min({top, y_lo, y_hi});
        bottom = std::max({bottom, y_lo, y_hi});
      }
      const std::string label = format_number(v, y.format.c_str());
      if (value_labels && text_width(label, kValueFont) <= bar_w + 4) {
        const bool below = !sy.log && v < 0;
        w.text(Tag("text")
                   .str("class", "value")
                   .num("x", cx)
                   .num("y", below ? bottom + 11 : top - 3)
                   .str("text-anchor", "middle")
                   .num("font-size", kValueFont)
                   .str("fill", "#333333"),
               label);
      }
    }
  }
  w.close();
  draw_zero_line_h(w, sy, f);

  w.open(Tag("g").str("class", "x-axis").str("fill", "#444444"));
  for (size_t c = 0; c < ncat; ++c) {
    const double cx = f.left + band * (static_cast<double>(c) + 0.5);
    const std::string shown = truncate_utf8(categories[c], kCategoryChars);
    const std::string tip = shown == categories[c] ? "" : categories[c];
    if (rotate) {
      const double ty = f.bottom + 12;
      w.text(Tag("text")
                 .num("x", cx)
                 .num("y", ty)
                 .str("text-anchor", "end")
                 .str("transform", "rotate(-35 " + svg_num(cx) + " " + svg_num(ty) + ")"),
             shown, tip);
    } else {
      w.text(Tag("text").num("x", cx).num("y", f.bottom + 16).str("text-anchor", "middle"), shown, tip);
    }
  }
  w.leaf(Tag("line")
             .num("x1", f.left)
             .num("y1", f.bottom)
             .num("x2", f.right)
             .num("y2", f.bottom)
             .str("stroke", "#888888"));
  w.close();
  draw_legend(w, legend, f.right + 16, f.top);
  return w.finish();
}

std::string horizontal_bar_svg(const std::string& title, const std::vector<std::string>& labels,
                               const std::vector<double>& values, const Axis& x) {
  check(labels.size() == values.size(), "report: chart '" + title + "': " + std::to_string(labels.size()) +
                                            " labels but " + std::to_string(values.size()) + " values");
  Scale sx = make_scale(x, values, {.include_zero = true}, title);
  const size_t n = labels.size();
  constexpr double kRow = 24, kBar = 16;

  double label_w = 0, value_w = 0;
  bool any_negative = false, any_positive = false;
  for (size_t i = 0; i < n; ++i) {
    label_w = std::max(label_w, text_width(truncate_utf8(labels[i], kRowLabelChars), kTickFont));
    if (!sx.usable(values[i])) continue;
    value_w = std::max(value_w, text_width(format_number(values[i], x.format.c_str()), kValueFont));
    (values[i] < 0 ? any_negative : any_positive) = true;
  }
  const double width = kChartWidth;
  Frame f;
  f.left = 16 + label_w + 10;
  f.right = width - 16;
  f.top = 44;
  f.bottom = f.top + kRow * static_cast<double>(std::max<size_t>(n, 3));
  const double height = f.bottom + (x.label.empty() ? 28 : 48);
  // Room for value labels beyond the bar ends.
  sx.r0 = f.left + (any_negative && !sx.log ? value_w + 6 : 0);
  sx.r1 = f.right - (any_positive ? value_w + 6 : 0);

  SvgWriter w;
  begin_chart(w, width, height, title,
              "Horizontal bar chart of " + std::to_string(n) + " values. x axis: " + x.label +
                  (x.log_scale ? " (log scale)" : "") + ".");
  draw_x_axis(w, sx, f, x.format, true);
  draw_x_label(w, f, x.label, f.bottom + 38);
  if (!sx.has_data) draw_no_data(w, f);

  const double base = sx.log ? sx.lowest() : 0.0;
  const double x_base = sx.map(base);
  w.open(Tag("g").str("class", "bars"));
  for (size_t i = 0; i < n; ++i) {
    const double top = f.top + kRow * static_cast<double>(i) + (kRow - kBar) / 2;
    const double cy = top + kBar / 2;
    const std::string shown = truncate_utf8(labels[i], kRowLabelChars);
    w.text(Tag("text").num("x", f.left - 8).num("y", cy + 4).str("text-anchor", "end").str("fill", "#222222"),
           shown, shown == labels[i] ? "" : labels[i]);
    const double v = values[i];
    if (!sx.usable(v)) {
      w.text(Tag("text")
                 .str("class", "missing")
                 .num("x", x_base + 4)
                 .num("y", cy + 4)
                 .num("font-size", kValueFont)
                 .str("fill", "#888888"),
             "n/a");
      continue;
    }
    const double x_v = sx.map(v);
    const bool negative = !sx.log && v < 0;
    const std::string label = format_number(v, x.format.c_str());
    w.leaf_with_tooltip(Tag("rect")
                            .str("class", "bar")
                            .num("x", std::min(x_v, x_base))
                            .num("y", top)
                            .num("width", std::fabs(x_v - x_base))
                            .num("height", kBar)
                            .str("fill", negative ? kNegativeColor : kPositiveColor),
                        labels[i] + ": " + label);
    w.text(Tag("text")
               .str("class", "value")
               .num("x", negative ? x_v - 4 : x_v + 4)
               .num("y", cy + 3.5)
               .str("text-anchor", negative ? "end" : "start")
               .num("font-size", kValueFont)
               .str("fill", "#333333"),
           label);
  }
  w.close();
  draw_zero_line_v(w, sx, f);
  return w.finish();
}

}  // namespace tinyptq::report
