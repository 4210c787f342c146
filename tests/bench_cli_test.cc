// `tinyptq bench` end to end: JSON fields and positive values for the integer engine (with ONNX Runtime
// alongside) and the FP32 engine, and clean errors for bad inputs. Short runs (--seconds 0.2); speed
// itself is never asserted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_util.h"

namespace tinyptq {
namespace {

using testing::run_command;
using testing::TempDir;

std::string bin() { return testing::tinyptq_binary(); }

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Every result has positive images/s and ordered latency percentiles; returns how many there are.
size_t check_results(const nlohmann::json& j, bool with_ort) {
  EXPECT_EQ(j.at("schema_version").get<int>(), 1);
  EXPECT_GT(j.at("macs_per_image").get<int64_t>(), 12000000);  // ResNet8: ≈ 12.5 M
  EXPECT_LT(j.at("macs_per_image").get<int64_t>(), 13000000);
  EXPECT_GT(j.at("peak").at("int8").at("macs_per_second_per_thread").get<double>(), 0);
  EXPECT_GT(j.at("peak").at("fp32").at("macs_per_second_per_thread").get<double>(), 0);
  for (const auto& r : j.at("results")) {
    EXPECT_GT(r.at("images_per_second").get<double>(), 0);
    EXPECT_GT(r.at("fraction_of_peak").get<double>(), 0);
    const auto& l = r.at("latency_ms");
    EXPECT_GT(l.at("p50").get<double>(), 0);
    EXPECT_LE(l.at("p50").get<double>(), l.at("p90").get<double>());
    EXPECT_LE(l.at("p90").get<double>(), l.at("p99").get<double>());
    EXPECT_EQ(r.contains("ort"), with_ort);
    if (with_ort) {
      EXPECT_GT(r.at("ort").at("images_per_second").get<double>(), 0);
      EXPECT_GT(r.at("ratio_vs_ort").get<double>(), 0);
    }
  }
  return j.at("results").size();
}

TEST(BenchCli, IntegerEngineAgainstOrtWritesJson) {
  TempDir dir;
  const std::string q = dir.file("q.onnx"), json = dir.file("bench.json");
  const auto made = run_command(bin() + " quantize --model " + testing::resnet8_onnx() + " --data " +
                                testing::cifar_dir() + " --preset ort-uint8 --per-channel --weight-type int8 -o " + q);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const auto r = run_command(bin() + " bench --model " + q + " --batch 1,3 --threads 1,2 --seconds 0.2 --compare-ort --json " +
                             json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ours/ORT"), std::string::npos) << r.output;
  const nlohmann::json j = read_json(json);
  EXPECT_EQ(j.at("engine").get<std::string>(), "int8");
  EXPECT_EQ(check_results(j, true), 4u);
  EXPECT_EQ(j.at("results")[1].at("batch").get<int>(), 3);
  EXPECT_EQ(j.at("results")[2].at("threads").get<int>(), 2);
}

TEST(BenchCli, FloatEngineWithoutOrt) {
  TempDir dir;
  const std::string json = dir.file("bench.json");
  const auto r =
      run_command(bin() + " bench --model " + testing::resnet8_onnx() + " --batch 2 --threads 1 --seconds 0.1 --rounds 3 --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = read_json(json);
  EXPECT_EQ(j.at("engine").get<std::string>(), "fp32");
  EXPECT_EQ(check_results(j, false), 1u);
  ASSERT_EQ(j.at("results")[0].at("rounds_images_per_second").size(), 3u);  // the median one is reported
}

TEST(BenchCli, BadInputsGiveOneCleanErrorAndNoJson) {
  TempDir dir;
  const std::string json = dir.file("bench.json");
  struct Bad {
    std::string args, expect;
  };
  const Bad cases[] = {
      {"--model " + dir.file("missing.onnx"), "missing.onnx"},
      {"--model " + testing::resnet8_onnx() + " --batch 1,x" + " --seconds 0.2", "--batch"},
      {"--model " + testing::resnet8_onnx() + " --batch 0" + " --seconds 0.2", "--batch"},
      {"--model " + testing::resnet8_onnx() + " --batch 1,,2" + " --seconds 0.2", "--batch"},
      {"--model " + testing::resnet8_onnx() + " --threads 1," + " --seconds 0.2", "--threads"},
      {"--model " + testing::resnet8_onnx() + " --seconds -1", "--seconds"},
      {"--model " + testing::resnet8_onnx() + " --engine fast" + " --seconds 0.2", "--engine"},
      {"--model " + testing::resnet8_onnx() + " --rounds 0" + " --seconds 0.2", "--rounds"},
      {"--model " + testing::resnet8_onnx() + " --ort-model " + dir.file("ort.onnx") + " --seconds 0.2", "ort.onnx"},
      {"--model " + testing::resnet8_onnx() + " --kernels avx1024" + " --seconds 0.2", "--kernels"},
      {"--model " + testing::resnet8_onnx() + " --kernels reference" + " --seconds 0.2", "--kernels"},  // FP32
  };
  for (const Bad& b : cases) {
    const auto r = run_command(bin() + " bench " + b.args + " --json " + json + " 2>&1");
    EXPECT_NE(r.exit_code, 0) << b.args;
    EXPECT_NE(r.output.find("tinyptq: error:"), std::string::npos) << b.args << "\n" << r.output;
    EXPECT_NE(r.output.find(b.expect), std::string::npos) << b.args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(json)) << b.args;
  }
}

// --kernels forces the integer engine's kernel table (named in the output and the JSON); an unknown name
// is a usage error (exit status 2).
TEST(BenchCli, KernelsOptionForcesTheIntegerTable) {
  TempDir dir;
  const std::string q = dir.file("q.onnx"), json = dir.file("bench.json");
  const auto made = run_command(bin() + " quantize --model " + testing::resnet8_onnx() + " --data " +
                                testing::cifar_dir() + " --preset ort-uint8 -o " + q);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string table = __builtin_cpu_supports("avx2") ? "avx2" : "reference";
  const auto r = run_command(bin() + " bench --model " + q + " --kernels " + table +
                             " --batch 2 --threads 1 --seconds 0.1 --describe --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("integer engine (" + table), std::string::npos) << r.output;
  EXPECT_EQ(read_json(json).at("kernels").get<std::string>(), table);
  const auto bad = run_command(bin() + " bench --model " + q + " --kernels avx1024 2>&1");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--kernels"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace tinyptq
