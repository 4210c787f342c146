// The converter table and the non-window layers: InputLayer, BatchNormalization, activations, Add,
// Multiply, Concatenate, ZeroPadding2D, Flatten, Reshape, Dense, Dropout.
#include "keras/layer_converters.h"

#include "core/error.h"

namespace tinyptq {

void expect_inputs(const KerasLayer& layer, const std::vector<KerasValue>& inputs, size_t count,
                   size_t rank) {
  check(inputs.size() == count, layer_label(layer) + ": expected " + std::to_string(count) +
                                    " input(s), got " + std::to_string(inputs.size()));
  const char* kind = rank == 4 ? " (an image)" : rank == 2 ? " (flat features)" : "";
  for (const auto& in : inputs)
    check(rank == 0 || in.shape.size() == rank, layer_label(layer) + ": input '" + in.name + "' has shape " +
                                                    shape_str(in.shape) + ", expected rank " +
                                                    std::to_string(rank) + kind);
}

namespace {

// NCHW [N, C, H, W] ↔ Keras NHWC [N, H, W, C].
Shape to_keras_layout(const Shape& s) { return s.size() == 4 ? Shape{s[0], s[2], s[3], s[1]} : s; }

Attrs transpose_attrs(std::vector<int64_t> perm) {
  Attrs a;
  a.perm = std::move(perm);
  return a;
}

// NCHW → NHWC, unless H·W = 1 where both layouts hold the same bytes.
KerasValue to_nhwc_memory_order(const KerasLayer& layer, const KerasValue& x, ConvertContext& ctx) {
  if (x.shape.size() != 4 || x.shape[2] * x.shape[3] == 1) return x;
  const std::string name = ctx.fresh(layer.name + "/to_nhwc");
  return ctx.add_node(Op::kTranspose, name, {x.name}, transpose_attrs({0, 2, 3, 1}), name,
                      to_keras_layout(x.shape));
}

// Graph input (Keras layout, NHWC), then Transpose to NCHW for images.
KerasValue convert_input(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                         ConvertContext& ctx) {
  expect_inputs(layer, inputs, 0, 0);
  InputLayerConfig c = parse_input_layer_config(layer);
  ctx.graph.inputs.push_back(ValueInfo{layer.name, DType::kFloat32, c.shape});
  if (c.shape.size() != 4) return {layer.name, c.shape};
  const std::string name = ctx.fresh(layer.name + "/nchw");
  return ctx.add_node(Op::kTranspose, name, {layer.name}, transpose_attrs({0, 3, 1, 2}), name,
                      {c.shape[0], c.shape[3], c.shape[1], c.shape[2]});
}

// ONNX BatchNormalization(x, scale=gamma, B=beta, mean=moving_mean, var=moving_variance); gamma is 1 without
// `scale`, beta 0 without `center`.
KerasValue convert_batch_norm(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                              ConvertContext& ctx) {
  BatchNormConfig c = parse_batch_norm_config(layer);
  check(inputs.size() == 1, layer_label(layer) + ": expected 1 input, got " + std::to_string(inputs.size()));
  const KerasValue& x = inputs[0];
  const int64_t rank = int64_t(x.shape.size());
  check(rank == 4 || rank == 2,
        layer_label(layer) + ": input rank " + std::to_string(rank) + " is not supported");
  check(c.axis == rank - 1 || c.axis == -1, layer_label(layer) + ": axis " + std::to_string(c.axis) +
                                                " is not supported (only the channel axis " +
                                                std::to_string(rank - 1) + ")");
  const int64_t channels = x.shape[1];
  const Shape vec{channels};
  auto param = [&](const char* var, bool stored, float fallback) {
    Tensor t = stored ? ctx.weights.read(layer, var, vec, "channels")
                      : Tensor::from_floats(vec, std::vector<float>(size_t(channels), fallback));
    return ctx.add_initializer(layer.name + "/" + var, std::move(t));
  };
  std::vector<std::string> node_inputs{x.name, param("gamma", c.scale, 1.0f), param("beta", c.center, 0.0f),
                                       param("moving_mean", true, 0.0f),
                                       param("moving_variance", true, 1.0f)};
  Attrs attrs;
  attrs.epsilon = c.epsilon;
  return ctx.add_layer_node(layer.name, Op::kBatchNormalization, std::move(node_inputs), attrs, x.shape);
}

KerasValue convert_activation(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                              ConvertContext& ctx) {
  ActivationConfig c = parse_activation_config(layer);
  expect_inputs(layer, inputs, 1, 0);
  return ctx.add_activation(c.activation, inputs[0], layer.name, layer.name);
}

KerasValue convert_relu(const KerasLayer& layer, const std::vector<KerasValue>& inputs, ConvertContext& ctx) {
  ReluConfig c = parse_relu_config(layer);
  expect_inputs(layer, inputs, 1, 0);
  const KerasValue& x = inputs[0];
  if (!c.max_value) return ctx.add_layer_node(layer.name, Op::kRelu, {x.name}, {}, x.shape);
  Attrs attrs;
  attrs.clip_min = 0.0f;
  attrs.clip_max = *c.max_value;
  return ctx.add_layer_node(layer.name, Op::kClip, {x.name}, attrs, x.shape);
}

// x0 ∘ x1 ∘ ... as a chain of binary `op` nodes (Add, Mul); all inputs must have the same shape.
KerasValue elementwise_chain(Op op, const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                             ConvertContext& ctx) {
  check(inputs.size() >= 2,
        layer_label(layer) + ": expected at least 2 inputs, got " + std::to_string(inputs.size()));
  for (const auto& in : inputs)
    check(in.shape == inputs[0].shape, layer_label(layer) + ": input shapes differ (" +
                                           shape_str(inputs[0].shape) + " vs " + shape_str(in.shape) + ")");
  KerasValue acc = inputs[0];
  for (size_t k = 1; k < inputs.size(); ++k) {
    if (k + 1 == inputs.size()) return ctx.add_layer_node(layer.name, op, {acc.name, inputs[k].name}, {}, acc.shape);
    const std::string name = ctx.fresh(layer.name + "/" + op_name(op));
    acc = ctx.add_node(op, name, {acc.name, inputs[k].name}, {}, name, acc.shape);
  }
  return acc;
}

KerasValue convert_add(const KerasLayer& layer, const std::vector<KerasValue>& inputs, ConvertContext& ctx) {
  return elementwise_chain(Op::kAdd, layer, inputs, ctx);
}

KerasValue convert_multiply(const KerasLayer& layer, const std::vector<KerasValue>& inputs, ConvertContext& ctx) {
  return elementwise_chain(Op::kMul, layer, inputs, ctx);
}

// Keras flattens NHWC, so an NCHW image goes back to NHWC order first.
KerasValue convert_flatten(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                           ConvertContext& ctx) {
  check_channels_last(layer);
  expect_inputs(layer, inputs, 1, 0);
  const KerasValue& x = inputs[0];
  if (x.shape.size() == 2) return x;
  check(x.shape.size() == 4,
        layer_label(layer) + ": input rank " + std::to_string(x.shape.size()) + " is not supported");
  KerasValue nhwc = to_nhwc_memory_order(layer, x, ctx);
  Attrs attrs;
  attrs.axis = 1;
  return ctx.add_layer_node(layer.name, Op::kFlatten, {nhwc.name}, attrs,
                            {x.shape[0], x.shape[1] * x.shape[2] * x.shape[3]});
}

// Keras reshapes in NHWC order: NCHW input → NHWC, Reshape to [-1, target...], and a rank-4 result
// ([H, W, C] target) back to NCHW.
KerasValue convert_reshape(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                           ConvertContext& ctx) {
  ReshapeConfig c = parse_reshape_config(layer);
  expect_inputs(layer, inputs, 1, 0);
  const KerasValue& x = inputs[0];
  check(x.shape.size() == 2 || x.shape.size() == 4,
        layer_label(layer) + ": input rank " + std::to_string(x.shape.size()) + " is not supported");
  check(c.target_shape.size() == 1 || c.target_shape.size() == 3,
        layer_label(layer) + ": target_shape of rank " + std::to_string(c.target_shape.size()) +
            " is not supported (only [features] or [height, width, channels])");
  int64_t elements = 1, known = 1;
  for (size_t k = 1; k < x.shape.size(); ++k) elements *= x.shape[k];
  for (int64_t d : c.target_shape)
    if (d != -1) known *= d;
  for (int64_t& d : c.target_shape)
    if (d == -1) d = known > 0 && elements % known == 0 ? elements / known : 0;
  int64_t target_elements = 1;
  for (int64_t d : c.target_shape) target_elements *= d;
  check(target_elements == elements,
        layer_label(layer) + ": cannot reshape " + shape_str(to_keras_layout(x.shape)) + " (" +
            std::to_string(elements) + " values per sample) to the target shape");

  KerasValue nhwc = to_nhwc_memory_order(layer, x, ctx);
  Shape keras_out{x.shape[0]};
  keras_out.insert(keras_out.end(), c.target_shape.begin(), c.target_shape.end());
  const bool back_to_nchw = keras_out.size() == 4 && keras_out[1] * keras_out[2] > 1;
  Shape ir_out = keras_out.size() == 4 ? Shape{-1, keras_out[3], keras_out[1], keras_out[2]} : keras_out;
  Shape reshape_to = back_to_nchw ? keras_out : ir_out;  // H·W = 1: NHWC and NCHW bytes coincide
  std::vector<int64_t> dims(reshape_to.begin(), reshape_to.end());
  dims[0] = -1;
  const std::string shape_name = ctx.add_initializer(
      layer.name + "/shape", Tensor::from_ints(DType::kInt64, {int64_t(dims.size())}, dims));
  if (!back_to_nchw) return ctx.add_layer_node(layer.name, Op::kReshape, {nhwc.name, shape_name}, {}, ir_out);
  const std::string name = ctx.fresh(layer.name + "/Reshape");
  KerasValue r = ctx.add_node(Op::kReshape, name, {nhwc.name, shape_name}, {}, name, reshape_to);
  return ctx.add_layer_node(layer.name, Op::kTranspose, {r.name}, transpose_attrs({0, 3, 1, 2}), ir_out);
}

// y = x·K + b with the Keras kernel K [in, units]; stored transposed ([units, in]) for Gemm transB = 1.
KerasValue convert_dense(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                         ConvertContext& ctx) {
  DenseConfig c = parse_dense_config(layer);
  check(inputs.size() == 1 && inputs[0].shape.size() == 2,
        layer_label(layer) + ": needs one flat [batch, features] input (add a Flatten before it)");
  const KerasValue& x = inputs[0];
  const int64_t in = x.shape[1];
  Tensor k = ctx.weights.read(layer, "kernel", {in, c.units}, "input features, units");
  std::vector<float> w(k.f.size());
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < c.units; ++o) w[o * in + i] = k.f[i * c.units + o];
  std::vector<std::string> node_inputs{
      x.name, ctx.add_initializer(layer.name + "/kernel", Tensor::from_floats({c.units, in}, std::move(w)))};
  if (c.use_bias)
    node_inputs.push_back(
        ctx.add_initializer(layer.name + "/bias", ctx.weights.read(layer, "bias", {c.units}, "units")));
  Attrs attrs;
  attrs.trans_b = true;
  return ctx.add_layer_node(layer.name, Op::kGemm, std::move(node_inputs), attrs, {x.shape[0], c.units},
                            c.activation);
}

// Keras axis (NHWC numbering) → IR axis (NCHW for images): channels −1/3 → 1, rows 1 → 2, columns 2 → 3.
KerasValue convert_concatenate(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                               ConvertContext& ctx) {
  const ConcatenateConfig c = parse_concatenate_config(layer);
  check(!inputs.empty(), layer_label(layer) + ": has no inputs");
  const int64_t rank = int64_t(inputs[0].shape.size());
  const int64_t axis = c.axis < 0 ? c.axis + rank : c.axis;
  check(axis >= 1 && axis < rank, layer_label(layer) + ": axis " + std::to_string(c.axis) +
                                      " is not supported for inputs of rank " + std::to_string(rank));
  const int64_t ir_axis = rank == 4 ? (axis == 3 ? 1 : axis + 1) : axis;
  Shape out = inputs[0].shape;
  out[size_t(ir_axis)] = 0;
  std::vector<std::string> names;
  for (const auto& in : inputs) {
    check(int64_t(in.shape.size()) == rank, layer_label(layer) + ": input ranks differ");
    for (int64_t d = 1; d < rank; ++d)
      check(d == ir_axis || in.shape[size_t(d)] == inputs[0].shape[size_t(d)],
            layer_label(layer) + ": input shapes differ off the axis (" + shape_str(inputs[0].shape) + " vs " +
                shape_str(in.shape) + ")");
    out[size_t(ir_axis)] += in.shape[size_t(ir_axis)];
    names.push_back(in.name);
  }
  if (inputs.size() == 1) return inputs[0];
  Attrs attrs;
  attrs.axis = ir_axis;
  return ctx.add_layer_node(layer.name, Op::kConcat, std::move(names), attrs, out);
}

// ZeroPadding2D → Pad (constant 0) of the NCHW spatial axes.
KerasValue convert_zero_padding2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                  ConvertContext& ctx) {
  const ZeroPadding2DConfig c = parse_zero_padding2d_config(layer);
  expect_inputs(layer, inputs, 1, 4);
  const KerasValue& x = inputs[0];
  Attrs attrs;
  attrs.pad_amounts = {0, 0, c.rows[0], c.cols[0], 0, 0, c.rows[1], c.cols[1]};
  return ctx.add_layer_node(layer.name, Op::kPad, {x.name}, attrs,
                            {x.shape[0], x.shape[1], x.shape[2] + c.rows[0] + c.rows[1],
                             x.shape[3] + c.cols[0] + c.cols[1]});
}

