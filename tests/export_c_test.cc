// tinyptq export-c on host: the generated C99 (gcc -std=c99 -Wall -Wextra -Werror) run on all test-1k
// images gives exactly the integer engine's int8 logits (integer requantization), for both targets; the
// memory planner never lets two live buffers share bytes; hostile input leaves nothing behind.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/cifar.h"
#include "engine/int_engine.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "export_c/c_program.h"
#include "export_c/integer_core.h"
#include "export_c/memory_planner.h"
#include "kernels/int8/kernel_table.h"
#include "onnx/onnx_reader.h"
#include "quant/requant.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using namespace tinyptq::testing;

// The 8-bit `best` ResNet8, made once.
const std::string& best_model() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = dir.file("best.onnx");
    const auto r = run_tinyptq("quantize --model " + shell_quote(resnet8_onnx()) + " --data " +
                               shell_quote(cifar_dir()) + " -o " + shell_quote(p));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return p;
  }();
  return path;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A host main: reads N inputs from argv[1], writes N outputs to argv[2].
std::string host_main(const std::string& prefix) {
  std::string up = prefix;
  for (char& c : up) c = char(std::toupper(static_cast<unsigned char>(c)));
  return "#include <stdio.h>\n#include \"" + prefix + ".h\"\nstatic int8_t arena[" + up +
         "_ARENA_SIZE] __attribute__((aligned(8)));\nint main(int argc, char** argv) {\n  int8_t in[" + up +
         "_INPUT_SIZE], out[" + up + "_OUTPUT_SIZE];\n  FILE* f;\n  FILE* g;\n  if (argc != 3) return 2;\n"
         "  f = fopen(argv[1], \"rb\");\n  g = fopen(argv[2], \"wb\");\n  if (!f || !g) return 3;\n"
         "  while (fread(in, 1, sizeof in, f) == sizeof in) {\n    if (" + prefix +
         "_run(in, out, arena) != 0) return 4;\n    fwrite(out, 1, sizeof out, g);\n  }\n"
         "  fclose(f);\n  return fclose(g) != 0;\n}\n";
}

struct EngineRun {
  std::vector<int8_t> inputs;   // N × input size, the C function's int8 input codes
  std::vector<int8_t> outputs;  // N × output size, the engine's codes in the int8 domain
  std::vector<int> top1;        // the engine's top-1 on the full model (with Softmax)
  int64_t in_size = 0, out_size = 0, images = 0;
};

// The integer engine (integer requantization) on test-1k: on the integer core (for the bytes) and on the
// whole model (for the top-1), and the input codes the C function takes.
const EngineRun& engine_run() {
  static const EngineRun run = [] {
    EngineRun r;
    const Graph g = load_model(best_model());
    const Dataset test = load_cifar10(cifar_dir(), Split::kTest);
    r.images = test.count;
    const Tensor x = image_batch(test, 0, test.count, input_layout(g), {});
    const export_c::CProgram prog = export_c::build_program(g, export_c::Target::kGeneric);
    r.in_size = prog.input_size, r.out_size = prog.output_size;
    // Input codes as the engine's quantize step computes them, shifted to int8.
    int8::QuantizeParams qp;
    qp.scale = prog.input_quant.scale;
    qp.output = {prog.input_quant.zero_point, 0, 255};
    std::vector<uint8_t> codes(x.f.size());
    int8::reference_kernels().quantize.run(qp, x.f.data(), codes.data(), int64_t(codes.size()));
    for (uint8_t c : codes) r.inputs.push_back(int8_t(int(c) - 128));

    IntEngineOptions opts;
    opts.threads = 2;
    opts.requant = Requantization::kInteger;
    IntEngine core(export_c::integer_core(g).graph, opts);
    const Tensor y = core.run(x)[0];
    EXPECT_EQ(num_elements(y.shape), test.count * r.out_size);
    const int shift = y.dtype == DType::kUint8 ? 128 : 0;
    for (int64_t v : y.i) r.outputs.push_back(int8_t(v - shift));

    IntEngine full(g, opts);
    const Tensor p = full.run(x)[0];
    const int64_t classes = p.shape[1];
    for (int64_t i = 0; i < test.count; ++i)
      r.top1.push_back(int(std::max_element(p.f.begin() + i * classes, p.f.begin() + (i + 1) * classes) -
                           (p.f.begin() + i * classes)));
    return r;
  }();
  return run;
}

