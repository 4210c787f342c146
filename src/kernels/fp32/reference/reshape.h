// Reference Reshape and Flatten: output shapes only (the data is copied unchanged, row-major order).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tinyptq::fp32_ref {

// ONNX Reshape (allowzero = 0): spec[d] = 0 copies x[d], one spec[d] = −1 is inferred so that the element
// counts match. Throws Error on a second −1, a value < −1, a 0 past the input rank, or a count mismatch.
Shape reshape_output_shape(const Shape& x, const std::vector<int64_t>& spec);

// ONNX Flatten: [Π x[0..axis), Π x[axis..r)], axis in [−r, r] (negative counts from the end).
Shape flatten_output_shape(const Shape& x, int64_t axis);

}  // namespace tinyptq::fp32_ref
