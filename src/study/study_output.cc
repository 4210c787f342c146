#include "study/study_output.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "core/atomic_file.h"
#include "report/format.h"
#include "report/html_page.h"
#include "report/markdown.h"
#include "report/svg_chart.h"
#include "study/ablation.h"
#include "study/study_summary.h"

namespace tinyptq {

namespace {

std::string f1(double v) { return report::format_number(v, "%.1f"); }
std::string f2(double v) { return report::format_number(v, "%.2f"); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string study_json(const StudyResults& r) {
  nlohmann::ordered_json j;
  j["schema_version"] = 1;
  j["model_path"] = r.options.model;
  j["data_dir"] = r.options.data;
  j["seed"] = r.options.seed;
  j["quick"] = r.options.quick;
  j["test_limit"] = r.options.test_limit;
  j["calibration_lockfile"] = "calibration.json";
  j["labelled"] = r.labelled;  // false: accuracy fields are top-1 agreement with FP32
  if (!r.cifar) j["calibration_from_evaluation_data"] = r.calib_is_test;
  j["fp32"] = {{"correct", r.fp32.correct},
               {"total", r.fp32.total},
               {"accuracy", r.fp32.accuracy},
               {"class_names", r.fp32.class_names},
               {"per_class_accuracy", r.fp32.per_class_accuracy},
               {"model_bytes", r.fp32.model_bytes},
               {"packed_weight_bytes", r.fp32.packed_weight_bytes},
               {"parameters", r.fp32.parameters}};
  const stats::Interval fp32_ci = stats::wilson_interval(r.fp32.correct, r.fp32.total);
  j["fp32"]["accuracy_ci95"] = {100.0 * fp32_ci.lo, 100.0 * fp32_ci.hi};
  j["statistics"] = {{"interval", "Wilson score, 95%, on accuracy and on FP32 agreement (percent)"},
                     {"paired_test", "exact McNemar vs FP32 (two-sided binomial on the discordant images: b = FP32 right "
                                     "and configuration wrong, c = the reverse)"},
                     {"alpha", stats::kAlpha}};
  nlohmann::ordered_json configs = nlohmann::ordered_json::object();
  for (const auto& c : r.configs) {
    nlohmann::ordered_json cj = result_to_json(c, false);
    const ConfigStats st = config_stats(r.fp32, c);
    cj["accuracy_ci95"] = {100.0 * st.accuracy_ci.lo, 100.0 * st.accuracy_ci.hi};
    cj["agreement_ci95"] = {100.0 * st.agreement_ci.lo, 100.0 * st.agreement_ci.hi};
    cj["mcnemar_vs_fp32"] = {{"b", st.vs_fp32.b}, {"c", st.vs_fp32.c}, {"p", st.vs_fp32.p}};
    cj["significant"] = st.significant;
    configs[c.name] = cj;
  }
  j["configurations"] = configs;
  j["summary"] = summary_json(r);
  j["ablation"] = ablation_json(r);
  // Everything measured in seconds lives here, and only here.
  nlohmann::ordered_json timing;
  timing["wall_seconds"] = r.wall_seconds;
  timing["jobs"] = r.options.jobs;
  timing["fp32_images_per_second"] = r.fp32.images_per_second;
  nlohmann::ordered_json per = nlohmann::ordered_json::object();
  for (const auto& c : r.configs)
    per[c.name] = {{"quantize_seconds", c.quantize_seconds}, {"images_per_second", c.images_per_second}};
  timing["configurations"] = per;
  nlohmann::ordered_json stages = nlohmann::ordered_json::array();
  for (const auto& st : r.stages)
    stages.push_back({{"stage", st.name}, {"seconds", st.seconds}, {"thread_seconds", st.thread_seconds}});
  timing["stages"] = stages;
  j["timing"] = timing;
  return j.dump(2) + "\n";
}

std::string study_csv(const StudyResults& r) {
  std::string s =
      "name,group,label,preset,wbits,abits,weight_type,act_type,weight_granularity,act_method,calib_images,"
      "calib_seed,correct,total,accuracy,delta_vs_fp32,agreement_with_fp32,flipped,model_bytes,size_reduction,packed_weight_bytes,"
      "quantize_seconds,images_per_second\n";
  s += "fp32,fp32,FP32,,32,32,float32,float32,,,0,0," + std::to_string(r.fp32.correct) + "," +
       std::to_string(r.fp32.total) + "," + f2(r.fp32.accuracy) + ",0.00,100.00,0," + std::to_string(r.fp32.model_bytes) +
       ",1.00," + std::to_string(r.fp32.packed_weight_bytes) + ",0," + f1(r.fp32.images_per_second) + "\n";
  for (const auto& c : r.configs)
    s += csv_field(c.name) + "," + c.group + "," + csv_field(c.label) + "," + c.preset + "," + std::to_string(c.wbits) +
         "," + std::to_string(c.abits) + "," + c.weight_type + "," + c.act_type + "," + c.granularity + "," +
         c.act_method + "," + std::to_string(c.calib_images) + "," + std::to_string(c.calib_seed) + "," +
         std::to_string(c.correct) + "," + std::to_string(c.total) + "," + f2(c.accuracy) + "," + f2(c.delta) + "," +
         f2(c.agreement) + "," + std::to_string(c.flipped.size()) + "," + std::to_string(c.model_bytes) + "," +
         f2(c.size_reduction) + "," + std::to_string(c.packed_weight_bytes) + "," + report::format_number(c.quantize_seconds, "%.3f") + "," +
         f1(c.images_per_second) + "\n";
  return s;
}

void write_study_outputs(StudyResults& r) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string csv = study_csv(r), md = study_markdown(r), html = study_html(r);
  r.stages.push_back(
      {"report writing (REPORT.md, report.html, results.csv)",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), false});
  write_file_atomic(r.options.out_dir + "/results.json", study_json(r));
  write_file_atomic(r.options.out_dir + "/results.csv", csv);
  write_file_atomic(r.options.out_dir + "/REPORT.md", md);
  write_file_atomic(r.options.out_dir + "/report.html", html);
}

void print_stage_table(const StudyResults& r, std::ostream& os) {
  os << "study: time per stage (wall s; group rows: thread seconds summed over jobs)\n";
  for (const auto& s : r.stages)
    os << "  " << s.name << std::string(s.name.size() < 56 ? 56 - s.name.size() : 1, ' ')
       << report::format_number(s.seconds, "%8.2f") << (s.thread_seconds ? " (thread s)" : "") << "\n";
}

}  // namespace tinyptq
