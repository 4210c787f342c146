#include "keras/layer_configs.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"

namespace tinyptq {

using nlohmann::json;

namespace {

// Bounds for config integers: large enough for any real model, small enough that products of a few of
// them cannot overflow int64.
constexpr int64_t kMaxWindow = 4096;       // kernel, stride, dilation, pool size
constexpr int64_t kMaxChannels = 1 << 20;  // filters, units, groups, depth multiplier, dims

[[noreturn]] void bad_field(const KerasLayer& layer, const std::string& key, const std::string& problem) {
  throw Error(layer_label(layer) + ": config '" + key + "' " + problem);
}

const json* field(const KerasLayer& layer, const std::string& key) {
  auto it = layer.config.find(key);
  return it == layer.config.end() || it->is_null() ? nullptr : &*it;
}

bool json_int(const json& v, int64_t& out) {
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!(std::fabs(d) < 1e15 && std::floor(d) == d)) return false;
    out = int64_t(d);
    return true;
  }
  return false;
}

int64_t get_int(const KerasLayer& layer, const std::string& key, std::optional<int64_t> fallback, int64_t lo,
                int64_t hi) {
  const json* v = field(layer, key);
  if (!v) {
    if (fallback) return *fallback;
    bad_field(layer, key, "is missing");
  }
  int64_t out = 0;
  if (!json_int(*v, out)) bad_field(layer, key, "must be an integer, got " + v->dump());
  if (out < lo || out > hi)
    bad_field(
        layer, key,
        "is " + std::to_string(out) + ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return out;
}

// An integer or a list of two integers (Keras normalizes tuples to lists).
Pair get_pair(const KerasLayer& layer, const std::string& key, std::optional<Pair> fallback, int64_t lo,
              int64_t hi) {
  const json* v = field(layer, key);
  if (!v) {
    if (fallback) return *fallback;
    bad_field(layer, key, "is missing");
  }
  Pair p{0, 0};
  bool ok = false;
  if (v->is_array() && v->size() == 2)
    ok = json_int((*v)[0], p[0]) && json_int((*v)[1], p[1]);
  else if (json_int(*v, p[0]))
    p[1] = p[0], ok = true;
  if (!ok) bad_field(layer, key, "must be an integer or a pair of integers, got " + v->dump());
  for (int64_t x : p)
    if (x < lo || x > hi)
      bad_field(layer, key,
                "has value " + std::to_string(x) + ", outside [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  return p;
}

bool get_bool(const KerasLayer& layer, const std::string& key, bool fallback) {
  const json* v = field(layer, key);
  if (!v) return fallback;
  if (!v->is_boolean()) bad_field(layer, key, "must be true or false, got " + v->dump());
  return v->get<bool>();
}

double get_float(const KerasLayer& layer, const std::string& key, double fallback) {
  const json* v = field(layer, key);
  if (!v) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>()))
    bad_field(layer, key, "must be a number, got " + v->dump());
  return v->get<double>();
}

std::string get_lower_string(const KerasLayer& layer, const std::string& key, const std::string& fallback) {
  const json* v = field(layer, key);
  if (!v) return fallback;
  if (!v->is_string()) bad_field(layer, key, "must be a string, got " + v->dump().substr(0, 200));
  std::string s = v->get<std::string>();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

KerasPadding get_padding(const KerasLayer& layer) {
  std::string p = get_lower_string(layer, "padding", "valid");
  if (p == "same") return KerasPadding::kSame;
  if (p == "valid") return KerasPadding::kValid;
  throw Error(layer_label(layer) + ": padding '" + p + "' is not supported (only 'same' and 'valid')");
}

constexpr const char* kActivations = "linear, relu, relu6, softmax, sigmoid, hard_sigmoid, hard_swish";

KerasActivation get_activation(const KerasLayer& layer) {
  const json* v = field(layer, "activation");
  if (!v) return KerasActivation::kLinear;
  if (!v->is_string())
    throw Error(layer_label(layer) + ": activation " + v->dump().substr(0, 200) +
                " is not supported (only " + std::string(kActivations) + ")");
  std::string a = get_lower_string(layer, "activation", "linear");
  if (a == "linear") return KerasActivation::kLinear;
  if (a == "relu") return KerasActivation::kRelu;
  if (a == "relu6") return KerasActivation::kRelu6;
  if (a == "softmax") return KerasActivation::kSoftmax;
  if (a == "sigmoid") return KerasActivation::kSigmoid;
  if (a == "hard_sigmoid") return KerasActivation::kHardSigmoid;  // Keras 2: clamp(0.2x + 0.5, 0, 1)
  if (a == "hard_swish" || a == "hard_silu") return KerasActivation::kHardSwish;
  throw Error(layer_label(layer) + ": activation '" + a +
              "' is not supported (only " + kActivations + ")");
}

}  // namespace

