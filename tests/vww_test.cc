// The MLPerf Tiny visual-wake-words MobileNet (../shared/models/mlperf-tiny-vww/vww_96.h5, depthwise convs)
// end to end with data from image folders: the tests write CIFAR-10 images as PNG class folders (32×32; the
// tool upscales them to the model's 96×96, bilinear), calibrate `best` on training images and measure on
// the 1,000 test images: top-1 agreement with FP32, output SQNR, and ONNX Runtime running the QDQ model.
#include <gtest/gtest.h>

#include <filesystem>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "data/cifar.h"
#include "data/image_encode.h"
#include "data/open_source.h"
#include "engine/fp32_engine.h"
#include "engine/int_engine.h"
#include "export_c/c_program.h"
#include "export_c/integer_core.h"
#include "kernels/int8/kernel_table.h"
#include "quant/requant.h"
#include "onnx/onnx_reader.h"
#include "ort/ort_runner.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using namespace tinyptq::testing;

std::string vww_h5() { return shared_dir() + "/models/mlperf-tiny-vww/vww_96.h5"; }

struct Fixture {
  TempDir dir;
  std::string onnx, train_png, test_png;
};

// CIFAR-10 images as DIR/<index>_<class>/<k>.png; every class folder exists, even one left empty.
void write_png_folder(const Dataset& d, const std::vector<int64_t>& indices, const std::string& dir) {
  for (int c = 0; c < Dataset::kNumClasses; ++c)
    std::filesystem::create_directories(dir + "/" + std::to_string(c) + "_" + d.class_names[size_t(c)]);
  write_cifar_png_folder(d, indices, dir, 1, true);
}

Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.onnx = x.dir.file("vww.onnx");
    const auto r = run_tinyptq("import-keras " + shell_quote(vww_h5()) + " -o " + shell_quote(x.onnx));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const Dataset train = load_cifar10(cifar_dir(), Split::kTrain);
    std::vector<int64_t> calib, per_class(10, 0);
    for (int64_t k = 0; k < train.count; ++k)
      if (per_class[size_t(train.labels[size_t(k)])]++ < 100) calib.push_back(k);
    x.train_png = x.dir.file("train");
    write_png_folder(train, calib, x.train_png);
    const Dataset test = load_cifar10(cifar_dir(), Split::kTest);
    std::vector<int64_t> all(size_t(test.count));
    for (int64_t k = 0; k < test.count; ++k) all[size_t(k)] = k;
    x.test_png = x.dir.file("test");
    write_png_folder(test, all, x.test_png);
    return x;
  }();
  return f;
}

// The test PNGs as the model reads them: 96×96 NHWC, x / 255.
const Tensor& test_images() {
  static const Tensor t = [] {
    DataSpec spec;
    spec.path = fixture().test_png;
    spec.height = spec.width = 96;
    const auto src = open_data_source(spec, Layout::kNHWC, parse_preprocess("unit"));
    EXPECT_EQ(src->count(), 1000);
    EXPECT_EQ(src->sample_shape(), (Shape{96, 96, 3}));
    Tensor x = Tensor::zeros({src->count(), 96, 96, 3});
    std::vector<int64_t> idx(size_t(src->count()));
    for (int64_t k = 0; k < src->count(); ++k) idx[size_t(k)] = k;
    src->read(idx, x.f.data());
    return x;
  }();
  return t;
}

std::vector<int> top1(const Tensor& y) {
  const int64_t n = y.shape[0], c = y.shape[1];
  std::vector<int> r;
  for (int64_t i = 0; i < n; ++i)
    r.push_back(int(std::max_element(y.f.begin() + i * c, y.f.begin() + (i + 1) * c) - (y.f.begin() + i * c)));
  return r;
}

double agreement(const std::vector<int>& a, const std::vector<int>& b) {
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return 100.0 * double(same) / double(a.size());
}

double sqnr_db(const std::vector<float>& ref, const std::vector<float>& out) {
  double s = 0, e = 0;
  for (size_t i = 0; i < ref.size(); ++i) s += double(ref[i]) * ref[i], e += (double(ref[i]) - out[i]) * (double(ref[i]) - out[i]);
  return 10.0 * std::log10(s / e);
}

const Tensor& fp32_outputs() {
  static const Tensor y = Fp32Engine(load_onnx(fixture().onnx), Fp32EngineOptions{2}).run(test_images())[0];
  return y;
}

TEST(Vww, Fp32EngineEqualsOnnxRuntimeWithin1e5) {
  ASSERT_TRUE(ort_available()) << ort_unavailable_reason();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Tensor x = Tensor::zeros({8, 96, 96, 3});
  for (auto& v : x.f) v = u(rng);
  const Tensor ours = Fp32Engine(load_onnx(fixture().onnx)).run(x)[0];
  const Tensor ort = run_ort(fixture().onnx, x, 1);
  ASSERT_EQ(ours.shape, ort.shape);
  double max_diff = 0;
  for (size_t i = 0; i < ours.f.size(); ++i) max_diff = std::max(max_diff, double(std::abs(ours.f[i] - ort.f[i])));
  std::cout << "VWW FP32 engine vs ONNX Runtime on 8 random images: max |diff| = " << max_diff << "\n";
  EXPECT_LE(max_diff, 1e-5);
}

