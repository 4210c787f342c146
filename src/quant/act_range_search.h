// Output-aware activation ranges (for low activation bits): the clipping range of an activation value v
// is chosen by what its consumers see, not by the error of v itself. With v̂ the value on the quantized
// network and v its FP32 counterpart (same images), and Q_α quantization with the range α·[min v̂, max v̂],
//   α* = argmin_α Σ_consumers ‖f_c(Q_α(v̂) − v)‖²,
// where f_c is the consumer's linear map with its float weight (Conv/Gemm; the per-channel mean of its
// output error is left out when bias correction will remove it) or the identity (any other consumer,
// e.g. Add, pooling, Softmax). Candidates α = 0.30, 0.35, …, 1.00, evaluated on the first
// `images` images; ties go to the larger α.
#pragma once
#include <string>

#include "ir/graph.h"
#include "quant/qparams.h"

namespace tinyptq {

struct RangeSearchOptions {
  int64_t images = 128;  // images the loss is evaluated on
  bool centered = true;  // leave out the per-channel mean error of Conv/Gemm consumers
  int threads = 2;
};

// v_hat, v: [N, ...] tensors of the value (same shape). Throws Error on a shape mismatch or no images.
QParams search_activation_range(const Graph& g, const std::string& value, const Tensor& v_hat, const Tensor& v,
                                const QuantFormat& format, const RangeSearchOptions& options = {});

}  // namespace tinyptq