void check_host_bit_exact(const std::string& target) {
  SCOPED_TRACE(target);
  TempDir dir;
  const std::string out = dir.file("c");
  const auto e = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(out) +
                             " --prefix r8 --target " + target);
  ASSERT_EQ(e.exit_code, 0) << e.output;
  std::cout << e.output;
  write_bytes(out + "/main.c", host_main("r8"));
  const auto cc = run_command("cd " + shell_quote(out) +
                              " && gcc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -o host *.c 2>&1");
  ASSERT_EQ(cc.exit_code, 0) << cc.output;
  const EngineRun& r = engine_run();
  write_bytes(dir.file("in.bin"), std::string(r.inputs.begin(), r.inputs.end()));
  const auto run = run_command(shell_quote(out + "/host") + " " + shell_quote(dir.file("in.bin")) + " " +
                               shell_quote(dir.file("out.bin")));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string got = read_all(dir.file("out.bin"));
  ASSERT_EQ(got.size(), r.outputs.size());
  int64_t differing = 0, same_top1 = 0;
  for (int64_t i = 0; i < r.images; ++i) {
    const auto* c = reinterpret_cast<const int8_t*>(got.data()) + i * r.out_size;
    differing += !std::equal(c, c + r.out_size, r.outputs.begin() + i * r.out_size);
    same_top1 += int(std::max_element(c, c + r.out_size) - c) == r.top1[size_t(i)];
  }
  EXPECT_EQ(differing, 0) << "images whose C logits differ from the integer engine's";
  // Softmax is monotonic, so the int8 logits' argmax is the model's top-1 (first index on ties, both sides).
  EXPECT_EQ(same_top1, r.images);
  std::cout << target << ": C = integer engine on " << r.images - differing << "/" << r.images
            << " images (all " << r.out_size << " logits)\n";
}

TEST(ExportCHost, CortexM4SourcesAreBitExactWithTheIntegerEngineOnTest1k) { check_host_bit_exact("cortex-m4"); }
TEST(ExportCHost, GenericSourcesAreBitExactWithTheIntegerEngineOnTest1k) { check_host_bit_exact("generic"); }

// The firmware on an emulated Cortex-M4 (tools/cortex-m4, QEMU mps2-an386, docs/mcu.md): 200 test images
// (MLPerf Tiny's IC set size), every logit equal to the integer engine's (= the host build's, above), for the
// DSP and the portable kernels; flash (the library's code + constants that the link keeps) <= 100 KiB.
struct DeviceRun {
  int64_t library_flash = -1;
  double instructions = 0;  // mean per inference
};

