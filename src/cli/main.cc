// tinyptq: post-training quantization of small neural networks. Entry point: parses the subcommand,
// runs it, and turns every tinyptq::Error into one "tinyptq: error: ..." line and exit status 1 (2 for a
// command-line usage error).
#include <CLI/CLI.hpp>
#include <iostream>
#include <new>

#include "cli/commands.h"
#include "core/error.h"
#include "core/interrupt.h"

int main(int argc, char** argv) {
  CLI::App app{"tinyptq: post-training quantization of small neural networks (ONNX in, ONNX out)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tinyptq 0.1.0");
  tinyptq::cli::add_import_keras_command(app);
  tinyptq::cli::add_eval_command(app);
  tinyptq::cli::add_quantize_command(app);
  tinyptq::cli::add_study_command(app);
  tinyptq::cli::add_sensitivity_command(app);
  tinyptq::cli::add_fetch_command(app);
  tinyptq::cli::add_bench_command(app);
  tinyptq::cli::add_robustness_command(app);
  tinyptq::cli::add_export_c_command(app);
  tinyptq::cli::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version print and succeed; a usage error is one line and exit status 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "tinyptq: error: " << e.what() << " (run with --help)\n";
    return 2;
  } catch (const tinyptq::Interrupted& e) {
    std::cerr << "tinyptq: error: " << e.what() << "\n";
    return 128 + e.signal();
  } catch (const tinyptq::Error& e) {
    std::cerr << "tinyptq: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "tinyptq: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tinyptq: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
