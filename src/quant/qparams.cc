#include "quant/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace tinyptq {
namespace {

double round_half_even_d(double v) {
  double r = std::round(v);                                    // ties away from zero
  if (std::fabs(r - v) == 0.5) r = 2.0 * std::round(0.5 * v);  // tie: the even neighbour
  return r;
}

std::string range_str(float min, float max) {
  std::string s = "[";  // (appending avoids GCC 12's false -Wrestrict on "literal" + std::string&&)
  s += std::to_string(min);
  s += ", ";
  s += std::to_string(max);
  s += "]";
  return s;
}

}  // namespace

float round_half_even(float v) {
  float r = std::round(v);
  if (std::fabs(r - v) == 0.5f) r = 2.0f * std::round(0.5f * v);
  return r;
}

QParams qparams_from_range(float min, float max, const QuantFormat& f) {
  const int32_t lo = qmin(f), hi = qmax(f);  // validates f
  if (!(std::isfinite(min) && std::isfinite(max))) {
    throw Error("quant params: range " + range_str(min, max) + " is not finite");
  }
  if (!(min <= max)) throw Error("quant params: range " + range_str(min, max) + " has min > max");

  // Widen to include 0; clip to ±FLT_MAX/2 so every code, up to (qmin − zp)·scale ≈ −(4/3)·rmin at 2 bits,
  // dequantizes to a finite float.
  const double limit = std::numeric_limits<float>::max() / 2.0;
  double rmin = std::clamp<double>(min, -limit, 0.0), rmax = std::clamp<double>(max, 0.0, limit);
  if (f.symmetric) {
    const double a = std::max(-rmin, rmax);
    rmin = -a;
    rmax = a;
  }
  const int32_t midpoint = static_cast<int32_t>(round_half_even_d((double(lo) + double(hi)) / 2.0));
  double scale = (rmax - rmin) / double(hi - lo);
  int32_t zp;
  if (scale == 0.0) {  // rmin == rmax == 0: every value is 0; any scale represents it
    scale = 1.0;
    zp = f.symmetric ? midpoint : std::clamp<int32_t>(0, lo, hi);
  } else {
    scale = std::max<double>(scale, kMinScale);
    zp = f.symmetric
             ? midpoint
             : static_cast<int32_t>(std::clamp(round_half_even_d(lo - rmin / scale), double(lo), double(hi)));
  }
  QParams q;
  q.scale = {static_cast<float>(scale)};
  q.zero_point = {zp};
  q.format = f;
  return q;
}

QParams qparams_per_channel(const std::vector<float>& mins, const std::vector<float>& maxs,
                            const QuantFormat& f, int axis) {
  if (mins.empty()) throw Error("quant params: per-channel ranges are empty");
  if (mins.size() != maxs.size()) {
    throw Error("quant params: " + std::to_string(mins.size()) + " channel minima but " +
                std::to_string(maxs.size()) + " maxima");
  }
  if (axis < 0) throw Error("quant params: per-channel axis must be >= 0, got " + std::to_string(axis));
  QParams q;
  q.axis = axis;
  q.format = f;
  q.scale.reserve(mins.size());
  q.zero_point.reserve(mins.size());
  for (size_t c = 0; c < mins.size(); ++c) {
    QParams one;
    try {
      one = qparams_from_range(mins[c], maxs[c], f);
    } catch (const Error& e) {
      throw Error("channel " + std::to_string(c) + ": " + e.what());
    }
    q.scale.push_back(one.scale[0]);
    q.zero_point.push_back(one.zero_point[0]);
  }
  return q;
}

void check_qparams(const QParams& q) {
  const int32_t lo = qmin(q.format), hi = qmax(q.format);
  if (q.scale.empty()) throw Error("quant params: no scale");
  if (!(q.scale.size() == q.zero_point.size())) {
    throw Error("quant params: " + std::to_string(q.scale.size()) + " scales but " +
                std::to_string(q.zero_point.size()) + " zero points");
  }
  if (q.axis < -1) throw Error("quant params: axis " + std::to_string(q.axis) + " is invalid");
  if (!(q.axis >= 0 || q.scale.size() == 1)) {
    throw Error("quant params: per-tensor parameters hold " + std::to_string(q.scale.size()) + " scales");
  }
  for (size_t c = 0; c < q.scale.size(); ++c) {
    if (!(std::isfinite(q.scale[c]) && q.scale[c] > 0.0f)) {
      throw Error("quant params: scale[" + std::to_string(c) + "] = " + std::to_string(q.scale[c]) +
                  " is not finite and positive");
    }
    if (!(q.zero_point[c] >= lo && q.zero_point[c] <= hi)) {
      throw Error("quant params: zero_point[" + std::to_string(c) + "] = " + std::to_string(q.zero_point[c]) +
                  " outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }
}

int32_t quantize_value(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = x / scale;
  if (std::isnan(v)) return std::clamp(zp, qmin, qmax);
  // Clamping one code beyond the range before rounding leaves saturate(round(v) + zp) unchanged and keeps
  // the float → int conversion in range.
  const float lo = static_cast<float>(int64_t{qmin} - zp - 1),
              hi = static_cast<float>(int64_t{qmax} - zp + 1);
  v = std::clamp(v, lo, hi);
  const int64_t q = static_cast<int64_t>(round_half_even(v)) + zp;
  return static_cast<int32_t>(std::clamp<int64_t>(q, qmin, qmax));
}

float dequantize_value(int32_t q, float scale, int32_t zp) {
  return static_cast<float>(int64_t{q} - zp) * scale;
}

void fake_quantize(std::span<float> x, const QParams& q, int64_t channels, int64_t inner) {
  check_qparams(q);
  const int32_t lo = qmin(q.format), hi = qmax(q.format);
  if (q.axis < 0) {
    const float s = q.scale[0];
    const int32_t zp = q.zero_point[0];
    for (float& v : x) v = dequantize_value(quantize_value(v, s, zp, lo, hi), s, zp);
    return;
  }
  if (channels < 1 || inner < 1) {
    throw Error("fake_quantize: channels and inner must be >= 1, got " + std::to_string(channels) + " and " +
                std::to_string(inner));
  }
  if (static_cast<int64_t>(q.scale.size()) != channels) {
    throw Error("fake_quantize: " + std::to_string(q.scale.size()) + " channel scales for " +
                std::to_string(channels) + " channels");
  }
  const int64_t size = static_cast<int64_t>(x.size());
  if (size == 0) return;
  if (!(channels <= size && inner <= size / channels && size % (channels * inner) == 0)) {
    throw Error("fake_quantize: " + std::to_string(size) + " values do not split into [outer, " +
                std::to_string(channels) + ", " + std::to_string(inner) + "]");
  }
  const int64_t outer = size / (channels * inner);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const float s = q.scale[c];
      const int32_t zp = q.zero_point[c];
      float* row = x.data() + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i)
        row[i] = dequantize_value(quantize_value(row[i], s, zp, lo, hi), s, zp);
    }
  }
}

double sqnr_db(std::span<const float> reference, std::span<const float> approx) {
  if (reference.size() != approx.size()) {
    throw Error("sqnr: reference has " + std::to_string(reference.size()) + " values, approximation " +
                std::to_string(approx.size()));
  }
  double signal = 0.0, noise = 0.0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double r = reference[i], d = r - double(approx[i]);
    signal += r * r;
    noise += d * d;
  }
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

}  // namespace tinyptq
