// The Cortex-M4 harness (tools/cortex-m4: build.sh, run.sh, QEMU mps2-an386) against dummy libraries
// shaped like export-c output (PREFIX.h, PREFIX.c, PREFIX_weights.c, a kernel file), written here. The
// outputs must equal the same computation on the host, the instruction counts must be positive, repeat
// exactly run to run and grow with the work. Fails, never skips, when arm-none-eabi-gcc or
// qemu-system-arm is missing (scripts/setup.sh installs them).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <cctype>
#include <string>
#include <vector>

#include "test_util.h"

namespace tinyptq {
namespace {

using testing::run_command;
using testing::shell_quote;
using testing::TempDir;
using testing::write_bytes;

constexpr int kInputSize = 75;  // not a multiple of 4: the harness must not assume word-sized images
constexpr int kOutputSize = 10;
constexpr int kWeightCount = 37;
constexpr int kRunTimeoutSeconds = 120;

std::string harness_dir() { return std::string(TINYPTQ_SOURCE_DIR) + "/tools/cortex-m4"; }

int8_t weight(int i) { return int8_t((i * 29 + 7) % 61 - 30); }

// The dummy model, shared by the generated C and the host reference:
//   acc[o] = sum over passes p, inputs i of input[i] * weight[(i + p + o) % kWeightCount]  (mod 2^32)
//   output[o] = low byte of (acc[o] ^ (acc[o] >> 8))
// The accumulators live in the arena; the library returns 1 if the arena is not 8-byte aligned.
std::vector<int8_t> host_dummy(const int8_t* input, int passes) {
  std::vector<int8_t> out(kOutputSize);
  for (int o = 0; o < kOutputSize; ++o) {
    uint32_t acc = 0;
    for (int p = 0; p < passes; ++p)
      for (int i = 0; i < kInputSize; ++i) acc += uint32_t(int32_t(input[i]) * weight((i + p + o) % kWeightCount));
    out[o] = int8_t(uint8_t(acc ^ (acc >> 8)));
  }
  return out;
}

// Writes PREFIX.h, PREFIX.c, PREFIX_weights.c and PREFIX_kernel.c into dir.
void write_dummy_library(const std::string& dir, const std::string& prefix, int passes, bool fail = false) {
  std::filesystem::create_directories(dir);
  const std::string& n = prefix;
  std::string up = prefix;  // the size macros are upper case, as export-c writes them
  for (char& c : up) c = char(std::toupper(static_cast<unsigned char>(c)));
  std::ostringstream h;
  h << "#ifndef " << n << "_H\n#define " << n << "_H\n#include <stdint.h>\n"
    << "#define " << up << "_INPUT_SIZE " << kInputSize << "\n"
    << "#define " << up << "_OUTPUT_SIZE " << kOutputSize << "\n"
    << "#define " << up << "_ARENA_SIZE " << kOutputSize * 4 << "\n"
    << "int " << n << "_run(const int8_t* input, int8_t* output, void* arena);\n#endif\n";
  write_bytes(dir + "/" + n + ".h", h.str());

  std::ostringstream w;
  w << "#include <stdint.h>\nconst int8_t " << n << "_weights[" << kWeightCount << "] = {";
  for (int i = 0; i < kWeightCount; ++i) w << (i ? ", " : "") << int(weight(i));
  w << "};\n";
  write_bytes(dir + "/" + n + "_weights.c", w.str());

  std::ostringstream k;
  k << "#include <stdint.h>\nextern const int8_t " << n << "_weights[" << kWeightCount << "];\n"
    << "void " << n << "_accumulate(const int8_t* x, int offset, uint32_t* acc) {\n"
    << "  for (int i = 0; i < " << kInputSize << "; ++i)\n"
    << "    *acc += (uint32_t)((int32_t)x[i] * " << n << "_weights[(i + offset) % " << kWeightCount << "]);\n}\n";
  write_bytes(dir + "/" + n + "_kernel.c", k.str());

  std::ostringstream c;
  c << "#include \"" << n << ".h\"\n#include <string.h>\n"
    << "void " << n << "_accumulate(const int8_t* x, int offset, uint32_t* acc);\n"
    << "int " << n << "_run(const int8_t* input, int8_t* output, void* arena) {\n"
    << "  if (((uintptr_t)arena & 7u) != 0) return 1;\n"
    << (fail ? "  if (input[0] == 0) return 2;\n" : "")
    << "  uint32_t* acc = (uint32_t*)arena;\n"
    << "  memset(acc, 0, " << kOutputSize << " * sizeof *acc);\n"
    << "  for (int p = 0; p < " << passes << "; ++p)\n"
    << "    for (int o = 0; o < " << kOutputSize << "; ++o) " << n << "_accumulate(input, p + o, &acc[o]);\n"
    << "  for (int o = 0; o < " << kOutputSize << "; ++o) output[o] = (int8_t)(uint8_t)(acc[o] ^ (acc[o] >> 8));\n"
    << "  return 0;\n}\n";
  write_bytes(dir + "/" + n + ".c", c.str());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

testing::CommandResult build(const std::string& libdir, const std::string& prefix, const std::string& elf) {
  return run_command("sh " + shell_quote(harness_dir() + "/build.sh") + " " + shell_quote(libdir) + " " +
                     shell_quote(prefix) + " " + shell_quote(elf));
}

testing::CommandResult run(const std::string& elf, const std::string& workdir) {
  return run_command("sh " + shell_quote(harness_dir() + "/run.sh") + " " + shell_quote(elf) + " " +
                     shell_quote(workdir) + " " + std::to_string(kRunTimeoutSeconds));
}

std::string random_images(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(-128, 127);
  std::string bytes(size_t(count) * kInputSize, '\0');
  for (auto& b : bytes) b = char(byte(rng));
  return bytes;
}

struct Count {
  uint64_t index = 0, ticks = 0, instructions = 0;
};

std::vector<Count> read_counts(const std::string& path) {
  std::vector<Count> counts;
  std::istringstream in(read_file(path));
  Count c;
  while (in >> c.index >> c.ticks >> c.instructions) counts.push_back(c);
  return counts;
}

// The decimal number right after `label` in text, or -1.
long number_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return -1;
  return std::strtol(text.c_str() + at + label.size(), nullptr, 10);
}

double mean_instructions(const std::vector<Count>& counts) {
  double sum = 0;
  for (const auto& c : counts) sum += double(c.instructions);
  return counts.empty() ? 0 : sum / double(counts.size());
}

class McuHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"})
      ASSERT_EQ(run_command(std::string("command -v ") + tool).exit_code, 0)
          << tool << " is not installed; run `bash scripts/setup.sh` (it installs gcc-arm-none-eabi, "
          << "libnewlib-arm-none-eabi and qemu-system-arm) and retry.";
  }

