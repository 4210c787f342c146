#include "engine/shape_inference.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/fp32/reference/batchnorm.h"
#include "kernels/fp32/reference/concat.h"
#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/elementwise_binary.h"
#include "kernels/fp32/reference/gemm.h"
#include "kernels/fp32/reference/global_averagepool.h"
#include "kernels/fp32/reference/matmul.h"
#include "kernels/fp32/reference/pad.h"
#include "kernels/fp32/reference/pool2d_params.h"
#include "kernels/fp32/reference/quantize_linear.h"
#include "kernels/fp32/reference/reshape.h"
#include "kernels/fp32/reference/softmax.h"
#include "kernels/fp32/reference/transpose.h"

namespace tinyptq {

namespace {

std::string node_label(const Node& node) { return "node '" + node.name + "' (" + op_name(node.op) + ")"; }

Attrs resolve_window(const Node& node, const Shape& x, const Shape& w);

// Number of inputs an op requires, and how many it accepts.
struct Arity {
  size_t required, max;
};

Arity arity(Op op) {
  switch (op) {
    case Op::kConv: return {2, 3};
    case Op::kBatchNormalization: return {5, 5};
    case Op::kClip: return {1, 3};
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub:
    case Op::kMatMul:
    case Op::kReshape: return {2, 2};
    case Op::kGemm: return {2, 3};
    case Op::kQuantizeLinear:
    case Op::kDequantizeLinear: return {2, 3};
    case Op::kConcat: return {1, 64};
    default: return {1, 1};
  }
}

// Shape of the node's input k, or nullptr when that optional input is omitted.
const Shape* input_shape(const std::map<std::string, Shape>& shapes, const Node& node, size_t k) {
  if (k >= node.inputs.size() || node.inputs[k].empty()) return nullptr;
  auto it = shapes.find(node.inputs[k]);
  check(it != shapes.end(), "input '" + node.inputs[k] + "' is not produced before this node");
  return &it->second;
}

const Shape& required_input(const std::map<std::string, Shape>& shapes, const Node& node, size_t k) {
  const Shape* s = input_shape(shapes, node, k);
  check(s != nullptr, "required input " + std::to_string(k) + " is missing");
  return *s;
}

void check_scalar_input(const std::map<std::string, Shape>& shapes, const Node& node, size_t k,
                        const char* what) {
  const Shape* s = input_shape(shapes, node, k);
  if (s) check(num_elements(*s) == 1, std::string(what) + " must be a scalar, got " + shape_str(*s));
}

Shape infer_node(const Graph& graph, const Node& node, const std::map<std::string, Shape>& shapes) {
  const Arity a = arity(node.op);
  check(node.inputs.size() >= a.required && node.inputs.size() <= a.max,
        "has " + std::to_string(node.inputs.size()) + " inputs, expected " + std::to_string(a.required) +
            (a.max != a.required ? ".." + std::to_string(a.max) : ""));
  check(!node.outputs.empty() && !node.outputs[0].empty(), "has no output");
  for (size_t k = 1; k < node.outputs.size(); ++k)
    check(node.outputs[k].empty(),
          "output " + std::to_string(k) + " ('" + node.outputs[k] + "') is not supported");
  const Shape& x = required_input(shapes, node, 0);
  const Attrs& at = node.attrs;
  switch (node.op) {
    case Op::kConv: {
      const Shape& w = required_input(shapes, node, 1);
      const Attrs r = resolve_window(node, x, w);
      auto p = fp32_ref::make_conv2d_params(x, w, fp32_ref::window2d_from_attrs(r), r.group);
      if (const Shape* b = input_shape(shapes, node, 2))
        check(*b == Shape{p.out_channels},
              "bias has shape " + shape_str(*b) + ", expected [" + std::to_string(p.out_channels) + "]");
      return fp32_ref::conv2d_output_shape(p);
    }
    case Op::kBatchNormalization:
      fp32_ref::make_batchnorm_params(x, required_input(shapes, node, 1), required_input(shapes, node, 2),
                                      required_input(shapes, node, 3), required_input(shapes, node, 4),
                                      at.epsilon);
      return x;
    case Op::kClip:
      check_scalar_input(shapes, node, 1, "min");
      check_scalar_input(shapes, node, 2, "max");
      return x;
    case Op::kRelu:
    case Op::kSigmoid:
    case Op::kHardSigmoid:
    case Op::kHardSwish:
    case Op::kIdentity: return x;
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub: return fp32_ref::make_broadcast_params(x, required_input(shapes, node, 1)).out_shape;
    case Op::kAveragePool:
    case Op::kMaxPool: {
      const Attrs r = resolve_window(node, x, {});
      return fp32_ref::pool2d_output_shape(fp32_ref::make_pool2d_params(x, fp32_ref::window2d_from_attrs(r)));
    }
    case Op::kGlobalAveragePool: return fp32_ref::make_global_averagepool_params(x).out_shape;
    case Op::kFlatten: return fp32_ref::flatten_output_shape(x, at.axis);
    case Op::kReshape: {
      const Tensor* spec = graph.initializer(node.inputs[1]);
      check(spec != nullptr, "shape input '" + node.inputs[1] + "' must be an initializer");
      check(spec->dtype == DType::kInt64 && spec->shape.size() == 1 && spec->stored() == spec->shape[0],
            "shape input '" + node.inputs[1] + "' must be a 1-D int64 tensor");
      return fp32_ref::reshape_output_shape(x, spec->i);
    }
    case Op::kTranspose: return fp32_ref::make_transpose_params(x, at.perm).out_shape;
    case Op::kConcat: {
      std::vector<Shape> in;
      for (size_t k = 0; k < node.inputs.size(); ++k) in.push_back(required_input(shapes, node, k));
      return fp32_ref::make_concat_params(in, at.axis).out_shape;
    }
    case Op::kPad: return fp32_ref::make_pad_params(x, at.pad_amounts, at.pad_mode, at.pad_value).out_shape;
    case Op::kGemm: {
      auto p = fp32_ref::make_gemm_params(x, required_input(shapes, node, 1), input_shape(shapes, node, 2),
                                          at.trans_a, at.trans_b, at.alpha, at.beta);
      return {p.m, p.n};
    }
    case Op::kMatMul: return fp32_ref::make_matmul_params(x, required_input(shapes, node, 1)).out_shape;
    case Op::kSoftmax: fp32_ref::make_softmax_params(x, at.axis); return x;
    case Op::kQuantizeLinear:
    case Op::kDequantizeLinear:
      fp32_ref::make_quant_params(x, required_input(shapes, node, 1), input_shape(shapes, node, 2), at.axis,
                                  node.op == Op::kQuantizeLinear ? DType::kUint8 : DType::kInt32);
      return x;
  }
  throw Error("unsupported operator");
}

}  // namespace

const ValueInfo& graph_image_input(const Graph& graph) {
  const ValueInfo* found = nullptr;
  for (const auto& in : graph.inputs) {
    if (graph.is_initializer(in.name)) continue;
    check(found == nullptr, "graph has more than one non-initializer input ('" + (found ? found->name : "") +
                                "' and '" + in.name + "'); exactly one image input is supported");
    found = &in;
  }
  check(found != nullptr, "graph has no input (every input is an initializer)");
  return *found;
}

void check_input_shape(const Graph& graph, const Shape& input_shape) {
  const ValueInfo& in = graph_image_input(graph);
  bool ok = in.shape.empty() || in.shape.size() == input_shape.size();
  for (size_t d = 1; ok && d < in.shape.size(); ++d) ok = in.shape[d] < 0 || in.shape[d] == input_shape[d];
  if (!ok)  // (the message is built only on failure: this runs on every engine call)
    throw Error("input tensor has shape " + shape_str(input_shape) + ", but graph input '" + in.name +
                "' is declared as " + shape_str(in.shape) + " (only the batch dimension may differ)");
  num_elements(input_shape);
}

std::map<std::string, Shape> infer_shapes(const Graph& graph, const Shape& input_shape) {
  check_input_shape(graph, input_shape);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : graph.initializers) shapes[name] = t.shape;
  shapes[graph_image_input(graph).name] = input_shape;
  for (const Node& node : graph.nodes) {
    Shape out;
    try {
      out = infer_node(graph, node, shapes);
    } catch (const Error& e) {
      throw Error(node_label(node) + ": " + e.what());
    }
    check(!shapes.count(node.outputs[0]),
          node_label(node) + ": output '" + node.outputs[0] + "' is already defined");
    shapes[node.outputs[0]] = std::move(out);
  }
  return shapes;
}

