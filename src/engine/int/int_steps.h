// Plan steps that run int8 kernels (kernels/int8/kernel_table.h). Each factory takes the kernel chosen from
// the table and the op's params, packs weights where the op has any, and returns a Step whose inputs,
// output, nodes and detail the caller fills in.
#pragma once
#include <memory>

#include "engine/int/plan.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq::qdq {

// p.weights is set to the step's own packed copy of w.
std::unique_ptr<Step> conv_step(const int8::ConvKernel& kernel, const int8::ConvParams& p,
                                const int8::QuantizedWeights& w);
// rows_per_image: rows of A that one image holds (the A value's elements / k).
std::unique_ptr<Step> gemm_step(const int8::GemmKernel& kernel, const int8::GemmParams& p,
                                const int8::QuantizedWeights& w, int64_t rows_per_image);
std::unique_ptr<Step> add_step(const int8::Kernel<int8::AddRunFn>& kernel, const int8::AddParams& p,
                               int64_t count_per_image);
std::unique_ptr<Step> avgpool_step(const int8::Kernel<int8::AvgPoolRunFn>& kernel,
                                   const int8::AvgPoolParams& p);
std::unique_ptr<Step> global_avgpool_step(const int8::Kernel<int8::GlobalAvgPoolRunFn>& kernel,
                                          const int8::GlobalAvgPoolParams& p);
std::unique_ptr<Step> maxpool_step(const int8::Kernel<int8::MaxPoolRunFn>& kernel,
                                   const int8::MaxPoolParams& p);
std::unique_ptr<Step> quantize_step(const int8::Kernel<int8::QuantizeRunFn>& kernel,
                                    const int8::QuantizeParams& p, int64_t count_per_image);
std::unique_ptr<Step> dequantize_step(const int8::Kernel<int8::DequantizeRunFn>& kernel,
                                      const int8::DequantizeParams& p, int64_t count_per_image);
std::unique_ptr<Step> requantize_step(const int8::Kernel<int8::RequantizeRunFn>& kernel,
                                      const int8::RequantizeParams& p, int64_t count_per_image);

}  // namespace tinyptq::qdq