// Layers that are the identity at inference.
KerasValue convert_identity(const KerasLayer& layer, const std::vector<KerasValue>& inputs, ConvertContext&) {
  expect_inputs(layer, inputs, 1, 0);
  return inputs[0];
}

struct ConverterEntry {
  const char* class_name;
  LayerConverter convert;
};

constexpr ConverterEntry kConverters[] = {
    {"Activation", convert_activation},
    {"Add", convert_add},
    {"AveragePooling2D", convert_average_pooling2d},
    {"BatchNormalization", convert_batch_norm},
    {"Concatenate", convert_concatenate},
    {"Conv2D", convert_conv2d},
    {"Dense", convert_dense},
    {"DepthwiseConv2D", convert_depthwise_conv2d},
    {"Dropout", convert_identity},
    {"Flatten", convert_flatten},
    {"GlobalAveragePooling2D", convert_global_average_pooling2d},
    {"InputLayer", convert_input},
    {"MaxPooling2D", convert_max_pooling2d},
    {"Multiply", convert_multiply},
    {"ReLU", convert_relu},
    {"Reshape", convert_reshape},
    {"SpatialDropout2D", convert_identity},
    {"ZeroPadding2D", convert_zero_padding2d},
};

}  // namespace

LayerConverter find_layer_converter(const std::string& class_name) {
  for (const auto& e : kConverters)
    if (class_name == e.class_name) return e.convert;
  return nullptr;
}

std::string supported_layer_classes() {
  std::string s;
  for (const auto& e : kConverters) s += (s.empty() ? "" : ", ") + std::string(e.class_name);
  return s;
}

}  // namespace tinyptq