struct Quantized {
  double agreement = 0, sqnr = 0, ort_same = 0;
};

Quantized quantize_and_measure(const std::string& flags, const std::string& name) {
  const std::string out = fixture().dir.file(name + ".onnx");
  const auto r = run_tinyptq("quantize --model " + shell_quote(fixture().onnx) + " --data " +
                             shell_quote(fixture().train_png) + " --preprocess unit -o " + shell_quote(out) + flags);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("calibration: 1000 images"), std::string::npos) << r.output;
  IntEngineOptions opts;
  opts.threads = 2;
  const Tensor y = IntEngine(load_onnx(out), opts).run(test_images())[0];
  Quantized q;
  const std::vector<int> ours = top1(y);
  q.agreement = agreement(ours, top1(fp32_outputs()));
  q.sqnr = sqnr_db(fp32_outputs().f, y.f);
  EXPECT_TRUE(ort_available()) << ort_unavailable_reason();
  q.ort_same = agreement(top1(run_ort(out, test_images(), 2)), ours);
  std::cout << "VWW " << name << ": top-1 agreement with FP32 " << q.agreement << " % on 1000 upscaled CIFAR-10 "
            << "test PNGs, output SQNR " << q.sqnr << " dB; ONNX Runtime top-1 = integer engine on " << q.ort_same
            << " %\n";
  return q;
}

TEST(Vww, BestW8A8FromAnImageFolderAgreesWithFp32) {
  const Quantized q = quantize_and_measure("", "best-w8a8");
  EXPECT_GE(q.agreement, 99.0);
  EXPECT_GE(q.ort_same, 99.9);
}

TEST(Vww, BestW4A8AgreesWithFp32) {
  const Quantized q = quantize_and_measure(" --wbits 4 --abits 8", "best-w4a8");
  EXPECT_GE(q.agreement, 97.0);
  EXPECT_GE(q.ort_same, 99.9);
}

// export-c of the 8-bit model (depthwise convolutions, a MobileNet): the generated C on the host equals the
// integer engine (integer requantization) on the first 100 test images, for both targets.
TEST(Vww, ExportCIsBitExactWithTheIntegerEngine) {
  const std::string q = fixture().dir.file("best-w8a8.onnx");
  if (!std::ifstream(q)) quantize_and_measure("", "best-w8a8");
  if (std::getenv("VWW_KEEP")) run_command("cp " + q + " " + std::getenv("VWW_KEEP"));
  const Graph g = load_onnx(q);
  const export_c::CProgram prog = export_c::build_program(g, export_c::Target::kCortexM4);
  std::cout << "VWW export-c: arena " << prog.arena_bytes << " B, " << prog.layers.size() << " layers, "
            << prog.macs << " MACs\n";
  const int64_t n = 100;
  Tensor x = Tensor::zeros({n, 96, 96, 3});
  std::copy(test_images().f.begin(), test_images().f.begin() + n * 96 * 96 * 3, x.f.begin());
  int8::QuantizeParams qp;
  qp.scale = prog.input_quant.scale;
  qp.output = {prog.input_quant.zero_point, 0, 255};
  std::vector<uint8_t> codes(x.f.size());
  int8::reference_kernels().quantize.run(qp, x.f.data(), codes.data(), int64_t(codes.size()));
  std::string input;
  for (uint8_t c : codes) input.push_back(char(int(c) - 128));
  IntEngineOptions opts;
  opts.requant = Requantization::kInteger;
  const Tensor y = IntEngine(export_c::integer_core(g).graph, opts).run(x)[0];
  std::string want;
  for (int64_t v : y.i) want.push_back(char(v - (y.dtype == DType::kUint8 ? 128 : 0)));
  for (const char* target : {"cortex-m4", "generic"}) {
    SCOPED_TRACE(target);
    TempDir dir;
    const auto e = run_tinyptq("export-c --model " + shell_quote(q) + " -o " + shell_quote(dir.file("c")) +
                               " --prefix vww --target " + target);
    ASSERT_EQ(e.exit_code, 0) << e.output;
    write_bytes(dir.file("c/main.c"),
                "#include <stdio.h>\n#include \"vww.h\"\nstatic int8_t arena[VWW_ARENA_SIZE] "
                "__attribute__((aligned(8)));\nint main(void) {\n  static int8_t in[VWW_INPUT_SIZE];\n"
                "  int8_t out[VWW_OUTPUT_SIZE];\n  while (fread(in, 1, sizeof in, stdin) == sizeof in) {\n"
                "    vww_run(in, out, arena);\n    fwrite(out, 1, sizeof out, stdout);\n  }\n  return 0;\n}\n");
    const auto cc = run_command("cd " + shell_quote(dir.file("c")) +
                                " && gcc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -o host *.c 2>&1");
    ASSERT_EQ(cc.exit_code, 0) << cc.output;
    write_bytes(dir.file("in.bin"), input);
    const auto run = run_command(shell_quote(dir.file("c/host")) + " < " + shell_quote(dir.file("in.bin")) + " > " +
                                 shell_quote(dir.file("out.bin")));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    std::ifstream f(dir.file("out.bin"), std::ios::binary);
    const std::string got((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "the C outputs differ from the integer engine's";
  }
}

}  // namespace
}  // namespace tinyptq
