#include "quant/act_range_search.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "quant/adaround/fake_quant.h"
#include "quant/adaround/linear_layer.h"

namespace tinyptq {

namespace {

constexpr int kSteps = 15;  // α = 0.30 + 0.05·k, k = 0…14
constexpr double kAlphaMin = 0.30, kAlphaStep = 0.05;

struct Consumer {
  bool linear = false;
  adaround::LinearLayer layer;
  const Tensor* weight = nullptr;
};

// Σ over the consumers of ‖f_c(d)‖² for the error d ([n, ...] floats).
double consumer_loss(const std::vector<Consumer>& consumers, const std::vector<float>& d, int64_t n,
                     const RangeSearchOptions& o) {
  double total = 0.0;
  std::vector<float> y;
  for (const auto& c : consumers) {
    if (!c.linear) {
      for (float v : d) total += double(v) * v;
      continue;
    }
    const adaround::LinearLayer& l = c.layer;
    y.resize(size_t(n * l.out_size()));
    adaround::linear_forward(l, d.data(), n, c.weight->f.data(), nullptr, y.data(), o.threads);
    for (int64_t ch = 0; ch < l.out_channels; ++ch) {
      double sum = 0.0, sq = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const float* yc = y.data() + i * l.out_size() + ch * l.positions;
        for (int64_t p = 0; p < l.positions; ++p) {
          sum += yc[p];
          sq += double(yc[p]) * yc[p];
        }
      }
      const double count = double(n * l.positions);
      total += o.centered ? sq - sum * sum / count : sq;
    }
  }
  return total;
}

}  // namespace

QParams search_activation_range(const Graph& g, const std::string& value, const Tensor& v_hat, const Tensor& v,
                                const QuantFormat& format, const RangeSearchOptions& o) {
  check(v_hat.shape == v.shape && !v.shape.empty() && v.shape[0] > 0,
        "activation range search '" + value + "': shapes " + shape_str(v_hat.shape) + " and " + shape_str(v.shape));
  const int64_t n = std::min<int64_t>(std::max<int64_t>(o.images, 1), v.shape[0]);
  const int64_t per = int64_t(v.f.size()) / v.shape[0];
  std::vector<Consumer> consumers;
  for (int k : g.consumers(value)) {
    const Node& node = g.nodes[size_t(k)];
    Consumer c;
    if (adaround::is_linear_layer(g, node) && node.inputs[0] == value) {
      Shape s = v.shape;
      s[0] = n;
      c.linear = true;
      c.weight = g.initializer(node.inputs[1]);
      c.layer = adaround::make_linear_layer(node, s, c.weight->shape);
    }
    consumers.push_back(c);
  }
  if (consumers.empty()) consumers.push_back({});  // a graph output: its own error

  const auto [lo, hi] = std::minmax_element(v_hat.f.begin(), v_hat.f.end());
  std::vector<float> d(size_t(n * per));
  double best = std::numeric_limits<double>::infinity();
  QParams best_params = qparams_from_range(*lo, *hi, format);
  for (int k = kSteps - 1; k >= 0; --k) {  // from α = 1 down: ties keep the larger α
    const double alpha = kAlphaMin + kAlphaStep * k;
    const QParams p = qparams_from_range(float(alpha * *lo), float(alpha * *hi), format);
    std::copy(v_hat.f.begin(), v_hat.f.begin() + n * per, d.begin());
    adaround::fake_quantize_tensor(d, p);
    for (size_t i = 0; i < d.size(); ++i) d[i] -= v.f[i];
    const double loss = consumer_loss(consumers, d, n, o);
    if (loss < best) {
      best = loss;
      best_params = p;
    }
  }
  return best_params;
}

}  // namespace tinyptq
