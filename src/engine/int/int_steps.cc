#include "engine/int/int_steps.h"

#include <type_traits>

namespace tinyptq::qdq {

namespace {

using int8::RowRange;

class ConvStep : public Step {
 public:
  ConvStep(const int8::ConvKernel& kernel, const int8::ConvParams& p, const int8::QuantizedWeights& w)
      : kernel_(kernel), params_(p) {
    kind = StepKind::kInteger;
    this->kernel = kernel.name;
    kernel.pack(params_, w, &packed_);
    params_.weights = &packed_;
  }
  int64_t rows() const override { return params_.shape.out_h; }
  size_t scratch_bytes() const override { return kernel_.scratch_bytes(params_); }
  double cost() const override {
    const auto& s = params_.shape;
    return double(s.out_h) * double(s.out_w) * double(s.out_c) * double(s.taps());
  }
  StepOp op() const override { return &params_; }
  void run(const RunContext& ctx, int64_t first, int64_t images, RowRange rows) const override {
    kernel_.run(params_, in(ctx, 0, first), out(ctx, first), images, rows, ctx.scratch);
  }

 private:
  int8::ConvKernel kernel_;
  int8::ConvParams params_;
  int8::PackedWeights packed_;
};

class GemmStep : public Step {
 public:
  GemmStep(const int8::GemmKernel& kernel, const int8::GemmParams& p, const int8::QuantizedWeights& w,
           int64_t rows_per_image)
      : kernel_(kernel), params_(p), rows_(rows_per_image) {
    kind = StepKind::kInteger;
    this->kernel = kernel.name;
    kernel.pack(params_, w, &packed_);
    params_.weights = &packed_;
  }
  int64_t rows() const override { return rows_; }
  size_t scratch_bytes() const override { return kernel_.scratch_bytes(params_); }
  double cost() const override { return double(rows_) * double(params_.k) * double(params_.n); }
  StepOp op() const override { return &params_; }
  void run(const RunContext& ctx, int64_t first, int64_t images, RowRange rows) const override {
    const int64_t k = params_.k, n = params_.n;
    if (rows.begin == 0 && rows.end == rows_) {
      kernel_.run(params_, in(ctx, 0, first), out(ctx, first), images * rows_, ctx.scratch);
      return;
    }
    for (int64_t i = first; i < first + images; ++i)
      kernel_.run(params_, in(ctx, 0, i) + rows.begin * k, out(ctx, i) + rows.begin * n,
                  rows.end - rows.begin, ctx.scratch);
  }

 private:
  int8::GemmKernel kernel_;
  int8::GemmParams params_;
  int8::PackedWeights packed_;
  int64_t rows_;
};

// Elementwise steps: the per-image element range is the row range.
template <typename Params, typename Fn, typename In, typename Out>
class ElementwiseStep : public Step {
 public:
  ElementwiseStep(const char* name, Fn fn, const Params& p, int64_t count)
      : fn_(fn), params_(p), count_(count) {
    kind = StepKind::kInteger;
    kernel = name;
  }
  int64_t rows() const override { return count_; }
  double cost() const override { return double(count_); }
  StepOp op() const override { return &params_; }
  void run(const RunContext& ctx, int64_t first, int64_t images, RowRange rows) const override {
    if (rows.begin == 0 && rows.end == count_) {
      call(ctx, first, 0, images * count_);
      return;
    }
    for (int64_t i = first; i < first + images; ++i) call(ctx, i, rows.begin, rows.end - rows.begin);
  }

 private:
  void call(const RunContext& ctx, int64_t image, int64_t offset, int64_t count) const {
    const In* x = reinterpret_cast<const In*>(in(ctx, 0, image)) + offset;
    Out* y = reinterpret_cast<Out*>(out(ctx, image)) + offset;
    if constexpr (std::is_same_v<Fn, int8::AddRunFn>) {
      fn_(params_, x, in(ctx, 1, image) + offset, y, count);
    } else {
      fn_(params_, x, y, count);
    }
  }
  Fn fn_;
  Params params_;
  int64_t count_;
};

// 2-D pools: split along output rows.
template <typename Params, typename Fn>
class PoolStep : public Step {
 public:
  PoolStep(const char* name, Fn fn, const Params& p) : fn_(fn), params_(p) {
    kind = StepKind::kInteger;
    kernel = name;
  }
  int64_t rows() const override { return params_.shape.out_h; }
  double cost() const override {
    const auto& s = params_.shape;
    return double(s.out_h * s.out_w * s.channels) * double(s.window.kernel_h * s.window.kernel_w);
  }
  StepOp op() const override { return &params_; }
  void run(const RunContext& ctx, int64_t first, int64_t images, RowRange rows) const override {
    fn_(params_, in(ctx, 0, first), out(ctx, first), images, rows);
  }