void check_channels_last(const KerasLayer& layer) {
  std::string f = get_lower_string(layer, "data_format", "channels_last");
  check(f == "channels_last",
        layer_label(layer) + ": data_format '" + f + "' is not supported (only channels_last)");
}

InputLayerConfig parse_input_layer_config(const KerasLayer& layer) {
  const char* key = layer.config.contains("batch_input_shape") ? "batch_input_shape" : "batch_shape";
  const json* v = field(layer, key);
  if (!v) bad_field(layer, "batch_input_shape", "is missing");
  if (!v->is_array() || (v->size() != 4 && v->size() != 2))
    throw Error(layer_label(layer) + ": input shape " + v->dump() +
                " is not supported (only [batch, height, width, channels] images or [batch, features])");
  InputLayerConfig c;
  c.shape.push_back(-1);  // the batch is always symbolic
  for (size_t k = 1; k < v->size(); ++k) {
    int64_t d = 0;
    if (!json_int((*v)[k], d) || d < 1 || d > kMaxChannels)
      throw Error(layer_label(layer) + ": input shape " + v->dump() +
                  " must have static positive dimensions besides the batch");
    c.shape.push_back(d);
  }
  std::string dtype = get_lower_string(layer, "dtype", "float32");
  check(dtype == "float32",
        layer_label(layer) + ": input dtype '" + dtype + "' is not supported (only float32)");
  check(!get_bool(layer, "sparse", false) && !get_bool(layer, "ragged", false),
        layer_label(layer) + ": sparse/ragged inputs are not supported");
  return c;
}

Conv2DConfig parse_conv2d_config(const KerasLayer& layer) {
  check_channels_last(layer);
  Conv2DConfig c;
  c.filters = get_int(layer, "filters", std::nullopt, 1, kMaxChannels);
  c.kernel = get_pair(layer, "kernel_size", std::nullopt, 1, kMaxWindow);
  c.strides = get_pair(layer, "strides", Pair{1, 1}, 1, kMaxWindow);
  c.dilation = get_pair(layer, "dilation_rate", Pair{1, 1}, 1, kMaxWindow);
  c.padding = get_padding(layer);
  c.groups = get_int(layer, "groups", 1, 1, kMaxChannels);
  c.activation = get_activation(layer);
  c.use_bias = get_bool(layer, "use_bias", true);
  check(c.filters % c.groups == 0, layer_label(layer) + ": filters " + std::to_string(c.filters) +
                                       " is not a multiple of groups " + std::to_string(c.groups));
  return c;
}

DepthwiseConv2DConfig parse_depthwise_conv2d_config(const KerasLayer& layer) {
  check_channels_last(layer);
  DepthwiseConv2DConfig c;
  c.kernel = get_pair(layer, "kernel_size", std::nullopt, 1, kMaxWindow);
  c.strides = get_pair(layer, "strides", Pair{1, 1}, 1, kMaxWindow);
  c.dilation = get_pair(layer, "dilation_rate", Pair{1, 1}, 1, kMaxWindow);
  c.padding = get_padding(layer);
  c.depth_multiplier = get_int(layer, "depth_multiplier", 1, 1, kMaxChannels);
  c.activation = get_activation(layer);
  c.use_bias = get_bool(layer, "use_bias", true);
  return c;
}

BatchNormConfig parse_batch_norm_config(const KerasLayer& layer) {
  BatchNormConfig c;
  const json* axis = field(layer, "axis");
  if (axis && axis->is_array()) {
    if (axis->size() != 1 || !json_int((*axis)[0], c.axis))
      throw Error(layer_label(layer) + ": axis " + axis->dump() +
                  " is not supported (only one channel axis)");
  } else {
    c.axis = get_int(layer, "axis", -1, -8, 8);
  }
  double eps = get_float(layer, "epsilon", 1e-3);
  check(eps >= 0, layer_label(layer) + ": epsilon must not be negative");
  c.epsilon = float(eps);
  c.center = get_bool(layer, "center", true);
  c.scale = get_bool(layer, "scale", true);
  return c;
}

