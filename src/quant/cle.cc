#include "quant/cle.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace tinyptq {

namespace {

constexpr int kMaxRounds = 20;
constexpr double kTolerance = 1e-6;

struct Pair {
  int first = -1, second = -1;
};

bool is_graph_output(const Graph& g, const std::string& v) {
  return std::any_of(g.outputs.begin(), g.outputs.end(), [&](const ValueInfo& o) { return o.name == v; });
}

// Number of node inputs (over all nodes) that read value v.
int uses(const Graph& g, const std::string& v) {
  int n = 0;
  for (const auto& node : g.nodes)
    for (const auto& in : node.inputs) n += in == v;
  return n;
}

// A Conv whose weight (and bias, if any) are float initializers read by this node only.
bool plain_conv(const Graph& g, const Node& n) {
  if (n.op != Op::kConv || n.attrs.group != 1 || n.inputs.size() < 2) return false;
  const Tensor* w = g.initializer(n.inputs[1]);
  if (!w || w->dtype != DType::kFloat32 || w->shape.size() != 4 || uses(g, n.inputs[1]) != 1) return false;
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const Tensor* b = g.initializer(n.inputs[2]);
    if (!b || b->dtype != DType::kFloat32 || b->stored() != w->shape[0] || uses(g, n.inputs[2]) != 1) return false;
  }
  return true;
}

// The only consumer of v, or -1 (several consumers, none, or v is a graph output).
int sole_consumer(const Graph& g, const std::string& v) {
  if (is_graph_output(g, v)) return -1;
  const std::vector<int> c = g.consumers(v);
  return c.size() == 1 && uses(g, v) == 1 ? c[0] : -1;
}

bool is_relu(const Node& n) {
  return n.op == Op::kRelu ||
         (n.op == Op::kClip && n.attrs.clip_min == 0.0f && std::isinf(n.attrs.clip_max) && n.attrs.clip_max > 0);
}

std::vector<Pair> find_pairs(const Graph& g) {
  std::vector<Pair> pairs;
  for (int a = 0; a < int(g.nodes.size()); ++a) {
    const Node& first = g.nodes[size_t(a)];
    if (!plain_conv(g, first)) continue;
    int next = sole_consumer(g, first.outputs[0]);
    if (next >= 0 && is_relu(g.nodes[size_t(next)])) next = sole_consumer(g, g.nodes[size_t(next)].outputs[0]);
    if (next < 0) continue;
    const Node& second = g.nodes[size_t(next)];
    if (!plain_conv(g, second)) continue;
    if (g.initializer(second.inputs[1])->shape[1] != g.initializer(first.inputs[1])->shape[0]) continue;
    pairs.push_back({a, next});
  }
  return pairs;
}

// One equalization of a pair; returns max |log s_i|.
double equalize_pair(Graph& g, const Pair& p) {
  const Node& n1 = g.nodes[size_t(p.first)];
  const Node& n2 = g.nodes[size_t(p.second)];
  Tensor& w1 = g.initializers.at(n1.inputs[1]);
  Tensor& w2 = g.initializers.at(n2.inputs[1]);
  Tensor* b1 = n1.inputs.size() > 2 && !n1.inputs[2].empty() ? &g.initializers.at(n1.inputs[2]) : nullptr;
  const int64_t channels = w1.shape[0], inner1 = int64_t(w1.f.size()) / channels;
  const int64_t out2 = w2.shape[0], inner2 = w2.shape[2] * w2.shape[3];
  double worst = 0.0;
  for (int64_t i = 0; i < channels; ++i) {
    float r1 = 0.0f, r2 = 0.0f;
    for (int64_t k = 0; k < inner1; ++k) r1 = std::max(r1, std::fabs(w1.f[size_t(i * inner1 + k)]));
    for (int64_t o = 0; o < out2; ++o)
      for (int64_t k = 0; k < inner2; ++k) r2 = std::max(r2, std::fabs(w2.f[size_t((o * channels + i) * inner2 + k)]));
    if (!(r1 > 0.0f && r2 > 0.0f)) continue;
    const double s = std::sqrt(double(r1) / double(r2));
    if (!std::isfinite(s) || s <= 0.0) continue;
    worst = std::max(worst, std::fabs(std::log(s)));
    for (int64_t k = 0; k < inner1; ++k) w1.f[size_t(i * inner1 + k)] = float(w1.f[size_t(i * inner1 + k)] / s);
    if (b1) b1->f[size_t(i)] = float(b1->f[size_t(i)] / s);
    for (int64_t o = 0; o < out2; ++o)
      for (int64_t k = 0; k < inner2; ++k) {
        float& v = w2.f[size_t((o * channels + i) * inner2 + k)];
        v = float(v * s);
      }
  }
  return worst;
}

}  // namespace

int equalize_cross_layer(Graph& g) {
  const std::vector<Pair> pairs = find_pairs(g);
  for (int round = 0; round < kMaxRounds; ++round) {
    double worst = 0.0;
    for (const auto& p : pairs) worst = std::max(worst, equalize_pair(g, p));
    if (worst < kTolerance) break;
  }
  return int(pairs.size());
}

}  // namespace tinyptq