DeviceRun run_on_cortex_m4(const std::string& target, int64_t images) {
  SCOPED_TRACE(target);
  TempDir dir;
  const std::string lib = dir.file("lib"), work = dir.file("work"), elf = dir.file("fw.elf");
  auto e = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(lib) +
                       " --prefix r8 --target " + target);
  EXPECT_EQ(e.exit_code, 0) << e.output;
  const std::string tools = std::string(TINYPTQ_SOURCE_DIR) + "/tools/cortex-m4";
  const auto b = run_command("sh " + shell_quote(tools + "/build.sh") + " " + shell_quote(lib) + " r8 " +
                             shell_quote(elf) + " 2>&1");
  EXPECT_EQ(b.exit_code, 0) << b.output;
  std::cout << b.output;
  DeviceRun d;
  const std::string key = "library flash kept after --gc-sections: ";
  const auto kept = b.output.find(key);
  if (kept != std::string::npos) d.library_flash = std::stoll(b.output.substr(kept + key.size()));
  const EngineRun& r = engine_run();
  ::mkdir(work.c_str(), 0777);
  write_bytes(work + "/input.bin", std::string(r.inputs.begin(), r.inputs.begin() + images * r.in_size));
  const auto q = run_command("sh " + shell_quote(tools + "/run.sh") + " " + shell_quote(elf) + " " +
                             shell_quote(work) + " 600 2>&1");
  EXPECT_EQ(q.exit_code, 0) << q.output;
  std::cout << q.output;
  const std::string got = read_all(work + "/output.bin");
  EXPECT_EQ(int64_t(got.size()), images * r.out_size);
  int64_t differing = 0;
  for (int64_t i = 0; i < images && int64_t(got.size()) == images * r.out_size; ++i) {
    const auto* c = reinterpret_cast<const int8_t*>(got.data()) + i * r.out_size;
    differing += !std::equal(c, c + r.out_size, r.outputs.begin() + i * r.out_size);
  }
  EXPECT_EQ(differing, 0) << "images whose device logits differ from the engine's (and the host's)";
  std::ifstream counts(work + "/counts.txt");
  int64_t index = 0, ticks = 0, instructions = 0, n = 0;
  double total = 0;
  while (counts >> index >> ticks >> instructions) total += double(instructions), ++n;
  EXPECT_EQ(n, images);
  d.instructions = n ? total / double(n) : 0;
  return d;
}

TEST(ExportCQemu, CortexM4PredictionsEqualTheHostOn200ImagesWithinTheFlashBudget) {
  const DeviceRun dsp = run_on_cortex_m4("cortex-m4", 200);
  const DeviceRun portable = run_on_cortex_m4("generic", 20);
  const double macs = 12501632;
  std::cout << "Cortex-M4 (QEMU -icount), ResNet8 8-bit best: DSP kernels " << dsp.instructions
            << " instructions/inference (" << dsp.instructions / macs << " per MAC), portable "
            << portable.instructions << " (" << portable.instructions / macs << " per MAC); library flash "
            << dsp.library_flash << " B (DSP), " << portable.library_flash << " B (portable)\n";
  EXPECT_GT(dsp.library_flash, 80000);  // at least the constants
  EXPECT_LE(dsp.library_flash, 100 * 1024);
  EXPECT_LE(portable.library_flash, 100 * 1024);
  EXPECT_GT(dsp.instructions, 0);
  EXPECT_LT(dsp.instructions, portable.instructions);  // SMLAD: two MACs per instruction
}

TEST(ExportCHost, ResNet8FitsTheBudgetsAndIsDeterministic) {
  const Graph g = load_model(best_model());
  const export_c::CProgram p = export_c::build_program(g, export_c::Target::kCortexM4);
  EXPECT_LE(p.arena_bytes, 40 * 1024);
  EXPECT_EQ(p.macs, 12501632);
  int fused = 0;
  for (const auto& l : p.layers) fused += l.residual != nullptr;
  EXPECT_EQ(fused, 3);  // the three residual Adds
  for (size_t i = 0; i < p.buffers.size(); ++i)
    for (size_t j = i + 1; j < p.buffers.size(); ++j) {
      const auto &a = p.buffers[i], &b = p.buffers[j];
      const bool live_together = a.first <= b.last && b.first <= a.last;
      const bool share = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
      EXPECT_FALSE(live_together && share) << p.buffer_names[i] << " and " << p.buffer_names[j];
    }
  TempDir dir;
  for (const char* d : {"a", "b"}) {
    const auto e = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(dir.file(d)));
    ASSERT_EQ(e.exit_code, 0) << e.output;
  }
  for (const char* f : {"model.h", "model.c", "model_weights.c", "model_kernels.h", "model_kernels.c"})
    EXPECT_EQ(read_all(dir.file(std::string("a/") + f)), read_all(dir.file(std::string("b/") + f))) << f;
}

