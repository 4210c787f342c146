// tinyptq eval: accuracy of a float or QDQ model on CIFAR-10 or any labelled DataSource, overall and per class.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/error.h"
#include "core/atomic_file.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "eval/source_eval.h"
#include "data/open_source.h"

namespace tinyptq::cli {

namespace {

struct EvalArgs {
  std::string model, data, split = "test", json, predictions, preprocess = "raw", engine = "auto";
  std::string data_format = "auto", labels;
  int64_t limit = -1, batch = 250;
  int threads = 1;
};

void run_eval(const EvalArgs& a) {
  check(a.split == "test" || a.split == "train", "--split must be 'test' or 'train'");
  check(a.engine == "auto" || a.engine == "int" || a.engine == "float", "--engine must be auto, int or float");
  const DataSpec spec{a.data, parse_data_format(a.data_format), a.labels,
                      a.split == "test" ? Split::kTest : Split::kTrain, a.limit};
  Graph g = load_model(a.model);
  EvalOptions opts;
  opts.batch = a.batch;
  opts.threads = a.threads;
  opts.preprocess = parse_preprocess(a.preprocess);
  const EngineKind kind = a.engine == "int" ? EngineKind::kInteger : a.engine == "float" ? EngineKind::kFloat : EngineKind::kAuto;
  EvalResult r;
  if (resolve_format(spec) == DataFormat::kCifar10) {  // the CIFAR-10 path, unchanged
    const Layout layout = input_layout(g, a.model);
    Dataset d = load_cifar10(a.data, spec.split, a.limit);
    try {
      auto engine = make_engine(g, a.threads, kind);
      r = evaluate(*engine, layout, d, opts);
    } catch (const Error& e) {
      throw Error(a.model + ": " + e.what());  // engine errors concern the model: name its file
    }
  } else {
    const auto source = open_data_source(with_model_image_size(spec, g), source_layout(g), opts.preprocess);
    check_fits_model(*source, g, a.model);
    check(!source->labels().empty(), a.data + ": the data has no labels; pass --labels FILE.npy (or a .npz with 'y')");
    try {
      auto engine = make_engine(g, a.threads, kind);
      r = evaluate(*engine, *source, opts);
    } catch (const Error& e) {
      throw Error(a.model + ": " + e.what());
    }
  }

  if (!a.predictions.empty()) {
    std::string csv = "index,label,predicted\n";
    for (int64_t i = 0; i < r.total; ++i)
      csv += std::to_string(i) + "," + std::to_string(r.labels[i]) + "," + std::to_string(r.predicted[i]) + "\n";
    write_file_atomic(a.predictions, csv);
  }
  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["schema_version"] = 1;
    j["backend"] = r.backend;
    j["model_path"] = a.model;
    j["data_dir"] = a.data;
    j["split"] = a.split;
    j["overall"] = {{"correct", r.correct}, {"total", r.total}, {"accuracy", r.accuracy}};
    auto pcs = nlohmann::ordered_json::array();
    for (const auto& pc : r.per_class)
      pcs.push_back({{"class_name", pc.class_name}, {"correct", pc.correct}, {"total", pc.total}, {"accuracy", pc.accuracy}});
    j["per_class"] = pcs;
    j["model_bytes"] = file_bytes(a.model);
    j["parameters"] = g.parameter_count();
    j["images_per_second"] = r.images_per_second;
    write_file_atomic(a.json, j.dump(2) + "\n");
  }
  // Printed last, so a failed write leaves one error line and nothing else.
  std::vector<std::vector<std::string>> rows;
  for (const auto& pc : r.per_class)
    rows.push_back({pc.class_name, std::to_string(pc.correct) + "/" + std::to_string(pc.total), fixed(pc.accuracy, 2)});
  rows.push_back({"overall", std::to_string(r.correct) + "/" + std::to_string(r.total), fixed(r.accuracy, 2)});
  std::cout << a.model << " on " << a.data << " (" << a.split << ", " << r.total << " images, " << r.backend
            << " engine)\n\n"
            << text_table({"class", "correct", "accuracy %"}, rows) << "\n"
            << "throughput: " << fixed(r.images_per_second, 0) << " images/s\n";

}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Accuracy of a float or quantized (QDQ) model on CIFAR-10 or array data");
  cmd->add_option("--model", args->model, "Model file (.onnx, or Keras .h5)")->required();
  cmd->add_option("--data", args->data,
                  "CIFAR-10 directory (binary or python layout), image folder (DIR/<class>/*.png|jpg), .npy or .npz")
      ->required();
  cmd->add_option("--data-format", args->data_format, "auto (by content), cifar10, images, npy or npz")->capture_default_str();
  cmd->add_option("--labels", args->labels, "Labels for array data: a 1-D integer .npy, one per sample");
  cmd->add_option("--split", args->split, "test or train")->capture_default_str();
  cmd->add_option("--limit", args->limit, "Evaluate only the first N images (-1: all)")->capture_default_str();
  cmd->add_option("--json", args->json, "Write results as JSON to FILE");
  cmd->add_option("--predictions", args->predictions, "Write index,label,predicted CSV to FILE");
  cmd->add_option("--preprocess", args->preprocess,
                  "Pixel preprocessing: raw (0..255), unit (0..1), imagenet, or scale=S,mean=a,b,c,std=a,b,c")
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Images per engine call")->capture_default_str()->check(CLI::Range(1, 65536));
  cmd->add_option("--engine", args->engine,
                  "auto (integer engine for QDQ models), int, or float (QDQ models as float simulation)")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Engine threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace tinyptq::cli
