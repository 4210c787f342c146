#include "quant/adaround/linear_layer.h"

#include <algorithm>
#include <string>

#include "core/error.h"
#include "engine/shape_inference.h"
#include "quant/adaround/matmul.h"
#include "quant/adaround/parallel.h"

namespace tinyptq::adaround {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Output columns ow whose tap ow·s + shift lies in [0, in): [begin, end).
std::pair<int64_t, int64_t> valid_span(int64_t out, int64_t in, int64_t stride, int64_t shift) {
  const int64_t begin = std::max<int64_t>(0, floor_div(-shift + stride - 1, stride));
  const int64_t end = std::min(out, floor_div(in - 1 - shift, stride) + 1);
  return {begin, std::max(begin, end)};
}

// Images per part when a batch is split across threads.
constexpr int64_t kImagesPerPart = 16;

}  // namespace

bool is_linear_layer(const Graph& g, const Node& n) {
  if (n.inputs.size() < 2 || !g.is_initializer(n.inputs[1])) return false;
  const Tensor& w = *g.initializer(n.inputs[1]);
  if (w.dtype != DType::kFloat32) return false;
  if (n.op == Op::kConv) return w.shape.size() == 4 && n.attrs.group == 1;
  if (n.op == Op::kGemm)
    return w.shape.size() == 2 && n.attrs.trans_b && !n.attrs.trans_a && n.attrs.alpha == 1.0f &&
           n.attrs.beta == 1.0f;
  return false;
}