 private:
  Fn fn_;
  Params params_;
};

class GlobalAvgPoolStep : public Step {
 public:
  GlobalAvgPoolStep(const int8::Kernel<int8::GlobalAvgPoolRunFn>& kernel, const int8::GlobalAvgPoolParams& p)
      : fn_(kernel.run), params_(p) {
    kind = StepKind::kInteger;
    this->kernel = kernel.name;
  }
  double cost() const override { return double(params_.image_size * params_.channels); }
  StepOp op() const override { return &params_; }
  void run(const RunContext& ctx, int64_t first, int64_t images, RowRange) const override {
    fn_(params_, in(ctx, 0, first), out(ctx, first), images);
  }

 private:
  int8::GlobalAvgPoolRunFn fn_;
  int8::GlobalAvgPoolParams params_;
};

}  // namespace

std::unique_ptr<Step> conv_step(const int8::ConvKernel& kernel, const int8::ConvParams& p,
                                const int8::QuantizedWeights& w) {
  return std::make_unique<ConvStep>(kernel, p, w);
}

std::unique_ptr<Step> gemm_step(const int8::GemmKernel& kernel, const int8::GemmParams& p,
                                const int8::QuantizedWeights& w, int64_t rows_per_image) {
  return std::make_unique<GemmStep>(kernel, p, w, rows_per_image);
}

std::unique_ptr<Step> add_step(const int8::Kernel<int8::AddRunFn>& kernel, const int8::AddParams& p,
                               int64_t count_per_image) {
  return std::make_unique<ElementwiseStep<int8::AddParams, int8::AddRunFn, uint8_t, uint8_t>>(
      kernel.name, kernel.run, p, count_per_image);
}

std::unique_ptr<Step> avgpool_step(const int8::Kernel<int8::AvgPoolRunFn>& kernel,
                                   const int8::AvgPoolParams& p) {
  return std::make_unique<PoolStep<int8::AvgPoolParams, int8::AvgPoolRunFn>>(kernel.name, kernel.run, p);
}

std::unique_ptr<Step> global_avgpool_step(const int8::Kernel<int8::GlobalAvgPoolRunFn>& kernel,
                                          const int8::GlobalAvgPoolParams& p) {
  return std::make_unique<GlobalAvgPoolStep>(kernel, p);
}

std::unique_ptr<Step> maxpool_step(const int8::Kernel<int8::MaxPoolRunFn>& kernel,
                                   const int8::MaxPoolParams& p) {
  return std::make_unique<PoolStep<int8::MaxPoolParams, int8::MaxPoolRunFn>>(kernel.name, kernel.run, p);
}

std::unique_ptr<Step> quantize_step(const int8::Kernel<int8::QuantizeRunFn>& kernel,
                                    const int8::QuantizeParams& p, int64_t count_per_image) {
  return std::make_unique<ElementwiseStep<int8::QuantizeParams, int8::QuantizeRunFn, float, uint8_t>>(
      kernel.name, kernel.run, p, count_per_image);
}

std::unique_ptr<Step> dequantize_step(const int8::Kernel<int8::DequantizeRunFn>& kernel,
                                      const int8::DequantizeParams& p, int64_t count_per_image) {
  return std::make_unique<ElementwiseStep<int8::DequantizeParams, int8::DequantizeRunFn, uint8_t, float>>(
      kernel.name, kernel.run, p, count_per_image);
}

std::unique_ptr<Step> requantize_step(const int8::Kernel<int8::RequantizeRunFn>& kernel,
                                      const int8::RequantizeParams& p, int64_t count_per_image) {
  return std::make_unique<ElementwiseStep<int8::RequantizeParams, int8::RequantizeRunFn, uint8_t, uint8_t>>(
      kernel.name, kernel.run, p, count_per_image);
}

}  // namespace tinyptq::qdq
