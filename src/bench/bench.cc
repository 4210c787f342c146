#include "bench/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "engine/shape_inference.h"

namespace tinyptq::bench {

Tensor bench_input(const Shape& image_shape, int64_t batch) {
  Shape shape = image_shape;
  check(!shape.empty() && batch >= 1, "bench input needs a batch dimension");
  shape[0] = batch;
  std::vector<float> data(size_t(num_elements(shape)));
  uint32_t s = 0x9e3779b9u;
  for (float& v : data) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    v = float(double(s) / 4294967296.0);
  }
  return Tensor::from_floats(shape, std::move(data));
}

namespace {

double percentile(const std::vector<double>& sorted, double p) {
  const auto n = int64_t(sorted.size());
  const int64_t idx = std::min<int64_t>(n - 1, std::max<int64_t>(0, int64_t(std::ceil(p / 100 * double(n))) - 1));
  return sorted[size_t(idx)];
}

}  // namespace

Measurement measure(Engine& engine, const Tensor& input, double seconds) {
  using clock = std::chrono::steady_clock;
  const auto warm_end = clock::now() + std::chrono::duration<double>(std::min(1.0, seconds / 5));
  do engine.run(input);
  while (clock::now() < warm_end);

  std::vector<double> latencies;
  const auto start = clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < end || latencies.size() < 3) {
    const auto t0 = clock::now();
    engine.run(input);
    now = clock::now();
    latencies.push_back(std::chrono::duration<double, std::milli>(now - t0).count());
  }
  Measurement m;
  m.seconds = std::chrono::duration<double>(now - start).count();
  m.runs = int64_t(latencies.size());
  m.images_per_second = double(m.runs) * double(input.shape[0]) / m.seconds;
  std::sort(latencies.begin(), latencies.end());
  m.latency = {percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99)};
  return m;
}

int64_t macs_per_image(const Graph& g) {
  Shape in = graph_image_input(g).shape;
  check(!in.empty(), "the model input has no dimensions");
  in[0] = 1;
  for (auto& d : in)
    check(d > 0, "the model input shape " + shape_str(graph_image_input(g).shape) + " has unknown dims");
  const auto shapes = infer_shapes(g, in);
  auto shape_of = [&](const std::string& name) -> const Shape* {
    auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
  };
  int64_t macs = 0;
  for (const Node& n : g.nodes) {
    if (n.outputs.empty() || n.inputs.size() < 2) continue;
    const Shape* y = shape_of(n.outputs[0]);
    const Shape* w = shape_of(n.inputs[1]);
    const Shape* x = shape_of(n.inputs[0]);
    if (!y || !w || !x) continue;
    if (n.op == Op::kConv && w->size() >= 3) {
      int64_t per_output = 1;
      for (size_t d = 1; d < w->size(); ++d) per_output *= (*w)[d];
      macs += num_elements(*y) * per_output;
    } else if (n.op == Op::kGemm && x->size() == 2) {
      macs += num_elements(*y) * (n.attrs.trans_a ? (*x)[0] : (*x)[1]);
    } else if (n.op == Op::kMatMul && !x->empty()) {
      macs += num_elements(*y) * x->back();
    }
  }
  return macs;
}

}  // namespace tinyptq::bench