Attrs resolved_pads(const Node& node, const Shape& x, const Shape& w) {
  try {
    return resolve_window(node, x, w);
  } catch (const Error& e) {
    throw Error(node_label(node) + ": " + e.what());
  }
}

namespace {

// resolved_pads without the node prefix in its errors (infer_shapes adds it).
Attrs resolve_window(const Node& node, const Shape& x, const Shape& w) {
  auto fail = [&](const std::string& what) { throw Error(what); };
  Attrs a = node.attrs;
  if (x.size() < 3) fail("input must be [N,C,spatial...], got " + shape_str(x));
  const size_t spatial = x.size() - 2;
  if (a.kernel_shape.empty()) {
    if (node.op != Op::kConv || w.size() != x.size()) fail("kernel_shape is missing");
    a.kernel_shape.assign(w.begin() + 2, w.end());
  }
  auto sized = [&](std::vector<int64_t>& v, size_t n, int64_t fill, const char* what) {
    if (v.empty()) v.assign(n, fill);
    if (v.size() != n)
      fail(std::string(what) + " has " + std::to_string(v.size()) + " values, expected " + std::to_string(n) +
           " for input " + shape_str(x));
  };
  sized(a.kernel_shape, spatial, 1, "kernel_shape");
  sized(a.strides, spatial, 1, "strides");
  sized(a.dilations, spatial, 1, "dilations");
  for (size_t d = 0; d < spatial; ++d)
    if (a.kernel_shape[d] < 1 || a.strides[d] < 1 || a.dilations[d] < 1)
      fail("kernel_shape, strides and dilations must be positive");
  switch (a.auto_pad) {
    case AutoPad::kNotSet: sized(a.pads, 2 * spatial, 0, "pads"); break;
    case AutoPad::kValid: a.pads.assign(2 * spatial, 0); break;
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower:
      a.pads.assign(2 * spatial, 0);
      for (size_t d = 0; d < spatial; ++d) {
        const int64_t in = x[d + 2], s = a.strides[d];
        const int64_t out = (in + s - 1) / s;
        const int64_t total =
            std::max<int64_t>(0, (out - 1) * s + a.dilations[d] * (a.kernel_shape[d] - 1) + 1 - in);
        const int64_t begin = a.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
        a.pads[d] = begin;
        a.pads[d + spatial] = total - begin;
      }
      break;
  }
  if (a.auto_pad != AutoPad::kNotSet) a.ceil_mode = false;
  a.auto_pad = AutoPad::kNotSet;
  return a;
}

}  // namespace

}  // namespace tinyptq
