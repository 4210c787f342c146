#include "quant/formats.h"

#include <array>

#include "core/error.h"

namespace tinyptq {
namespace {

constexpr int kMinBits = 2;  // fewer bits leave a narrow range with a single code

constexpr std::array<FormatTraits, 4> kFormatTable = {{
    {"int8", Container::kInt8, true, 8, kMinBits, 8},
    {"uint8", Container::kUint8, false, 8, kMinBits, 8},
    {"int4", Container::kInt8, true, 8, 4, 4},
    {"uint4", Container::kUint8, false, 8, 4, 4},
}};

}  // namespace

std::span<const FormatTraits> format_table() { return kFormatTable; }

const FormatTraits& container_traits(Container c) {
  switch (c) {
    case Container::kInt8:
      return kFormatTable[0];
    case Container::kUint8:
      return kFormatTable[1];
  }
  throw Error("quant format: unknown container value " + std::to_string(static_cast<int>(c)));
}

const char* container_name(Container c) { return container_traits(c).name; }

const FormatTraits* find_format(const std::string& name) {
  for (const FormatTraits& row : kFormatTable) {
    if (name == row.name) return &row;
  }
  return nullptr;
}

QuantFormat make_format(const FormatTraits& row, bool symmetric, bool narrow) {
  QuantFormat f{row.container, row.max_bits, symmetric, narrow};
  check_format(f);
  return f;
}

void check_format(const QuantFormat& f) {
  const FormatTraits& t = container_traits(f.container);
  if (!(f.bits >= t.min_bits && f.bits <= t.max_bits)) {
    throw Error(std::string("quant format: ") + t.name + " container holds " + std::to_string(t.min_bits) +
                ".." + std::to_string(t.max_bits) + " value bits, got " + std::to_string(f.bits));
  }
}

std::string format_name(const QuantFormat& f) {
  const FormatTraits& full = container_traits(f.container);
  std::string name;
  for (const FormatTraits& row : kFormatTable) {
    if (row.container == f.container && row.min_bits == f.bits && row.max_bits == f.bits) name = row.name;
  }
  if (name.empty() && f.bits == full.max_bits) name = full.name;
  if (name.empty()) {
    name = std::string(full.is_signed ? "int" : "uint") + std::to_string(f.bits) + "(" + full.name + ")";
  }
  if (f.symmetric) name += " symmetric";
  if (f.narrow) name += " narrow";
  return name;
}

int32_t qmin(const QuantFormat& f) {
  check_format(f);
  if (!container_traits(f.container).is_signed) return 0;
  const int32_t half = int32_t{1} << (f.bits - 1);
  return f.narrow ? -(half - 1) : -half;
}

int32_t qmax(const QuantFormat& f) {
  check_format(f);
  if (!container_traits(f.container).is_signed) return (int32_t{1} << f.bits) - (f.narrow ? 2 : 1);
  return (int32_t{1} << (f.bits - 1)) - 1;
}

QuantFormat reduce_range(const QuantFormat& f) {
  check_format(f);
  QuantFormat r = f;
  r.bits = f.bits - 1;
  if (r.bits < container_traits(f.container).min_bits) {
    throw Error("quant format: reduce_range of " + format_name(f) + " leaves fewer than " +
                std::to_string(container_traits(f.container).min_bits) + " bits");
  }
  return r;
}

}  // namespace tinyptq
