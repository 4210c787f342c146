// Dense row-major tensors. Float data lives in `f`; every integer dtype (int8, uint8, int32, int64) is
// stored widened in `i`, so integer initializers are read the same way whatever their ONNX type.
#pragma once
#include <span>
#include <cstdint>
#include <string>
#include <vector>

namespace tinyptq {

using Shape = std::vector<int64_t>;

enum class DType { kFloat32, kUint8, kInt8, kInt32, kInt64 };

const char* dtype_name(DType t);
bool is_integer(DType t);

// Product of dims; throws Error on negative dims or overflow past 2^40 elements (hostile shapes).
int64_t num_elements(const Shape& shape);
std::string shape_str(const Shape& shape);
// True when no element is NaN or ±Inf.
bool all_finite(std::span<const float> values);

struct Tensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<float> f;    // dtype == kFloat32
  std::vector<int64_t> i;  // integer dtypes, widened

  Tensor() = default;
  static Tensor zeros(const Shape& shape);                  // float
  static Tensor from_floats(const Shape& shape, std::vector<float> data);
  static Tensor from_ints(DType dtype, const Shape& shape, std::vector<int64_t> data);
  int64_t size() const { return num_elements(shape); }
  // Number of stored elements in the active buffer.
  int64_t stored() const { return dtype == DType::kFloat32 ? (int64_t)f.size() : (int64_t)i.size(); }
  // Bytes this tensor takes in a serialized model (element size × count).
  int64_t byte_size() const;
};

}  // namespace tinyptq
