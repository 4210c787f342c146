// The int8 kernel ABI: one params struct per op (prepared once, read-only at run time), the function
// signatures every implementation of an op shares (reference, AVX2, AVX-512, ...), and the table the
// engine picks them from at run time. Run functions take raw pointers, never allocate and never throw;
// all validation happens when the params are made (make_* below, pack functions).
//
// Integer conventions shared by every kernel:
//  - Activations are uint8, NHWC (channels innermost), real = scale · (q − zero_point). An int8 tensor
//    (q, z) is held as (q + 128, z + 128), which represents exactly the same reals.
//  - Weights are int8, real = scale[c] · (w − zero_point[c]). A uint8 weight (w, z) is held as
//    (w − 128, z − 128), which keeps every difference w − z.
//  - Conv/Gemm accumulate acc = bias[c] + Σ (x − zx)(w − zw[c]) in int32, then requantize with
//    M[c] = s_x·s_w[c]/s_y in one of two arithmetics (Requantization below, quant/requant.h):
//      float:   y = clamp(round_half_even(float(acc) · float(M[c])) + zy, min, max)      (ONNX Runtime, MLAS)
//      integer: y = clamp(MBQM(acc, m[c], shift[c]) + zy, min, max), (m, shift) = QuantizeMultiplier(M[c])
//               computed in double on the host                                      (TFLite, CMSIS-NN)
//  - A fused Relu/Clip is the output clamp [min, max] ⊆ [0, 255]: quantize(relu(v)) = max(quantize(v), zy)
//    because rounding is monotonic.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/fp32/reference/window2d.h"
#include "quant/requant.h"

