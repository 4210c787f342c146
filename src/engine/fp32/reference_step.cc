#include "engine/fp32/reference_step.h"

#include "core/error.h"
#include "engine/shape_inference.h"
#include "kernels/fp32/reference/activation.h"
#include "kernels/fp32/reference/averagepool.h"
#include "kernels/fp32/reference/clip.h"
#include "kernels/fp32/reference/maxpool.h"
#include "kernels/fp32/reference/relu.h"

namespace tinyptq::fp32_engine {

namespace ref = fp32_ref;

namespace {

// Typed access to a node's input k, checking its dtype.
const float* floats(const Node& node, const std::vector<const Tensor*>& in, size_t k) {
  const Tensor* t = k < in.size() ? in[k] : nullptr;
  if (!t) return nullptr;
  if (t->dtype != DType::kFloat32)  // (messages only on failure: this runs on every engine call)
    throw Error("input " + std::to_string(k) + " ('" + node.inputs[k] + "') is " + dtype_name(t->dtype) +
                ", expected float32");
  return t->f.data();
}

const int64_t* ints(const Node& node, const std::vector<const Tensor*>& in, size_t k) {
  const Tensor* t = k < in.size() ? in[k] : nullptr;
  if (!t) return nullptr;
  if (!is_integer(t->dtype))
    throw Error("input " + std::to_string(k) + " ('" + node.inputs[k] + "') is " + dtype_name(t->dtype) +
                ", expected an integer type");
  return t->i.data();
}

}  // namespace

std::string node_label(const Node& node) { return "node '" + node.name + "' (" + op_name(node.op) + ")"; }

DType quantized_type(const Tensor* zero_point) { return zero_point ? zero_point->dtype : DType::kUint8; }

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
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub: return ref::make_broadcast_params(x, *shape(1));
    case Op::kAveragePool:
    case Op::kMaxPool: return ref::make_pool2d_params(x, ref::window2d_from_attrs(resolved_pads(node, x)));
    case Op::kGlobalAveragePool: return ref::make_global_averagepool_params(x);
    case Op::kGemm:
      return ref::make_gemm_params(x, *shape(1), shape(2), at.trans_a, at.trans_b, at.alpha, at.beta);
    case Op::kMatMul: return ref::make_matmul_params(x, *shape(1));
    case Op::kSoftmax: return ref::make_softmax_params(x, at.axis);
    case Op::kTranspose: return ref::make_transpose_params(x, at.perm);
    case Op::kConcat: {
      std::vector<Shape> in;
      for (size_t k = 0; k < node.inputs.size(); ++k) in.push_back(*shape(k));
      return ref::make_concat_params(in, at.axis);
    }
    case Op::kPad: return ref::make_pad_params(x, at.pad_amounts, at.pad_mode, at.pad_value);
    case Op::kQuantizeLinear: {
      const Tensor* zp = node.inputs.size() > 2 ? graph.initializer(node.inputs[2]) : nullptr;
      return ref::make_quant_params(x, *shape(1), shape(2), at.axis, quantized_type(zp));
    }
    case Op::kDequantizeLinear: return ref::make_quant_params(x, *shape(1), shape(2), at.axis, DType::kInt32);
    case Op::kRelu:
    case Op::kClip:
    case Op::kSigmoid:
    case Op::kHardSigmoid:
    case Op::kHardSwish:
    case Op::kIdentity:
    case Op::kFlatten:
    case Op::kReshape: return std::monostate{};
  }
  return std::monostate{};
}

