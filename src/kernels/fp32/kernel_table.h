// The optimized FP32 kernel ABI: prepared plans (weights packed once per input shape), the run-function
// signatures every ISA implements, and the table the engine picks them from once at run time (CPUID).
// Run functions take raw pointers, never allocate and never throw; all validation happens when the plans
// are made. The scalar kernels in kernels/fp32/reference define correct behaviour; every kernel here is
// tested against them (tests/fp32_fast_kernels_test.cc): |fast − ref| ≤ 1e-4·(1 + |ref|).
//
// Work split and determinism: a run function computes the work items [begin, end) of a batch; every output
// element belongs to exactly one item and is computed with the same operations in the same order whatever
// the item range, so results do not depend on how items are shared among threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/fp32/reference/conv2d.h"
#include "kernels/fp32/reference/gemm.h"

namespace tinyptq::fp32 {

// Pixels per mask word of the implicit GEMM (one AVX-512 vector, two AVX2 vectors).
inline constexpr int64_t kPixelBlock = 16;

// ---- Conv2d (NCHW) as an implicit GEMM ------------------------------------------------------------------
//
// Per group: Y[m][p] = bias[m] + Σ_k A[m][k]·B[k][p], p = oh·OW + ow, k = (tap t, channel c) tap-major.
// Tap t = (kh, kw) reads x[c][oh·sh + eh][ow·sw + ew] with e = k·d − pad_begin. Writing e = s·q + a
// (0 ≤ a < s), that is phase plane (ah, aw) at [oh + qh][ow + qw]. The kernels need no im2col:
//  - direct (stride 1, OW = W): the source is x itself and B[t,c][p] = x[c][p + eh·W + ew];
//  - phased: per image, each used phase (ah, aw) is copied into a zero-padded plane P[r][j] =
//    x[s·(r + row0) + ah][s·j + aw] of width OW and `plane_rows` rows, and B[t,c][p] = P_t[c][p + offset_t].
// In both cases B is the source shifted by a constant per tap, masked to 0 where the tap lies in the
// padding (masks: one bit per pixel, 16 pixels per word). Requires s_w·OW ≥ W (taps past the right edge
// of the plane are padding); other shapes run the reference kernel (ConvPlan::implicit = false).
//
// Output stage: y = min(max(acc + residual, lo), hi), acc summed from the bias; residual (same shape as
// y, optional) is a fused Add, [lo, hi] a fused Relu/Clip (±inf when absent). NaN propagates.
struct ConvPlan;
// Fills channels [c_begin, c_end) of the phase planes of one image x [C][H][W] into planes
// [C][phases][plane_rows][OW] (phased plans only). Pure copies and zero fill: every ISA writes the same bits.
using PhasePlanesFn = void (*)(const ConvPlan& p, const float* x, float* planes, int64_t c_begin, int64_t c_end);

struct ConvPlan {
  fp32_ref::Conv2dParams shape;  // batch is ignored: run functions take the image count
  float lo = 0, hi = 0;
  std::vector<float> weights;  // [M][C/G][kH][kW], as given (BN already folded by the caller)
  std::vector<float> bias;     // [M] (zeros when the Conv has none)

  bool implicit = false;         // false: reference kernel + output stage, one item per image
  bool direct = false;           // source is x (no phase planes)
  int mr = 0, nv = 0;            // tile: mr output channels × nv·16 pixels
  int64_t taps = 0;              // kH·kW
  int64_t vectors = 0;           // ceil(OH·OW / 16) mask words per tap
  int64_t tiles = 0;             // ceil(vectors / nv) pixel tiles per image
  int64_t mblocks = 0;           // ceil((M/G) / mr) channel blocks per group
  int64_t channel_stride = 0;    // floats between input channels of the source
  std::vector<int64_t> tap_offset;         // [taps] source offset of B[t, 0][0]
  std::vector<uint16_t> masks;             // [taps][tiles·nv] (zero past `vectors`)
  std::vector<uint16_t> store_masks;       // [tiles·nv] output lanes inside the plane
  std::vector<float> packed;               // [G][mblocks][taps][C/G][mr], zero rows past M/G
  std::vector<float> packed_bias;          // [G][mblocks][mr]
  // Phase planes (phased only): which phases, their geometry.
  std::vector<int64_t> phase_h, phase_w;   // per phase plane: ah, aw
  int64_t plane_rows = 0, row0 = 0;        // rows per phase plane, first row's phase-row index
  PhasePlanesFn build_planes = nullptr;    // the kernel set's phase-plane builder (phased only)
  // Where the output and the fused residual live: element (m, pixel p) of image n at
  // n·image + offset + m·channel_stride + p. Dense NCHW unless the engine lays a value out as the stride-1
  // planes of the Conv reading it (padding rows around each channel, which the writer leaves alone).
  struct Layout {
    int64_t channel_stride = 0, offset = 0, image = 0;
  };
  Layout out, res;
  // The output written as a stride-2 reader's phase planes instead (ConvKernel::writes_phase_planes):
  // element (m, ih, iw) goes to phase (ih mod 2, iw mod 2) at row ih div 2 − row0, column iw div 2 of channel
  // m, and is dropped where the reader has no such phase or row. Needs OW % 16 = 0 (a 16-pixel word lies in
  // one row) and the reader's width ≥ OW/2 (every column lands). `out` then gives where each image and
  // channel of the planes start (offset 0); what no element reaches is the reader's zero padding
  // (plane_padding).
  struct PlanesOut {
    bool on = false;
    int64_t phase[2][2] = {{-1, -1}, {-1, -1}};  // reader's phase index of (ah, aw), −1 when absent
    int64_t plane_rows = 0, row0 = 0, width = 0;
  };
  PlanesOut planes_out;

