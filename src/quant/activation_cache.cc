#include "quant/activation_cache.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "engine/fp32_engine.h"

namespace tinyptq {

const Tensor& ActivationCache::at(const std::string& value) const {
  auto it = values.find(value);
  check(it != values.end(), "no calibration activations recorded for '" + value + "'");
  return it->second;
}

std::span<const float> ActivationCache::rows(const std::string& value, int64_t first, int64_t count) const {
  const Tensor& t = at(value);
  const int64_t per = images ? int64_t(t.f.size()) / images : 0;
  return std::span<const float>(t.f.data() + first * per, size_t(count * per));
}

Tensor slice_batch(const Tensor& t, int64_t first, int64_t count) {
  Shape s = t.shape;
  const int64_t per = s[0] ? num_elements(t.shape) / s[0] : 0;
  s[0] = count;
  Tensor out = Tensor::zeros(s);
  std::copy(t.f.begin() + first * per, t.f.begin() + (first + count) * per, out.f.begin());
  return out;
}

ActivationCache collect_activations(const Graph& g, const Tensor& inputs,
                                    const std::vector<std::string>& values, int64_t batch_size) {
  check(!inputs.shape.empty() && inputs.shape[0] > 0, "calibration set is empty");
  check(all_finite(inputs.f), "calibration data contains NaN or Inf");
  const int64_t n = inputs.shape[0];
  ActivationCache cache;
  cache.images = n;
  const std::set<std::string> wanted(values.begin(), values.end());
  Fp32Engine engine(g);
  for (int64_t first = 0; first < n; first += batch_size) {
    const int64_t count = std::min(batch_size, n - first);
    Tensor batch = slice_batch(inputs, first, count);
    auto keep = [&](const std::string& name, const Tensor& t) {
      if (!wanted.count(name)) return;
      Tensor& dst = cache.values[name];
      if (dst.shape.empty()) {
        dst.shape = t.shape;
        dst.shape[0] = n;
        dst.f.resize(size_t(num_elements(dst.shape)));
      }
      const int64_t per = int64_t(t.f.size()) / count;
      check(all_finite(t.f), "activation '" + name + "' is NaN or Inf on the calibration data");
      std::copy(t.f.begin(), t.f.end(), dst.f.begin() + first * per);
    };
    engine.run(batch, keep);
  }
  for (const auto& v : values)
    check(cache.values.count(v), "value '" + v + "' was not produced while calibrating");
  return cache;
}

}  // namespace tinyptq
