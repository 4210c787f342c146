// A Conv (2-D, group 1) or Gemm node seen, per image, as one matrix product
//   Y[Cout, P] = W[Cout, K] · cols[K, P] (+ b[c] on every position),
// Conv: K = C·kH·kW (weight OIHW flattened), P = OH·OW, cols = im2col of the image with zero padding,
//       cols[(c·kH + i)·kW + j, oh·OW + ow] = x[c, oh·sh − pt + i·dh, ow·sw − pl + j·dw] (0 outside);
// Gemm (prepared form Y = X·Wᵀ + b, weight [N, K]): P = 1 and cols is the image's feature row.
// Forward and backward run on whole batches ([count, ...] row-major) with the matmul kernels.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "kernels/fp32/reference/conv2d.h"

namespace tinyptq::adaround {

struct LinearLayer {
  bool conv = false;
  int64_t out_channels = 0;  // Cout
  int64_t k = 0;             // inner size per output
  int64_t positions = 0;     // P
  int64_t in_size = 0;       // floats per image of the input
  Shape in_shape, out_shape; // per image (no batch axis)
  fp32_ref::Conv2dParams conv_params;  // conv only, batch 1
  int64_t out_size() const { return out_channels * positions; }
};

// True when the node is a Conv with 2-D window and group 1, or a prepared Gemm (transB, no transA,
// alpha = beta = 1) whose weight is an initializer of g.
bool is_linear_layer(const Graph& g, const Node& n);
// Geometry for input shape x (batch-first) and the weight's shape. Throws Error naming the node when the
// node is not a supported Conv/Gemm or the shapes do not fit.
LinearLayer make_linear_layer(const Node& n, const Shape& x, const Shape& w);

// cols [K, P] of one image, rows ld floats apart (ld = 0: P).
void im2col(const LinearLayer& l, const float* image, float* cols, int64_t ld = 0);
// Row stride for cols of P positions: P, or P + 16 when P is a multiple of 1024 (rows 4 KiB apart would
// share one L1 set in the matmul tiles; the padding holds no values the products read).
inline int64_t cols_stride(int64_t positions) { return positions % 1024 == 0 ? positions + 16 : positions; }
// Adjoint of im2col: image[...] += the cols entries that were read from it.
void col2im_add(const LinearLayer& l, const float* cols, float* image);

// Mean im2col column over count images and all positions: m[q] = 1/(count·P) Σ_n Σ_p cols(x[n])[q, p],
// computed as the mean over positions of cols(mean image) (im2col is linear; sums in double, the mean
// image rounded to float).
std::vector<double> mean_column(const LinearLayer& l, const float* x, int64_t count);

// y[n] = W·cols(x[n]) (+ bias[c]) for count images; y is [count, Cout, P]. bias may be null. The images
// are split into fixed parts run on `threads` threads (results do not depend on threads).
void linear_forward(const LinearLayer& l, const float* x, int64_t count, const float* w, const float* bias,
                    float* y, int threads = 1);

// Gradients of a loss L given dL/dy ([count, Cout, P]): dw[Cout, K] = Σ_n dy[n]·cols(x[n])ᵀ (overwritten);
// dx (optional, [count, in_size]) = col2im(Wᵀ·dy[n]) (overwritten).
void linear_backward(const LinearLayer& l, const float* x, int64_t count, const float* w, const float* dy,
                     float* dw, float* dx);

}  // namespace tinyptq::adaround
