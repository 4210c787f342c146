// FP32 engine and kernel throughput (Google Benchmark; built into tinyptq_microbench).
//   BM_Resnet8Engine/<batch>/<threads>: Fp32Engine on MLPerf Tiny ResNet8 (12.5 M MACs/image), counters
//     images_per_s and GFLOP/s (2 flops per MAC). The model is read from $TINYPTQ_SHARED (default
//     ../shared beside the source tree).
//   BM_Conv/<kernels>/<case>: one Conv layer of ResNet8 with the reference, AVX2 and AVX-512 kernels.
//   BM_PhasePlanes/<kernels>/<case>: building the phase planes of a ResNet8 Conv (the strided and the
//     4 KB-stride ones), BM_Transpose2d/<kernels> the NHWC→NCHW input, BM_PlaneMean/<kernels> the 8×8
//     AveragePool over 64 channels. Kernel set 0 is the portable/reference one.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/fp32_engine.h"
#include "keras/keras_import.h"
#include "kernels/fp32/kernel_table.h"
#include "kernels/fp32/portable/conv_plan.h"

namespace tinyptq {
namespace {

constexpr double kResnet8Macs = 12.5e6;

std::string shared_dir() {
  const char* env = std::getenv("TINYPTQ_SHARED");
  return env && *env ? env : std::string(TINYPTQ_SOURCE_DIR) + "/../shared";
}

const Graph& resnet8() {
  static const Graph g = import_keras_h5(shared_dir() + "/models/mlperf-tiny-resnet8/pretrainedResnet.h5");
  return g;
}

Tensor random_input(int64_t batch) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  Tensor t = Tensor::zeros({batch, 32, 32, 3});
  for (float& v : t.f) v = dist(rng);
  return t;
}

void BM_Resnet8Engine(benchmark::State& state) {
  const int64_t batch = state.range(0);
  Fp32EngineOptions opts;
  opts.threads = int(state.range(1));
  Fp32Engine engine(resnet8(), opts);
  const Tensor x = random_input(batch);
  engine.run(x);  // plan + warm-up
  for (auto _ : state) benchmark::DoNotOptimize(engine.run(x));
  const double images = double(state.iterations()) * double(batch);
  state.counters["images_per_s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(images * 2 * kResnet8Macs * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(engine.kernel_isa());
}
BENCHMARK(BM_Resnet8Engine)
    ->ArgsProduct({{1, 256}, {1, 2}})
    ->ArgNames({"batch", "threads"})
    ->UseRealTime()
    ->MinTime(1.0);

struct ConvCase {
  int64_t c, m, hw, k, stride, pad;
};
constexpr ConvCase kCases[] = {
    {3, 16, 32, 3, 1, 1},  {16, 16, 32, 3, 1, 1}, {16, 32, 32, 3, 2, 1}, {32, 32, 16, 3, 1, 1},
    {16, 32, 32, 1, 2, 0}, {32, 64, 16, 3, 2, 1}, {64, 64, 8, 3, 1, 1},
};

// The table of argument 0 (index into available_kernels()), or null after marking the run skipped.
const fp32::KernelTable* table_or_skip(benchmark::State& state) {
  const auto tables = fp32::available_kernels();
  if (size_t(state.range(0)) < tables.size()) return tables[state.range(0)];
  state.SkipWithError("kernel set not available on this CPU");
  return nullptr;
}

fp32_ref::Conv2dParams conv_params(const ConvCase& cc) {
  fp32_ref::Window2d win;
  win.kernel_h = win.kernel_w = cc.k;
  win.stride_h = win.stride_w = cc.stride;
  win.pad_top = win.pad_left = win.pad_bottom = win.pad_right = cc.pad;
  return fp32_ref::make_conv2d_params({1, cc.c, cc.hw, cc.hw}, {cc.m, cc.c, cc.k, cc.k}, win, 1);
}

void BM_Conv(benchmark::State& state) {
  const fp32::KernelTable* table = table_or_skip(state);
  if (!table) return;
  const fp32::KernelTable& k = *table;
  const ConvCase& cc = kCases[state.range(1)];
  const auto params = conv_params(cc);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> w(size_t(cc.m * cc.c * cc.k * cc.k)), b(size_t(cc.m)), x(size_t(cc.c * cc.hw * cc.hw));
  for (auto* v : {&w, &b, &x})
    for (float& f : *v) f = dist(rng);
  const fp32::ConvPlan plan = fp32::make_conv_plan(params, w.data(), b.data(), 0.0f, INFINITY, k.conv);
  const fp32::ConvRunFn run = plan.implicit ? k.conv.run : fp32::conv_run_reference;
  std::vector<float> y(size_t(plan.image_out())), scratch(size_t(fp32::conv_scratch_floats(plan)) + 1);
  const int64_t items = fp32::conv_items(plan, 1);
  for (auto _ : state) {
    run(plan, x.data(), nullptr, y.data(), 1, 0, items, nullptr, scratch.data());
    benchmark::DoNotOptimize(y.data());
  }
  const double macs = double(params.out_channels * params.out_h * params.out_w * cc.c * cc.k * cc.k);
  state.counters["GFLOP/s"] = benchmark::Counter(double(state.iterations()) * 2 * macs * 1e-9,
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(std::string(k.isa) + " C" + std::to_string(cc.c) + " M" + std::to_string(cc.m) + " " +
                 std::to_string(cc.hw) + "x" + std::to_string(cc.hw) + " k" + std::to_string(cc.k) + " s" +
                 std::to_string(cc.stride));
}
BENCHMARK(BM_Conv)->ArgsProduct({{0, 1, 2}, {0, 1, 2, 3, 4, 5, 6}})->ArgNames({"kernels", "case"});

void BM_PhasePlanes(benchmark::State& state) {
  const fp32::KernelTable* k = table_or_skip(state);
  if (!k) return;
  const ConvCase& cc = kCases[state.range(1)];
  const auto params = conv_params(cc);
  std::vector<float> w(size_t(cc.m * cc.c * cc.k * cc.k), 0.5f), x(size_t(cc.c * cc.hw * cc.hw), 1.0f);
  // Plans of the SIMD sets (the reference set has none): the portable builder stands for set 0.
  const fp32::ConvKernel& layout = fp32::best_kernels().conv;
  const fp32::ConvPlan plan = fp32::make_conv_plan(params, w.data(), nullptr, 0.0f, INFINITY, layout);
  if (fp32::conv_planes_floats(plan) == 0) {
    state.SkipWithError("this conv reads its input directly");
    return;
  }
  const fp32::PhasePlanesFn build = k->conv.planes ? k->conv.planes : fp32::build_phase_planes;
  std::vector<float> planes(size_t(fp32::conv_planes_floats(plan)));
  for (auto _ : state) {
    build(plan, x.data(), planes.data(), 0, cc.c);
    benchmark::DoNotOptimize(planes.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(planes.size() * sizeof(float)));
  state.SetLabel(std::string(k->isa) + " C" + std::to_string(cc.c) + " " + std::to_string(cc.hw) + "x" +
                 std::to_string(cc.hw) + " k" + std::to_string(cc.k) + " s" + std::to_string(cc.stride));
}
BENCHMARK(BM_PhasePlanes)->ArgsProduct({{0, 1, 2}, {1, 2, 4, 5}})->ArgNames({"kernels", "case"});

void BM_Transpose2d(benchmark::State& state) {
  const fp32::KernelTable* k = table_or_skip(state);
  if (!k) return;
  std::vector<float> x(32 * 32 * 3, 1.0f), y(x.size());
  for (auto _ : state) {
    k->transpose2d.run(x.data(), y.data(), 32 * 32, 3);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(x.size()));
  state.SetLabel(std::string(k->isa) + " 32x32x3 NHWC->NCHW");
}
BENCHMARK(BM_Transpose2d)->Arg(0)->Arg(1)->Arg(2)->ArgName("kernels");

void BM_PlaneMean(benchmark::State& state) {
  const fp32::KernelTable* k = table_or_skip(state);
  if (!k) return;
  std::vector<float> x(64 * 64, 1.0f), y(64);
  for (auto _ : state) {
    k->plane_mean.run(x.data(), y.data(), 64, 0, 64);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(x.size()));
  state.SetLabel(std::string(k->isa) + " 64 planes of 8x8");
}
BENCHMARK(BM_PlaneMean)->Arg(0)->Arg(1)->Arg(2)->ArgName("kernels");

}  // namespace
}  // namespace tinyptq
