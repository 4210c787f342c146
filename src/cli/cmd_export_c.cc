// tinyptq export-c: a quantized model as dependency-free C99 for microcontrollers (export_c/export_c.h).
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/error.h"
#include "eval/model_io.h"
#include "export_c/c_emitter.h"
#include "export_c/export_c.h"

namespace tinyptq::cli {

namespace {

struct ExportCArgs {
  std::string model, output, prefix = "model", target = "cortex-m4";
};

void run_export_c(const ExportCArgs& a) {
  export_c::ExportOptions opts;
  opts.prefix = a.prefix;
  opts.target = export_c::parse_target(a.target);
  export_c::check_prefix(a.prefix);
  const Graph g = load_model(a.model);
  export_c::ExportReport r;
  try {
    r = export_c::export_c(g, opts, a.output);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(a.output, 0) == 0) throw;  // names the output already
    throw Error(a.model + ": " + msg);
  }
  auto kib = [](int64_t b) { return fixed(double(b) / 1024.0, 1) + " KiB"; };
  std::cout << "exported " << a.model << " -> " << a.output << "/" << a.prefix << ".{h,c} (target " << a.target
            << ")\n"
            << "  layers: " << r.layers << " kernel calls (" << r.fused_adds << " residual Adds fused in place, "
            << r.dsp_layers << " Cortex-M4 DSP convolutions), " << r.macs << " MACs per inference\n"
            << "  input " << r.input_size << " int8, output " << r.output_size << " int8";
  if (!r.dropped.empty()) {
    std::cout << " (the logits; not exported:";
    for (const auto& d : r.dropped) std::cout << " " << d;
    std::cout << ")";
  }
  std::cout << "\n  flash: " << r.constant_bytes << " bytes of constants (" << kib(r.constant_bytes)
            << ") + code; arena (peak RAM): " << r.arena_bytes << " bytes (" << kib(r.arena_bytes)
            << "; " << r.naive_arena_bytes << " without reuse)\n";
}

}  // namespace

void add_export_c_command(CLI::App& app) {
  auto args = std::make_shared<ExportCArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export-c", "Write a quantized model as a dependency-free C99 library (integer-only, for microcontrollers)");
  cmd->add_option("--model", args->model, "Quantized QDQ model (.onnx, from tinyptq quantize)")->required();
  cmd->add_option("-o,--output", args->output, "Output directory (created if missing)")->required();
  cmd->add_option("--prefix", args->prefix, "C name prefix of the files and symbols")->capture_default_str();
  cmd->add_option("--target", args->target, "cortex-m4 (DSP kernels: SMLAD, SXTB16) or generic (portable C)")
      ->capture_default_str();
  cmd->callback([args] { run_export_c(*args); });
}

}  // namespace tinyptq::cli
