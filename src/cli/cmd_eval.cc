// tinyptq eval: accuracy of a float or QDQ model on CIFAR-10 or any labelled DataSource, overall and per class;
// with --reference, fidelity against a reference model on the same inputs (labels optional).
#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/error.h"
#include "core/atomic_file.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "eval/reference_eval.h"
#include "eval/source_eval.h"
#include "data/open_source.h"

namespace tinyptq::cli {

namespace {

struct EvalArgs {
  std::string model, data, split = "test", json, predictions, preprocess = "raw", engine = "auto";
  std::string data_format = "auto", labels, reference;
  std::string requant = "auto";  // apply_requant_flag
  int64_t limit = -1, batch = 250;
  int threads = 1;
};

// SQNR for a table or JSON: ±inf (identical outputs / all-zero reference) as text.
std::string sqnr_text(double db) { return std::isinf(db) ? (db > 0 ? "inf" : "-inf") : fixed(db, 2); }

void run_reference_eval(const EvalArgs& a, const Graph& g, const DataSpec& spec, const EvalOptions& opts,
                        EngineKind kind);

void run_eval(const EvalArgs& a) {
  check(a.split == "test" || a.split == "train", "--split must be 'test' or 'train'");
  check(a.engine == "auto" || a.engine == "int" || a.engine == "float", "--engine must be auto, int or float");
  const DataSpec spec{a.data, parse_data_format(a.data_format), a.labels,
                      a.split == "test" ? Split::kTest : Split::kTrain, a.limit};
  Graph g = load_model(a.model);
  apply_requant_flag(g, a.requant);
  EvalOptions opts;
  opts.batch = a.batch;
  opts.threads = a.threads;
  opts.preprocess = parse_preprocess(a.preprocess);
  const EngineKind kind = a.engine == "int" ? EngineKind::kInteger : a.engine == "float" ? EngineKind::kFloat : EngineKind::kAuto;
  if (!a.reference.empty()) return run_reference_eval(a, g, spec, opts, kind);
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
    check(!source->labels().empty(), a.data + ": the data has no labels; pass --labels FILE.npy (or a .npz with 'y'), or --reference FP32.onnx "
                                         "to measure fidelity instead");
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

// The data as a DataSource in g's layout: CIFAR-10 through CifarSource (the same floats as the accuracy path).
std::unique_ptr<DataSource> open_for_model(const DataSpec& spec, const Graph& g, const std::string& model_path,
                                           const Preprocess& pre) {
  if (resolve_format(spec) == DataFormat::kCifar10)
    return std::make_unique<CifarSource>(load_cifar10(spec.path, spec.split, spec.limit), input_layout(g, model_path),
                                         pre);
  return open_data_source(with_model_image_size(spec, g), source_layout(g), pre);
}

nlohmann::ordered_json accuracy_json(const EvalResult& r) {
  return {{"correct", r.correct}, {"total", r.total}, {"accuracy", r.accuracy}};
}

void run_reference_eval(const EvalArgs& a, const Graph& g, const DataSpec& spec, const EvalOptions& opts,
                        EngineKind kind) {
  const Graph ref = load_model(a.reference);
  const auto source = open_for_model(spec, g, a.model, opts.preprocess);
  check_fits_model(*source, g, a.model);
  check_fits_model(*source, ref, a.reference);
  const auto engine = make_engine_for(g, a.model, a.threads, kind);
  const auto ref_engine = make_engine_for(ref, a.reference, a.threads);
  std::vector<std::string> names;
  for (const auto& o : g.outputs) names.push_back(o.name);
  ReferenceResult rr;
  try {
    rr = evaluate_against_reference(*engine, *ref_engine, *source, opts, names);
  } catch (const Error& e) {
    throw Error(a.model + " vs " + a.reference + ": " + e.what());
  }
  const FidelityResult& f = rr.fidelity;
  const bool labelled = !source->labels().empty();
  EvalResult acc, ref_acc;
  if (labelled) {
    acc = score_predictions(source->labels(), rr.predicted, source->num_classes(), source->class_names());
    ref_acc = score_predictions(source->labels(), rr.reference_predicted, source->num_classes(), source->class_names());
  }

  if (!a.predictions.empty()) {
    std::string csv = labelled ? "index,label,predicted,reference_predicted\n" : "index,predicted,reference_predicted\n";
    for (size_t i = 0; i < rr.predicted.size(); ++i)
      csv += std::to_string(i) + "," + (labelled ? std::to_string(source->labels()[i]) + "," : std::string()) +
             std::to_string(rr.predicted[i]) + "," + std::to_string(rr.reference_predicted[i]) + "\n";
    write_file_atomic(a.predictions, csv);
  }
  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["schema_version"] = 1;
    j["backend"] = rr.backend;
    j["reference_backend"] = rr.reference_backend;
    j["model_path"] = a.model;
    j["reference_path"] = a.reference;
    j["data_dir"] = a.data;
    if (resolve_format(spec) == DataFormat::kCifar10) j["split"] = a.split;
    j["samples"] = f.samples;
    auto mse = nlohmann::ordered_json::array();
    for (const auto& o : f.per_output) mse.push_back({{"name", o.name}, {"mse", o.mse}});
    nlohmann::ordered_json fj;
    fj["agree"] = f.agree;
    fj["agreement"] = f.agreement;
    if (std::isinf(f.sqnr_db))
      fj["sqnr_db"] = sqnr_text(f.sqnr_db);  // JSON has no infinity
    else
      fj["sqnr_db"] = f.sqnr_db;
    fj["mean_cosine"] = f.mean_cosine;
    fj["max_abs_error"] = f.max_abs_error;
    fj["per_output_mse"] = mse;
    j["fidelity"] = fj;
    if (labelled) {
      j["overall"] = accuracy_json(acc);
      j["reference_overall"] = accuracy_json(ref_acc);
      auto pcs = nlohmann::ordered_json::array();
      for (size_t c = 0; c < acc.per_class.size(); ++c)
        pcs.push_back({{"class_name", acc.per_class[c].class_name}, {"total", acc.per_class[c].total},
                       {"accuracy", acc.per_class[c].accuracy}, {"reference_accuracy", ref_acc.per_class[c].accuracy}});
      j["per_class"] = pcs;
    }
    j["model_bytes"] = file_bytes(a.model);
    j["reference_bytes"] = file_bytes(a.reference);
    j["images_per_second"] = rr.images_per_second;
    write_file_atomic(a.json, j.dump(2) + "\n");
  }

  std::vector<std::vector<std::string>> rows = {
      {"top-1 agreement", std::to_string(f.agree) + "/" + std::to_string(f.samples) + " (" + fixed(f.agreement, 2) + " %)"},
      {"output SQNR", sqnr_text(f.sqnr_db) + " dB"},
      {"cosine similarity", fixed(f.mean_cosine, 5)},
      {"max abs error", fixed(f.max_abs_error, 6)}};
  for (const auto& o : f.per_output) rows.push_back({"MSE '" + o.name + "'", fixed(o.mse, 8)});
  if (labelled)
    rows.push_back({"top-1 accuracy", fixed(acc.accuracy, 2) + " % (reference " + fixed(ref_acc.accuracy, 2) +
                                          " %, delta " + fixed(acc.accuracy - ref_acc.accuracy, 2) + " pp)"});
  std::cout << a.model << " vs reference " << a.reference << " on " << a.data << " (" << f.samples << " samples, "
            << rr.backend << " engine; reference " << rr.reference_backend << ")\n\n"
            << text_table({"fidelity", "value"}, rows) << "\n";
  if (labelled) {
    std::vector<std::vector<std::string>> pc;
    for (size_t c = 0; c < acc.per_class.size(); ++c)
      pc.push_back({acc.per_class[c].class_name, std::to_string(acc.per_class[c].total), fixed(acc.per_class[c].accuracy, 2),
                    fixed(ref_acc.per_class[c].accuracy, 2)});
    std::cout << text_table({"class", "samples", "accuracy %", "reference %"}, pc) << "\n";
  }
  std::cout << "throughput: " << fixed(rr.images_per_second, 0) << " images/s\n";
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Accuracy of a float or quantized (QDQ) model on CIFAR-10 or array data");
  cmd->add_option("--model", args->model, "Model file (.onnx, or Keras .h5)")->required();
  cmd->add_option("--data", args->data, "CIFAR-10 directory (binary or python layout), image folder (DIR/<class>/*.png|jpg), .npy, .npz or ONNX tensor .pb")
      ->required();
  cmd->add_option("--data-format", args->data_format, "auto (by content), cifar10, images, npy, npz or pb (ONNX TensorProto)")->capture_default_str();
  cmd->add_option("--labels", args->labels, "Labels for array data: a 1-D integer .npy, one per sample");
  cmd->add_option("--reference", args->reference,
                  "Reference model (e.g. the FP32 original): report fidelity against it on the same inputs — top-1 "
                  "agreement, output SQNR, cosine, max abs error, per-output MSE; labels optional");
  cmd->add_option("--split", args->split, "test or train")->capture_default_str();
  cmd->add_option("--limit", args->limit, "Evaluate only the first N images (-1: all)")->capture_default_str();
  cmd->add_option("--json", args->json, "Write results as JSON to FILE");
  cmd->add_option("--predictions", args->predictions, "Write index,label,predicted CSV to FILE");
  cmd->add_option("--preprocess", args->preprocess,
                  "Pixel preprocessing: raw (0..255), unit (0..1), imagenet, or scale=S,mean=a,b,c,std=a,b,c")
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Images per engine call")->capture_default_str()->check(CLI::Range(1, 65536));
  cmd->add_option("--requant", args->requant, kRequantFlagHelp)->capture_default_str();
  cmd->add_option("--engine", args->engine,
                  "auto (integer engine for QDQ models), int, or float (QDQ models as float simulation)")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Engine threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->callback([args] { run_eval(*args); });
}

}  // namespace tinyptq::cli
