/* Integer-only kernels of a model exported by tinyptq export-c. C99; no libc beyond stdint.h and string.h;
 * no malloc, no float. Activations are int8 NHWC, real = scale * (q - zero_point). The arithmetic is the
 * integer engine's "integer" requantization (tinyptq docs/arithmetic.md), so outputs are bit-exact with
 * `tinyptq eval --requant integer`. MBQM(x, m, s) = TFLite's MultiplyByQuantizedMultiplier. */
#ifndef TPK_KERNELS_H
#define TPK_KERNELS_H
#include <stdint.h>

/* Output zero point and clamp bounds (a fused Relu/Clip), int8 domain. */
typedef struct {
  int32_t zero_point, min, max;
} tpk_out_t;

/* y = clamp(MBQM(MBQM((a - za) << 20, am, as) + MBQM((b - zb) << 20, bm, bs), om, os) + zy) (TFLite Add). */
typedef struct {
  int32_t a_zero_point, b_zero_point;
  int32_t a_mult, a_shift, b_mult, b_shift, out_mult, out_shift;
  tpk_out_t out;
} tpk_add_t;

/* acc[c] = bias[c] + sum over taps inside the input of (x - zx) * (w - zw[c]) (padding is real 0);
 * y = clamp(MBQM(acc, mult[c], shift[c]) + zy). weights: [out_c][kh][kw][in_c/groups], or with the _dsp
 * kernel [out_c][K4] (K = kh*kw*in_c rounded up to 4, each group of 4 stored as w0 w2 w1 w3).
 * residual (not null): the output buffer holds the other Add operand; each output element becomes
 * add(conv, old) (conv_is_a) or add(old, conv), written in place. */
typedef struct {
  int32_t in_h, in_w, in_c, out_h, out_w, out_c, groups;
  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int32_t input_zero_point;
  tpk_out_t out;
  const int8_t* weights;
  const int32_t* bias;
  const int32_t* weight_zero_points; /* [out_c]; null: all 0 */
  const int32_t* mult;
  const int32_t* shift;
  const tpk_add_t* residual;
  int32_t conv_is_a;
} tpk_conv_t;

/* y[r][j] = clamp(MBQM(bias[j] + sum_k (x[r][k] - zx) * (w[j][k] - zw[j]), mult[j], shift[j]) + zy). */
typedef struct {
  int32_t rows, k, n, input_zero_point;
  tpk_out_t out;
  const int8_t* weights; /* [n][k] */
  const int32_t* bias;
  const int32_t* weight_zero_points; /* [n]; null: all 0 */
  const int32_t* mult;
  const int32_t* shift;
} tpk_fc_t;

/* S = sum over taps inside the input of (x - zx), d = their count (or the padded extent's, count_include_pad).
 * same_quant: y = clamp(round_away(S / d) + zy); else y = clamp(MBQM(S, mult[d], shift[d]) + zy). */
typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w;
  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right;
  int32_t count_include_pad, input_zero_point, same_quant;
  tpk_out_t out;
  const int32_t* mult; /* [kernel_h * kernel_w + 1], by divisor */
  const int32_t* shift;
} tpk_avgpool_t;

typedef struct {
  int32_t image_size, channels, input_zero_point, same_quant, mult, shift;
  tpk_out_t out;
} tpk_global_avgpool_t;

/* y = table[max over taps inside the input of x + 128]. */
typedef struct {
  int32_t in_h, in_w, channels, out_h, out_w;
  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  const int8_t* table; /* [256] */
} tpk_maxpool_t;

void tpk_conv2d(const tpk_conv_t* p, const int8_t* x, int8_t* y);
/* groups = 1, no weight zero points; scratch: int16 column of K4 entries. Bit-exact with tpk_conv2d. */
void tpk_conv2d_dsp(const tpk_conv_t* p, const int8_t* x, int8_t* y, int16_t* scratch);
void tpk_fully_connected(const tpk_fc_t* p, const int8_t* x, int8_t* y);
void tpk_add(const tpk_add_t* p, const int8_t* a, const int8_t* b, int8_t* y, int32_t count);
void tpk_avgpool(const tpk_avgpool_t* p, const int8_t* x, int8_t* y);
void tpk_global_avgpool(const tpk_global_avgpool_t* p, const int8_t* x, int8_t* y);
void tpk_maxpool(const tpk_maxpool_t* p, const int8_t* x, int8_t* y);
/* y[i] = table[x[i] + 128]; in place allowed. */
void tpk_table(const int8_t* table, const int8_t* x, int8_t* y, int32_t count);

#endif
