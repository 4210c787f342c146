// Reference MaxPool 2-D, NCHW, float.
#pragma once
#include "kernels/fp32/reference/pool2d_params.h"

namespace tinyptq::fp32_ref {

// y[n,c,oh,ow] = max over taps inside the input of x[n, c, oh·sh − pt + i·dh, ow·sw − pl + j·dw]
// (padding never wins; make_pool2d_params guarantees every window holds an input element).
void maxpool(const Pool2dParams& p, const float* x, float* y);

}  // namespace tinyptq::fp32_ref
