// tinyptq study: the plan's shape, and the real command end to end on ../shared — the four outputs, the
// same results.json (timing aside) for any --jobs, --resume reusing finished configurations, and a report
// that a real headless browser (Debian's chromium) renders with its charts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "study/study_plan.h"
#include "test_util.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::vector<std::string> kLayers = {"conv2d", "conv2d_1", "conv2d_2", "dense"};

std::map<std::string, int> group_counts(const std::vector<StudyConfig>& plan) {
  std::map<std::string, int> n;
  for (const auto& c : plan) ++n[c.group];
  return n;
}

TEST(StudyPlan, FullPlanCoversEveryAxisWithUniqueNames) {
  StudyOptions o;
  const auto plan = study_plan(o, kLayers);
  std::set<std::string> names;
  for (const auto& c : plan) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate configuration " << c.name;
    EXPECT_EQ(c.name.rfind(c.group + "/", 0), 0u) << c.name << " is not keyed by its group";
  }
  const auto n = group_counts(plan);
  EXPECT_EQ(n.at("preset"), 5);
  EXPECT_EQ(n.at("matrix"), 4 * 2 * 2);          // observer × granularity × activation type
  EXPECT_EQ(n.at("calibration"), 9 * 3);         // 10 … 5000 images × 3 seeds
  EXPECT_EQ(n.at("bits"), 2 * 7 * 7);            // naive and best × W2..8 × A2..8
  EXPECT_EQ(n.at("layer"), 2 * int(kLayers.size()));  // only / except per layer
  EXPECT_EQ(n.at("ablation"), 4 * 6);                 // W8A8, W6A8, W4A8, W4A4 × six cumulative steps
  for (const auto& c : plan)
    if (c.group == "bits" && c.variant == "best" && c.wbits < 8) {
      EXPECT_TRUE(c.recipe.adaround) << c.name << ": best below 8 bits must use AdaRound";
      EXPECT_EQ(c.recipe.adaround_iterations, kSweepAdaRoundIterations) << c.name;
      EXPECT_EQ(c.calib_per_class, kSweepCalibPerClass) << c.name;
    }
}

TEST(StudyPlan, QuickPlanIsASubsetOfTheFullPlan) {
  StudyOptions full, quick;
  quick.quick = true;
  std::set<std::string> all;
  for (const auto& c : study_plan(full, kLayers)) all.insert(c.name);
  const auto q = study_plan(quick, kLayers);
  EXPECT_LT(q.size(), all.size() / 3);
  for (const auto& c : q) EXPECT_TRUE(all.count(c.name)) << c.name;
  EXPECT_EQ(group_counts(q).at("preset"), 5);
}

