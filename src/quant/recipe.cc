#include "quant/recipe.h"

#include "core/error.h"

namespace tinyptq {

QuantFormat QuantRecipe::act_format() const {
  // reduce_range drops one bit, as PyTorch's quint8 [0,127] on x86.
  const QuantFormat f{act_type, abits, act_symmetric, false};
  return reduce_range ? ::tinyptq::reduce_range(f) : f;
}

QuantFormat QuantRecipe::weight_format(int bits) const {
  return QuantFormat{weight_type, bits, weight_symmetric, weight_symmetric && weight_narrow};
}

std::string QuantRecipe::summary() const {
  std::string s = "W" + std::to_string(wbits) + " " + container_name(weight_type) +
                  (weight_symmetric ? " sym" : " asym") + (per_channel ? " per-channel" : " per-tensor") +
                  " (" + method_name(weight_method) + ") / A" + std::to_string(abits) + " " +
                  container_name(act_type) + (act_symmetric ? " sym" : " asym") +
                  (reduce_range ? " reduce-range" : "") + " (" + method_name(act_method) + ")";
  if (output_abits > 0 && output_abits != abits) s += " (outputs A" + std::to_string(output_abits) + ")";
  if (act_ranges == ActRanges::kQuantized) s += " +ranges-on-quantized";
  if (act_ranges == ActRanges::kOutputAware) s += " +output-aware-ranges";
  if (cross_layer_equalization) s += " +CLE";
  if (bias_correction) s += " +bias-corr";
  if (adaround) s += " +AdaRound";
  if (requant == Requantization::kInteger) s += " +integer-requant";
  return s;
}

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"ort-int8", "ort-uint8", "pytorch-x86", "tflite-int8",
                                                 "best"};
  return names;
}

QuantRecipe preset_recipe(const std::string& name) {
  QuantRecipe r;
  r.preset = name;
  r.input_minmax = false;
  if (name == "ort-int8") {
    // ORT quantize_static defaults (QDQ): QInt8 activations asymmetric, QInt8 weights symmetric
    // [-127,127], per-tensor, MinMax calibration.
    r.act_method = Method::kMinMax;
    r.act_type = Container::kInt8;
    r.weight_method = Method::kMinMax;
    r.weight_type = Container::kInt8;
    r.per_channel = false;
    r.pool_shares_input = true;
  } else if (name == "ort-uint8") {
    // ORT with activation_type=weight_type=QUInt8: both asymmetric, per-tensor, MinMax.
    r.act_method = Method::kMinMax;
    r.act_type = Container::kUint8;
    r.weight_method = Method::kMinMax;
    r.weight_type = Container::kUint8;
    r.weight_symmetric = false;
    r.per_channel = false;
    r.pool_shares_input = true;
  } else if (name == "pytorch-x86") {
    // PyTorch get_default_qconfig("x86"/"fbgemm"): HistogramObserver (L2-minimising range search, our
    // MSE observer) on quint8 activations with reduce_range ([0,127]); per-channel symmetric qint8
    // weights in the full [-128,127] range.
    r.act_method = Method::kMse;
    r.act_type = Container::kUint8;
    r.reduce_range = true;
    r.weight_method = Method::kMinMax;
    r.weight_type = Container::kInt8;
    r.weight_narrow = false;
    r.per_channel = true;
  } else if (name == "tflite-int8") {
    // TFLite full-integer post-training quantization: per-channel symmetric int8 weights [-127,127],
    // asymmetric int8 activations from calibration min/max.
    r.act_method = Method::kMinMax;
    r.act_type = Container::kInt8;
    r.weight_method = Method::kMinMax;
    r.weight_type = Container::kInt8;
    r.per_channel = true;
    r.requant = Requantization::kInteger;  // what TFLite Micro computes on the device
  } else if (name == "best") {
    // tinyptq's recommended recipe: per-channel symmetric int8 weights, uint8 activations with
    // MSE-optimal clipping, exact raw-pixel input, bias correction.
    r.input_minmax = true;
    r.act_method = Method::kMse;
    r.act_type = Container::kUint8;
    r.weight_method = Method::kMinMax;
    r.weight_type = Container::kInt8;
    r.per_channel = true;
    r.bias_correction = true;
    // At 8 bits, correcting against the FP32 input measured best (88.0 % / 99.2 % agreement on test-1k vs
    // 88.0 % / 98.9 % with the quantized network's inputs); use_low_bit_methods switches back below 8 bits.
    r.quantized_inputs = false;
  } else {
    std::string valid;
    for (const auto& n : preset_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw Error("unknown preset '" + name + "' (valid: " + valid + ")");
  }
  return r;
}

QuantRecipe preset_recipe(const std::string& name, int wbits, int abits) {
  QuantRecipe r = preset_recipe(name);
  r.wbits = wbits;
  r.abits = abits;
  if (name == "best" && (wbits < 8 || abits < 8)) use_low_bit_methods(r);
  return r;
}

void use_low_bit_methods(QuantRecipe& r) {
  r.weight_method = Method::kMse;
  r.adaround = true;
  r.bias_correction = true;
  r.quantized_inputs = true;
  use_low_bit_activations(r);
}

void use_low_bit_activations(QuantRecipe& r) {
  // Output-aware ranges on the partially quantized network: test-1k over calibration seeds 0, 1, 2 at W4A8
  // 87.6 % / 96.6 % agreement vs 87.0 % / 96.1 % with FP32 MSE ranges; at W4A4 84.0 % / 90.3 % vs 83.8 % / 89.5 %.
  r.act_ranges = ActRanges::kOutputAware;
  // 16 levels of logits tie and flip the top-1: W4A4 83.8 % with 8-bit logits vs 81.5 % with 4-bit ones.
  if (r.abits < 8) r.output_abits = 8;
}

std::string preset_description(const std::string& name) {
  if (name == "ort-int8")
    return "ONNX Runtime quantize_static defaults: QDQ, A int8 asym, W int8 sym, per-tensor, MinMax";
  if (name == "ort-uint8") return "ONNX Runtime with QUInt8 activations and weights, per-tensor, MinMax";
  if (name == "pytorch-x86")
    return "PyTorch FX default x86/fbgemm qconfig: per-channel sym int8 W, uint8 A with reduce_range, "
           "histogram observer";
  if (name == "tflite-int8") return "TFLite full-integer PTQ: per-channel sym int8 W, asym int8 A, MinMax, integer-only requantization";
  if (name == "best")
    return "tinyptq recommended: per-channel sym int8 W, uint8 A with MSE clipping, exact input, bias "
           "correction; below 8 bits also MSE weight ranges and AdaRound";
  return "";
}

}  // namespace tinyptq
