/* Integer-only kernels; see tpk_kernels.h. Relies on >> of a negative integer being an arithmetic shift
 * (GCC, Clang and Arm Compiler define it so; checked below at compile time). */
#include "tpk_kernels.h"

#include <string.h>

typedef char tpk_arithmetic_shift_check[((-8) >> 1) == -4 ? 1 : -1];

/* round(a * b / 2^31), ties up; (INT32_MIN, INT32_MIN) saturates (gemmlowp SRDHM). */
static int32_t tpk_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^e rounded to nearest, ties away from zero; e in [0, 31] (gemmlowp RDBPOT). */
static int32_t tpk_rdbpot(int32_t x, int32_t e) {
  const int64_t mask = ((int64_t)1 << e) - 1;
  const int64_t remainder = (int64_t)x & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (int32_t)(((int64_t)x >> e) + (remainder > threshold ? 1 : 0));
}

/* round(x * m * 2^(shift - 31)) saturated to int32 (tinyptq multiply_by_quantized_multiplier). */
static int32_t tpk_mbqm(int32_t x, int32_t m, int32_t shift) {
  int64_t r;
  if (shift <= 0) return tpk_rdbpot(tpk_srdhm(x, m), -shift);
  r = (int64_t)x * m;
  r = shift <= 30 ? (r + ((int64_t)1 << (30 - shift))) >> (31 - shift) : r * ((int64_t)1 << (shift - 31));
  return (int32_t)(r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : r);
}

static int8_t tpk_clamp(int64_t v, const tpk_out_t* o) {
  return (int8_t)(v < o->min ? o->min : v > o->max ? o->max : v);
}

static int8_t tpk_requant(int32_t acc, int32_t m, int32_t shift, const tpk_out_t* o) {
  return tpk_clamp((int64_t)tpk_mbqm(acc, m, shift) + o->zero_point, o);
}

static int8_t tpk_add1(const tpk_add_t* p, int32_t a, int32_t b) {
  const int32_t sa = tpk_mbqm((a - p->a_zero_point) * (1 << 20), p->a_mult, p->a_shift);
  const int32_t sb = tpk_mbqm((b - p->b_zero_point) * (1 << 20), p->b_mult, p->b_shift);
  return tpk_requant(sa + sb, p->out_mult, p->out_shift, &p->out);
}

/* The conv's output element `code` at y[i], with the fused residual Add when there is one. */
static void tpk_conv_store(const tpk_conv_t* p, int8_t* y, int32_t i, int8_t code) {
  if (!p->residual)
    y[i] = code;
  else
    y[i] = p->conv_is_a ? tpk_add1(p->residual, code, y[i]) : tpk_add1(p->residual, y[i], code);
}

void tpk_conv2d(const tpk_conv_t* p, const int8_t* x, int8_t* y) {
  const int32_t cpg = p->in_c / p->groups, opg = p->out_c / p->groups;
  const int32_t taps = p->kernel_h * p->kernel_w * cpg, zx = p->input_zero_point;
  int32_t oy, ox, oc, ky, kx, ic;
  for (oy = 0; oy < p->out_h; ++oy)
    for (ox = 0; ox < p->out_w; ++ox)
      for (oc = 0; oc < p->out_c; ++oc) {
        const int32_t g = oc / opg, zw = p->weight_zero_points ? p->weight_zero_points[oc] : 0;
        const int8_t* filter = p->weights + oc * taps;
        int32_t acc = p->bias[oc];
        for (ky = 0; ky < p->kernel_h; ++ky) {
          const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
          if (iy < 0 || iy >= p->in_h) continue;
          for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            const int8_t* px;
            const int8_t* w;
            if (ix < 0 || ix >= p->in_w) continue;
            px = x + (iy * p->in_w + ix) * p->in_c + g * cpg;
            w = filter + (ky * p->kernel_w + kx) * cpg;
            for (ic = 0; ic < cpg; ++ic) acc += (px[ic] - zx) * (w[ic] - zw);
          }
        }
        tpk_conv_store(p, y, (oy * p->out_w + ox) * p->out_c + oc,
                       tpk_requant(acc, p->mult[oc], p->shift[oc], &p->out));
      }
}

