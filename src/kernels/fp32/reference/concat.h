// Reference Concat along one axis: inputs agree on every other dimension.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

struct ConcatParams {
  Shape out_shape;
  int64_t outer = 1;            // product of the dimensions before the axis
  std::vector<int64_t> chunks;  // per input: dims[axis] · product of the dimensions after it
};

// axis in [−rank, rank); every input has the same rank and the same dimensions off the axis. Throws Error
// naming the first input that disagrees.
ConcatParams make_concat_params(const std::vector<Shape>& inputs, int64_t axis);

// For each outer index o: y = [x_0[o, :chunk_0], x_1[o, :chunk_1], ...].
void concat(const ConcatParams& p, const float* const* x, float* y);

}  // namespace tinyptq::fp32_ref