  // Builds a dummy library with `passes` into dir_/name, runs it on `images` and returns the counts.
  std::vector<Count> build_and_run(const std::string& name, int passes, const std::string& images,
                                   std::string* build_log = nullptr, std::string* run_log = nullptr) {
    const std::string lib = dir_.file(name + "-lib"), work = dir_.file(name + "-work");
    const std::string elf = dir_.file(name + ".elf");
    write_dummy_library(lib, name, passes);
    const auto b = build(lib, name, elf);
    EXPECT_EQ(b.exit_code, 0) << b.output;
    std::filesystem::create_directories(work);
    write_bytes(work + "/input.bin", images);
    const auto r = run(elf, work);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    if (build_log) *build_log = b.output;
    if (run_log) *run_log = r.output;

    const std::string out = read_file(work + "/output.bin");
    const size_t n = images.size() / kInputSize;
    EXPECT_EQ(out.size(), n * kOutputSize);
    for (size_t i = 0; i < n && out.size() == n * kOutputSize; ++i) {
      const auto want = host_dummy(reinterpret_cast<const int8_t*>(images.data()) + i * kInputSize, passes);
      for (int o = 0; o < kOutputSize; ++o)
        EXPECT_EQ(int(int8_t(out[i * kOutputSize + o])), int(want[o])) << "image " << i << " output " << o;
    }
    return read_counts(work + "/counts.txt");
  }

