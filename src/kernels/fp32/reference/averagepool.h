// Reference AveragePool 2-D, NCHW, float.
#pragma once
#include "kernels/fp32/reference/pool2d_params.h"

namespace tinyptq::fp32_ref {

// y[n,c,oh,ow] = Σ_{taps inside the input} x / count, taps at (oh·sh − pt + i·dh, ow·sw − pl + j·dw).
// count_include_pad: count = taps inside the padded extent [−pt, H + pb) × [−pl, W + pr) (taps that ceil
// mode adds past the end padding are not counted); otherwise count = taps inside the input.
void averagepool(const Pool2dParams& p, bool count_include_pad, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
