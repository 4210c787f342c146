// A quantization recipe: every choice that decides how a float graph becomes a QDQ graph, as one typed
// struct. Presets fill it the way the peer tools do (see docs/presets.md); flags then override fields.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quant/formats.h"
#include "quant/observers/observer.h"
#include "quant/requant.h"

namespace tinyptq {

// Per-layer override, keyed by the node name of a quantizable layer (Conv, Gemm, MatMul, Add, pooling, ...)
// in the canonical graph; quantize() rejects a name that is not one. wbits applies to layers with weights.
struct LayerOverride {
  std::optional<int> wbits;  // weight bit width for this layer
  bool keep_float = false;   // run this layer in float (its output is not quantized by it)
};

// Where activation clipping ranges come from.
enum class ActRanges {
  kFloat,        // act_method's observer on the FP32 calibration activations
  kQuantized,    // act_method's observer on the activations of the partially quantized network
  kOutputAware,  // act_range_search.h on the partially quantized network (for low activation bits)
};

struct QuantRecipe {
  std::string preset = "best";
  // Activations: per-tensor, observed on the calibration images.
  Method act_method = Method::kMse;
  Container act_type = Container::kUint8;
  bool act_symmetric = false;
  int abits = 8;
  bool reduce_range = false;  // one fewer activation bit (PyTorch x86/fbgemm, ORT on non-VNNI CPUs)
  double percentile = 99.999;
  // Weights.
  Method weight_method = Method::kMinMax;  // kMinMax or kMse (per tensor or per channel)
  Container weight_type = Container::kInt8;
  bool weight_symmetric = true;
  bool weight_narrow = true;  // symmetric int8 weights in [-(2^(b-1)-1), 2^(b-1)-1] (ORT, TFLite)
  bool per_channel = true;
  int wbits = 8;
  // AveragePool/MaxPool outputs reuse their input's (scale, zero point) instead of observing their own, as
  // ONNX Runtime's QDQ quantizer (and TFLite) do; a pool then needs no requantization.
  bool pool_shares_input = false;
  // Graph input (raw pixels): always MinMax so 0..255 stays exact at 8 bits.
  bool input_minmax = true;
  // Bits of the network-output activations (values that reach a graph output through float ops only,
  // e.g. the logits before a float Softmax); 0 = abits. Low-bit logits tie and flip the top-1.
  int output_abits = 0;
  // The network outputs (the logits before a float Softmax) stay float: the last layer's int32 accumulator
  // is dequantized (s_x·s_w·acc) instead of requantized to 8 bits. Two logits closer than one output
  // step would otherwise tie and flip the top-1 on uncertain images.
  bool float_logits = false;
  ActRanges act_ranges = ActRanges::kFloat;  // other than kFloat: quantized layer by layer (quantized_inputs)
  // Advanced PTQ (issue "below 8 bits").
  bool cross_layer_equalization = false;
  bool bias_correction = false;
  // AdaRound and bias correction see each layer's input on the already-quantized network (quantized
  // weights upstream, fake-quantized activations), computed by running it layer by layer; otherwise
  // they see the cached FP32 input fake-quantized.
  bool quantized_inputs = true;
  bool adaround = false;
  int adaround_iterations = 1000;
  // AdaRound hyper-parameters (adaround.h, adaround/reconstruction.h).
  int adaround_batch = 32;               // images per mini-batch step
  double adaround_lr = 1e-2;             // Adam step size on V (1e-2 for 1000 steps; docs/low_bit.md)
  double adaround_reg = 0.01;            // λ of the rounding regulariser
  double adaround_warmup = 0.2;          // share of the iterations before the regulariser starts
  bool adaround_full_batch = true;       // exact quadratic form over all images instead of mini-batches
  bool adaround_post_activation = false; // reconstruct after the fused Relu (mini-batch only)
  // The integer arithmetic the model is meant for, recorded as metadata `tinyptq.requant` (integer only):
  // float = ONNX Runtime's, integer = TFLite Micro / CMSIS-NN fixed point (docs/arithmetic.md).
  Requantization requant = Requantization::kFloat;
  uint64_t seed = 0;
  int threads = 2;  // worker threads for AdaRound and the layer runner (results do not depend on it)
  std::map<std::string, LayerOverride> layers;

  QuantFormat act_format() const;
  QuantFormat weight_format(int bits) const;
  // One-line human summary, e.g. "W8 int8 sym per-channel (minmax) / A8 uint8 asym (mse)".
  std::string summary() const;
};

// Names of the presets, in display order: ort-int8, ort-uint8, pytorch-x86, tflite-int8, best.
const std::vector<std::string>& preset_names();
// The recipe for a preset; throws Error listing the valid names for an unknown one.
QuantRecipe preset_recipe(const std::string& name);
// The recipe for a preset at the given bit widths. `best` below 8 bits (weights or activations) adds
// the low-bit methods (use_low_bit_methods); the other presets only take the widths.
QuantRecipe preset_recipe(const std::string& name, int wbits, int abits);
// What helps below 8 bits (docs/low_bit.md): MSE-optimal per-channel weight ranges, AdaRound and bias
// correction on the quantized network's inputs, and use_low_bit_activations. Reads r.abits, so set the
// widths first.
void use_low_bit_methods(QuantRecipe& r);
// The activation part: output-aware activation ranges (act_range_search.h) on the partially quantized
// network, and with abits < 8 8-bit network outputs (logits).
void use_low_bit_activations(QuantRecipe& r);
// One-sentence description of what the preset stands for.
std::string preset_description(const std::string& name);

}  // namespace tinyptq
