// `tinyptq import-keras IN.h5 -o OUT.onnx`: Keras 2.x HDF5 model → ONNX (NHWC float input, NCHW inside).
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "keras/keras_import.h"
#include "onnx/onnx_writer.h"

namespace tinyptq::cli {

namespace {

struct ImportKerasOptions {
  std::string input;
  std::string output;
};

void run_import_keras(const ImportKerasOptions& opt) {
  KerasImportResult imported = import_keras_model(opt.input);
  const int64_t bytes = save_onnx(imported.graph, opt.output);
  std::cout << "imported " << imported.keras_layers << " Keras layers"
            << (imported.keras_version.empty() ? "" : " (Keras " + imported.keras_version + ")") << ", "
            << imported.graph.nodes.size() << " nodes, " << imported.graph.parameter_count()
            << " parameters -> " << opt.output << " (" << bytes << " bytes)\n";
}

}  // namespace

void add_import_keras_command(CLI::App& app) {
  auto opt = std::make_shared<ImportKerasOptions>();
  CLI::App* cmd = app.add_subcommand(
      "import-keras",
      "Convert a Keras 2.x model saved as HDF5 (.h5) to ONNX. The ONNX input keeps Keras' NHWC float layout "
      "and is transposed to NCHW inside; outputs are as the Keras model gives them.");
  cmd->add_option("IN.h5", opt->input, "Keras HDF5 model file (model.save(..., save_format='h5'))")
      ->required();
  cmd->add_option("-o,--output", opt->output, "ONNX file to write")->required();
  cmd->callback([opt] { run_import_keras(*opt); });
}

}  // namespace tinyptq::cli