LinearLayer make_linear_layer(const Node& n, const Shape& x, const Shape& w) {
  const std::string where = "layer '" + n.name + "': ";
  LinearLayer l;
  check(!x.empty(), where + "input has no batch axis");
  l.in_shape.assign(x.begin() + 1, x.end());
  if (n.op == Op::kConv) {
    check(n.attrs.group == 1, where + "grouped convolution is not supported here");
    check(x.size() == 4 && w.size() == 4,
          where + "only 2-D convolution is supported (input " + shape_str(x) + ", weight " + shape_str(w) + ")");
    const Attrs a = resolved_pads(n, x, w);
    try {
      l.conv_params = fp32_ref::make_conv2d_params({1, x[1], x[2], x[3]}, w, fp32_ref::window2d_from_attrs(a), 1);
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
    l.conv = true;
    l.out_channels = w[0];
    l.k = w[1] * w[2] * w[3];
    l.positions = l.conv_params.out_h * l.conv_params.out_w;
    l.out_shape = {w[0], l.conv_params.out_h, l.conv_params.out_w};
  } else if (n.op == Op::kGemm) {
    check(n.attrs.trans_b && !n.attrs.trans_a && n.attrs.alpha == 1.0f && n.attrs.beta == 1.0f,
          where + "Gemm must be in the prepared form Y = X·Wᵀ + b");
    check(x.size() == 2 && w.size() == 2 && x[1] == w[1],
          where + "Gemm input " + shape_str(x) + " does not match weight " + shape_str(w));
    l.out_channels = w[0];
    l.k = w[1];
    l.positions = 1;
    l.out_shape = {w[0]};
  } else {
    throw Error(where + "not a Conv or Gemm");
  }
  l.in_size = num_elements(l.in_shape);
  check(l.k > 0 && l.out_channels > 0 && l.positions > 0, where + "empty layer");
  return l;
}

void im2col(const LinearLayer& l, const float* image, float* cols, int64_t ld) {
  if (ld == 0) ld = l.positions;
  if (!l.conv) {
    for (int64_t q = 0; q < l.k; ++q) cols[q * ld] = image[q];
    return;
  }
  const auto& p = l.conv_params;
  const auto& win = p.window;
  const int64_t plane = p.in_h * p.in_w;
  int64_t row = 0;
  for (int64_t c = 0; c < p.in_channels; ++c)
    for (int64_t i = 0; i < win.kernel_h; ++i)
      for (int64_t j = 0; j < win.kernel_w; ++j, ++row) {
        float* out = cols + row * ld;
        const int64_t shift_w = j * win.dilation_w - win.pad_left;
        const auto [ow0, ow1] = valid_span(p.out_w, p.in_w, win.stride_w, shift_w);
        for (int64_t oh = 0; oh < p.out_h; ++oh) {
          float* o = out + oh * p.out_w;
          const int64_t ih = oh * win.stride_h - win.pad_top + i * win.dilation_h;
          if (ih < 0 || ih >= p.in_h) {
            std::fill(o, o + p.out_w, 0.0f);
            continue;
          }
          const float* xr = image + c * plane + ih * p.in_w;
          std::fill(o, o + ow0, 0.0f);
          if (win.stride_w == 1)
            std::copy(xr + ow0 + shift_w, xr + ow1 + shift_w, o + ow0);
          else
            for (int64_t ow = ow0; ow < ow1; ++ow) o[ow] = xr[ow * win.stride_w + shift_w];
          std::fill(o + ow1, o + p.out_w, 0.0f);
        }
      }
}

void col2im_add(const LinearLayer& l, const float* cols, float* image) {
  if (!l.conv) {
    for (int64_t q = 0; q < l.k; ++q) image[q] += cols[q];
    return;
  }
  const auto& p = l.conv_params;
  const auto& win = p.window;
  const int64_t plane = p.in_h * p.in_w;
  int64_t row = 0;
  for (int64_t c = 0; c < p.in_channels; ++c)
    for (int64_t i = 0; i < win.kernel_h; ++i)
      for (int64_t j = 0; j < win.kernel_w; ++j, ++row) {
        const float* in = cols + row * l.positions;
        const int64_t shift_w = j * win.dilation_w - win.pad_left;
        const auto [ow0, ow1] = valid_span(p.out_w, p.in_w, win.stride_w, shift_w);
        for (int64_t oh = 0; oh < p.out_h; ++oh) {
          const int64_t ih = oh * win.stride_h - win.pad_top + i * win.dilation_h;
          if (ih < 0 || ih >= p.in_h) continue;
          float* xr = image + c * plane + ih * p.in_w;
          for (int64_t ow = ow0; ow < ow1; ++ow) xr[ow * win.stride_w + shift_w] += in[oh * p.out_w + ow];
        }
      }
}

std::vector<double> mean_column(const LinearLayer& l, const float* x, int64_t count) {
  // im2col is linear: the mean column is the mean over positions of cols(mean image).
  std::vector<double> image_sum(size_t(l.in_size), 0.0);
  for (int64_t n = 0; n < count; ++n) {
    const float* xn = x + n * l.in_size;
    for (int64_t i = 0; i < l.in_size; ++i) image_sum[size_t(i)] += xn[i];
  }
  std::vector<float> mean_image(size_t(l.in_size));
  for (int64_t i = 0; i < l.in_size; ++i) mean_image[size_t(i)] = count > 0 ? float(image_sum[size_t(i)] / double(count)) : 0.0f;
  std::vector<float> cols(size_t(l.k * l.positions));
  im2col(l, mean_image.data(), cols.data());
  std::vector<double> m(size_t(l.k), 0.0);
  for (int64_t q = 0; q < l.k; ++q) {
    const float* row = cols.data() + q * l.positions;
    double s = 0.0;
    for (int64_t p = 0; p < l.positions; ++p) s += row[p];
    m[size_t(q)] = s / double(l.positions);
  }
  return m;
}

void linear_forward(const LinearLayer& l, const float* x, int64_t count, const float* w, const float* bias,
                    float* y, int threads) {
  const int64_t parts = (count + kImagesPerPart - 1) / kImagesPerPart;
  run_parts(parts, threads, [&](int64_t part) {
    const int64_t first = part * kImagesPerPart, last = std::min(count, first + kImagesPerPart);
    if (!l.conv) {  // the part's rows at once: Y[n, :] = W · x[n]  ⇔  Yᵀ = W · Xᵀ, as rows of dot products
      matmul_nt(last - first, l.out_channels, l.k, x + first * l.k, l.k, w, l.k, y + first * l.out_channels,
                l.out_channels, false);
    } else {
      const int64_t ld = cols_stride(l.positions);
      std::vector<float> cols(size_t(l.k * ld));
      for (int64_t n = first; n < last; ++n) {
        im2col(l, x + n * l.in_size, cols.data(), ld);
        matmul_nn(l.out_channels, l.positions, l.k, w, l.k, cols.data(), ld, y + n * l.out_size(), l.positions,
                  false);
      }
    }
    if (bias)
      for (int64_t n = first; n < last; ++n)
        for (int64_t c = 0; c < l.out_channels; ++c) {
          float* yc = y + n * l.out_size() + c * l.positions;
          for (int64_t q = 0; q < l.positions; ++q) yc[q] += bias[c];
        }
  });
}

void linear_backward(const LinearLayer& l, const float* x, int64_t count, const float* w, const float* dy,
                     float* dw, float* dx) {
  std::fill(dw, dw + l.out_channels * l.k, 0.0f);
  std::vector<float> cols(size_t(l.k * l.positions)), dcols(size_t(l.k * l.positions));
  std::vector<float> wt(size_t(l.k * l.out_channels));  // Wᵀ [K, Cout]
  for (int64_t c = 0; c < l.out_channels; ++c)
    for (int64_t q = 0; q < l.k; ++q) wt[q * l.out_channels + c] = w[c * l.k + q];
  for (int64_t n = 0; n < count; ++n) {
    const float* dyn = dy + n * l.out_size();
    im2col(l, x + n * l.in_size, cols.data());
    matmul_nt(l.out_channels, l.k, l.positions, dyn, l.positions, cols.data(), l.positions, dw, l.k, true);
    if (!dx) continue;
    matmul_nn(l.k, l.positions, l.out_channels, wt.data(), l.out_channels, dyn, l.positions, dcols.data(),
              l.positions, false);
    float* dxn = dx + n * l.in_size;
    std::fill(dxn, dxn + l.in_size, 0.0f);
    col2im_add(l, dcols.data(), dxn);
  }
}

}  // namespace tinyptq::adaround
