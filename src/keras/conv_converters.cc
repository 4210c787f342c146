// Conv2D, DepthwiseConv2D and the pooling layers: NHWC Keras windows as NCHW ONNX nodes with explicit
// TensorFlow pads.
#include "core/error.h"
#include "keras/layer_converters.h"
#include "keras/tf_padding.h"

namespace tinyptq {

namespace {

// HWIO (kh, kw, cin, cout) → OIHW: w[o][i][y][x] = k[y][x][i][o].
Tensor hwio_to_oihw(const Tensor& k) {
  const int64_t kh = k.shape[0], kw = k.shape[1], ci = k.shape[2], co = k.shape[3];
  std::vector<float> w(k.f.size());
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t o = 0; o < co; ++o)
          w[((o * ci + i) * kh + y) * kw + x] = k.f[((y * kw + x) * ci + i) * co + o];
  return Tensor::from_floats({co, ci, kh, kw}, std::move(w));
}

struct Window2D {
  AxisPadding h, w;
};

// TF output size and pads of a window over an NCHW input; throws if a 'valid' window does not fit.
Window2D spatial_window(const KerasLayer& layer, const KerasValue& x, const Pair& kernel, const Pair& strides,
                        const Pair& dilation, KerasPadding padding) {
  Window2D win{tf_axis_padding({x.shape[2], kernel[0], strides[0], dilation[0]}, padding),
               tf_axis_padding({x.shape[3], kernel[1], strides[1], dilation[1]}, padding)};
  check(win.h.out >= 1 && win.w.out >= 1,
        layer_label(layer) + ": the " + std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) +
            " window (dilation " + std::to_string(dilation[0]) + "x" + std::to_string(dilation[1]) +
            ") does not fit the " + std::to_string(x.shape[2]) + "x" + std::to_string(x.shape[3]) + " input");
  return win;
}

// kernel_shape, strides and explicit pads [top, left, bottom, right].
Attrs window_attrs(const Pair& kernel, const Pair& strides, const Window2D& win) {
  Attrs a;
  a.kernel_shape = {kernel[0], kernel[1]};
  a.strides = {strides[0], strides[1]};
  a.pads = {win.h.before, win.w.before, win.h.after, win.w.after};
  return a;
}

KerasValue convert_pool(Op op, const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                        ConvertContext& ctx) {
  Pool2DConfig c = parse_pool2d_config(layer);
  expect_inputs(layer, inputs, 1, 4);
  const KerasValue& x = inputs[0];
  Window2D win = spatial_window(layer, x, c.pool, c.strides, {1, 1}, c.padding);
  Attrs attrs = window_attrs(c.pool, c.strides, win);
  attrs.count_include_pad = false;  // TF averages over the valid pixels only
  return ctx.add_layer_node(layer.name, op, {x.name}, attrs, {x.shape[0], x.shape[1], win.h.out, win.w.out});
}

}  // namespace

KerasValue convert_conv2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                          ConvertContext& ctx) {
  Conv2DConfig c = parse_conv2d_config(layer);
  expect_inputs(layer, inputs, 1, 4);
  const KerasValue& x = inputs[0];
  const int64_t cin = x.shape[1];
  check(cin % c.groups == 0, layer_label(layer) + ": " + std::to_string(cin) +
                                 " input channels are not a multiple of groups " + std::to_string(c.groups));
  Window2D win = spatial_window(layer, x, c.kernel, c.strides, c.dilation, c.padding);
  Tensor kernel = ctx.weights.read(layer, "kernel", {c.kernel[0], c.kernel[1], cin / c.groups, c.filters},
                                   "kernel_size, input channels / groups, filters");
  std::vector<std::string> node_inputs{x.name,
                                       ctx.add_initializer(layer.name + "/kernel", hwio_to_oihw(kernel))};
  if (c.use_bias)
    node_inputs.push_back(
        ctx.add_initializer(layer.name + "/bias", ctx.weights.read(layer, "bias", {c.filters}, "filters")));
  Attrs attrs = window_attrs(c.kernel, c.strides, win);
  attrs.dilations = {c.dilation[0], c.dilation[1]};
  attrs.group = c.groups;
  return ctx.add_layer_node(layer.name, Op::kConv, std::move(node_inputs), attrs,
                            {x.shape[0], c.filters, win.h.out, win.w.out}, c.activation);
}

// Keras depthwise kernel (kh, kw, C, M) puts output channel c·M + m at k[y][x][c][m]; read as HWIO with
// I = 1, O = C·M it is already in that order, so the ONNX weight is hwio_to_oihw of it with group = C.
KerasValue convert_depthwise_conv2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                    ConvertContext& ctx) {
  DepthwiseConv2DConfig c = parse_depthwise_conv2d_config(layer);
  expect_inputs(layer, inputs, 1, 4);
  const KerasValue& x = inputs[0];
  const int64_t channels = x.shape[1], cout = channels * c.depth_multiplier;
  Window2D win = spatial_window(layer, x, c.kernel, c.strides, c.dilation, c.padding);
  Tensor kernel =
      ctx.weights.read(layer, "depthwise_kernel", {c.kernel[0], c.kernel[1], channels, c.depth_multiplier},
                       "kernel_size, input channels, depth_multiplier");
  kernel.shape = {c.kernel[0], c.kernel[1], 1, cout};
  std::vector<std::string> node_inputs{
      x.name, ctx.add_initializer(layer.name + "/depthwise_kernel", hwio_to_oihw(kernel))};
  if (c.use_bias)
    node_inputs.push_back(ctx.add_initializer(
        layer.name + "/bias", ctx.weights.read(layer, "bias", {cout}, "input channels × depth_multiplier")));
  Attrs attrs = window_attrs(c.kernel, c.strides, win);
  attrs.dilations = {c.dilation[0], c.dilation[1]};
  attrs.group = channels;
  return ctx.add_layer_node(layer.name, Op::kConv, std::move(node_inputs), attrs,
                            {x.shape[0], cout, win.h.out, win.w.out}, c.activation);
}

KerasValue convert_average_pooling2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                     ConvertContext& ctx) {
  return convert_pool(Op::kAveragePool, layer, inputs, ctx);
}

KerasValue convert_max_pooling2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                 ConvertContext& ctx) {
  return convert_pool(Op::kMaxPool, layer, inputs, ctx);
}

// GlobalAveragePool gives [N, C, 1, 1]; Keras drops the 1×1 unless keepdims.
KerasValue convert_global_average_pooling2d(const KerasLayer& layer, const std::vector<KerasValue>& inputs,
                                            ConvertContext& ctx) {
  GlobalPool2DConfig c = parse_global_pool2d_config(layer);
  expect_inputs(layer, inputs, 1, 4);
  const KerasValue& x = inputs[0];
  Shape pooled{x.shape[0], x.shape[1], 1, 1};
  if (c.keepdims) return ctx.add_layer_node(layer.name, Op::kGlobalAveragePool, {x.name}, {}, pooled);
  const std::string gap_name = ctx.fresh(layer.name + "/GlobalAveragePool");
  KerasValue gap = ctx.add_node(Op::kGlobalAveragePool, gap_name, {x.name}, {}, gap_name, pooled);
  Attrs flatten;
  flatten.axis = 1;
  return ctx.add_layer_node(layer.name, Op::kFlatten, {gap.name}, flatten, {x.shape[0], x.shape[1]});
}

}  // namespace tinyptq