namespace tinyptq::int8 {


using Window2d = fp32_ref::Window2d;  // kernel, stride, dilation, explicit pads (ceil_mode: pools only)

// Requantized output: zero point and clamp bounds, all in the uint8 domain.
struct OutputStage {
  int32_t zero_point = 0;
  int32_t min = 0, max = 255;
};

// Output rows [begin, end) of every image a call computes (the engine splits work along them).
struct RowRange {
  int64_t begin = 0, end = 0;
};

// ---- Conv2D, NHWC uint8 activations × int8 weights ------------------------------------------------------

struct ConvShape {
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;
  int64_t groups = 1;  // in_c and out_c are multiples of it; depthwise: groups = in_c
  Window2d window;
  int64_t in_per_group() const { return in_c / groups; }
  int64_t out_per_group() const { return out_c / groups; }
  int64_t taps() const { return window.kernel_h * window.kernel_w * in_per_group(); }  // K of one output
};

// Output size floor((in + pb + pe − dk)/s) + 1 with dk = d·(k−1) + 1. Throws Error on channel counts that
// the groups do not divide, non-positive sizes, or a padded input shorter than the kernel.
ConvShape make_conv_shape(int64_t in_h, int64_t in_w, int64_t in_c, int64_t out_c, int64_t groups,
                          const Window2d& window);

// Weights of a Conv or Gemm as the lowering hands them to a kernel's pack function.
struct QuantizedWeights {
  const int8_t* data = nullptr;          // Conv: OIHW [out_c][in_c/groups][kh][kw]; Gemm: [n][k]
  const int32_t* bias = nullptr;         // [channels] at scale s_x·s_w[c]; null means 0
  const int32_t* zero_points = nullptr;  // [channels], int8 domain (−128..127)
  const float* multipliers = nullptr;    // [channels], M[c] = s_x·s_w[c]/s_y
  // [channels], QuantizeMultiplier(double(s_x)·double(s_w[c])/double(s_y)); non-null selects integer
  // requantization (then `multipliers` is not read).
  const FixedPointMultiplier* fixed = nullptr;
};

// The accumulator contract every Conv/Gemm kernel relies on: |bias[c]| + K·2^17 < 2^31 for every channel,
// K = taps per output. 2^17 > 4·255·128 bounds |x·w|, |zw·x|, |zx·w| and |zx·zw| per tap, so any folding of
// these terms into the bias, in any order, stays in int32.
bool fits_int32_accumulator(int64_t taps, const int32_t* bias, int64_t channels);

// Weights as one kernel reads them, written once by that kernel's pack function. Each pack function
// documents its layout and what it folded into `bias`.
struct PackedWeights {
  std::vector<int8_t> data;
  std::vector<int32_t> bias;         // [channels]
  std::vector<int32_t> zero_points;  // [channels]; empty when every weight zero point is 0
  std::vector<float> multipliers;    // [channels]; float requantization
  std::vector<FixedPointMultiplier> fixed;  // [channels]; non-empty: integer requantization (kernels whose
                                            // `fixed_point` is set)
};

struct ConvParams {
  ConvShape shape;
  int32_t input_zero_point = 0;  // uint8 domain; also the value of padded taps (real 0)
  OutputStage output;
  const PackedWeights* weights = nullptr;  // set after packing
};

// Packs w for the kernel (reads p.shape and p.input_zero_point, not p.weights). Requires
// fits_int32_accumulator(p.shape.taps(), ...) so that no int32 partial sum of any kernel can overflow.
using ConvPackFn = void (*)(const ConvParams& p, const QuantizedWeights& w, PackedWeights* out);
// Bytes of scratch one call needs, whatever its image count and row range. The engine gives each Conv step
// its own scratch per thread, zeroed when made and kept between calls, so a kernel may cache data there
// (the VNNI kernel keeps its padded source's border; see avx512/conv2d_vnni.h).
using ConvScratchFn = size_t (*)(const ConvParams& p);
// x: `images` NHWC images [in_h][in_w][in_c]; y: the same images' [out_h][out_w][out_c]; computes the
// output rows `rows` of each image.
using ConvRunFn = void (*)(const ConvParams& p, const uint8_t* x, uint8_t* y, int64_t images, RowRange rows,
                           void* scratch);

struct ConvKernel {
  const char* name = nullptr;
  bool (*supports)(const ConvShape& s) = nullptr;  // null: every shape
  ConvPackFn pack = nullptr;
  ConvScratchFn scratch_bytes = nullptr;
  ConvRunFn run = nullptr;
  // run computes the integer requantization when PackedWeights::fixed is non-empty (the pack copied
  // QuantizedWeights::fixed); otherwise integer models run this op on the reference kernel.
  bool fixed_point = false;
};

// ---- Gemm: Y[m][n] = requant(bias[n] + Σ_k (A[m][k] − za)(W[n][k] − zw[n])) ----------------------------

struct GemmParams {
  int64_t k = 0, n = 0;
  int32_t input_zero_point = 0;  // of A, uint8 domain
  OutputStage output;
  const PackedWeights* weights = nullptr;
};

using GemmPackFn = void (*)(const GemmParams& p, const QuantizedWeights& w, PackedWeights* out);
using GemmScratchFn = size_t (*)(const GemmParams& p);
// a: [rows][k] uint8, y: [rows][n] uint8.
using GemmRunFn = void (*)(const GemmParams& p, const uint8_t* a, uint8_t* y, int64_t rows, void* scratch);

struct GemmKernel {
  const char* name = nullptr;
  bool (*supports)(const GemmParams& p) = nullptr;  // null: every shape
  GemmPackFn pack = nullptr;
  GemmScratchFn scratch_bytes = nullptr;
  GemmRunFn run = nullptr;
  bool fixed_point = false;  // as ConvKernel::fixed_point
};

// ---- Add --------------------------------------------------------------------------------------------------
// float:   y = clamp(round_half_even(Ma·(a − za) + Mb·(b − zb)) + zy), Ma = s_a/s_y, Mb = s_b/s_y
// integer (TFLite's int8 Add): with t = 2·max(s_a, s_b), L = kAddLeftShift,
//   a' = MBQM((a − za)·2^L, QM(s_a/t)),  b' = MBQM((b − zb)·2^L, QM(s_b/t)),
//   y  = clamp(MBQM(a' + b', QM(t/(2^L·s_y))) + zy)
// (|a − za| ≤ 255, so (a − za)·2^20 < 2^28 and a' + b' fit int32.)
inline constexpr int kAddLeftShift = 20;

struct AddParams {
  int32_t a_zero_point = 0, b_zero_point = 0;
  float a_multiplier = 1, b_multiplier = 1;
  OutputStage output;
  bool integer = false;  // integer requantization with the three fixed-point multipliers below
  FixedPointMultiplier a_fixed, b_fixed, out_fixed;
};

// The integer fields of p (p.integer = true) from the three scales, computed in double as TFLite does.
void set_integer_add(AddParams& p, float a_scale, float b_scale, float out_scale);

using AddRunFn = void (*)(const AddParams& p, const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t count);

// ---- 2-D pools on NHWC ----------------------------------------------------------------------------------

struct PoolShape {
  int64_t in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  Window2d window;
};

// Output size as for Conv, with ceil_mode as in fp32_ref::window_output_size. Throws Error on bad sizes,
// on a pad not smaller than the kernel, and when some window holds no input element.
PoolShape make_pool_shape(int64_t in_h, int64_t in_w, int64_t channels, const Window2d& window);

// float:   y = clamp(round_half_even(float(S) · M_d) + zy), S = Σ_{taps inside the input} (x − zx),
//          M_d = s_x/(s_y·d)
// integer: equal input and output quantization: y = clamp(rounded_average(S, d) + zy), TFLite's AveragePool
//          (rounded division, half away from zero); otherwise one rounding, y = clamp(MBQM(S, QM_d) + zy),
//          QM_d = QuantizeMultiplier(double(s_x)/(double(s_y)·d)) (as TFLite's Mean across scales). Rounding
//          the average to the input grid first would lose the precision a finer output grid keeps.
// d = taps inside the input, or with count_include_pad the taps inside the padded extent
// [−pt, H + pb) × [−pl, W + pr) (taps that ceil_mode adds past the end padding are not counted).
struct AvgPoolParams {
  PoolShape shape;
  bool count_include_pad = false;
  int32_t input_zero_point = 0;
  float input_scale = 1, output_scale = 1;
  OutputStage output;
  bool integer = false;
};

using AvgPoolRunFn = void (*)(const AvgPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images,
                              RowRange rows);

// x: [images][image_size][channels] → y: [images][channels]; S = Σ x − image_size·zx;
// float:   y = clamp(round_half_even(float(S) · M) + zy), M = s_x/(s_y·image_size) (as ORT).
// integer: as AvgPoolParams with d = image_size: rounded_average when the quantizations are equal, else
//          MBQM(S, fixed) with fixed = QM(s_x/(s_y·image_size)).
struct GlobalAvgPoolParams {
  int64_t image_size = 0, channels = 0;
  int32_t input_zero_point = 0;
  float multiplier = 1;
  OutputStage output;
  bool integer = false;
  bool same_quant = false;     // integer only: input and output (scale, zero point) equal
  FixedPointMultiplier fixed;  // integer only
};

using GlobalAvgPoolRunFn = void (*)(const GlobalAvgPoolParams& p, const uint8_t* x, uint8_t* y,
                                    int64_t images);

// y = table[max over taps inside the input of x]; table is the identity when input and output
// quantization are equal, else the requantization of make_requantize_table (monotonic, so max commutes).
struct MaxPoolParams {
  PoolShape shape;
  std::array<uint8_t, 256> table{};
};

using MaxPoolRunFn = void (*)(const MaxPoolParams& p, const uint8_t* x, uint8_t* y, int64_t images,
                              RowRange rows);

// ---- Elementwise conversions -----------------------------------------------------------------------------

// y = clamp(round_half_even(x / scale) + zero_point, min, max); NaN → zero_point (real 0). A division, not a
// reciprocal multiply, as ONNX QuantizeLinear and ORT.
struct QuantizeParams {
  float scale = 1;
  OutputStage output;
};
using QuantizeRunFn = void (*)(const QuantizeParams& p, const float* x, uint8_t* y, int64_t count);

// y = float(x − zero_point) · scale.
struct DequantizeParams {
  float scale = 1;
  int32_t zero_point = 0;
};
using DequantizeRunFn = void (*)(const DequantizeParams& p, const uint8_t* x, float* y, int64_t count);

// y = table[x]: any uint8 → uint8 map, used for requantization between two quantizations.
struct RequantizeParams {
  std::array<uint8_t, 256> table{};
};
using RequantizeRunFn = void (*)(const RequantizeParams& p, const uint8_t* x, uint8_t* y, int64_t count);

// table[q] = Q_out(DQ_in(q)) = clamp(round_half_even(float(q − zi)·si / so) + zo, min, max): exactly what
// DequantizeLinear followed by QuantizeLinear computes in float.
std::array<uint8_t, 256> make_requantize_table(float in_scale, int32_t in_zero_point, float out_scale,
                                               const OutputStage& out);
std::array<uint8_t, 256> identity_table();
// The integer-arithmetic table: table[q] = clamp(MBQM(q − zi, QM(si/so)) + zo, min, max).
std::array<uint8_t, 256> make_requantize_table_fixed(float in_scale, int32_t in_zero_point, float out_scale,
                                                     const OutputStage& out);

// ---- The table -------------------------------------------------------------------------------------------

template <typename Fn>
struct Kernel {
  const char* name = nullptr;
  Fn run = nullptr;
  // run also computes the integer arithmetic (e.g. AddParams::integer); otherwise integer models run this
  // op on the reference kernel.
  bool fixed_point = false;
};

struct KernelTable {
  const char* isa = nullptr;  // "reference", "avx2", "avx-vnni", "avx512-vnni"
  ConvKernel conv;
  ConvKernel depthwise;  // groups = in_c = out_c; the engine uses it where its `supports` holds
  GemmKernel gemm;
  Kernel<AddRunFn> add;
  Kernel<AvgPoolRunFn> avgpool;
  Kernel<GlobalAvgPoolRunFn> global_avgpool;
  Kernel<MaxPoolRunFn> maxpool;
  Kernel<QuantizeRunFn> quantize;
  Kernel<DequantizeRunFn> dequantize;
  Kernel<RequantizeRunFn> requantize;
};

// The plain scalar kernels that define correct behaviour.
const KernelTable& reference_kernels();
// The fastest kernels this CPU runs (chosen once from CPUID): AVX-512 VNNI, else AVX-VNNI, else AVX2, else
// reference.
const KernelTable& best_kernels();
// Every table this CPU can run, reference first, then avx2, avx-vnni, avx512-vnni as the CPU allows; tests
// check each against the reference formulas.
//
// Adding an ISA: put its kernels in src/kernels/int8/<isa>/<op>_<isa>.cc (that suffix gets the ISA's
// compiler flags) with exactly the signatures above, its own pack function where it wants another weight
// layout, and `supports` where it handles only some shapes (the engine falls back to the reference kernel
// for the others); build its table in kernel_table.cc and list it here and in best_kernels() behind a
// CPUID check.
std::vector<const KernelTable*> available_kernels();
// Names of every integer table in preference order, whatever this CPU runs.
inline constexpr const char* kKernelTableNames[] = {"avx512-vnni", "avx-vnni", "avx2", "reference"};
// The table named `isa` (one of kKernelTableNames, or "best"); throws Error when the name is unknown or
// this CPU cannot run that table.
const KernelTable& kernels_by_name(const std::string& isa);

}  // namespace tinyptq::int8
