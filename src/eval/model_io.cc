#include "eval/model_io.h"

#include <sys/stat.h>

#include "core/error.h"
#include "keras/keras_import.h"
#include "onnx/onnx_reader.h"
#include "quant/requant.h"

namespace tinyptq {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void check_finite_parameters(const Graph& g, const std::string& path) {
  for (const auto& [name, t] : g.initializers)
    if (t.dtype == DType::kFloat32 && !all_finite(t.f))
      throw Error(path + ": initializer '" + name + "' contains NaN or Inf");
}

Graph load_model(const std::string& path) {
  const bool keras = ends_with(path, ".h5") || ends_with(path, ".hdf5") || ends_with(path, ".keras");
  Graph g = keras ? import_keras_h5(path) : load_onnx(path);
  check_finite_parameters(g, path);
  return g;
}

Layout input_layout(const Graph& g) {
  check(g.inputs.size() == 1, "model has " + std::to_string(g.inputs.size()) + " inputs; expected one image input");
  const Shape& s = g.inputs[0].shape;
  check(s.size() == 4, "model input '" + g.inputs[0].name + "' has shape " + shape_str(s) +
                           "; expected a 4-D image batch");
  if (s[3] == 3 && s[1] != 3) return Layout::kNHWC;
  if (s[1] == 3) return Layout::kNCHW;
  throw Error("model input '" + g.inputs[0].name + "' has shape " + shape_str(s) + "; expected 3 color channels");
}

Layout input_layout(const Graph& g, const std::string& model_path) {
  try {
    return input_layout(g);
  } catch (const Error& e) {
    throw Error(model_path + ": " + e.what());
  }
}

int64_t file_bytes(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? int64_t(st.st_size) : 0;
}

void apply_requant_flag(Graph& g, const std::string& flag) {
  if (flag == "auto") return;
  g.metadata["tinyptq.requant"] = requantization_name(parse_requantization(flag));  // validates the name
}

}  // namespace tinyptq
