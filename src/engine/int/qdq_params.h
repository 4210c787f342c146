// Reading QuantizeLinear / DequantizeLinear parameters and quantized constants out of a QDQ graph, in the
// integer engine's domains: activations uint8 (int8 shifted by +128), weights int8 (uint8 shifted by −128).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/int/plan.h"
#include "ir/graph.h"

namespace tinyptq::qdq {

// Per-tensor quantization of a Q or DQ node (scalar scale and zero point; absent zero point: uint8 0),
// nullopt when it is per-axis. Throws Error naming the node on a scale that is not a finite float > 0, or
// a zero point that is not a uint8/int8 initializer.
std::optional<QuantInfo> activation_quant(const Graph& g, const Node& node);

// A weight W = DequantizeLinear(w, scale, zero_point[, axis]) with w an int8/uint8 initializer.
struct QuantWeight {
  Shape shape;
  std::vector<int8_t> data;          // int8 domain (uint8 shifted by −128)
  int64_t axis = -1;                 // channel axis (normalized), −1 per tensor
  std::vector<float> scales;         // one per channel along axis, or one
  std::vector<int32_t> zero_points;  // int8 domain, same size as scales

  float scale(int64_t c) const { return scales[axis < 0 ? 0 : c]; }
  int32_t zero_point(int64_t c) const { return zero_points[axis < 0 ? 0 : c]; }
};

// The weight behind value `name` when it is such a DequantizeLinear output, else nullopt. Throws Error on
// malformed parameters (scales ≤ 0 or not finite, values or zero points outside the container's range).
std::optional<QuantWeight> quantized_weight(const Graph& g, const std::string& name);

// A bias constant for an op with `channels` outputs at scale s_x·s_w[c] (`bias_scales`): value `name` is
// DequantizeLinear(int32 initializer, scale, 0) or a float initializer, of `channels` elements (or one,
// broadcast). Re-expressed at bias_scales where its own scale differs (relative 1e-5) and rounded half to
// even, saturating. nullopt when `name` is neither.
std::optional<std::vector<int32_t>> quantized_bias(const Graph& g, const std::string& name, int64_t channels,
                                                   const std::vector<float>& bias_scales);

// The float value of a constant: a float initializer as is, DequantizeLinear of an initializer evaluated
// with the reference kernel. nullopt for anything else.
std::optional<Tensor> float_constant(const Graph& g, const std::string& name);

// quantize(v) in the storage domain: clamp(round_half_even(v / scale) + zp, 0, 255) (±inf saturate).
int32_t quantize_scalar(float v, const QuantInfo& q);

}  // namespace tinyptq::qdq
