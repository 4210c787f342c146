// Each subcommand lives in its own cli/cmd_*.cc and registers itself on the CLI11 app here.
#pragma once
#include <CLI/CLI.hpp>

namespace tinyptq::cli {

void add_import_keras_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_study_command(CLI::App& app);
void add_sensitivity_command(CLI::App& app);
void add_fetch_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_robustness_command(CLI::App& app);
void add_export_c_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace tinyptq::cli
