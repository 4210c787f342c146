// Data movement between storage layouts. A value's storage order lists its logical axes (without the batch
// axis 0) from outermost to innermost: row-major 1, 2, ..., r−1; NHWC (rank 4) 2, 3, 1.
#pragma once
#include <memory>
#include <vector>

#include "engine/int/plan.h"

namespace tinyptq::qdq {

std::vector<int64_t> storage_order(const Value& v);
// Per-image storage dims, outermost first.
Shape storage_dims(const Value& v);

// For an output whose logical axis d is the input's logical axis perm[d] (perm[0] = 0; identity for a pure
// layout change), the permutation p of input storage axes that gives the output storage: output storage
// axis j reads input storage axis p[j].
std::vector<int64_t> storage_permutation(const Value& in, const Value& out, const std::vector<int64_t>& perm);

// True when moving data with permutation p over dims is a plain copy (only axes of size 1 move).
bool is_trivial_permutation(const Shape& dims, const std::vector<int64_t>& p);

// Copies each image, permuting its storage axes: y storage axis j = x storage axis p[j] (x dims `dims`).
std::unique_ptr<Step> permute_step(int64_t element_size, const Shape& dims, const std::vector<int64_t>& p);

}  // namespace tinyptq::qdq