void run_step_into(const Node& node, const StepParams& step, const Shape& out_shape,
                   const std::vector<const Tensor*>& in, Tensor& y) {
  const Attrs& at = node.attrs;
  // y becomes a zero tensor of out_shape, reusing its storage (no allocation once it has been this big).
  auto float_out = [&] {
    y.dtype = DType::kFloat32;
    y.shape = out_shape;
    y.i.clear();
    y.f.assign(size_t(num_elements(out_shape)), 0.0f);
  };
  auto int_out = [&](DType dtype, int64_t count) {
    y.dtype = dtype;
    y.shape = out_shape;
    y.f.clear();
    y.i.assign(size_t(count), 0);
  };
  switch (node.op) {
    case Op::kIdentity:
    case Op::kFlatten:
    case Op::kReshape: {
      y = *in[0];
      y.shape = out_shape;
      return;
    }
    case Op::kTranspose: {
      const auto& p = std::get<ref::TransposeParams>(step);
      if (in[0]->dtype == DType::kFloat32) {
        float_out();
        ref::transpose(p, in[0]->f.data(), y.f.data());
        return;
      }
      int_out(in[0]->dtype, int64_t(in[0]->i.size()));
      ref::transpose(p, in[0]->i.data(), y.i.data());
      return;
    }
    case Op::kRelu: {
      const float* x = floats(node, in, 0);
      float_out();
      ref::relu(int64_t(y.f.size()), x, y.f.data());
      return;
    }
    case Op::kClip: {
      const float* x = floats(node, in, 0);
      ref::ClipParams p{num_elements(out_shape), at.clip_min, at.clip_max};
      if (const float* lo = floats(node, in, 1)) p.min = lo[0];
      if (const float* hi = floats(node, in, 2)) p.max = hi[0];
      float_out();
      ref::clip(p, x, y.f.data());
      return;
    }
    case Op::kSigmoid:
    case Op::kHardSigmoid:
    case Op::kHardSwish: {
      const float* x = floats(node, in, 0);
      float_out();
      ref::activation(ref::activation_params(node, int64_t(y.f.size())), x, y.f.data());
      return;
    }
    case Op::kConcat: {
      std::vector<const float*> xs;
      for (size_t k = 0; k < node.inputs.size(); ++k) xs.push_back(floats(node, in, k));
      float_out();
      ref::concat(std::get<ref::ConcatParams>(step), xs.data(), y.f.data());
      return;
    }
    case Op::kPad: {
      const float* x = floats(node, in, 0);
      float_out();
      ref::pad(std::get<ref::PadParams>(step), x, y.f.data());
      return;
    }
    case Op::kConv: {
      float_out();
      ref::conv2d(std::get<ref::Conv2dParams>(step), floats(node, in, 0), floats(node, in, 1),
                  floats(node, in, 2), y.f.data());
      return;
    }
    case Op::kBatchNormalization: {
      float_out();
      ref::batchnorm(std::get<ref::BatchNormParams>(step), floats(node, in, 0), floats(node, in, 1),
                     floats(node, in, 2), floats(node, in, 3), floats(node, in, 4), y.f.data());
      return;
    }
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub: {
      const auto kind = node.op == Op::kAdd   ? ref::BinaryOp::kAdd
                        : node.op == Op::kSub ? ref::BinaryOp::kSub
                                              : ref::BinaryOp::kMul;
      float_out();
      ref::elementwise_binary(std::get<ref::BroadcastParams>(step), kind, floats(node, in, 0),
                              floats(node, in, 1), y.f.data());
      return;
    }
    case Op::kAveragePool: {
      float_out();
      ref::averagepool(std::get<ref::Pool2dParams>(step), at.count_include_pad, floats(node, in, 0),
                       y.f.data());
      return;
    }
    case Op::kMaxPool: {
      float_out();
      ref::maxpool(std::get<ref::Pool2dParams>(step), floats(node, in, 0), y.f.data());
      return;
    }
    case Op::kGlobalAveragePool: {
      float_out();
      ref::global_averagepool(std::get<ref::GlobalAveragePoolParams>(step), floats(node, in, 0), y.f.data());
      return;
    }
    case Op::kGemm: {
      float_out();
      ref::gemm(std::get<ref::GemmParams>(step), floats(node, in, 0), floats(node, in, 1),
                floats(node, in, 2), y.f.data());
      return;
    }
    case Op::kMatMul: {
      float_out();
      ref::matmul(std::get<ref::MatMulParams>(step), floats(node, in, 0), floats(node, in, 1), y.f.data());
      return;
    }
    case Op::kSoftmax: {
      float_out();
      ref::softmax(std::get<ref::SoftmaxParams>(step), floats(node, in, 0), y.f.data());
      return;
    }
    case Op::kQuantizeLinear: {
      const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
      const DType qtype = quantized_type(zp);
      check(qtype == DType::kUint8 || qtype == DType::kInt8,
            std::string("zero point type ") + dtype_name(qtype) + " is not supported (uint8 or int8)");
      const float* x = floats(node, in, 0);
      int_out(qtype, num_elements(out_shape));
      ref::quantize_linear(std::get<ref::QuantParams>(step), x, floats(node, in, 1), ints(node, in, 2),
                           y.i.data());
      return;
    }
    case Op::kDequantizeLinear: {
      const int64_t* q = ints(node, in, 0);
      if (in.size() > 2 && in[2])
        check(in[2]->dtype == in[0]->dtype, std::string("zero point type ") + dtype_name(in[2]->dtype) +
                                                " differs from input type " + dtype_name(in[0]->dtype));
      float_out();
      ref::dequantize_linear(std::get<ref::QuantParams>(step), q, floats(node, in, 1), ints(node, in, 2),
                             y.f.data());
      return;
    }
  }
  throw Error("unsupported operator");
}

Tensor run_step(const Node& node, const StepParams& step, const Shape& out_shape,
                const std::vector<const Tensor*>& in) {
  Tensor y;
  run_step_into(node, step, out_shape, in, y);
  return y;
}

}  // namespace tinyptq::fp32_engine