TEST(StudyPlan, SeedAndCalibrationSizeReachEveryConfiguration) {
  StudyOptions o;
  o.seed = 42;
  o.calib_per_class = 20;
  for (const auto& c : study_plan(o, kLayers)) {
    EXPECT_EQ(c.recipe.seed, 42u) << c.name;
    if (c.group != "calibration" && !c.recipe.adaround && !(c.recipe.bias_correction && c.recipe.quantized_inputs)) {
      EXPECT_EQ(c.calib_per_class, 20) << c.name;
      EXPECT_EQ(c.calib_seed, 42u) << c.name;
    }
  }
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

testing::CommandResult run_study(const std::string& out, int jobs, const std::string& extra = "") {
  return testing::run_command(q(testing::tinyptq_binary()) + " study --model " + q(testing::resnet8_onnx()) +
                              " --data " + q(testing::cifar_dir()) + " -o " + q(out) + " --quick --test-limit 100 --calib-per-class 10 --jobs " +
                              std::to_string(jobs) + " " + extra + " 2>&1");
}

nlohmann::json without_timing(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(slurp(path));
  j.erase("timing");
  return j;
}

std::map<std::string, fs::file_time_type> result_file_times(const std::string& dir) {
  std::map<std::string, fs::file_time_type> t;
  for (const auto& e : fs::directory_iterator(dir + "/results.d")) t[e.path().filename()] = e.last_write_time();
  return t;
}

// One test, so one process runs the studies (ctest runs each TEST in its own process): a quick study on
// the real model and data with 1 and then 2 jobs, a resumed run, and chromium on the report.
TEST(StudyRun, QuickStudyEndToEnd) {
  TempDir dir;
  const std::string one = dir.file("jobs1"), two = dir.file("jobs2");
  const testing::CommandResult r1 = run_study(one, 1);
  ASSERT_EQ(r1.exit_code, 0) << r1.output;

  // The four outputs, the comparison table and the charts.
  for (const char* f : {"results.json", "results.csv", "REPORT.md", "report.html", "calibration.json"})
    EXPECT_TRUE(fs::exists(one + "/" + f)) << f;
  EXPECT_NE(r1.output.find("report: "), std::string::npos) << "the command must say where the report is";
  const nlohmann::json j = nlohmann::json::parse(slurp(one + "/results.json"));
  EXPECT_EQ(j.at("fp32").at("total"), 100);
  EXPECT_TRUE(j.at("timing").contains("wall_seconds"));
  // The per-stage table: every stage once, in run order, and every configuration group summed.
  {
    std::vector<std::string> stages;
    for (const auto& st : j.at("timing").at("stages")) {
      EXPECT_GE(st.at("seconds").get<double>(), 0.0);
      stages.push_back(st.at("stage"));
    }
    ASSERT_GE(stages.size(), 6u);
    EXPECT_EQ(stages.front(), "load model and data");
    EXPECT_EQ(stages.back().rfind("report writing", 0), 0u) << stages.back();
    for (const char* g : {"  group preset", "  group matrix", "  group bits", "  phase: FP32 calibration passes",
                          "  phase: quantize", "  phase: evaluate, serialize, wait"})
      EXPECT_EQ(std::count(stages.begin(), stages.end(), g), 1) << g;
    // The phases split the same thread seconds as the groups.
    double groups = 0, phases = 0;
    for (const auto& st : j.at("timing").at("stages")) {
      const std::string name = st.at("stage");
      if (name.rfind("  group ", 0) == 0) groups += st.at("seconds").get<double>();
      if (name.rfind("  phase: ", 0) == 0) phases += st.at("seconds").get<double>();
    }
    EXPECT_NEAR(groups, phases, 1e-6 + 1e-9 * groups);
    EXPECT_NE(r1.output.find("study: time per stage"), std::string::npos);
  }
  const auto& configs = j.at("configurations");
  for (const char* name : {"preset/ort-int8", "preset/ort-uint8", "preset/pytorch-x86", "preset/tflite-int8", "preset/best"}) {
    ASSERT_TRUE(configs.contains(name)) << name;
    const auto& c = configs.at(name);
    EXPECT_GT(c.at("accuracy").get<double>(), 70.0) << name;
    EXPECT_GT(c.at("model_bytes").get<int64_t>(), 0) << name;
    EXPECT_GT(c.at("packed_weight_bytes").get<int64_t>(), 0) << name;
    EXPECT_EQ(c.at("per_class_delta").size(), 10u) << name;
    EXPECT_FALSE(c.contains("timing")) << name << ": timing belongs in the top-level \"timing\" only";
    // Statistics: a 95% interval around the accuracy, McNemar counts that explain the delta, a p-value.
    const auto ci = c.at("accuracy_ci95");
    EXPECT_LE(ci.at(0).get<double>(), c.at("accuracy").get<double>()) << name;
    EXPECT_GE(ci.at(1).get<double>(), c.at("accuracy").get<double>()) << name;
    EXPECT_LE(c.at("agreement_ci95").at(0).get<double>(), c.at("agreement_with_fp32").get<double>()) << name;
    const auto& mc = c.at("mcnemar_vs_fp32");
    EXPECT_EQ(mc.at("c").get<int64_t>() - mc.at("b").get<int64_t>(),
              c.at("correct").get<int64_t>() - j.at("fp32").at("correct").get<int64_t>()) << name;
    EXPECT_LE(mc.at("b").get<int64_t>() + mc.at("c").get<int64_t>(), int64_t(c.at("flipped_images").size())) << name;
    const double p = mc.at("p").get<double>();
    EXPECT_TRUE(p > 0.0 && p <= 1.0) << name;
    EXPECT_EQ(c.at("significant").get<bool>(), p < 0.05) << name;
  }
  EXPECT_EQ(j.at("fp32").at("accuracy_ci95").size(), 2u);
  const auto& rec = j.at("summary").at("recommendation");
  ASSERT_TRUE(configs.contains(rec.at("recommended").get<std::string>())) << rec.dump();
  EXPECT_NE(rec.at("reason").get<std::string>().find("McNemar"), std::string::npos) << rec.dump();
  EXPECT_GE(rec.at("indistinguishable_from_best_accuracy").get<int>(), 1);
  const auto& w4 = configs.at("bits/best-w4a8");
  EXPECT_LT(w4.at("packed_weight_bytes").get<double>(), 0.6 * configs.at("bits/best-w8a8").at("packed_weight_bytes").get<double>());
  // results.csv: a header, the FP32 row and one row per configuration.
  EXPECT_EQ(count_of(slurp(one + "/results.csv"), "\n"), 2 + int(configs.size()));
  const std::string md = slurp(one + "/REPORT.md");
  for (const char* s : {"| configuration", "accuracy", "agreement", "size", "reduction", "ort-uint8", "Recommendation",
                        "95% CI", "McNemar b/c, p", "Wilson", "**Recommended:**", "Why: ", "shifted by 128"})
    EXPECT_NE(md.find(s), std::string::npos) << "REPORT.md lacks " << s;
  EXPECT_NE(md.find(rec.at("reason").get<std::string>()), std::string::npos) << "REPORT.md must print the reason";
  EXPECT_EQ(r1.output.find("//REPORT.md"), std::string::npos) << r1.output;
  const std::string html = slurp(one + "/report.html");
  EXPECT_GE(count_of(html, "<svg"), 4);
  for (const char* s : {"95% CI", "McNemar b/c, p", "Recommended: ", "Why: ", "Per-class accuracy Δ vs FP32"})
    EXPECT_NE(html.find(s), std::string::npos) << "report.html lacks " << s;
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "report.html must be self-contained";
  EXPECT_EQ(html.find("<script src"), std::string::npos);

  // Same seed, other job count: the same results apart from "timing", the same model bytes.
  const testing::CommandResult r2 = run_study(two + "/", 2);  // a trailing slash: no "//" in messages
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(r2.output.find("//"), std::string::npos) << r2.output;
  EXPECT_EQ(without_timing(one + "/results.json"), without_timing(two + "/results.json"));
  EXPECT_EQ(slurp(one + "/models/preset_best.onnx"), slurp(two + "/models/preset_best.onnx"));

  // --resume: a result lost (as if interrupted before it was written) is recomputed, the others kept.
  const auto before = result_file_times(one);
  const std::string lost = one + "/results.d/preset_best.json";
  ASSERT_TRUE(fs::remove(lost));
  const testing::CommandResult again = run_study(one, 2, "--resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(fs::exists(lost));
  for (const auto& [name, t] : result_file_times(one))
    if (name != "preset_best.json") EXPECT_EQ(t, before.at(name)) << name << " was recomputed";
  EXPECT_EQ(without_timing(one + "/results.json"), without_timing(two + "/results.json"));

  // report.html in a real browser: chromium (a Debian package scripts/setup.sh installs) parses it, the DOM
  // it builds holds the charts, and a screenshot of the page is not blank.
  const std::string browser = fs::exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "chromium";
  const std::string flags = " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir=" +
                            q(dir.file("profile")) + " ";
  const std::string url = "file://" + fs::absolute(one + "/report.html").string();
  const testing::CommandResult dom =
      testing::run_command("timeout 120 " + browser + flags + "--dump-dom " + q(url) + " 2>/dev/null");
  ASSERT_EQ(dom.exit_code, 0) << "chromium failed: " << dom.output.substr(0, 2000);
  EXPECT_GE(count_of(dom.output, "<svg"), 4) << "the rendered DOM lacks the charts";
  EXPECT_NE(dom.output.find("tinyptq study"), std::string::npos);
  const std::string png = dir.file("report.png");
  const testing::CommandResult shot = testing::run_command("timeout 120 " + browser + flags +
                                                           "--window-size=1280,3000 --screenshot=" + q(png) + " " +
                                                           q(url) + " 2>&1");
  ASSERT_EQ(shot.exit_code, 0) << shot.output.substr(0, 2000);
  const std::string bytes = slurp(png);
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  // A blank 1280×3000 page compresses to a few kB; tables and charts take far more.
  EXPECT_GT(bytes.size(), 40000u) << "the screenshot looks blank";
}

}  // namespace
}  // namespace tinyptq
