#include "core/tensor.h"

#include <bit>

#include <cmath>

#include "core/error.h"

namespace tinyptq {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kUint8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
  }
  return "?";
}

bool is_integer(DType t) { return t != DType::kFloat32; }

int64_t num_elements(const Shape& shape) {
  constexpr int64_t kLimit = int64_t(1) << 40;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension in shape " + shape_str(shape));  // message only on failure: hot path
    if (d != 0 && n > kLimit / d) throw Error("shape " + shape_str(shape) + " is too large");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) s += (k ? "," : "") + std::to_string(shape[k]);
  return s + "]";
}

Tensor Tensor::zeros(const Shape& shape) {
  Tensor t;
  t.shape = shape;
  t.f.assign(num_elements(shape), 0.0f);
  return t;
}

Tensor Tensor::from_floats(const Shape& shape, std::vector<float> data) {
  check((int64_t)data.size() == num_elements(shape), "tensor data does not match shape " + shape_str(shape));
  Tensor t;
  t.shape = shape;
  t.f = std::move(data);
  return t;
}

Tensor Tensor::from_ints(DType dtype, const Shape& shape, std::vector<int64_t> data) {
  check((int64_t)data.size() == num_elements(shape), "tensor data does not match shape " + shape_str(shape));
  Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  t.i = std::move(data);
  return t;
}

int64_t Tensor::byte_size() const {
  int64_t elem = 4;
  if (dtype == DType::kUint8 || dtype == DType::kInt8) elem = 1;
  if (dtype == DType::kInt64) elem = 8;
  return elem * stored();
}

bool all_finite(std::span<const float> values) {
  // A float is NaN or ±Inf exactly when its exponent bits are all ones; the integer test vectorizes.
  uint32_t bad = 0;
  for (const float v : values) {
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    bad |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

}  // namespace tinyptq
