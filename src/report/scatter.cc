// Scatter plot: labelled points coloured by group; labels are placed greedily beside their point.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "report/chart_layout.h"

namespace tinyptq::report {
namespace {

constexpr double kLabelFont = 10;
constexpr size_t kLabelChars = 24;
constexpr double kRadius = 4.5;

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

struct LabelSpot {
  double x, y;         // text anchor position
  const char* anchor;  // text-anchor
  Box box;
  bool leader;  // label is shifted off the point: draw a line to it
};

// Candidate label positions around (px, py), best first: right, left, above, below, then right/left
// shifted up and down in 12px steps (so labels of a tight cluster fan out).
std::vector<LabelSpot> label_spots(double px, double py, double tw) {
  const double h = kLabelFont + 1;
  std::vector<LabelSpot> spots = {
      {px + 7, py + 3.5, "start", {px + 7, py - h / 2, px + 7 + tw, py + h / 2}, false},
      {px - 7, py + 3.5, "end", {px - 7 - tw, py - h / 2, px - 7, py + h / 2}, false},
      {px, py - 8, "middle", {px - tw / 2, py - 8 - h + 2, px + tw / 2, py - 6}, false},
      {px, py + 16, "middle", {px - tw / 2, py + 16 - h + 2, px + tw / 2, py + 18}, false},
  };
  for (double dy : {-12.0, 12.0, -24.0, 24.0, -36.0, 36.0}) {
    const double y = py + dy;
    spots.push_back({px + 12, y + 3.5, "start", {px + 12, y - h / 2, px + 12 + tw, y + h / 2}, true});
    spots.push_back({px - 12, y + 3.5, "end", {px - 12 - tw, y - h / 2, px - 12, y + h / 2}, true});
  }
  return spots;
}

}  // namespace

std::string scatter_svg(const std::string& title, const Axis& x, const Axis& y,
                        const std::vector<Point>& points) {
  std::vector<double> xs, ys;
  std::vector<std::string> groups;
  for (const Point& p : points) {
    xs.push_back(p.x);
    ys.push_back(p.y);
    if (std::find(groups.begin(), groups.end(), p.group) == groups.end()) groups.push_back(p.group);
  }
  Scale sx = make_scale(x, xs, {}, title);
  Scale sy = make_scale(y, ys, {}, title);

  std::vector<LegendEntry> legend;
  if (groups.size() > 1 || (groups.size() == 1 && !groups[0].empty())) {
    for (size_t g = 0; g < groups.size(); ++g) {
      legend.push_back(
          {groups[g].empty() ? "(none)" : groups[g], palette_color(g), LegendEntry::Kind::kMarker, ""});
    }
  }
  const double width = kChartWidth;
  const double height = std::max(kChartHeight, 44 + kLegendRow * static_cast<double>(legend.size()) + 24);
  Frame f;
  f.left = 12 + (y.label.empty() ? 0 : 18) + max_tick_label_width(sy, y.format) + 8;
  f.right = width - 16 - (legend.empty() ? 0 : legend_width(legend) + 16);
  f.top = 44;
  f.bottom = height - (x.label.empty() ? 28 : 48);
  // Inset the data range so markers and their labels at the domain edges stay inside the frame.
  sx.r0 = f.left + 8, sx.r1 = f.right - 8;
  sy.r0 = f.bottom - 8, sy.r1 = f.top + 8;

  SvgWriter w;
  begin_chart(w, width, height, title,
              "Scatter plot of " + std::to_string(points.size()) + " points in " +
                  std::to_string(groups.size()) + " groups. x axis: " + x.label +
                  (x.log_scale ? " (log scale)" : "") + ". y axis: " + y.label +
                  (y.log_scale ? " (log scale)" : "") + ".");
  draw_y_axis(w, sy, f, y.format, true);
  draw_x_axis(w, sx, f, x.format, true);
  draw_x_label(w, f, x.label, f.bottom + 38);
  draw_y_label(w, f, y.label, 20);
  if (!sx.has_data || !sy.has_data) draw_no_data(w, f);

  std::vector<size_t> shown;
  std::vector<Box> taken;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!sx.in_domain(points[i].x) || !sy.in_domain(points[i].y)) continue;
    shown.push_back(i);
    const double px = sx.map(points[i].x), py = sy.map(points[i].y);
    taken.push_back({px - kRadius, py - kRadius, px + kRadius, py + kRadius});
  }

  w.open(Tag("g").str("class", "points"));
  for (size_t i : shown) {
    const Point& p = points[i];
    const size_t g = std::find(groups.begin(), groups.end(), p.group) - groups.begin();
    const double px = sx.map(p.x), py = sy.map(p.y);
    std::string tip = p.label + (p.group.empty() ? "" : " (" + p.group + ")") + ": " +
                      (x.label.empty() ? "x" : x.label) + " = " + format_number(p.x, x.format.c_str()) +
                      ", " + (y.label.empty() ? "y" : y.label) + " = " + format_number(p.y, y.format.c_str());
    w.leaf_with_tooltip(Tag("circle")
                            .str("class", "point")
                            .num("cx", px)
                            .num("cy", py)
                            .num("r", kRadius)
                            .str("fill", palette_color(g))
                            .str("stroke", "#ffffff")
                            .num("stroke-width", 1),
                        tip);
  }
  w.close();

  // Labels after all markers so no marker covers text; first free spot wins, else the right-hand one.
  w.open(Tag("g").str("class", "point-labels").num("font-size", kLabelFont).str("fill", "#222222"));
  const Box frame{f.left, f.top, f.right, f.bottom};
  for (size_t i : shown) {
    const Point& p = points[i];
    if (p.label.empty()) continue;
    const std::string text = truncate_utf8(p.label, kLabelChars);
    const double px = sx.map(p.x), py = sy.map(p.y);
    const auto spots = label_spots(px, py, text_width(text, kLabelFont));
    const LabelSpot* pick = nullptr;
    for (const LabelSpot& s : spots) {
      const bool inside =
          s.box.x0 >= frame.x0 && s.box.x1 <= frame.x1 && s.box.y0 >= frame.y0 && s.box.y1 <= frame.y1;
      const bool free =
          std::none_of(taken.begin(), taken.end(), [&](const Box& b) { return b.overlaps(s.box); });
      if (inside && free) {
        pick = &s;
        break;
      }
    }
    if (pick == nullptr) pick = &spots[px + 7 + spots[0].box.x1 - spots[0].box.x0 <= frame.x1 ? 0 : 1];
    taken.push_back(pick->box);
    if (pick->leader) {
      // From the marker's edge to just before the text's vertical centre.
      const double lx = pick->x + (pick->anchor[0] == 's' ? -2 : 2), ly = pick->y - 3.5;
      const double len = std::max(1e-9, std::hypot(lx - px, ly - py));
      w.leaf(Tag("line")
                 .str("class", "leader")
                 .num("x1", px + (lx - px) * kRadius / len)
                 .num("y1", py + (ly - py) * kRadius / len)
                 .num("x2", lx)
                 .num("y2", ly)
                 .str("stroke", "#999999")
                 .num("stroke-width", 0.75));
    }
    w.text(Tag("text").num("x", pick->x).num("y", pick->y).str("text-anchor", pick->anchor), text,
           text == p.label ? "" : p.label);
  }
  w.close();
  draw_legend(w, legend, f.right + 16, f.top);
  return w.finish();
}

}  // namespace tinyptq::report
