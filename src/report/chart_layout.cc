#include "report/chart_layout.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyptq::report {
namespace {

constexpr double kHugeValue = 1e100;  // beyond this, values are treated as missing (no overflow in spans)
constexpr size_t kLegendChars = 28;
constexpr const char* kFontFamily =
    "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif";
constexpr const char* kGridColor = "#e6e6e6";
constexpr const char* kAxisColor = "#888888";
constexpr const char* kLabelColor = "#444444";

// Largest of 1, 2, 5 × 10^k that is <= raw (rounded up to the next such value otherwise).
double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * p;
}

struct Rgb {
  double r, g, b;
};

// Viridis sampled at 9 evenly spaced stops (matplotlib's colormap).
constexpr std::array<Rgb, 9> kViridis = {{{68, 1, 84},
                                          {71, 44, 122},
                                          {59, 81, 139},
                                          {44, 113, 142},
                                          {33, 144, 141},
                                          {39, 173, 129},
                                          {92, 200, 99},
                                          {170, 220, 50},
                                          {253, 231, 37}}};

Rgb viridis_rgb(double t) {
  if (!(t >= 0)) t = 0;  // also NaN
  if (t > 1) t = 1;
  const double pos = t * (kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(pos), kViridis.size() - 2);
  const double u = pos - i;
  const Rgb& a = kViridis[i];
  const Rgb& b = kViridis[i + 1];
  return {a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u, a.b + (b.b - a.b) * u};
}

// WCAG relative luminance of an sRGB colour with 0..255 channels.
double luminance(const Rgb& c) {
  auto lin = [](double v) {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
}

}  // namespace

const std::string& palette_color(size_t i) {
  static const std::array<std::string, 8> kColors = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                                     "#CC79A7", "#56B4E9", "#000000", "#F0E442"};
  return kColors[i % kColors.size()];
}

const std::string& dash_pattern(size_t i) {
  static const std::array<std::string, 4> kDashes = {"", "6 3", "2 3", "8 3 2 3"};
  return kDashes[(i / 8 + i) % kDashes.size()];
}

std::string viridis(double t) {
  const Rgb c = viridis_rgb(t);
  static const char* kHex = "0123456789abcdef";
  std::string s = "#";
  for (double v : {c.r, c.g, c.b}) {
    const int n = std::clamp(static_cast<int>(std::lround(v)), 0, 255);
    s += kHex[n >> 4];
    s += kHex[n & 15];
  }
  return s;
}

std::string text_color_on_viridis(double t) {
  // Black text wins on contrast above luminance ~0.18 (contrast ratios with white and black are equal).
  return luminance(viridis_rgb(t)) > 0.18 ? "#1a1a1a" : "#ffffff";
}

double text_width(const std::string& text, double font_size) {
  return 0.6 * font_size * static_cast<double>(utf8_length(text));
}

bool Scale::usable(double v) const {
  return std::isfinite(v) && std::fabs(v) <= kHugeValue && (!log || v > 0);
}

bool Scale::in_domain(double v) const {
  if (!usable(v)) return false;
  const double u = log ? std::log10(v) : v;
  const double eps = 1e-9 * (d1 - d0);
  return u >= d0 - eps && u <= d1 + eps;
}

double Scale::map(double v) const {
  double u = log ? (v > 0 ? std::log10(v) : d0) : v;
  if (!std::isfinite(u)) u = u > 0 ? d1 : d0;
  const double t = std::clamp((u - d0) / (d1 - d0), 0.0, 1.0);
  return r0 + t * (r1 - r0);
}

double Scale::lowest() const { return log ? std::pow(10.0, d0) : d0; }

std::string Scale::tick_label(double v, const std::string& format) const {
  int decimals = this->decimals;
  if (log) decimals = v < 1 ? static_cast<int>(std::ceil(-std::log10(v) - 1e-9)) : 0;
  return format_number_min_decimals(v, format.c_str(), std::clamp(decimals, 0, 12));
}