/* Dual 16-bit multiply-accumulate: acc + lo(a)*lo(b) + hi(a)*hi(b); SXTB16: bytes 0 and 2 sign-extended to
 * the two halves. The Cortex-M4 DSP instructions, or the same in C elsewhere (so hosts test this path). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
static uint32_t tpk_sxtb16(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
  return r;
}
static uint32_t tpk_sxtb16_ror8(uint32_t v) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}
static int32_t tpk_smlad(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
#else
static uint32_t tpk_sxtb16(uint32_t v) {
  const uint32_t lo = (uint32_t)(int32_t)(int8_t)(v & 0xFFu) & 0xFFFFu;
  const uint32_t hi = (uint32_t)(int32_t)(int8_t)((v >> 16) & 0xFFu) & 0xFFFFu;
  return lo | (hi << 16);
}
static uint32_t tpk_sxtb16_ror8(uint32_t v) { return tpk_sxtb16((v >> 8) | (v << 24)); }
static int32_t tpk_smlad(uint32_t a, uint32_t b, int32_t acc) {
  const int32_t alo = (int16_t)(a & 0xFFFFu), ahi = (int16_t)(a >> 16);
  const int32_t blo = (int16_t)(b & 0xFFFFu), bhi = (int16_t)(b >> 16);
  return (int32_t)((uint32_t)acc + (uint32_t)(alo * blo) + (uint32_t)(ahi * bhi));
}
#endif

void tpk_conv2d_dsp(const tpk_conv_t* p, const int8_t* x, int8_t* y, int16_t* col) {
  const int32_t k = p->kernel_h * p->kernel_w * p->in_c, k4 = (k + 3) & ~3, zx = p->input_zero_point;
  int32_t oy, ox, oc, ky, kx, ic, i;
  for (oy = 0; oy < p->out_h; ++oy)
    for (ox = 0; ox < p->out_w; ++ox) {
      /* im2col of one output pixel: (x - zx) as int16, padding taps 0, tail zeros up to k4. */
      int16_t* c = col;
      for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        for (kx = 0; kx < p->kernel_w; ++kx) {
          const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
          if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
            for (ic = 0; ic < p->in_c; ++ic) *c++ = 0;
          } else {
            const int8_t* px = x + (iy * p->in_w + ix) * p->in_c;
            for (ic = 0; ic < p->in_c; ++ic) *c++ = (int16_t)(px[ic] - zx);
          }
        }
      }
      for (i = k; i < k4; ++i) *c++ = 0;
      /* Two output channels per pass share each column load: 4 taps x 2 channels = 2 + 2 loads, 4 SXTB16,
       * 4 SMLAD. The same sums in the same order as one channel at a time. */
      for (oc = 0; oc + 1 < p->out_c; oc += 2) {
        const int8_t* w0 = p->weights + oc * k4;
        const int8_t* w1 = w0 + k4;
        int32_t acc0 = p->bias[oc], acc1 = p->bias[oc + 1];
        for (i = 0; i < k4; i += 4) {
          uint32_t a4, b4, c01, c23;
          memcpy(&c01, col + i, 4);
          memcpy(&c23, col + i + 2, 4);
          memcpy(&a4, w0 + i, 4);
          memcpy(&b4, w1 + i, 4);
          acc0 = tpk_smlad(c01, tpk_sxtb16(a4), acc0); /* (x0, x1) . (w0, w1) */
          acc0 = tpk_smlad(c23, tpk_sxtb16_ror8(a4), acc0); /* (x2, x3) . (w2, w3) */
          acc1 = tpk_smlad(c01, tpk_sxtb16(b4), acc1);
          acc1 = tpk_smlad(c23, tpk_sxtb16_ror8(b4), acc1);
        }
        tpk_conv_store(p, y, (oy * p->out_w + ox) * p->out_c + oc,
                       tpk_requant(acc0, p->mult[oc], p->shift[oc], &p->out));
        tpk_conv_store(p, y, (oy * p->out_w + ox) * p->out_c + oc + 1,
                       tpk_requant(acc1, p->mult[oc + 1], p->shift[oc + 1], &p->out));
      }
      for (; oc < p->out_c; ++oc) {
        const int8_t* w = p->weights + oc * k4;
        int32_t acc = p->bias[oc];
        for (i = 0; i < k4; i += 4) {
          uint32_t w4, c01, c23;
          memcpy(&w4, w + i, 4);
          memcpy(&c01, col + i, 4);
          memcpy(&c23, col + i + 2, 4);
          acc = tpk_smlad(c01, tpk_sxtb16(w4), acc);
          acc = tpk_smlad(c23, tpk_sxtb16_ror8(w4), acc);
        }
        tpk_conv_store(p, y, (oy * p->out_w + ox) * p->out_c + oc,
                       tpk_requant(acc, p->mult[oc], p->shift[oc], &p->out));
      }
    }
}

