// Affine quantization parameters: real = scale · (q − zero_point), q an integer code in [qmin, qmax].
// Range → (scale, zero_point) follows ONNX Runtime's compute_scale_zp (quantize_static):
//   widen:      rmin = min(rmin, 0), rmax = max(rmax, 0)          (real 0 must be exactly representable)
//   symmetric:  a = max(|rmin|, |rmax|), [rmin, rmax] = [-a, a],  zero_point = round((qmin + qmax) / 2)
//   scale = (rmax − rmin) / (qmax − qmin)
//   asymmetric: zero_point = round(qmin − rmin / scale), clamped to [qmin, qmax]
// (scale and zero point computed in double, rounding half to even as numpy.round; scale stored as float).
// ORT quantizes symmetric int8 weights with the narrow range [-127,127] → scale = a/127, zero point 0;
// symmetric uint8 with [0,254] → zero point 127. Our full (non-narrow) symmetric ranges give the midpoint
// round(-0.5) = 0 for int8 and round(127.5) = 128 for uint8 (PyTorch's symmetric quint8), scale = 2a/255.
// Degenerate and tiny ranges never give scale 0/NaN/Inf:
//   rmin == rmax == 0 → scale = 1, zero_point = midpoint if symmetric, else clamp(0, qmin, qmax)
//                       (ORT: scale 1, zero point 0 for every type);
//   0 < scale < kMinScale → scale = kMinScale (values that small quantize to 0 or ±1 code);
//   bounds beyond ±FLT_MAX/2 are clipped there, so every code dequantizes to a finite float.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "quant/formats.h"

namespace tinyptq {

// Floor on every scale: keeps 1/scale ≤ 1e12 and bias scales (s_in · s_w ≥ 1e-24) far inside the normal
// float range. Ranges narrower than ~255e-12 carry no signal in a float32 CNN.
inline constexpr float kMinScale = 1e-12f;

struct QParams {
  std::vector<float> scale;         // size 1 per tensor, else one per channel
  std::vector<int32_t> zero_point;  // same size as scale, each in [qmin(format), qmax(format)]
  int axis = -1;                    // -1 = per tensor; else the tensor axis holding the channels
  QuantFormat format;
};

// Per-tensor parameters for the real range [min, max]. Throws Error on NaN/Inf bounds, min > max, or an
// invalid format.
QParams qparams_from_range(float min, float max, const QuantFormat& f);
// Per-channel parameters, channel c from [mins[c], maxs[c]]. Throws Error on empty or mismatched sizes,
// axis < 0, or any bad range.
QParams qparams_per_channel(const std::vector<float>& mins, const std::vector<float>& maxs,
                            const QuantFormat& f, int axis);
// Throws Error if q is inconsistent: sizes, axis vs size, scales not finite and > 0, zero points out of
// range.
void check_qparams(const QParams& q);

// Round to nearest, ties to even (ONNX QuantizeLinear, numpy.round, x86 cvtps2dq), independent of the
// floating-point environment's rounding mode.
float round_half_even(float v);

// ONNX QuantizeLinear on one value: q = saturate(round_half_even(x / scale) + zp) to [qmin, qmax].
// ±Inf saturate; NaN maps to zp (real 0). scale must be finite and > 0.
int32_t quantize_value(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax);
// ONNX DequantizeLinear on one value: real = (q − zp) · scale.
float dequantize_value(int32_t q, float scale, int32_t zp);

// Quantize-dequantize x in place. Per tensor (q.axis == -1): one scale for all of x; channels/inner are
// ignored. Per channel: x is viewed as [outer, channels, inner] (row-major, outer = size/(channels·inner))
// and channel c uses q.scale[c], q.zero_point[c]. Throws Error if q is invalid, q.scale.size() != channels,
// or the size is not a multiple of channels·inner.
void fake_quantize(std::span<float> x, const QParams& q, int64_t channels = 1, int64_t inner = 1);

// Signal-to-quantization-noise ratio in dB: 10·log10(Σ ref² / Σ (ref − approx)²), accumulated in double;
// +inf when the spans are equal (including both empty). Throws Error if sizes differ.
double sqnr_db(std::span<const float> reference, std::span<const float> approx);

}  // namespace tinyptq