Scale make_scale(const Axis& axis, const std::vector<double>& values, const ScaleOptions& options,
                 const std::string& chart) {
  const std::string where = "report: chart '" + chart + "', axis '" + axis.label + "': ";
  format_number(0, axis.format.c_str());  // throws early for a bad format
  check(!axis.min || std::isfinite(*axis.min), where + "min is not finite");
  check(!axis.max || std::isfinite(*axis.max), where + "max is not finite");
  check(!axis.min || !axis.max || *axis.min < *axis.max, where + "min must be below max");
  check(!axis.log_scale || !axis.min || *axis.min > 0, where + "min must be positive on a log scale");
  check(!axis.log_scale || !axis.max || *axis.max > 0, where + "max must be positive on a log scale");

  Scale s;
  s.log = axis.log_scale;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!s.usable(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  s.has_data = lo <= hi;
  const int target = std::max(2, options.target_ticks);

  if (!s.log) {
    if (!s.has_data) lo = 0, hi = 1;
    if (options.include_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
    if (axis.min) lo = *axis.min;
    if (axis.max) hi = *axis.max;
    // Degenerate (all-equal) or inverted-by-one-pin domain: widen around it.
    if (!(hi - lo > 1e-9 * std::max(std::fabs(lo), std::fabs(hi)))) {
      const double pad = lo == 0 && hi == 0 ? 1 : std::max(std::fabs(lo), std::fabs(hi)) * 0.1;
      if (axis.min)
        hi = lo + 2 * pad;
      else if (axis.max)
        lo = hi - 2 * pad;
      else if (options.include_zero && lo == 0 && hi == 0)
        hi = pad;
      else if (options.include_zero && hi == 0)
        lo -= pad;
      else if (options.include_zero && lo == 0)
        hi += pad;
      else
        lo -= pad, hi += pad;
    }
    const double step = nice_step((hi - lo) / target);
    if (!axis.min) lo = std::floor(lo / step + 1e-9) * step;
    if (!axis.max) hi = std::ceil(hi / step - 1e-9) * step;
    const double k0 = std::ceil(lo / step - 1e-9), k1 = std::floor(hi / step + 1e-9);
    for (double k = k0; k <= k1 && s.ticks.size() < 100; k += 1) {
      const double t = k * step;
      s.ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    }
    s.decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 12);
    s.d0 = lo;
    s.d1 = hi;
    return s;
  }

  if (!s.has_data) lo = 1, hi = 10;
  if (axis.min) lo = *axis.min;
  if (axis.max) hi = *axis.max;
  double l0 = std::log10(lo), l1 = std::log10(hi);
  if (!(l1 - l0 > 1e-9)) {
    if (axis.min)
      l1 = l0 + 1;
    else if (axis.max)
      l0 = l1 - 1;
    else
      l0 -= 1, l1 += 1;
  }
  // Round free ends out to the nearest 1, 2 or 5 × 10^k (not whole decades: less empty space).
  const double kSteps[] = {0, std::log10(2.0), std::log10(5.0), 1};
  if (!axis.min) {
    const double k = std::floor(l0 + 1e-9);
    double best = k;
    for (double m : kSteps) {
      if (k + m <= l0 + 1e-9) best = k + m;
    }
    l0 = best;
  }
  if (!axis.max) {
    const double k = std::floor(l1 - 1e-9);
    for (double m : kSteps) {
      if (k + m >= l1 - 1e-9) {
        l1 = k + m;
        break;
      }
    }
  }
  // Decade ticks (every stride-th when there are many), plus 2× and 5× over a short range.
  const double first = std::ceil(l0 - 1e-9), last = std::floor(l1 + 1e-9);
  const double stride = std::max(1.0, std::ceil((last - first + 1) / 8));
  const bool minor = l1 - l0 <= 3 + 1e-9;
  for (double k = std::floor(l0); k <= std::ceil(l1); k += 1) {
    const double p = std::pow(10.0, k);
    const bool decade = std::fmod(k - first, stride) == 0;
    for (double m : {1.0, 2.0, 5.0}) {
      if (m == 1 ? !decade : !minor) continue;
      const double u = k + std::log10(m);
      if (u >= l0 - 1e-9 && u <= l1 + 1e-9) s.ticks.push_back(m * p);
    }
  }
  if (s.ticks.size() < 2) s.ticks = {std::pow(10.0, l0), std::pow(10.0, l1)};
  s.d0 = l0;
  s.d1 = l1;
  return s;
}

void begin_chart(SvgWriter& w, double width, double height, const std::string& title,
                 const std::string& description) {
  w.open(Tag("svg")
             .str("xmlns", "http://www.w3.org/2000/svg")
             .str("viewBox", "0 0 " + svg_num(width) + " " + svg_num(height))
             .num("width", width)
             .num("height", height)
             .str("role", "img")
             .str("aria-label", title)
             .str("font-family", kFontFamily)
             .num("font-size", kTickFont));
  w.text(Tag("title"), title);
  w.text(Tag("desc"), description);
  w.leaf(Tag("rect").num("width", width).num("height", height).str("fill", "#ffffff"));
  const size_t max_chars = static_cast<size_t>(std::max(8.0, (width - 32) / (0.6 * kTitleFont)));
  w.text(Tag("text")
             .num("x", 16)
             .num("y", 24)
             .num("font-size", kTitleFont)
             .str("font-weight", "600")
             .str("fill", "#1a1a1a"),
         truncate_utf8(title, max_chars));
}

double max_tick_label_width(const Scale& s, const std::string& format) {
  double m = 0;
  for (double t : s.ticks) m = std::max(m, text_width(s.tick_label(t, format), kTickFont));
  return m;
}

void draw_x_axis(SvgWriter& w, const Scale& s, const Frame& f, const std::string& format, bool grid) {
  // Keep every stride-th label so labels stay ~8px apart.
  size_t stride = 1;
  if (s.ticks.size() > 1) {
    const double spacing = std::fabs(f.width()) / static_cast<double>(s.ticks.size() - 1);
    const double need = max_tick_label_width(s, format) + 8;
    while (stride < s.ticks.size() && spacing * stride < need) ++stride;
  }
  w.open(Tag("g").str("class", "x-axis").str("fill", kLabelColor).str("text-anchor", "middle"));
  for (size_t i = 0; i < s.ticks.size(); ++i) {
    const double x = s.map(s.ticks[i]);
    if (grid) {
      w.leaf(Tag("line")
                 .num("x1", x)
                 .num("y1", f.top)
                 .num("x2", x)
                 .num("y2", f.bottom)
                 .str("stroke", kGridColor));
    }
    w.leaf(Tag("line")
               .num("x1", x)
               .num("y1", f.bottom)
               .num("x2", x)
               .num("y2", f.bottom + 4)
               .str("stroke", kAxisColor));
    if (i % stride == 0)
      w.text(Tag("text").num("x", x).num("y", f.bottom + 16), s.tick_label(s.ticks[i], format));
  }
  w.leaf(Tag("line")
             .num("x1", f.left)
             .num("y1", f.bottom)
             .num("x2", f.right)
             .num("y2", f.bottom)
             .str("stroke", kAxisColor));
  w.close();
}

void draw_y_axis(SvgWriter& w, const Scale& s, const Frame& f, const std::string& format, bool grid) {
  w.open(Tag("g").str("class", "y-axis").str("fill", kLabelColor).str("text-anchor", "end"));
  for (double t : s.ticks) {
    const double y = s.map(t);
    if (grid) {
      w.leaf(Tag("line")
                 .num("x1", f.left)
                 .num("y1", y)
                 .num("x2", f.right)
                 .num("y2", y)
                 .str("stroke", kGridColor));
    }
    w.text(Tag("text").num("x", f.left - 6).num("y", y + 4), s.tick_label(t, format));
  }
  w.leaf(Tag("line")
             .num("x1", f.left)
             .num("y1", f.top)
             .num("x2", f.left)
             .num("y2", f.bottom)
             .str("stroke", kAxisColor));
  w.close();
}

void draw_x_label(SvgWriter& w, const Frame& f, const std::string& label, double y) {
  if (label.empty()) return;
  w.text(Tag("text")
             .num("x", (f.left + f.right) / 2)
             .num("y", y)
             .str("text-anchor", "middle")
             .str("fill", "#222222")
             .str("class", "axis-label"),
         label);
}

void draw_y_label(SvgWriter& w, const Frame& f, const std::string& label, double x) {
  if (label.empty()) return;
  const double y = (f.top + f.bottom) / 2;
  w.text(Tag("text")
             .num("x", x)
             .num("y", y)
             .str("transform", "rotate(-90 " + svg_num(x) + " " + svg_num(y) + ")")
             .str("text-anchor", "middle")
             .str("fill", "#222222")
             .str("class", "axis-label"),
         label);
}

void draw_no_data(SvgWriter& w, const Frame& f) {
  w.text(Tag("text")
             .num("x", (f.left + f.right) / 2)
             .num("y", (f.top + f.bottom) / 2)
             .str("text-anchor", "middle")
             .num("font-size", 14)
             .str("fill", "#777777")
             .str("class", "no-data"),
         "No data");
}

double legend_width(const std::vector<LegendEntry>& entries) {
  double m = 0;
  for (const auto& e : entries) m = std::max(m, text_width(truncate_utf8(e.name, kLegendChars), kTickFont));
  return entries.empty() ? 0 : 28 + m;
}

void draw_legend(SvgWriter& w, const std::vector<LegendEntry>& entries, double x, double y) {
  if (entries.empty()) return;
  w.open(Tag("g").str("class", "legend"));
  for (size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& e = entries[i];
    const double cy = y + kLegendRow * static_cast<double>(i) + kLegendRow / 2;
    switch (e.kind) {
      case LegendEntry::Kind::kLine: {
        Tag line("line");
        line.num("x1", x)
            .num("y1", cy)
            .num("x2", x + 22)
            .num("y2", cy)
            .str("stroke", e.color)
            .num("stroke-width", 2);
        if (!e.dash.empty()) line.str("stroke-dasharray", e.dash);
        w.leaf(line);
        w.leaf(Tag("circle").num("cx", x + 11).num("cy", cy).num("r", 3).str("fill", e.color));
        break;
      }
      case LegendEntry::Kind::kMarker:
        w.leaf(Tag("circle").num("cx", x + 11).num("cy", cy).num("r", 4.5).str("fill", e.color));
        break;
      case LegendEntry::Kind::kSwatch:
        w.leaf(Tag("rect")
                   .num("x", x + 5)
                   .num("y", cy - 6)
                   .num("width", 12)
                   .num("height", 12)
                   .str("fill", e.color));
        break;
    }
    const std::string shown = truncate_utf8(e.name, kLegendChars);
    Tag text("text");
    text.num("x", x + 28).num("y", cy + 4).str("fill", "#222222");
    w.text(text, shown, shown == e.name ? "" : e.name);  // full name on hover when truncated
  }
  w.close();
}

}  // namespace tinyptq::report
