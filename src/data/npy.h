// NumPy arrays: .npy (one array) and .npz (a zip of named .npy members, stored
// or deflated; read with libarchive). Accepted: format versions 1.0/2.0/3.0,
// little-endian float32 ('<f4'), uint8 ('|u1'), int64
// ('<i8'), C order. Rejected with an Error naming the file: bad magic or
// header, Fortran order, object or any other dtype, big-endian data, negative
// or absurd shapes, and a payload shorter or longer than the shape.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tinyptq {

// One .npy file's bytes -> a Tensor (float32 in f, uint8/int64 widened in i).
// `label` names the source.
Tensor parse_npy(std::string_view bytes, const std::string& label);
Tensor load_npy(const std::string& path);

// Members of a .npz in archive order, each name without its ".npy" suffix.
// Error if a member is not a .npy, a name repeats, the archive is empty or not
// a zip.
using NamedArrays = std::vector<std::pair<std::string, Tensor>>;
NamedArrays parse_npz(std::string_view bytes, const std::string& label);
NamedArrays load_npz(const std::string& path);

// The .npy (version 1.0) bytes of t: float32 -> '<f4', uint8 -> '|u1', every
// other integer dtype -> '<i8'.
std::string npy_bytes(const Tensor& t);

}  // namespace tinyptq
