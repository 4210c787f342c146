// Integer number formats for quantized tensors. A format is a storage container (ONNX INT8 / UINT8) plus
// how many of its bits carry values; the rows of format_table() name the supported families, and every
// test that is about "all formats" loops over that table.
//
// Code ranges (b = bits, s = 2^(b-1)):
//   signed    full [-s, s-1]      narrow [-(s-1), s-1]     e.g. int8 [-128,127] / [-127,127], 4 bits [-8,7] /
//   [-7,7] unsigned  full [0, 2^b-1]     narrow [0, 2^b-2]        e.g. uint8 [0,255] / [0,254], 4 bits [0,15]
//   / [0,14]
// Narrow drops one end code so the range has an odd number of codes and an exact integer midpoint: the
// signed narrow range is symmetric around 0 (ORT's symmetric int8 weights); the unsigned narrow range is
// ORT's symmetric uint8 range [0,254] with midpoint 127.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace tinyptq {

enum class Container { kInt8, kUint8 };  // storage type (ONNX INT8 / UINT8)

// How values are coded. bits: value bits inside the container, 2..8 (4 = int4/uint4 held in an 8-bit
// container). symmetric: the real range is [-a, a] and the zero point is the midpoint of [qmin, qmax]
// (see qparams.h). narrow: see the table above.
struct QuantFormat {
  Container container = Container::kInt8;
  int bits = 8;
  bool symmetric = false;
  bool narrow = false;
};

// One row of the traits table. A QuantFormat belongs to the row with its container whose
// [min_bits, max_bits] holds its bits; the full-width rows ("int8", "uint8") accept 2..8 bits, the
// narrower named rows ("int4", "uint4") are presets for one bit width in the same container.
struct FormatTraits {
  const char* name;
  Container container;
  bool is_signed;
  int storage_bits;  // bits of one stored element (the container)
  int min_bits;      // allowed QuantFormat::bits
  int max_bits;
};

// All rows: int8, uint8, int4 (in int8), uint4 (in uint8).
std::span<const FormatTraits> format_table();
// The full-width row of a container ("int8" / "uint8"). Throws Error for an out-of-range enum value.
const FormatTraits& container_traits(Container c);
// The row with this name, or nullptr.
const FormatTraits* find_format(const std::string& name);
// A format from a row at the row's widest bit width.
QuantFormat make_format(const FormatTraits& row, bool symmetric, bool narrow);

// Throws Error naming the problem if bits is outside the container's [min_bits, max_bits].
void check_format(const QuantFormat& f);
// E.g. "int8", "uint8", "int4", "int6(int8)", "uint8 symmetric narrow".
std::string format_name(const QuantFormat& f);
const char* container_name(Container c);

// Smallest and largest code of the format (see the table at the top). Throw Error on an invalid format.
int32_t qmin(const QuantFormat& f);
int32_t qmax(const QuantFormat& f);

// One fewer value bit, as PyTorch/ORT's reduce_range does for activations on x86 without VNNI (so that
// u8·s8 pairs summed in int16 by vpmaddubsw cannot saturate): uint8 → [0,127], int8 → [-64,63]
// (PyTorch; ORT's own reduced int8 table says [-64,64]). Throws Error if bits would drop below min_bits.
QuantFormat reduce_range(const QuantFormat& f);

}  // namespace tinyptq
