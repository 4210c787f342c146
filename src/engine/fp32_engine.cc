#include "engine/fp32_engine.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "core/error.h"
#include "engine/shape_inference.h"
#include "kernels/fp32/reference/averagepool.h"
#include "kernels/fp32/reference/batchnorm.h"
#include "kernels/fp32/reference/clip.h"
#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/elementwise_binary.h"
#include "kernels/fp32/reference/gemm.h"
#include "kernels/fp32/reference/global_averagepool.h"
#include "kernels/fp32/reference/matmul.h"
#include "kernels/fp32/reference/maxpool.h"
#include "kernels/fp32/reference/quantize_linear.h"
#include "kernels/fp32/reference/relu.h"
#include "kernels/fp32/reference/softmax.h"
#include "kernels/fp32/reference/transpose.h"

namespace tinyptq {

namespace ref = fp32_ref;

namespace {

constexpr size_t kMaxCachedPlans = 4;

using StepParams = std::variant<std::monostate, ref::Conv2dParams, ref::BatchNormParams, ref::BroadcastParams,
                                ref::Pool2dParams, ref::GlobalAveragePoolParams, ref::GemmParams, ref::MatMulParams,
                                ref::SoftmaxParams, ref::TransposeParams, ref::QuantParams>;

std::string node_label(const Node& node) { return "node '" + node.name + "' (" + op_name(node.op) + ")"; }

// The quantized type a QuantizeLinear produces: its zero point's type, uint8 when the zero point is omitted.
DType quantized_type(const Tensor* zero_point) { return zero_point ? zero_point->dtype : DType::kUint8; }

}  // namespace

struct Fp32Engine::Plan {
  Shape input_shape;
  std::vector<Shape> out_shapes;   // per node
  std::vector<StepParams> params;  // per node
};

Fp32Engine::~Fp32Engine() = default;
Fp32Engine::Fp32Engine(Fp32Engine&&) noexcept = default;
Fp32Engine& Fp32Engine::operator=(Fp32Engine&&) noexcept = default;

Fp32Engine::Fp32Engine(Graph graph) : graph_(std::move(graph)) {
  graph_.validate_and_sort();
  const ValueInfo& input = graph_image_input(graph_);

  std::map<std::string, int> ids;
  auto id_of = [&](const std::string& name) {
    auto [it, inserted] = ids.emplace(name, int(value_names_.size()));
    if (inserted) {
      value_names_.push_back(name);
      initializer_of_.push_back(graph_.initializer(name));
    }
    return it->second;
  };
  input_id_ = id_of(input.name);
  for (const Node& node : graph_.nodes) {
    std::vector<int> in;
    for (const auto& v : node.inputs) in.push_back(v.empty() ? -1 : id_of(v));
    node_inputs_.push_back(std::move(in));
    check(!node.outputs.empty() && !node.outputs[0].empty(), node_label(node) + ": has no output");
    node_output_.push_back(id_of(node.outputs[0]));
  }
  for (const auto& out : graph_.outputs) output_ids_.push_back(id_of(out.name));

  // Release plan: an intermediate (node output, not a graph output) dies after its last consumer, or right
  // after its producer when nothing reads it.
  std::vector<int> last_use(value_names_.size(), -1);
  for (size_t k = 0; k < graph_.nodes.size(); ++k) {
    last_use[node_output_[k]] = int(k);
    for (int v : node_inputs_[k])
      if (v >= 0) last_use[v] = int(k);
  }
  std::vector<bool> keep(value_names_.size(), false);
  for (int v : output_ids_) keep[v] = true;
  release_after_.resize(graph_.nodes.size());
  for (size_t k = 0; k < graph_.nodes.size(); ++k) {
    const int v = node_output_[k];
    if (!keep[v]) release_after_[last_use[v]].push_back(v);
  }

  // Static checks for the declared input shape (batch 1), when every other dim is known.
  Shape declared = input.shape;
  bool known = !declared.empty();
  for (size_t d = 1; d < declared.size(); ++d) known = known && declared[d] >= 0;
  if (known) {
    declared[0] = 1;
    infer_shapes(graph_, declared);
  }
  // Inputs that must be constants: Clip bounds, Q/DQ scales and zero points, the Reshape shape.
  for (const Node& node : graph_.nodes) {
    const bool constant_tail = node.op == Op::kClip || node.op == Op::kQuantizeLinear ||
                               node.op == Op::kDequantizeLinear || node.op == Op::kReshape;
    if (!constant_tail) continue;
    for (size_t k = 1; k < node.inputs.size(); ++k)
      check(node.inputs[k].empty() || graph_.is_initializer(node.inputs[k]),
            node_label(node) + ": input " + std::to_string(k) + " ('" + node.inputs[k] +
                "') must be an initializer");
  }
}

namespace {

StepParams make_step(const Node& node, const std::map<std::string, Shape>& shapes, const Graph& graph) {
  auto shape = [&](size_t k) -> const Shape* {
    return k < node.inputs.size() && !node.inputs[k].empty() ? &shapes.at(node.inputs[k]) : nullptr;
  };
  const Shape& x = *shape(0);
  const Attrs& at = node.attrs;
  switch (node.op) {
    case Op::kConv: {
      const Attrs r = resolved_pads(node, x, *shape(1));
      return ref::make_conv2d_params(x, *shape(1), ref::window2d_from_attrs(r), r.group);
    }
    case Op::kBatchNormalization:
      return ref::make_batchnorm_params(x, *shape(1), *shape(2), *shape(3), *shape(4), at.epsilon);
    case Op::kAdd: case Op::kMul: case Op::kSub:
      return ref::make_broadcast_params(x, *shape(1));
    case Op::kAveragePool: case Op::kMaxPool:
      return ref::make_pool2d_params(x, ref::window2d_from_attrs(resolved_pads(node, x)));
    case Op::kGlobalAveragePool:
      return ref::make_global_averagepool_params(x);
    case Op::kGemm:
      return ref::make_gemm_params(x, *shape(1), shape(2), at.trans_a, at.trans_b, at.alpha, at.beta);
    case Op::kMatMul:
      return ref::make_matmul_params(x, *shape(1));
    case Op::kSoftmax:
      return ref::make_softmax_params(x, at.axis);
    case Op::kTranspose:
      return ref::make_transpose_params(x, at.perm);
    case Op::kQuantizeLinear: {
      const Tensor* zp = node.inputs.size() > 2 ? graph.initializer(node.inputs[2]) : nullptr;
      return ref::make_quant_params(x, *shape(1), shape(2), at.axis, quantized_type(zp));
    }
    case Op::kDequantizeLinear:
      return ref::make_quant_params(x, *shape(1), shape(2), at.axis, DType::kInt32);
    case Op::kRelu: case Op::kClip: case Op::kIdentity: case Op::kFlatten: case Op::kReshape:
      return std::monostate{};
  }
  return std::monostate{};
}

// Typed access to a node's input k, checking its dtype.
const float* floats(const Node& node, const std::vector<const Tensor*>& in, size_t k) {
  const Tensor* t = k < in.size() ? in[k] : nullptr;
  if (!t) return nullptr;
  check(t->dtype == DType::kFloat32, "input " + std::to_string(k) + " ('" + node.inputs[k] + "') is " +
                                         dtype_name(t->dtype) + ", expected float32");
  return t->f.data();
}

const int64_t* ints(const Node& node, const std::vector<const Tensor*>& in, size_t k) {
  const Tensor* t = k < in.size() ? in[k] : nullptr;
  if (!t) return nullptr;
  check(is_integer(t->dtype), "input " + std::to_string(k) + " ('" + node.inputs[k] + "') is " +
                                  dtype_name(t->dtype) + ", expected an integer type");
  return t->i.data();
}

// Computes one node. `steal` holds the input-0 tensor when the node is its last user and it may be reused.
Tensor run_step(const Node& node, const StepParams& step, const Shape& out_shape,
                const std::vector<const Tensor*>& in, Tensor* steal) {
  const Attrs& at = node.attrs;
  auto float_out = [&] { return Tensor::zeros(out_shape); };
  switch (node.op) {
    case Op::kIdentity: case Op::kFlatten: case Op::kReshape: {
      Tensor y = steal ? std::move(*steal) : *in[0];
      y.shape = out_shape;
      return y;
    }
    case Op::kTranspose: {
      const auto& p = std::get<ref::TransposeParams>(step);
      if (in[0]->dtype == DType::kFloat32) {
        Tensor y = float_out();
        ref::transpose(p, in[0]->f.data(), y.f.data());
        return y;
      }
      Tensor y = Tensor::from_ints(in[0]->dtype, out_shape, std::vector<int64_t>(in[0]->i.size()));
      ref::transpose(p, in[0]->i.data(), y.i.data());
      return y;
    }
    case Op::kRelu: {
      const float* x = floats(node, in, 0);
      Tensor y = steal ? std::move(*steal) : float_out();
      ref::relu(int64_t(y.f.size()), x, y.f.data());
      return y;
    }
    case Op::kClip: {
      const float* x = floats(node, in, 0);
      ref::ClipParams p{num_elements(out_shape), at.clip_min, at.clip_max};
      if (const float* lo = floats(node, in, 1)) p.min = lo[0];
      if (const float* hi = floats(node, in, 2)) p.max = hi[0];
      Tensor y = steal ? std::move(*steal) : float_out();
      ref::clip(p, x, y.f.data());
      return y;
    }
    case Op::kConv: {
      Tensor y = float_out();
      ref::conv2d(std::get<ref::Conv2dParams>(step), floats(node, in, 0), floats(node, in, 1),
                  floats(node, in, 2), y.f.data());
      return y;
    }
    case Op::kBatchNormalization: {
      Tensor y = float_out();
      ref::batchnorm(std::get<ref::BatchNormParams>(step), floats(node, in, 0), floats(node, in, 1),
                     floats(node, in, 2), floats(node, in, 3), floats(node, in, 4), y.f.data());
      return y;
    }
    case Op::kAdd: case Op::kMul: case Op::kSub: {
      const auto kind = node.op == Op::kAdd ? ref::BinaryOp::kAdd
                        : node.op == Op::kSub ? ref::BinaryOp::kSub : ref::BinaryOp::kMul;
      Tensor y = float_out();
      ref::elementwise_binary(std::get<ref::BroadcastParams>(step), kind, floats(node, in, 0), floats(node, in, 1),
                              y.f.data());
      return y;
    }
    case Op::kAveragePool: {
      Tensor y = float_out();
      ref::averagepool(std::get<ref::Pool2dParams>(step), at.count_include_pad, floats(node, in, 0), y.f.data());
      return y;
    }
    case Op::kMaxPool: {
      Tensor y = float_out();
      ref::maxpool(std::get<ref::Pool2dParams>(step), floats(node, in, 0), y.f.data());
      return y;
    }
    case Op::kGlobalAveragePool: {
      Tensor y = float_out();
      ref::global_averagepool(std::get<ref::GlobalAveragePoolParams>(step), floats(node, in, 0), y.f.data());
      return y;
    }
    case Op::kGemm: {
      Tensor y = float_out();
      ref::gemm(std::get<ref::GemmParams>(step), floats(node, in, 0), floats(node, in, 1), floats(node, in, 2),
                y.f.data());
      return y;
    }
    case Op::kMatMul: {
      Tensor y = float_out();
      ref::matmul(std::get<ref::MatMulParams>(step), floats(node, in, 0), floats(node, in, 1), y.f.data());
      return y;
    }
    case Op::kSoftmax: {
      Tensor y = float_out();
      ref::softmax(std::get<ref::SoftmaxParams>(step), floats(node, in, 0), y.f.data());
      return y;
    }
    case Op::kQuantizeLinear: {
      const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
      const DType qtype = quantized_type(zp);
      check(qtype == DType::kUint8 || qtype == DType::kInt8,
            std::string("zero point type ") + dtype_name(qtype) + " is not supported (uint8 or int8)");
      const float* x = floats(node, in, 0);
      Tensor y = Tensor::from_ints(qtype, out_shape, std::vector<int64_t>(num_elements(out_shape)));
      ref::quantize_linear(std::get<ref::QuantParams>(step), x, floats(node, in, 1), ints(node, in, 2), y.i.data());
      return y;
    }
    case Op::kDequantizeLinear: {
      const int64_t* q = ints(node, in, 0);
      if (in.size() > 2 && in[2])
        check(in[2]->dtype == in[0]->dtype, std::string("zero point type ") + dtype_name(in[2]->dtype) +
                                                " differs from input type " + dtype_name(in[0]->dtype));
      Tensor y = float_out();
      ref::dequantize_linear(std::get<ref::QuantParams>(step), q, floats(node, in, 1), ints(node, in, 2),
                             y.f.data());
      return y;
    }
  }
  throw Error("unsupported operator");
}

}  // namespace

std::vector<Tensor> Fp32Engine::run(const Tensor& input, const Tap& tap) {
  check(input.dtype == DType::kFloat32, std::string("engine input must be float32, got ") + dtype_name(input.dtype));
  check(int64_t(input.f.size()) == num_elements(input.shape),
        "engine input holds " + std::to_string(input.f.size()) + " values for shape " + shape_str(input.shape));

  // Kernel parameters for this input shape (cached).
  const Plan* plan = nullptr;
  for (const Plan& p : plans_)
    if (p.input_shape == input.shape) plan = &p;
  if (!plan) {
    const auto shapes = infer_shapes(graph_, input.shape);
    Plan p;
    p.input_shape = input.shape;
    for (const Node& node : graph_.nodes) {
      try {
        p.params.push_back(make_step(node, shapes, graph_));
      } catch (const Error& e) {
        throw Error(node_label(node) + ": " + e.what());
      }
      p.out_shapes.push_back(shapes.at(node.outputs[0]));
    }
    if (plans_.size() >= kMaxCachedPlans) plans_.erase(plans_.begin());
    plans_.push_back(std::move(p));
    plan = &plans_.back();
  }

  // Value table: initializers and the input are referenced, node outputs owned in `slots`.
  std::vector<Tensor> slots(value_names_.size());
  std::vector<const Tensor*> view(initializer_of_);
  view[input_id_] = &input;
  if (tap) tap(value_names_[input_id_], input);

  for (size_t k = 0; k < graph_.nodes.size(); ++k) {
    const Node& node = graph_.nodes[k];
    std::vector<const Tensor*> in;
    for (int v : node_inputs_[k]) in.push_back(v >= 0 ? view[v] : nullptr);
    // Reuse input 0's buffer when this node is its last user (elementwise and copy ops only).
    Tensor* steal = nullptr;
    const int x = node_inputs_[k][0];
    const bool same_size = num_elements(plan->out_shapes[k]) == num_elements(view[x]->shape);
    if (same_size && view[x] == &slots[x] && node.op != Op::kTranspose)
      for (int v : release_after_[k])
        if (v == x && std::count(node_inputs_[k].begin(), node_inputs_[k].end(), x) == 1) steal = &slots[x];
    const int out = node_output_[k];
    try {
      slots[out] = run_step(node, plan->params[k], plan->out_shapes[k], in, steal);
    } catch (const Error& e) {
      throw Error(node_label(node) + ": " + e.what());
    }
    view[out] = &slots[out];
    if (tap) tap(value_names_[out], slots[out]);
    for (int v : release_after_[k]) {
      slots[v] = Tensor();
      view[v] = nullptr;
    }
  }

  std::vector<Tensor> outputs;
  for (int v : output_ids_) outputs.push_back(*view[v]);
  return outputs;
}

}  // namespace tinyptq
