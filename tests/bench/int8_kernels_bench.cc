// int8 Conv2D throughput (Google Benchmark; built into tinyptq_microbench):
//   BM_Int8Conv/<table>/<case>: one ResNet8-like 3×3 Conv (pad 1, stride 1, batch 1) with the conv kernel
//   of available_kernels()[table] (0 reference, then AVX2, AVX-VNNI, AVX-512 VNNI as the CPU allows).
//   Cases: 0 = 32×32×16 → 16, 1 = 16×16×32 → 32, 2 = 8×8×64 → 64, 3 = 32×32×3 → 16 (the first conv).
//   Counter GMAC/s (multiply-accumulates per second).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8 {
namespace {

struct Shape {
  int64_t hw, in_c, out_c;
};
constexpr Shape kShapes[] = {{32, 16, 16}, {16, 32, 32}, {8, 64, 64}, {32, 3, 16}};

void BM_Int8Conv(benchmark::State& state) {
  const auto tables = available_kernels();
  if (size_t(state.range(0)) >= tables.size()) {
    state.SkipWithError("this CPU has no such kernel table");
    return;
  }
  const ConvKernel& kernel = tables[size_t(state.range(0))]->conv;
  const Shape sh = kShapes[state.range(1)];
  Window2d win;
  win.kernel_h = win.kernel_w = 3;
  win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = 1;
  ConvParams p;
  p.shape = make_conv_shape(sh.hw, sh.hw, sh.in_c, sh.out_c, 1, win);
  p.input_zero_point = 3;
  p.output = {128, 128, 255};
  const ConvShape& s = p.shape;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
  std::vector<uint8_t> x(size_t(s.in_h * s.in_w * s.in_c)), y(size_t(s.out_h * s.out_w * s.out_c));
  std::vector<int8_t> w(size_t(s.out_c * s.taps()));
  std::vector<int32_t> bias(size_t(s.out_c), 100), zw(size_t(s.out_c), 0);
  std::vector<float> mult(size_t(s.out_c), 1e-3f);
  for (auto& v : x) v = uint8_t(u8(rng));
  for (auto& v : w) v = int8_t(s8(rng));
  PackedWeights packed;
  kernel.pack(p, {w.data(), bias.data(), zw.data(), mult.data()}, &packed);
  p.weights = &packed;
  std::vector<uint8_t> scratch(kernel.scratch_bytes(p) + 1);
  for (auto _ : state) {
    kernel.run(p, x.data(), y.data(), 1, {0, s.out_h}, scratch.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double macs = double(s.out_h * s.out_w * s.out_c * s.taps());
  state.counters["GMAC/s"] = benchmark::Counter(double(state.iterations()) * macs * 1e-9,
                                                benchmark::Counter::kIsRate);
  state.SetLabel(kernel.name);
}
BENCHMARK(BM_Int8Conv)->ArgsProduct({{0, 1, 2, 3}, {0, 1, 2, 3}});

}  // namespace
}  // namespace tinyptq::int8
