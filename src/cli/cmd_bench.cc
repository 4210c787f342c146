// tinyptq bench: engine throughput and latency per (batch, threads), optionally side by side with ONNX
// Runtime on the same model in the same run (ours, then ORT, per setting, so both see the same noise),
// and the share of the CPU's multiply-accumulate peak reached (bench/peak.h).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "bench/bench.h"
#include "bench/peak.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "engine/int_engine.h"
#include "engine/shape_inference.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "kernels/int8/kernel_table.h"
#include "ort/ort_runner.h"

namespace tinyptq::cli {

namespace {

struct BenchArgs {
  std::string model, batch = "1,64,256", threads = "1,2", json, engine = "auto", ort_model;
  std::string kernels = "best";  // integer kernel table: int8::kKernelTableNames or "best"
  std::string requant = "auto";  // apply_requant_flag
  double seconds = 2;
  int64_t rounds = 1;
  bool compare_ort = false, describe = false, profile = false;
};

// "1,64,256" → {1, 64, 256}; every item a positive integer ≤ limit.
std::vector<int64_t> parse_list(const std::string& flag, const std::string& text, int64_t limit) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    check(!item.empty() && used == item.size() && v >= 1 && v <= limit,
          flag + ": '" + item + "' is not an integer in [1, " + std::to_string(limit) + "] (in '" + text + "')");
    out.push_back(v);
  }
  check(!out.empty() && text.back() != ',', flag + ": expected a comma-separated list, got '" + text + "'");
  return out;
}

nlohmann::ordered_json latency_json(double p50, double p90, double p99) {
  return {{"p50", p50}, {"p90", p90}, {"p99", p99}};
}

