// int8 elementwise, pooling and Gemm kernels (Google Benchmark; built into tinyptq_microbench), every kernel
// table this CPU runs side by side (arg 0: available_kernels() index, 0 = reference, then avx2, avx-vnni,
// avx512-vnni as the CPU allows; the label names the kernel), on ResNet8's shapes:
//   BM_Int8Add/<table>: 32×32×16 residual Add with requantization (16384 elements);
//   BM_Int8Quantize/<table>: the 32×32×3 float input image;
//   BM_Int8Dequantize/<table>: 4096 elements;
//   BM_Int8AvgPool/<table>: ResNet8's 8×8 AveragePool over 8×8×64;
//   BM_Int8GlobalAvgPool/<table>: 8×8×64;
//   BM_Int8Gemm/<table>/<rows>: 64 → 10 dense layer, 1 or 256 rows.
// Counter items/s = elements (or MACs for Gemm) per second.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/int8/kernel_table.h"

namespace tinyptq::int8 {
namespace {

const KernelTable* table_or_skip(benchmark::State& state) {
  const auto tables = available_kernels();
  if (static_cast<size_t>(state.range(0)) >= tables.size()) {
    state.SkipWithError("this CPU has no such kernel table");
    return nullptr;
  }
  return tables[size_t(state.range(0))];
}

std::vector<uint8_t> bytes(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = uint8_t(rng());
  return v;
}

void BM_Int8Add(benchmark::State& state) {
  const KernelTable* t = table_or_skip(state);
  if (!t) return;
  constexpr int64_t n = 32 * 32 * 16;
  const auto a = bytes(n, 1), b = bytes(n, 2);
  std::vector<uint8_t> y(n);
  AddParams p{0, 132, 0.58f, 1.8f, {0, 0, 255}};
  for (auto _ : state) {
    t->add.run(p, a.data(), b.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(t->add.name);
}
BENCHMARK(BM_Int8Add)->DenseRange(0, 3);

void BM_Int8Quantize(benchmark::State& state) {
  const KernelTable* t = table_or_skip(state);
  if (!t) return;
  constexpr int64_t n = 32 * 32 * 3;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = float(i % 256);
  std::vector<uint8_t> y(n);
  QuantizeParams p{1.0f, {0, 0, 255}};
  for (auto _ : state) {
    t->quantize.run(p, x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(t->quantize.name);
}
BENCHMARK(BM_Int8Quantize)->DenseRange(0, 3);

void BM_Int8Dequantize(benchmark::State& state) {
  const KernelTable* t = table_or_skip(state);
  if (!t) return;
  constexpr int64_t n = 4096;
  const auto x = bytes(n, 3);
  std::vector<float> y(n);
  DequantizeParams p{0.17f, 158};
  for (auto _ : state) {
    t->dequantize.run(p, x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(t->dequantize.name);
}
BENCHMARK(BM_Int8Dequantize)->DenseRange(0, 3);

void BM_Int8AvgPool(benchmark::State& state) {
  const KernelTable* t = table_or_skip(state);
  if (!t) return;
  AvgPoolParams p;
  p.shape = make_pool_shape(8, 8, 64, {8, 8, 1, 1, 1, 1, 0, 0, 0, 0, false});
  p.input_scale = 0.09f, p.output_scale = 0.02f;
  const auto x = bytes(8 * 8 * 64, 4);
  std::vector<uint8_t> y(64);
  for (auto _ : state) {
    t->avgpool.run(p, x.data(), y.data(), 1, {0, 1});
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * 8 * 8 * 64);
  state.SetLabel(t->avgpool.name);
}
BENCHMARK(BM_Int8AvgPool)->DenseRange(0, 3);

void BM_Int8GlobalAvgPool(benchmark::State& state) {
  const KernelTable* t = table_or_skip(state);
  if (!t) return;
  GlobalAvgPoolParams p{64, 64, 0, 0.0035f, {0, 0, 255}};
  const auto x = bytes(8 * 8 * 64, 5);
  std::vector<uint8_t> y(64);
  for (auto _ : state) {
    t->global_avgpool.run(p, x.data(), y.data(), 1);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * 8 * 8 * 64);
  state.SetLabel(t->global_avgpool.name);
}
BENCHMARK(BM_Int8GlobalAvgPool)->DenseRange(0, 3);

void BM_Int8Gemm(benchmark::State& state) {
  const KernelTable* t = table_or_skip(state);
  if (!t) return;
  const int64_t rows = state.range(1), k = 64, n = 10;
  GemmParams p;
  p.k = k, p.n = n, p.output = {158, 0, 255};
  const auto a = bytes(rows * k, 6);
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (size_t i = 0; i < w.size(); ++i) w[i] = int8_t(int(i * 37 % 255) - 127);
  std::vector<int32_t> bias(n, 5), zw(n, 0);
  std::vector<float> mult(n, 1e-3f);
  PackedWeights packed;
  const GemmKernel& g = t->gemm.supports && !t->gemm.supports(p) ? reference_kernels().gemm : t->gemm;
  g.pack(p, {w.data(), bias.data(), zw.data(), mult.data()}, &packed);
  p.weights = &packed;
  std::vector<uint8_t> y(static_cast<size_t>(rows * n)), scratch(g.scratch_bytes(p) + 1);
  for (auto _ : state) {
    g.run(p, a.data(), y.data(), rows, scratch.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * rows * k * n);
  state.SetLabel(g.name);
}
BENCHMARK(BM_Int8Gemm)->ArgsProduct({{0, 1, 2, 3}, {1, 256}});

}  // namespace
}  // namespace tinyptq::int8