  int64_t image_in() const { return shape.in_channels * shape.in_h * shape.in_w; }
  int64_t image_out() const { return shape.out_channels * shape.out_h * shape.out_w; }
};

// x: `images` images [C][H][W]; residual, y: the same images' [M][OH][OW] (residual may be null).
// planes: the phase planes of all `images` (conv_planes_floats(p) per image, see build_phase_planes), or
// null to build each image's in scratch (conv_scratch_floats(p) floats).
using ConvRunFn = void (*)(const ConvPlan& p, const float* x, const float* residual, float* y, int64_t images,
                           int64_t item_begin, int64_t item_end, const float* planes, float* scratch);

struct ConvKernel {
  const char* name = nullptr;
  int mr = 0, nv = 0;  // tile the plan is made for (0: reference layout, implicit = false)
  ConvRunFn run = nullptr;
  PhasePlanesFn planes = nullptr;  // null: the portable build_phase_planes
  bool writes_phase_planes = false;  // run honours ConvPlan::planes_out
};

// ---- Gemm: y[i][j] = alpha·Σ_k A[i][k]·B'[k][j] + beta·C[i][j] with B and C constant ------------------
struct GemmPlan {
  fp32_ref::GemmParams shape;  // m is ignored: run functions take a row range
  std::vector<float> packed_b;  // [N][K]: column j of B' contiguous
  std::vector<float> c;         // [M_c][N] beta·C broadcast along N (M_c = 1 when C is one row), or empty
  bool c_per_row = false;       // C has M rows
};
// a: rows [row_begin, row_end) of A [M][K]; y: the same rows of [M][N]. Items are rows.
using GemmRunFn = void (*)(const GemmPlan& p, const float* a, float* y, int64_t row_begin, int64_t row_end);

// ---- Elementwise ------------------------------------------------------------------------------------------
// y[i] = min(max(x[i], lo), hi) (Relu: lo = 0, hi = inf); NaN propagates; x and y may alias.
using ClampFn = void (*)(const float* x, float* y, int64_t count, float lo, float hi);
// y[i] = min(max(a[i] + b[i], lo), hi); y may alias a or b.
using AddClampFn = void (*)(const float* a, const float* b, float* y, int64_t count, float lo, float hi);

// ---- Pools and layout ------------------------------------------------------------------------------------
// y[i] = (Σ_k x[i·size + k]) / size for planes i in [begin, end): 16 interleaved partial sums (k ≡ j mod 16)
// added pairwise, a fixed order whatever the ISA. Whole-input AveragePool and GlobalAveragePool.
using PlaneMeanFn = void (*)(const float* x, float* y, int64_t size, int64_t begin, int64_t end);
// One matrix: y[c][r] = x[r][c], x [rows][cols] (NHWC ↔ NCHW of one image).
using Transpose2dFn = void (*)(const float* x, float* y, int64_t rows, int64_t cols);

template <typename Fn>
struct Kernel {
  const char* name = nullptr;
  Fn run = nullptr;
};

struct KernelTable {
  const char* isa = nullptr;  // "reference", "avx2", "avx512"
  ConvKernel conv;
  Kernel<GemmRunFn> gemm;
  Kernel<ClampFn> clamp;
  Kernel<AddClampFn> add_clamp;
  Kernel<PlaneMeanFn> plane_mean;
  Kernel<Transpose2dFn> transpose2d;
};

// Plain kernels: the reference Conv plus a scalar output stage, portable Gemm and elementwise loops.
const KernelTable& reference_kernels();
// The fastest table this CPU runs (chosen once from CPUID: AVX-512F, else AVX2+FMA, else reference).
const KernelTable& best_kernels();
// Every table this CPU can run, reference first.
std::vector<const KernelTable*> available_kernels();
// The table named `isa` ("reference", "avx2", "avx512", or "best"); throws Error when it is unknown or
// this CPU cannot run it.
const KernelTable& kernels_by_name(const char* isa);

}  // namespace tinyptq::fp32
