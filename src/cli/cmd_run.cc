// tinyptq run: one forward pass of a model on one tensor file (.npy or ONNX .pb; the whole tensor, batch axis
// included, is the model's input). Prints each output's shape and a summary; -o writes the first output to
// OUT.npy / OUT.pb, or every output to a directory as output_K.npy (output_K.pb when the input is a .pb, the
// ONNX test-data layout).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/tensor_file.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "eval/source_eval.h"

namespace tinyptq::cli {

namespace {

struct RunArgs {
  std::string model, input, output, engine = "auto";
  int threads = 1;
};

// A model input shape for messages: symbolic dims as "N" (first axis) or "?".
std::string model_shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k)
    out += (k ? "," : "") + (s[k] >= 0 ? std::to_string(s[k]) : k == 0 ? std::string("N") : std::string("?"));
  return out + "]";
}

// Error naming the input file and the expected shape unless x is float32 of the model input's shape.
void check_input(const Tensor& x, const Graph& g, const RunArgs& a) {
  check(g.inputs.size() == 1,
        a.model + ": model has " + std::to_string(g.inputs.size()) + " inputs; run feeds exactly one");
  const ValueInfo& in = g.inputs[0];
  const std::string expected = a.model + " input '" + in.name + "' takes float32 " + model_shape_str(in.shape);
  bool fits = x.shape.size() == in.shape.size();
  for (size_t k = 0; fits && k < x.shape.size(); ++k) fits = in.shape[k] < 0 || in.shape[k] == x.shape[k];
  check(fits && !x.shape.empty() && x.shape[0] > 0,
        a.input + ": tensor has shape " + shape_str(x.shape) + ", but " + expected + " (first axis: batch)");
  check(x.dtype == DType::kFloat32,
        a.input + ": tensor has dtype " + dtype_name(x.dtype) + ", but " + expected);
}

std::string summary(const Tensor& t) {
  double lo = 0, hi = 0, sum = 0;
  const int64_t n = t.stored();
  for (int64_t k = 0; k < n; ++k) {
    const double v = t.dtype == DType::kFloat32 ? double(t.f[size_t(k)]) : double(t.i[size_t(k)]);
    lo = k ? std::min(lo, v) : v;
    hi = k ? std::max(hi, v) : v;
    sum += v;
  }
  return shape_str(t.shape) + " " + dtype_name(t.dtype) + "  min " + fixed(lo, 6) + "  max " + fixed(hi, 6) +
         "  mean " + fixed(n ? sum / double(n) : 0.0, 6);
}

void run_run(const RunArgs& a) {
  check(a.engine == "auto" || a.engine == "int" || a.engine == "fp32", "--engine must be auto, fp32 or int");
  const TensorFileFormat in_format = tensor_file_format(a.input);
  // Where outputs go, decided (and checked) before the model runs.
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool to_dir = !a.output.empty() && (fs::is_directory(a.output, ec) || a.output.back() == '/' ||
                                            fs::path(a.output).extension().empty());
  std::optional<TensorFileFormat> out_format;
  if (!a.output.empty() && !to_dir) out_format = tensor_file_format(a.output);

  const Tensor x = load_tensor_file(a.input);
  Graph g = load_model(a.model);
  check_input(x, g, a);
  const EngineKind kind = a.engine == "int" ? EngineKind::kInteger : a.engine == "fp32" ? EngineKind::kFloat : EngineKind::kAuto;
  std::vector<Tensor> outs;
  std::string backend;
  double seconds = 0;
  try {
    auto engine = make_engine(g, a.threads, kind);
    backend = engine->backend();
    const auto t0 = std::chrono::steady_clock::now();
    outs = engine->run(x);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const Error& e) {
    throw Error(a.model + ": " + e.what());  // engine errors concern the model: name its file
  }
  check(!outs.empty(), a.model + ": the model produced no output");
  auto name_of = [&](size_t k) { return k < g.outputs.size() ? g.outputs[k].name : "output_" + std::to_string(k); };

  std::vector<std::string> written;
  if (to_dir) {
    fs::create_directories(a.output, ec);
    check(fs::is_directory(a.output, ec), a.output + ": cannot create the output directory");
    StagedFiles files;  // all outputs appear together, or none
    for (size_t k = 0; k < outs.size(); ++k) {
      std::string path = a.output;
      if (path.back() != '/') path += '/';
      path += "output_" + std::to_string(k) + tensor_file_extension(in_format);
      files.add(path, tensor_file_bytes(outs[k], in_format, name_of(k)));
      written.push_back(path);
    }
    files.commit();
  } else if (out_format) {
    write_file_atomic(a.output, tensor_file_bytes(outs[0], *out_format, name_of(0)));
    written.push_back(a.output);
  }

  std::cout << a.model << " on " << a.input << " " << shape_str(x.shape) << " (" << backend << " engine, "
            << fixed(seconds * 1e3, 2) << " ms)\n";
  for (size_t k = 0; k < outs.size(); ++k)
    std::cout << "output " << k << " '" << name_of(k) << "': " << summary(outs[k]) << "\n";
  const Tensor& y = outs[0];
  if (y.dtype == DType::kFloat32 && y.shape.size() >= 2 && y.shape[0] == x.shape[0]) {
    const std::vector<int> top = top1_rows(y, y.shape[0]);
    constexpr size_t kShown = 16;
    std::cout << "top-1 per sample:";
    for (size_t s = 0; s < std::min(top.size(), kShown); ++s) std::cout << " " << top[s];
    std::cout << (top.size() > kShown ? " ..." : "") << "\n";
  }
  for (const auto& w : written) std::cout << "wrote " << w << "\n";
  if (out_format && outs.size() > 1)
    std::cout << "(the model has " << outs.size() << " outputs; -o DIR writes them all)\n";
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "One forward pass on a tensor file (.npy or ONNX .pb), batch axis included");
  cmd->add_option("--model", args->model, "Model file (.onnx, or Keras .h5)")->required();
  cmd->add_option("--input", args->input, "Input tensor: .npy or ONNX TensorProto .pb (e.g. test_data_set_0/input_0.pb)")
      ->required();
  cmd->add_option("-o,--output", args->output,
                  "Write the first output to OUT.npy / OUT.pb, or every output to directory OUT as output_K.npy "
                  "(output_K.pb for a .pb input)");
  cmd->add_option("--engine", args->engine, "auto (integer engine for QDQ models), fp32 or int")->capture_default_str();
  cmd->add_option("--threads", args->threads, "Engine threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->callback([args] { run_run(*args); });
}

}  // namespace tinyptq::cli
