#include "quant/weight_quantizer.h"

#include <cmath>

#include "core/error.h"
#include "quant/observers/observer.h"

namespace tinyptq {

QParams weight_qparams(const Tensor& w, const QuantRecipe& recipe, int bits) {
  check(!w.shape.empty() && w.shape[0] > 0, "weight has no output channels");
  check(all_finite(w.f), "weight contains NaN or Inf");
  const QuantFormat f = recipe.weight_format(bits);
  const int64_t channels = recipe.per_channel ? w.shape[0] : 1;
  const int64_t inner = int64_t(w.f.size()) / channels;
  std::vector<Range> ranges = channel_ranges(w.f, channels, inner, recipe.weight_method, f);
  if (!recipe.per_channel) return qparams_from_range(ranges[0].min, ranges[0].max, f);
  std::vector<float> mins, maxs;
  for (const auto& r : ranges) {
    mins.push_back(r.min);
    maxs.push_back(r.max);
  }
  return qparams_per_channel(mins, maxs, f, 0);
}

QuantizedWeight quantize_weight(const Tensor& w, const QParams& p, int bits) {
  QuantizedWeight out;
  out.params = p;
  out.bits = bits;
  const int64_t channels = int64_t(p.scale.size());
  const int64_t inner = int64_t(w.f.size()) / channels;
  const int32_t lo = qmin(p.format), hi = qmax(p.format);
  std::vector<int64_t> q(w.f.size());
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < inner; ++k)
      q[c * inner + k] = quantize_value(w.f[c * inner + k], p.scale[c], p.zero_point[c], lo, hi);
  out.q = Tensor::from_ints(p.format.container == Container::kInt8 ? DType::kInt8 : DType::kUint8, w.shape,
                            std::move(q));
  return out;
}

Tensor dequantize_weight(const QuantizedWeight& w) {
  const int64_t channels = int64_t(w.params.scale.size());
  const int64_t inner = int64_t(w.q.i.size()) / channels;
  Tensor out = Tensor::zeros(w.q.shape);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < inner; ++k)
      out.f[c * inner + k] =
          dequantize_value(int32_t(w.q.i[c * inner + k]), w.params.scale[c], w.params.zero_point[c]);
  return out;
}

}  // namespace tinyptq