void tpk_fully_connected(const tpk_fc_t* p, const int8_t* x, int8_t* y) {
  int32_t r, j, i;
  for (r = 0; r < p->rows; ++r) {
    const int8_t* row = x + r * p->k;
    for (j = 0; j < p->n; ++j) {
      const int8_t* w = p->weights + j * p->k;
      const int32_t zw = p->weight_zero_points ? p->weight_zero_points[j] : 0;
      int32_t acc = p->bias[j];
      for (i = 0; i < p->k; ++i) acc += (row[i] - p->input_zero_point) * (w[i] - zw);
      y[r * p->n + j] = tpk_requant(acc, p->mult[j], p->shift[j], &p->out);
    }
  }
}

void tpk_add(const tpk_add_t* p, const int8_t* a, const int8_t* b, int8_t* y, int32_t count) {
  int32_t i;
  for (i = 0; i < count; ++i) y[i] = tpk_add1(p, a[i], b[i]);
}

/* round(sum / count), ties away from zero (TFLite AveragePool). */
static int32_t tpk_rounded_average(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

void tpk_avgpool(const tpk_avgpool_t* p, const int8_t* x, int8_t* y) {
  int32_t oy, ox, c, ky, kx;
  for (oy = 0; oy < p->out_h; ++oy)
    for (ox = 0; ox < p->out_w; ++ox) {
      const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
      int32_t inside = 0, extent = 0, d;
      for (ky = 0; ky < p->kernel_h; ++ky)
        for (kx = 0; kx < p->kernel_w; ++kx) {
          const int32_t iy = y0 + ky * p->dilation_h, ix = x0 + kx * p->dilation_w;
          if (iy < p->in_h + p->pad_bottom && ix < p->in_w + p->pad_right) ++extent;
          if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) ++inside;
        }
      d = p->count_include_pad ? extent : inside;
      for (c = 0; c < p->channels; ++c) {
        int32_t sum = 0;
        for (ky = 0; ky < p->kernel_h; ++ky)
          for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t iy = y0 + ky * p->dilation_h, ix = x0 + kx * p->dilation_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
            sum += x[(iy * p->in_w + ix) * p->channels + c] - p->input_zero_point;
          }
        y[(oy * p->out_w + ox) * p->channels + c] =
            p->same_quant ? tpk_clamp((int64_t)tpk_rounded_average(sum, d) + p->out.zero_point, &p->out)
                          : tpk_requant(sum, p->mult[d], p->shift[d], &p->out);
      }
    }
}

void tpk_global_avgpool(const tpk_global_avgpool_t* p, const int8_t* x, int8_t* y) {
  int32_t c, i;
  for (c = 0; c < p->channels; ++c) {
    int32_t sum = 0;
    for (i = 0; i < p->image_size; ++i) sum += x[i * p->channels + c] - p->input_zero_point;
    y[c] = p->same_quant ? tpk_clamp((int64_t)tpk_rounded_average(sum, p->image_size) + p->out.zero_point, &p->out)
                         : tpk_requant(sum, p->mult, p->shift, &p->out);
  }
}

void tpk_maxpool(const tpk_maxpool_t* p, const int8_t* x, int8_t* y) {
  int32_t oy, ox, c, ky, kx;
  for (oy = 0; oy < p->out_h; ++oy)
    for (ox = 0; ox < p->out_w; ++ox)
      for (c = 0; c < p->channels; ++c) {
        int32_t m = -128;
        for (ky = 0; ky < p->kernel_h; ++ky)
          for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) continue;
            if (x[(iy * p->in_w + ix) * p->channels + c] > m) m = x[(iy * p->in_w + ix) * p->channels + c];
          }
        y[(oy * p->out_w + ox) * p->channels + c] = p->table[m + 128];
      }
}

void tpk_table(const int8_t* table, const int8_t* x, int8_t* y, int32_t count) {
  int32_t i;
  for (i = 0; i < count; ++i) y[i] = table[x[i] + 128];
}
