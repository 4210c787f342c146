// tinyptq robustness: a quantized model's top-1 agreement with its FP32 reference on the test split, on
// held-out training images (not in the calibration set) and on degraded copies of the test split.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/model_io.h"
#include "eval/robustness.h"

namespace tinyptq::cli {

namespace {

struct RobustnessArgs {
  std::string model, reference, data, calib_indices, json, preprocess = "raw";
  int calib_per_class = 100, heldout_per_class = 500, threads = 1;
  uint64_t seed = 0;
};

void run_robustness(const RobustnessArgs& a) {
  if (!a.json.empty()) check_writable(a.json);
  const Graph quantized = load_model(a.model);
  const Graph reference = load_model(a.reference);
  const Layout layout = input_layout(quantized, a.model);
  check(input_layout(reference, a.reference) == layout,
        a.reference + ": input layout differs from " + a.model + "'s");
  const Dataset train = load_cifar10(a.data, Split::kTrain);
  const Dataset test = load_cifar10(a.data, Split::kTest);

  RobustnessOptions opts;
  opts.heldout_per_class = a.heldout_per_class;
  opts.eval.threads = a.threads;
  opts.eval.preprocess = parse_preprocess(a.preprocess);
  if (!a.calib_indices.empty()) {
    opts.calibration = load_calibration_lock(a.calib_indices);
    check(opts.calibration.split == "train", a.calib_indices + ": lockfile is for split '" +
                                                 opts.calibration.split + "'; held-out images come from train");
  } else {
    opts.calibration = stratified_sample(train, a.calib_per_class, a.seed);
    opts.calibration.split = "train";
  }
  auto q = make_engine_for(quantized, a.model, a.threads);
  auto r = make_engine_for(reference, a.reference, a.threads);
  const std::vector<RobustnessRow> rows = measure_robustness(*q, *r, layout, train, test, opts);

  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["schema_version"] = 1;
    j["model_path"] = a.model;
    j["reference_path"] = a.reference;
    j["data_dir"] = a.data;
    j["calibration"] = {{"per_class", opts.calibration.per_class},
                        {"seed", opts.calibration.seed},
                        {"images", opts.calibration.indices.size()}};
    auto sets = nlohmann::ordered_json::array();
    for (const RobustnessRow& row : rows)
      sets.push_back({{"set", row.set},
                      {"images", row.images},
                      {"agree", row.agree},
                      {"agreement", row.agreement},
                      {"agreement_ci95", {row.agreement_lo, row.agreement_hi}},
                      {"reference_accuracy", row.reference_accuracy},
                      {"quantized_accuracy", row.quantized_accuracy}});
    j["interval"] = "Wilson score, 95 %, of agree / images";
    j["sets"] = sets;
    write_file_atomic(a.json, j.dump(2) + "\n");
  }
  std::vector<std::vector<std::string>> table;
  for (const RobustnessRow& row : rows)
    table.push_back({row.set, std::to_string(row.images),
                     std::to_string(row.agree) + " (" + fixed(row.agreement, 2) + " %)",
                     "[" + fixed(row.agreement_lo, 2) + ", " + fixed(row.agreement_hi, 2) + "]", fixed(row.reference_accuracy, 2),
                     fixed(row.quantized_accuracy, 2)});
  std::cout << a.model << " against " << a.reference << "\n\n"
            << text_table({"set", "images", "same top-1", "95% CI %", "fp32 acc %", "quantized acc %"}, table)
            << "\n95% CI: Wilson score interval of each set's agreement\n";
}

}  // namespace

void add_robustness_command(CLI::App& app) {
  auto a = std::make_shared<RobustnessArgs>();
  CLI::App* cmd = app.add_subcommand(
      "robustness", "Top-1 agreement of a quantized model with its FP32 reference off the test set: held-out "
                    "training images and degraded test copies (JPEG, brightness, contrast)");
  cmd->add_option("--model", a->model, "Quantized (QDQ) model")->required();
  cmd->add_option("--reference", a->reference, "FP32 model it was made from (.onnx or Keras .h5)")->required();
  cmd->add_option("--data", a->data, "CIFAR-10 directory (binary or python layout)")->required();
  cmd->add_option("--heldout-per-class", a->heldout_per_class,
                  "Held-out training images per class, outside the calibration set (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--calib-per-class", a->calib_per_class, "The calibration draw to exclude: images per class")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "The calibration draw to exclude: its seed")->capture_default_str();
  cmd->add_option("--calib-indices", a->calib_indices, "The calibration lockfile to exclude (quantize --lock)");
  cmd->add_option("--preprocess", a->preprocess, "Pixel preprocessing, as for eval")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Engine threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--json", a->json, "Write the table as JSON to FILE");
  cmd->callback([a] { run_robustness(*a); });
}

}  // namespace tinyptq::cli