TEST(ExportCPlanner, LiveBuffersNeverShareBytesAndTheArenaIsTight) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<export_c::ArenaBuffer> bufs;
    const int n = 1 + int(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const int first = int(rng() % 10);
      bufs.push_back({int64_t(rng() % 5000), first, first + int(rng() % 4), -1});
    }
    const int64_t arena = export_c::plan_arena(bufs);
    EXPECT_GE(arena, export_c::peak_live_bytes(bufs) - 8 * n);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(bufs[size_t(i)].offset % 8, 0);
      EXPECT_LE(bufs[size_t(i)].offset + bufs[size_t(i)].bytes, arena);
      for (int j = i + 1; j < n; ++j) {
        const auto &a = bufs[size_t(i)], &b = bufs[size_t(j)];
        if (a.first <= b.last && b.first <= a.last && a.bytes > 0 && b.bytes > 0)
          EXPECT_TRUE(a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset) << trial;
      }
    }
  }
  // A chain x → y → z: x and z can share; the arena is two buffers, not three.
  std::vector<export_c::ArenaBuffer> chain = {{100, 0, 1, -1}, {100, 1, 2, -1}, {100, 2, 3, -1}};
  EXPECT_EQ(export_c::plan_arena(chain), 208);
  EXPECT_EQ(chain[0].offset, chain[2].offset);
}

TEST(ExportCHostile, FloatModelBadPrefixBadTargetAndUnwritableDirLeaveNothing) {
  TempDir dir;
  auto r = run_tinyptq("export-c --model " + shell_quote(resnet8_onnx()) + " -o " + shell_quote(dir.file("f")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a quantized model"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(resnet8_onnx()), std::string::npos) << r.output;
  EXPECT_FALSE(exists(dir.file("f")));

  r = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(dir.file("p")) +
                  " --prefix 9lives");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a C identifier"), std::string::npos) << r.output;
  EXPECT_FALSE(exists(dir.file("p")));

  r = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(dir.file("t")) +
                  " --target avr");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown target 'avr'"), std::string::npos) << r.output;

  write_bytes(dir.file("file"), "x");
  r = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(dir.file("file")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("not a directory"), std::string::npos) << r.output;
  r = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(dir.file("no/such/dir")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot create"), std::string::npos) << r.output;

  ::mkdir(dir.file("ro").c_str(), 0555);
  r = run_tinyptq("export-c --model " + shell_quote(best_model()) + " -o " + shell_quote(dir.file("ro")));
  if (::geteuid() != 0) {  // root writes anywhere
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_FALSE(exists(dir.file("ro/model.c")));
  }
}

// A QDQ model with a float op between integer ones: the error lists it.
TEST(ExportCHostile, FloatOpInsideTheNetworkIsNamed) {
  Graph g = load_model(best_model());
  // DQ(x) → Softmax → AveragePool: a float op (and a float pool, and a re-quantization) mid-network.
  bool done = false;
  for (size_t i = 0; i < g.nodes.size() && !done; ++i) {
    if (g.nodes[i].op != Op::kAveragePool) continue;
    const std::string x = g.nodes[i].inputs[0], y = g.unique_name(x + "_softmax");
    g.nodes[i].inputs[0] = y;
    Node sm{Op::kSoftmax, "inserted_softmax", {x}, {y}, Attrs{}};
    sm.attrs.axis = 1;
    g.nodes.push_back(sm);
    done = true;
  }
  g.validate_and_sort();
  ASSERT_TRUE(done);
  try {
    export_c::build_program(g, export_c::Target::kGeneric);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'inserted_softmax' runs in float"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("quantizes a float value inside the network"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tinyptq
