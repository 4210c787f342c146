#include "engine/int/float_steps.h"

#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "core/error.h"
#include "engine/shape_inference.h"
#include "kernels/fp32/portable/conv_plan.h"
#include "kernels/fp32/reference/activation.h"
#include "kernels/fp32/reference/averagepool.h"
#include "kernels/fp32/reference/batchnorm.h"
#include "kernels/fp32/reference/clip.h"
#include "kernels/fp32/reference/concat.h"
#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/elementwise_binary.h"
#include "kernels/fp32/reference/gemm.h"
#include "kernels/fp32/reference/global_averagepool.h"
#include "kernels/fp32/reference/matmul.h"
#include "kernels/fp32/reference/maxpool.h"
#include "kernels/fp32/reference/pad.h"
#include "kernels/fp32/reference/relu.h"
#include "kernels/fp32/reference/softmax.h"
#include "kernels/fp32/reference/transpose.h"

namespace tinyptq::qdq {

namespace {

// Computes one image: in[k] is node input k (null when omitted), out the image's output.
using ImageFn = std::function<void(const float* const* in, float* out)>;

constexpr size_t kMaxInputs = 64;  // Concat (the ONNX reader's limit)

class FloatStep : public Step {
 public:
  FloatStep(std::vector<int> sources, std::vector<std::vector<float>> constants, ImageFn fn,
            int64_t out_count, double cost_per_image)
      : sources_(std::move(sources)),
        constants_(std::move(constants)),
        fn_(std::move(fn)),
        out_count_(out_count),
        cost_(cost_per_image) {
    kind = StepKind::kFloat;
  }
  double cost() const override { return cost_; }
  void run(const RunContext& ctx, int64_t first, int64_t images, int8::RowRange) const override {
    const float* in_ptrs[kMaxInputs] = {};
    for (int64_t i = first; i < first + images; ++i) {
      for (size_t k = 0; k < sources_.size(); ++k) {
        const int s = sources_[k];
        if (s >= 0)
          in_ptrs[k] = reinterpret_cast<const float*>(in(ctx, size_t(s), i));
        else if (s <= -2)
          in_ptrs[k] = constants_[size_t(-s - 2)].data();
        else
          in_ptrs[k] = nullptr;
      }
      fn_(in_ptrs, reinterpret_cast<float*>(out(ctx, i)));
    }
  }