  TempDir dir_;
};

TEST_F(McuHarness, OutputsMatchHostAndCountsRepeat) {
  const int n = 7;
  const std::string images = random_images(n, 1234);
  std::string build_log, run_log;
  const auto first = build_and_run("tiny", 1, images, &build_log, &run_log);
  ASSERT_EQ(first.size(), size_t(n)) << run_log;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(first[i].index, uint64_t(i));
    EXPECT_GT(first[i].ticks, 0u);
    EXPECT_EQ(first[i].instructions, first[i].ticks * 40) << "25 MHz timer, 1 ns per instruction";
  }
  // One pass is 10 calls of a 75-step multiply-accumulate loop: at least a few thousand instructions.
  EXPECT_GT(mean_instructions(first), 10.0 * kInputSize) << run_log;
  EXPECT_NE(run_log.find("cortex-m4: model=tiny images=7 instructions/inference mean="), std::string::npos)
      << run_log;
  // The library's flash: object sum (before --gc-sections) >= what the link kept >= its weights.
  const long object_flash = number_after(build_log, "library flash (weights + code): ");
  const long kept_flash = number_after(build_log, "library flash kept after --gc-sections: ");
  EXPECT_GE(kept_flash, kWeightCount) << build_log;
  EXPECT_LE(kept_flash, object_flash) << build_log;
  EXPECT_NE(build_log.find("filename"), std::string::npos) << "arm-none-eabi-size table missing:\n" << build_log;

  // -icount shift=0 makes virtual time a function of the instruction stream only.
  const auto second = build_and_run("tiny", 1, images);
  ASSERT_EQ(second.size(), first.size());
  for (int i = 0; i < n; ++i) EXPECT_EQ(second[i].ticks, first[i].ticks) << "image " << i;
}

TEST_F(McuHarness, CountsGrowWithWork) {
  const std::string images = random_images(3, 99);
  const auto one = build_and_run("one_pass", 1, images);
  const auto four = build_and_run("four_pass", 4, images);
  ASSERT_EQ(one.size(), 3u);
  ASSERT_EQ(four.size(), 3u);
  const double ratio = mean_instructions(four) / mean_instructions(one);
  EXPECT_GT(ratio, 3.0) << mean_instructions(one) << " vs " << mean_instructions(four);
  EXPECT_LT(ratio, 5.0) << mean_instructions(one) << " vs " << mean_instructions(four);
}

TEST_F(McuHarness, ReportsBadInputAndFailingRun) {
  const std::string lib = dir_.file("lib"), work = dir_.file("work"), elf = dir_.file("fw.elf");
  write_dummy_library(lib, "flaky", 1, /*fail=*/true);
  const auto b = build(lib, "flaky", elf);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  std::filesystem::create_directories(work);

  // Not a whole number of images: status 2, no outputs.
  write_bytes(work + "/input.bin", random_images(2, 5) + "x");
  auto r = run(elf, work);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("input.bin: size is not a positive multiple of flaky_INPUT_SIZE"), std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(work + "/output.bin"));
  EXPECT_FALSE(std::filesystem::exists(work + "/output.bin.partial"));

  // The library returns 2 on the second image (first byte 0): status 4 naming the image.
  std::string images = random_images(2, 6);
  images[0] = 1;
  images[kInputSize] = 0;
  write_bytes(work + "/input.bin", images);
  r = run(elf, work);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("flaky_run returned non-zero on image 1"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(work + "/output.bin"));

  // A wrong prefix is a build error naming the missing header.
  const auto wrong = build(lib, "other", dir_.file("other.elf"));
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.output.find("other.h does not exist"), std::string::npos) << wrong.output;
}

}  // namespace
}  // namespace tinyptq
