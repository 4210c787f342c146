// The one pass that turns a prepared float graph plus quantization parameters into a standard ONNX
// QDQ graph: every quantized activation v becomes v → QuantizeLinear → DequantizeLinear → consumers;
// weights become int8/uint8 initializers behind a DequantizeLinear (per-axis when per-channel); biases
// become int32 with scale s_x·s_w[c] and zero point 0. Fused Relu/Clip stay between the op and its Q.
#pragma once
#include <map>
#include <string>

#include "ir/graph.h"
#include "quant/qparams.h"
#include "quant/quant_plan.h"

namespace tinyptq {

struct QuantizedWeight {
  Tensor q;        // int8/uint8 values, same shape as the float weight (axis 0 = output channel)
  QParams params;  // per-tensor or per-channel (axis 0)
  int bits = 8;
};

struct QdqModel {
  Graph graph;
  std::map<std::string, std::string> dequantized;  // float value name → its DequantizeLinear output
};

// act: params of every value in plan.act_values (shared pass-through values are derived here).
// weights: by layer node name. biases: float bias per layer node name (overrides the graph's, e.g.
// after bias correction); layers without an entry use the graph's bias initializer.
QdqModel rewrite_qdq(const Graph& g, const QuantPlan& plan, const std::map<std::string, QParams>& act,
                     const std::map<std::string, QuantizedWeight>& weights,
                     const std::map<std::string, Tensor>& biases);

// real bias → int32 with scale s_x·s_w[c] (round half to even, saturating).
Tensor quantize_bias(const Tensor& bias, float input_scale, const QParams& weight_params);

// The weight with every scale large enough that its int32 bias fits the integer engine's accumulator
// contract, |bias_q[c]| + K·2^17 < 2^31 (kernels/int8/kernel_table.h; K = weight elements per output
// channel): a channel whose weights are all (near) zero — a BatchNorm-pruned channel of a MobileNet — gets
// s_w = 1e-12 and its bias would saturate int32 (losing the bias and sending the layer to float). Such a
// scale s is raised to s' = |b| / (s_x · L), L = min(2^30, 2^31 − 1 − K·2^17), and that channel's codes
// requantized from their reals (they round to ~0 at s' anyway). Unchanged when every bias fits.
QuantizedWeight fit_bias_to_int32(const QuantizedWeight& w, const Tensor& bias, float input_scale);

}  // namespace tinyptq