 private:
  std::vector<int> sources_;  // per node input: step input index, −1 omitted, −2 − c constant c
  std::vector<std::vector<float>> constants_;
  ImageFn fn_;
  int64_t out_count_;
  double cost_;
};

bool is_activation(const FloatInput& in) { return in.value >= 0; }

}  // namespace

std::unique_ptr<Step> float_step(const Node& node, const std::vector<FloatInput>& inputs,
                                 const Shape& out_shape) {
  const std::string where = "node '" + node.name + "' (" + op_name(node.op) + ")";
  check(inputs.size() <= kMaxInputs && !inputs.empty(), where + ": unsupported input count");
  std::vector<int> sources;
  std::vector<std::vector<float>> constants;
  std::vector<int> activations;
  for (const FloatInput& in : inputs) {
    if (in.value >= 0) {
      sources.push_back(int(activations.size()));
      activations.push_back(in.value);
    } else if (in.constant) {
      check(in.constant->dtype == DType::kFloat32, where + ": constant input is not float");
      sources.push_back(-2 - int(constants.size()));
      constants.push_back(in.constant->f);
    } else {
      sources.push_back(-1);
    }
  }
  check(is_activation(inputs[0]) || (inputs.size() > 1 && is_activation(inputs[1])),
        where + ": has no activation input");
  auto shape_of = [&](size_t k) -> const Shape& { return inputs[k].shape; };
  auto needs_activation_first = [&]() {
    check(is_activation(inputs[0]), where + ": the first input must be an activation");
    for (size_t k = 1; k < inputs.size(); ++k)
      check(!is_activation(inputs[k]), where + ": input " + std::to_string(k) + " must be a constant");
  };
  const int64_t out_count = num_elements(out_shape);
  const int64_t in_count = num_elements(shape_of(0));
  ImageFn fn;
  double cost = double(out_count);

  switch (node.op) {
    case Op::kConv: {
      needs_activation_first();
      const Attrs r = resolved_pads(node, shape_of(0), shape_of(1));
      const auto p =
          fp32_ref::make_conv2d_params(shape_of(0), shape_of(1), fp32_ref::window2d_from_attrs(r), r.group);
      check(fp32_ref::conv2d_output_shape(p) == out_shape, where + ": output shape mismatch");
      cost = double(out_count) * double(p.in_per_group * p.window.kernel_h * p.window.kernel_w);
      const bool constant_weights = inputs.size() > 1 && inputs[1].constant &&
                                    (inputs.size() < 3 || inputs[2].value < 0);
      if (!constant_weights || p.batch != 1) {
        fn = [p](const float* const* in, float* out) { fp32_ref::conv2d(p, in[0], in[1], in[2], out); };
        break;
      }
      // Constant weights (a layer kept in float): the FP32 engine's packed kernels, one image per call.
      const float* bias = inputs.size() > 2 && inputs[2].constant ? inputs[2].constant->f.data() : nullptr;
      auto plan = std::make_shared<const fp32::ConvPlan>(
          fp32::make_conv_plan(p, inputs[1].constant->f.data(), bias, -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::infinity(), fp32::best_kernels().conv));
      const fp32::ConvRunFn run = plan->implicit ? fp32::best_kernels().conv.run : fp32::conv_run_reference;
      const int64_t items = fp32::conv_items(*plan, 1), scratch_floats = fp32::conv_scratch_floats(*plan);
      fn = [plan, run, items, scratch_floats](const float* const* in, float* out) {
        thread_local std::vector<float> scratch;
        if (int64_t(scratch.size()) < scratch_floats) scratch.resize(size_t(scratch_floats));
        run(*plan, in[0], nullptr, out, 1, 0, items, nullptr, scratch.data());
      };
      break;
    }
    case Op::kBatchNormalization: {
      needs_activation_first();
      const auto p = fp32_ref::make_batchnorm_params(shape_of(0), shape_of(1), shape_of(2), shape_of(3),
                                                     shape_of(4), node.attrs.epsilon);
      fn = [p](const float* const* in, float* out) {
        fp32_ref::batchnorm(p, in[0], in[1], in[2], in[3], in[4], out);
      };
      break;
    }
    case Op::kRelu:
      needs_activation_first();
      fn = [in_count](const float* const* in, float* out) { fp32_ref::relu(in_count, in[0], out); };
      break;
    case Op::kSigmoid:
    case Op::kHardSigmoid:
    case Op::kHardSwish: {
      needs_activation_first();
      const auto p = fp32_ref::activation_params(node, in_count);
      fn = [p](const float* const* in, float* out) { fp32_ref::activation(p, in[0], out); };
      break;
    }
    case Op::kClip: {
      needs_activation_first();
      fp32_ref::ClipParams p{in_count, node.attrs.clip_min, node.attrs.clip_max};
      fn = [p](const float* const* in, float* out) { fp32_ref::clip(p, in[0], out); };
      break;
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul: {
      const auto p = fp32_ref::make_broadcast_params(shape_of(0), shape_of(1));
      check(p.out_shape == out_shape, where + ": output shape mismatch");
      const fp32_ref::BinaryOp op = node.op == Op::kAdd   ? fp32_ref::BinaryOp::kAdd
                                    : node.op == Op::kSub ? fp32_ref::BinaryOp::kSub
                                                          : fp32_ref::BinaryOp::kMul;
      fn = [p, op](const float* const* in, float* out) {
        fp32_ref::elementwise_binary(p, op, in[0], in[1], out);
      };
      break;
    }
    case Op::kAveragePool:
    case Op::kMaxPool: {
      needs_activation_first();
      const Attrs r = resolved_pads(node, shape_of(0));
      const auto p = fp32_ref::make_pool2d_params(shape_of(0), fp32_ref::window2d_from_attrs(r));
      check(fp32_ref::pool2d_output_shape(p) == out_shape, where + ": output shape mismatch");
      if (node.op == Op::kMaxPool) {
        fn = [p](const float* const* in, float* out) { fp32_ref::maxpool(p, in[0], out); };
      } else {
        const bool include_pad = r.count_include_pad;
        fn = [p, include_pad](const float* const* in, float* out) {
          fp32_ref::averagepool(p, include_pad, in[0], out);
        };
      }
      cost = double(out_count) * double(p.window.kernel_h * p.window.kernel_w);
      break;
    }
    case Op::kGlobalAveragePool: {
      needs_activation_first();
      const auto p = fp32_ref::make_global_averagepool_params(shape_of(0));
      fn = [p](const float* const* in, float* out) { fp32_ref::global_averagepool(p, in[0], out); };
      cost = double(in_count);
      break;
    }
    case Op::kFlatten:
    case Op::kReshape:
    case Op::kIdentity:
      check(is_activation(inputs[0]), where + ": the first input must be an activation");
      check(in_count == out_count, where + ": element count changes");
      fn = [out_count](const float* const* in, float* out) {
        std::memcpy(out, in[0], size_t(out_count) * sizeof(float));
      };
      break;
    case Op::kConcat: {  // per image: the batch axis is the one axis it cannot join along
      std::vector<Shape> shapes;
      for (size_t k = 0; k < inputs.size(); ++k) {
        check(is_activation(inputs[k]) || inputs[k].constant, where + ": an input is omitted");
        shapes.push_back(shape_of(k));
      }
      const int64_t rank = int64_t(shapes[0].size());
      const int64_t axis = node.attrs.axis < 0 ? node.attrs.axis + rank : node.attrs.axis;
      check(axis != 0, where + ": Concat along the batch axis is not supported (images run independently)");
      const auto p = fp32_ref::make_concat_params(shapes, node.attrs.axis);
      check(p.out_shape == out_shape, where + ": output shape mismatch");
      fn = [p](const float* const* in, float* out) { fp32_ref::concat(p, in, out); };
      break;
    }
    case Op::kPad: {
      needs_activation_first();
      const auto& amounts = node.attrs.pad_amounts;
      const size_t rank = shape_of(0).size();
      check(amounts.size() == 2 * rank && amounts[0] == 0 && amounts[rank] == 0,
            where + ": padding the batch axis is not supported (images run independently)");
      const auto p = fp32_ref::make_pad_params(shape_of(0), amounts, node.attrs.pad_mode, node.attrs.pad_value);
      check(p.out_shape == out_shape, where + ": output shape mismatch");
      fn = [p](const float* const* in, float* out) { fp32_ref::pad(p, in[0], out); };
      break;
    }
    case Op::kTranspose: {
      needs_activation_first();
      const auto p = fp32_ref::make_transpose_params(shape_of(0), node.attrs.perm);
      check(p.out_shape == out_shape, where + ": output shape mismatch");
      fn = [p](const float* const* in, float* out) { fp32_ref::transpose(p, in[0], out); };
      break;
    }
    case Op::kGemm: {
      needs_activation_first();
      const Attrs& a = node.attrs;
      const Shape* c = inputs.size() > 2 && inputs[2].constant ? &inputs[2].shape : nullptr;
      const auto p =
          fp32_ref::make_gemm_params(shape_of(0), shape_of(1), c, a.trans_a, a.trans_b, a.alpha, a.beta);
      check((Shape{p.m, p.n}) == out_shape, where + ": output shape mismatch");
      fn = [p](const float* const* in, float* out) { fp32_ref::gemm(p, in[0], in[1], in[2], out); };
      cost = double(p.m * p.n * p.k);
      break;
    }
    case Op::kMatMul: {
      needs_activation_first();
      const auto p = fp32_ref::make_matmul_params(shape_of(0), shape_of(1));
      check(p.out_shape == out_shape, where + ": output shape mismatch");
      fn = [p](const float* const* in, float* out) { fp32_ref::matmul(p, in[0], in[1], out); };
      cost = double(p.batch * p.m * p.n * p.k);
      break;
    }
    case Op::kSoftmax: {
      needs_activation_first();
      const int64_t rank = int64_t(shape_of(0).size());
      const int64_t axis = node.attrs.axis < 0 ? node.attrs.axis + rank : node.attrs.axis;
      check(axis != 0, where + ": Softmax over the batch axis is not supported (images run independently)");
      const auto p = fp32_ref::make_softmax_params(shape_of(0), node.attrs.axis);
      fn = [p](const float* const* in, float* out) { fp32_ref::softmax(p, in[0], out); };
      cost = 20.0 * double(out_count);
      break;
    }
    default: throw Error(where + ": not supported by the integer engine's float path");
  }
  auto step =
      std::make_unique<FloatStep>(std::move(sources), std::move(constants), std::move(fn), out_count, cost);
  step->kernel = std::string("fp32_ref::") + op_name(node.op);
  step->inputs = activations;
  return step;
}

}  // namespace tinyptq::qdq
