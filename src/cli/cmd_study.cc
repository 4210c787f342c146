// tinyptq study: the whole PTQ comparison in one command.
#include <iostream>

#include "cli/commands.h"
#include "core/interrupt.h"
#include "core/memory_policy.h"
#include "report/format.h"
#include "study/study.h"
#include "study/study_summary.h"

namespace tinyptq::cli {

void add_study_command(CLI::App& app) {
  auto o = std::make_shared<StudyOptions>();
  CLI::App* cmd = app.add_subcommand("study", "Full PTQ comparison: presets, observer matrix, calibration size, bit sweep, "
                                              "per-layer sensitivity -> results.json, results.csv, REPORT.md, report.html");
  cmd->add_option("--model", o->model, "FP32 model (.h5 or .onnx)")->required();
  cmd->add_option("--data", o->data,
                  "CIFAR-10 directory (calibrates on its train split, evaluates on its test split), or any data "
                  "eval takes: image folder, .npy, .npz, .pb (docs/data.md)")
      ->required();
  cmd->add_option("--data-format", o->data_format, "auto, cifar10, images, npy, npz or pb")->capture_default_str();
  cmd->add_option("--labels", o->labels, "Labels for array --data: a 1-D integer .npy (none: accuracy is agreement with FP32)");
  cmd->add_option("--calib-data", o->calib_data,
                  "Calibration data for non-CIFAR --data (default: --data itself, noted in the report)");
  cmd->add_option("--calib-data-format", o->calib_data_format, "Format of --calib-data")->capture_default_str();
  cmd->add_option("--calib-labels", o->calib_labels, "Labels for array --calib-data (stratified draw)");
  cmd->add_option("-o,--output", o->out_dir, "Output directory")->required();
  cmd->add_option("--jobs", o->jobs, "Configurations run in parallel")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_flag("--quick", o->quick, "Smoke run: fewer configurations");
  cmd->add_option("--seed", o->seed, "Seed of the calibration sample")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Reuse finished configurations in OUTDIR/results.d");
  cmd->add_option("--calib-per-class", o->calib_per_class, "Calibration images per class")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--test-limit", o->test_limit, "Evaluate on the first N test images only (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--preprocess", o->preprocess, "Pixel preprocessing (see eval --help)")->capture_default_str();
  cmd->callback([o] {
    install_interrupt_handler();  // Ctrl-C stops between configurations; --resume continues
    retain_freed_memory();        // calibration caches of up to GBs come and go: reuse their pages
    while (o->out_dir.size() > 1 && o->out_dir.back() == '/') o->out_dir.pop_back();  // "out/" -> "out"
    StudyResults r = run_study(*o);
    const Recommendation rec = recommend(r);
    std::cout << (r.labelled ? "FP32: " : "FP32 (no labels: accuracy = agreement with FP32): ")
              << report::format_number(r.fp32.accuracy, "%.2f") << "%  (" << r.configs.size()
              << " configurations in " << report::format_number(r.wall_seconds, "%.1f") << " s)\n";
    if (rec.best_accuracy)
      std::cout << "best accuracy: " << rec.best_accuracy->name << " "
                << report::format_number(rec.best_accuracy->accuracy, "%.2f") << "%, agreement "
                << report::format_number(rec.best_accuracy->agreement, "%.2f") << "%\n";
    if (rec.recommended) std::cout << "recommended: " << rec.recommended->name << " (" << rec.reason << ")\n";
    std::cout << "report: " << o->out_dir << "/REPORT.md and " << o->out_dir << "/report.html\n";
  });
}

}  // namespace tinyptq::cli
