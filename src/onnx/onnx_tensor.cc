#include "onnx/onnx_tensor.h"

#include <cstring>
#include <limits>

#include "core/error.h"

namespace tinyptq {

namespace {

int elem_bytes(DType t) {
  switch (t) {
    case DType::kUint8:
    case DType::kInt8: return 1;
    case DType::kFloat32:
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
  }
  return 4;
}

// Inclusive value range of an integer dtype.
std::pair<int64_t, int64_t> int_range(DType t) {
  switch (t) {
    case DType::kInt8: return {-128, 127};
    case DType::kUint8: return {0, 255};
    case DType::kInt32: return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default: return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  }
}

uint64_t load_le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int b = n - 1; b >= 0; --b) v = (v << 8) | p[b];
  return v;
}

void store_le(uint64_t v, int n, std::string& out) {
  for (int b = 0; b < n; ++b) out.push_back(char((v >> (8 * b)) & 0xff));
}

// Sign-extends the low n bytes of v.
int64_t as_signed(uint64_t v, int n) {
  if (n == 8) return int64_t(v);
  const uint64_t sign = uint64_t(1) << (8 * n - 1);
  return int64_t((v ^ sign) - sign);
}

}  // namespace

int onnx_elem_type(DType t) {
  switch (t) {
    case DType::kFloat32: return onnx::TensorProto::FLOAT;
    case DType::kUint8: return onnx::TensorProto::UINT8;
    case DType::kInt8: return onnx::TensorProto::INT8;
    case DType::kInt32: return onnx::TensorProto::INT32;
    case DType::kInt64: return onnx::TensorProto::INT64;
  }
  return onnx::TensorProto::UNDEFINED;
}

std::optional<DType> dtype_from_onnx(int elem_type) {
  switch (elem_type) {
    case onnx::TensorProto::FLOAT: return DType::kFloat32;
    case onnx::TensorProto::UINT8: return DType::kUint8;
    case onnx::TensorProto::INT8: return DType::kInt8;
    case onnx::TensorProto::INT32: return DType::kInt32;
    case onnx::TensorProto::INT64: return DType::kInt64;
    default: return std::nullopt;
  }
}

std::string onnx_elem_type_name(int elem_type) {
  if (onnx::TensorProto::DataType_IsValid(elem_type))
    return onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(elem_type));
  return "type " + std::to_string(elem_type);
}

Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& what) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL || proto.external_data_size() > 0)
    throw Error(what + " uses external data, which is not supported (embed the weights in the model)");
  check(!proto.has_segment(), what + " is segmented, which is not supported");
  auto dtype = dtype_from_onnx(proto.data_type());
  if (!dtype)
    throw Error(what + " has unsupported element type " + onnx_elem_type_name(proto.data_type()) +
                " (supported: FLOAT, INT8, UINT8, INT32, INT64)");
  Shape shape(proto.dims().begin(), proto.dims().end());
  int64_t count = 0;
  try {
    count = num_elements(shape);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  const int esize = elem_bytes(*dtype);

  // Number of elements actually stored, from whichever field holds them.
  int64_t stored = 0;
  const bool raw = proto.has_raw_data();
  if (raw) {
    const int64_t bytes = int64_t(proto.raw_data().size());
    check(bytes % esize == 0, what + ": raw_data holds " + std::to_string(bytes) +
                                  " bytes, not a multiple of the element size " + std::to_string(esize));
    stored = bytes / esize;
  } else if (*dtype == DType::kFloat32) {
    stored = proto.float_data_size();
  } else if (*dtype == DType::kInt64) {
    stored = proto.int64_data_size();
  } else {
    stored = proto.int32_data_size();
  }
  if (stored != count)
    throw Error(what + " declares shape " + shape_str(shape) + " (" + std::to_string(count) +
                " elements) but holds " + std::to_string(stored) + " elements");

  Tensor t;
  t.dtype = *dtype;
  t.shape = std::move(shape);
  const auto [lo, hi] = int_range(*dtype);
  if (*dtype == DType::kFloat32) {
    t.f.resize(size_t(count));
    if (raw) {
      const auto* p = reinterpret_cast<const unsigned char*>(proto.raw_data().data());
      for (int64_t k = 0; k < count; ++k) {
        const uint32_t bits = uint32_t(load_le(p + 4 * k, 4));
        std::memcpy(&t.f[size_t(k)], &bits, 4);
      }
    } else {
      for (int64_t k = 0; k < count; ++k) t.f[size_t(k)] = proto.float_data(int(k));
    }
    return t;
  }
  t.i.resize(size_t(count));
  if (raw) {
    const auto* p = reinterpret_cast<const unsigned char*>(proto.raw_data().data());
    const bool is_unsigned = *dtype == DType::kUint8;
    for (int64_t k = 0; k < count; ++k) {
      const uint64_t v = load_le(p + esize * k, esize);
      t.i[size_t(k)] = is_unsigned ? int64_t(v) : as_signed(v, esize);
    }
    return t;
  }
  for (int64_t k = 0; k < count; ++k) {
    const int64_t v = *dtype == DType::kInt64 ? proto.int64_data(int(k)) : proto.int32_data(int(k));
    if (v < lo || v > hi)
      throw Error(what + ": value " + std::to_string(v) + " at index " + std::to_string(k) +
                  " is out of range for " + dtype_name(*dtype));
    t.i[size_t(k)] = v;
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* proto) {
  const int64_t count = num_elements(t.shape);
  check(t.stored() == count, "tensor '" + name + "' has " + std::to_string(t.stored()) +
                                 " elements but shape " + shape_str(t.shape));
  proto->Clear();
  proto->set_name(name);
  proto->set_data_type(onnx_elem_type(t.dtype));
  for (int64_t d : t.shape) proto->add_dims(d);
  const int esize = elem_bytes(t.dtype);
  std::string raw;
  raw.reserve(size_t(count * esize));
  if (t.dtype == DType::kFloat32) {
    for (float v : t.f) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      store_le(bits, 4, raw);
    }
  } else {
    const auto [lo, hi] = int_range(t.dtype);
    for (int64_t v : t.i) {
      if (v < lo || v > hi)
        throw Error("tensor '" + name + "': value " + std::to_string(v) + " is out of range for " +
                    dtype_name(t.dtype));
      store_le(uint64_t(v), esize, raw);
    }
  }
  proto->set_raw_data(std::move(raw));
}

}  // namespace tinyptq