ActivationConfig parse_activation_config(const KerasLayer& layer) { return {get_activation(layer)}; }

ReluConfig parse_relu_config(const KerasLayer& layer) {
  ReluConfig c;
  double slope = get_float(layer, "negative_slope", 0.0);
  check(slope == 0.0, layer_label(layer) + ": negative_slope " + std::to_string(slope) +
                          " is not supported (leaky ReLU has no IR equivalent)");
  double threshold = get_float(layer, "threshold", 0.0);
  check(threshold == 0.0,
        layer_label(layer) + ": threshold " + std::to_string(threshold) + " is not supported");
  if (field(layer, "max_value")) {
    double m = get_float(layer, "max_value", 0.0);
    check(m >= 0, layer_label(layer) + ": max_value must not be negative");
    c.max_value = float(m);
  }
  return c;
}

Pool2DConfig parse_pool2d_config(const KerasLayer& layer) {
  check_channels_last(layer);
  Pool2DConfig c;
  c.pool = get_pair(layer, "pool_size", Pair{2, 2}, 1, kMaxWindow);
  c.strides = get_pair(layer, "strides", c.pool, 1, kMaxWindow);  // null strides = pool_size
  c.padding = get_padding(layer);
  return c;
}

GlobalPool2DConfig parse_global_pool2d_config(const KerasLayer& layer) {
  check_channels_last(layer);
  return {get_bool(layer, "keepdims", false)};
}

ReshapeConfig parse_reshape_config(const KerasLayer& layer) {
  const json* v = field(layer, "target_shape");
  if (!v || !v->is_array() || v->empty() || v->size() > 7)
    bad_field(layer, "target_shape", "must be a list of 1 to 7 dimensions");
  ReshapeConfig c;
  int unknown = 0;
  for (const json& d : *v) {
    int64_t x = 0;
    if (!json_int(d, x) || (x < 1 && x != -1) || x > kMaxChannels)
      bad_field(layer, "target_shape", "has an invalid dimension in " + v->dump());
    unknown += x == -1;
    c.target_shape.push_back(x);
  }
  if (unknown > 1) bad_field(layer, "target_shape", "has more than one -1: " + v->dump());
  return c;
}

DenseConfig parse_dense_config(const KerasLayer& layer) {
  DenseConfig c;
  c.units = get_int(layer, "units", std::nullopt, 1, kMaxChannels);
  c.activation = get_activation(layer);
  c.use_bias = get_bool(layer, "use_bias", true);
  return c;
}

// padding: n (all sides), [rows, cols] (symmetric) or [[top, bottom], [left, right]].
ZeroPadding2DConfig parse_zero_padding2d_config(const KerasLayer& layer) {
  check_channels_last(layer);
  ZeroPadding2DConfig c;
  const json* v = field(layer, "padding");
  if (!v) return c;
  const bool nested = v->is_array() && v->size() == 2 && (*v)[0].is_array();
  if (!nested) {
    const Pair p = get_pair(layer, "padding", std::nullopt, 0, kMaxWindow);
    c.rows = {p[0], p[0]};
    c.cols = {p[1], p[1]};
    return c;
  }
  Pair* out[2] = {&c.rows, &c.cols};
  for (size_t k = 0; k < 2; ++k) {
    const json& side = (*v)[k];
    bool ok = side.is_array() && side.size() == 2 && json_int(side[0], (*out[k])[0]) &&
              json_int(side[1], (*out[k])[1]);
    for (int64_t x : *out[k]) ok = ok && x >= 0 && x <= kMaxWindow;
    if (!ok) bad_field(layer, "padding", "must be n, [rows, cols] or [[top, bottom], [left, right]], got " +
                                             v->dump().substr(0, 200));
  }
  return c;
}

ConcatenateConfig parse_concatenate_config(const KerasLayer& layer) {
  ConcatenateConfig c;
  c.axis = get_int(layer, "axis", -1, -8, 8);
  return c;
}

}  // namespace tinyptq
