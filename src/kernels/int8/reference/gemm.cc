#include "kernels/int8/reference/gemm.h"

#include "quant/requant.h"

namespace tinyptq::int8::ref {

void gemm_pack(const GemmParams& p, const QuantizedWeights& w, PackedWeights* out) {
  const int64_t k = p.k, n = p.n;
  const int64_t input_zero_point = p.input_zero_point;
  out->data.assign(w.data, w.data + n * k);
  out->bias.assign(n, 0);
  if (w.fixed)
    out->fixed.assign(w.fixed, w.fixed + n);
  else
    out->multipliers.assign(w.multipliers, w.multipliers + n);
  bool symmetric = true;
  for (int64_t j = 0; j < n; ++j) symmetric = symmetric && w.zero_points[j] == 0;
  if (symmetric)
    out->zero_points.clear();
  else
    out->zero_points.assign(w.zero_points, w.zero_points + n);
  for (int64_t j = 0; j < n; ++j) {
    int64_t weight_sum = 0;
    for (int64_t i = 0; i < k; ++i) weight_sum += w.data[j * k + i];
    const int64_t bias = w.bias ? w.bias[j] : 0;
    out->bias[j] = int32_t(bias - input_zero_point * weight_sum + k * input_zero_point * w.zero_points[j]);
  }
}

size_t gemm_scratch_bytes(const GemmParams&) { return 0; }

void gemm(const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows, void*) {
  const int64_t k = p.k, n = p.n;
  const PackedWeights& pw = *p.weights;
  const bool has_weight_zero_points = !pw.zero_points.empty();
  const bool integer = !pw.fixed.empty();
  const OutputStage& o = p.output;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* row = a + r * k;
    int32_t row_sum = 0;
    for (int64_t i = 0; i < k; ++i) row_sum += row[i];
    for (int64_t j = 0; j < n; ++j) {
      const int8_t* column = pw.data.data() + j * k;
      int32_t acc = pw.bias[j];
      for (int64_t i = 0; i < k; ++i) acc += int32_t(row[i]) * int32_t(column[i]);
      if (has_weight_zero_points) acc -= pw.zero_points[j] * row_sum;
      y[r * n + j] = uint8_t(integer ? requantize_fixed(acc, pw.fixed[j], o.zero_point, o.min, o.max)
                                     : requantize_float(acc, pw.multipliers[j], o.zero_point, o.min, o.max));
    }
  }
}

}  // namespace tinyptq::int8::ref