void run_bench(const BenchArgs& a) {
  check(a.engine == "auto" || a.engine == "int" || a.engine == "float", "--engine must be auto, int or float");
  check(a.seconds > 0 && a.seconds <= 3600, "--seconds must be in (0, 3600]");
  check(a.rounds >= 1 && a.rounds <= 100, "--rounds must be in [1, 100]");
  const std::vector<int64_t> batches = parse_list("--batch", a.batch, 16384);  // input: 12 KB per image
  const std::vector<int64_t> thread_counts = parse_list("--threads", a.threads, 256);
  const bool compare_ort = a.compare_ort || !a.ort_model.empty();
  const std::string ort_model = a.ort_model.empty() ? a.model : a.ort_model;
  if (!a.ort_model.empty()) check(std::filesystem::is_regular_file(a.ort_model), a.ort_model + ": no such model file (--ort-model)");
  const int8::KernelTable& int8_kernels = int8::kernels_by_name(a.kernels);  // Error if the CPU lacks it
  Graph g = load_model(a.model);
  apply_requant_flag(g, a.requant);
  const EngineKind kind = a.engine == "int"     ? EngineKind::kInteger
                          : a.engine == "float" ? EngineKind::kFloat
                                                : EngineKind::kAuto;
  Shape image_shape;
  int64_t macs = 0;
  try {
    image_shape = graph_image_input(g).shape;
    macs = bench::macs_per_image(g);
  } catch (const Error& e) {
    throw Error(a.model + ": " + e.what());
  }
  if (compare_ort)
    if (const std::string why = ort_unavailable_reason(); !why.empty())
      throw Error("--compare-ort: ONNX Runtime is not usable: " + why);
  const bench::PeakInfo peak = bench::measure_peak();

  if (a.profile) {  // per-step share of one thread's single-image time, before the throughput runs
    check(is_qdq_graph(g), "--profile times the integer engine's steps; " + a.model + " is not a QDQ model");
    IntEngineOptions io;
    io.kernels = &int8_kernels;
    IntEngine engine(g, io);
    const Tensor one = bench::bench_input(image_shape, 1);
    engine.profile_steps(one, 20);  // warm-up
    int64_t images = 50;
    std::vector<double> t = engine.profile_steps(one, images);
    double total = 0;
    for (double v : t) total += v;
    if (total > 0 && total < a.seconds) {
      images = std::max<int64_t>(images, int64_t(double(images) * a.seconds / total));
      t = engine.profile_steps(one, images);
      total = 0;
      for (double v : t) total += v;
    }
    const std::vector<std::string> names = engine.step_names();
    std::vector<size_t> order(t.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return t[x] > t[y]; });
    std::vector<std::vector<std::string>> prows;
    for (size_t i : order)
      prows.push_back({std::to_string(i), names[i], fixed(1e6 * t[i] / double(images), 1),
                       fixed(100.0 * t[i] / total, 1)});
    std::cout << "profile: " << images << " single-image passes, 1 thread, " << fixed(1e6 * total / double(images), 1)
              << " us per image\n\n"
              << text_table({"step", "kernel and nodes", "us/image", "%"}, prows) << "\n";
  }

  std::string backend;
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  std::vector<std::vector<std::string>> rows;
  for (const int64_t threads : thread_counts) {
    std::unique_ptr<Engine> engine;
    try {
      engine = make_engine(g, int(threads), kind, &int8_kernels);
    } catch (const Error& e) {
      throw Error(a.model + ": " + e.what());
    }
    backend = engine->backend();
    check(backend == "int8" || a.kernels == "best",
          "--kernels selects the integer engine's kernels, and " + a.model + " runs on the FP32 engine");
    if (a.describe && threads == thread_counts.front()) std::cout << engine->describe() << "\n";
    const bench::MacPeak& mp = backend == "int8" ? peak.int8 : peak.fp32;
    for (const int64_t batch : batches) {
      const Tensor input = bench::bench_input(image_shape, batch);
      // Rounds alternate ours and ORT; each side reports its median round (by images/s).
      std::vector<bench::Measurement> our_rounds;
      std::vector<OrtBenchResult> ort_rounds;
      for (int64_t round = 0; round < a.rounds; ++round) {
        try {
          our_rounds.push_back(bench::measure(*engine, input, a.seconds));
        } catch (const Error& e) {
          throw Error(a.model + ": " + e.what());
        }
        if (compare_ort)
          ort_rounds.push_back(run_ort_bench(ort_model, image_shape, batch, int(threads), a.seconds));
      }
      auto by_speed = [](const auto& x, const auto& y) { return x.images_per_second < y.images_per_second; };
      std::sort(our_rounds.begin(), our_rounds.end(), by_speed);
      std::sort(ort_rounds.begin(), ort_rounds.end(), by_speed);
      const bench::Measurement ours = our_rounds[our_rounds.size() / 2];
      const double peak_macs = mp.macs_per_second * double(threads);
      const double fraction = peak_macs > 0 ? ours.images_per_second * double(macs) / peak_macs : 0;
      nlohmann::ordered_json r;
      r["batch"] = batch;
      r["threads"] = threads;
      r["images_per_second"] = ours.images_per_second;
      r["latency_ms"] = latency_json(ours.latency.p50_ms, ours.latency.p90_ms, ours.latency.p99_ms);
      r["runs"] = ours.runs;
      r["seconds"] = ours.seconds;
      r["fraction_of_peak"] = fraction;
      if (a.rounds > 1) {
        r["rounds_images_per_second"] = nlohmann::ordered_json::array();
        for (const auto& m : our_rounds) r["rounds_images_per_second"].push_back(m.images_per_second);
      }
      std::vector<std::string> row = {std::to_string(batch), std::to_string(threads),
                                      fixed(ours.images_per_second, 0), fixed(ours.latency.p50_ms, 3),
                                      fixed(ours.latency.p90_ms, 3), fixed(ours.latency.p99_ms, 3),
                                      fixed(100 * fraction, 1)};
      if (compare_ort) {
        const OrtBenchResult o = ort_rounds[ort_rounds.size() / 2];
        const double ratio = o.images_per_second > 0 ? ours.images_per_second / o.images_per_second : 0;
        r["ort"] = {{"images_per_second", o.images_per_second},
                    {"latency_ms", latency_json(o.p50_ms, o.p90_ms, o.p99_ms)},
                    {"runs", o.runs}};
        if (a.rounds > 1) {
          r["ort"]["rounds_images_per_second"] = nlohmann::ordered_json::array();
          for (const auto& m : ort_rounds) r["ort"]["rounds_images_per_second"].push_back(m.images_per_second);
        }
        r["ratio_vs_ort"] = ratio;
        row.push_back(fixed(o.images_per_second, 0));
        row.push_back(fixed(o.p50_ms, 3));
        row.push_back(fixed(ratio, 2));
      }
      results.push_back(r);
      rows.push_back(row);
    }
  }

  auto peak_json = [&](const bench::MacPeak& p) {
    return nlohmann::ordered_json{{"instruction", p.instruction},
                                  {"macs_per_instruction", p.macs_per_instruction},
                                  {"macs_per_second_per_thread", p.macs_per_second},
                                  {"instructions_per_cycle_at_cpu_mhz", p.instructions_per_cycle}};
  };
  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["schema_version"] = 1;
    j["model_path"] = a.model;
    j["engine"] = backend;
    if (backend == "int8") j["kernels"] = int8_kernels.isa;
    j["macs_per_image"] = macs;
    j["peak"] = {{"cpu_mhz", peak.cpu_mhz},
                 {"formula", "peak = threads * macs_per_instruction * instructions_per_cycle * clock, "
                             "measured per thread with a calibrated loop"},
                 {"int8", peak_json(peak.int8)},
                 {"fp32", peak_json(peak.fp32)}};
    j["compare_ort"] = compare_ort;
    if (compare_ort) j["ort_model_path"] = ort_model;
    j["results"] = results;
    write_file_atomic(a.json, j.dump(2) + "\n");
  }
  const bench::MacPeak& mp = backend == "int8" ? peak.int8 : peak.fp32;
  std::vector<std::string> header = {"batch", "threads", "images/s", "p50 ms", "p90 ms", "p99 ms", "% peak"};
  if (compare_ort) {
    header.push_back("ORT images/s");
    header.push_back("ORT p50 ms");
    header.push_back("ours/ORT");
  }
  if (compare_ort && ort_model != a.model) std::cout << "ONNX Runtime runs " << ort_model << "\n";
  const std::string kernels = backend == "int8" ? std::string(int8_kernels.isa) + " kernels, " : "";
  std::cout << a.model << " (" << backend << " engine, " << kernels << fixed(double(macs) / 1e6, 2)
            << " M MAC/image)\n"
            << "peak per thread: " << fixed(mp.macs_per_second / 1e9, 1) << " G MAC/s (" << mp.instruction << ", "
            << mp.macs_per_instruction << " MAC/instruction, " << fixed(mp.instructions_per_cycle, 2)
            << " instructions/cycle at " << fixed(peak.cpu_mhz, 0) << " MHz)\n\n"
            << text_table(header, rows);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Engine throughput and latency, optionally against ONNX Runtime");
  cmd->add_option("--model", args->model, "Model file (.onnx, or Keras .h5)")->required();
  cmd->add_option("--batch", args->batch, "Comma-separated batch sizes")->capture_default_str();
  cmd->add_option("--threads", args->threads, "Comma-separated thread counts")->capture_default_str();
  cmd->add_option("--seconds", args->seconds, "Measured seconds per setting (after a warm-up)")
      ->capture_default_str();
  cmd->add_option("--rounds", args->rounds,
                  "Measure each setting this many times, alternating with ORT; report the median round")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "Write results as JSON to FILE");
  cmd->add_flag("--compare-ort", args->compare_ort,
                "Also run ONNX Runtime (onnxruntime-node) on the same model per setting and print ours/ORT");
  cmd->add_option("--ort-model", args->ort_model,
                  "Run ONNX Runtime on this model instead of --model (e.g. its fastest int8 model); implies "
                  "--compare-ort");
  cmd->add_option("--requant", args->requant, kRequantFlagHelp)->capture_default_str();
  cmd->add_option("--engine", args->engine, "auto (integer engine for QDQ models), int, or float")
      ->capture_default_str();
  std::vector<std::string> kernel_names = {"best"};
  for (const char* name : int8::kKernelTableNames) kernel_names.push_back(name);
  cmd->add_option("--kernels", args->kernels,
                  "Integer engine kernel table: best (the fastest this CPU runs), avx512-vnni, avx-vnni, avx2 "
                  "or reference")
      ->check(CLI::IsMember(kernel_names))
      ->capture_default_str();
  cmd->add_flag("--describe", args->describe, "Print the integer engine's plan (steps and kernels)");
  cmd->add_flag("--profile", args->profile,
                "Time every integer-engine step (one thread, single images) and print them by share of the time");
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace tinyptq::cli
