// tinyptq sensitivity: per-layer weight-quantization sensitivity on held-out training images, and the
// Pareto front of mixed-precision weight allocations (weight bytes vs predicted KL).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/calibration.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "quant/mixed_plan.h"

namespace tinyptq::cli {

namespace {

struct SensitivityArgs {
  std::string model, data, json, preset = "best", preprocess = "raw";
  std::vector<int> bits = {2, 3, 4, 5, 6, 7, 8};
  int calib_per_class = 100, heldout_per_class = 50, verify = 0, abits = 8;
  std::optional<int> adaround_iters, threads;
  std::optional<double> budget_kb;
  bool no_adaround = false;
  uint64_t seed = 0;
};

constexpr size_t kMaxFrontRows = 24;  // front rows printed (all go to the JSON)

std::string bits_list(const std::vector<int>& bits) {
  std::string s;
  for (int b : bits) s += std::to_string(b);
  return s;
}

// Indices of up to n front points evenly spaced by position (always the first and the last).
std::vector<size_t> spaced(size_t size, size_t n) {
  std::vector<size_t> out;
  if (size == 0 || n == 0) return out;
  if (n >= size) n = size;
  for (size_t i = 0; i < n; ++i) {
    const size_t k = n == 1 ? size - 1 : i * (size - 1) / (n - 1);
    if (out.empty() || out.back() != k) out.push_back(k);
  }
  return out;
}

void run_sensitivity(const SensitivityArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  QuantRecipe recipe = preset_recipe(a.preset, 8, a.abits);
  if (a.preset == "best") use_low_bit_methods(recipe);
  if (a.no_adaround) recipe.adaround = false;
  if (a.adaround_iters) recipe.adaround_iterations = *a.adaround_iters;
  if (a.threads) recipe.threads = *a.threads;
  recipe.seed = a.seed;

  Graph model = load_model(a.model);
  const Layout layout = input_layout(model, a.model);
  const Preprocess pre = parse_preprocess(a.preprocess);
  Dataset d = load_cifar10(a.data, Split::kTrain);
  CalibrationSet cs = stratified_sample(d, a.calib_per_class, a.seed);
  cs.split = "train";
  const std::vector<int64_t> held = heldout_indices(d, cs, a.heldout_per_class);
  Calibration calib(model, image_batch(d, cs.indices, layout, pre), recipe.cross_layer_equalization);
  const ProxySet proxy = make_proxy_set(calib, image_batch(d, held, layout, pre), recipe.threads);

  SensitivityOptions so;
  so.bits = a.bits;
  const std::vector<LayerSensitivity> sens = layer_sensitivity(calib, proxy, recipe, so);
  const std::vector<LayerChoices> choices = kl_costs(sens);
  const std::vector<BitAllocation> front = pareto_front(choices);
  std::optional<BitAllocation> chosen;
  if (a.budget_kb) chosen = allocate_bits(choices, int64_t(*a.budget_kb * 1000.0 * 8.0));

  // Verification: quantize the whole model (activations at abits) with the allocation's widths.
  struct Verified {
    size_t front_index;  // front.size() for the budget's choice
    ProxyMetrics metrics;
  };
  std::vector<Verified> verified;
  auto verify = [&](const BitAllocation& alloc, size_t index) {
    const QuantizeResult r = quantize(calib, recipe_with_bits(recipe, choices, alloc), QuantizeOptions{0});
    verified.push_back({index, evaluate_proxy(r.model.graph, proxy)});
  };
  for (size_t k : spaced(front.size(), size_t(a.verify))) verify(front[k], k);
  if (chosen && a.verify > 0) verify(*chosen, front.size());
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Tables.
  std::vector<std::string> header = {"layer", "weights"};
  for (int b : so.bits) header.push_back("KL W" + std::to_string(b));
  for (int b : so.bits) header.push_back("agr W" + std::to_string(b));
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : sens) {
    std::vector<std::string> row = {s.layer, std::to_string(s.weights)};
    for (const auto& r : s.results) row.push_back(fixed(r.metrics.kl, 4));
    for (const auto& r : s.results) row.push_back(fixed(r.metrics.agreement, 1));
    rows.push_back(row);
  }
  std::cout << "sensitivity of " << a.model << ": one layer's weights quantized at a time (others and activations "
            << "float), " << recipe.summary() << "\n"
            << "proxy: " << proxy.top1.size() << " held-out training images (outside the " << cs.indices.size()
            << " calibration images); KL = mean KL(p_fp32 || p_q) in nats, agr = top-1 agreement with FP32 %\n\n"
            << text_table(header, rows) << "\n";

  std::string layer_order;
  for (const auto& c : choices) layer_order += (layer_order.empty() ? "" : " ") + c.layer;
  std::vector<std::vector<std::string>> frows;
  auto verified_cells = [&](size_t index) -> std::vector<std::string> {
    for (const auto& v : verified)
      if (v.front_index == index) return {fixed(v.metrics.agreement, 2), fixed(v.metrics.kl, 4)};
    return {"", ""};
  };
  // The spaced rows plus every verified point, ascending size.
  std::vector<size_t> shown = spaced(front.size(), kMaxFrontRows);
  for (const auto& v : verified)
    if (v.front_index < front.size()) shown.push_back(v.front_index);
  std::sort(shown.begin(), shown.end());
  shown.erase(std::unique(shown.begin(), shown.end()), shown.end());
  for (size_t k : shown) {
    std::vector<std::string> row = {fixed(front[k].bytes() / 1000.0, 3), fixed(front[k].cost, 4), bits_list(front[k].bits)};
    for (auto& c : verified_cells(k)) row.push_back(c);
    frows.push_back(row);
  }
  std::cout << "Pareto front (" << front.size() << " allocations; " << shown.size()
            << " shown; bits per layer in the order " << layer_order << "):\n"
            << text_table({"weight kB", "predicted KL", "bits", "verified agr %", "verified KL"}, frows);
  if (chosen) {
    std::cout << "\nbudget " << fixed(*a.budget_kb, 3) << " kB: " << bits_list(chosen->bits) << " = "
              << fixed(chosen->bytes() / 1000.0, 3) << " kB, predicted KL " << fixed(chosen->cost, 4);
    const auto v = verified_cells(front.size());
    if (!v[0].empty()) std::cout << ", verified agreement " << v[0] << "%, KL " << v[1];
    std::cout << "\n";
  }
  std::cout << "\n1 kB = 1000 bytes of weights (bits x weights / 8, biases excluded); " << fixed(total, 1) << " s\n";

  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["schema_version"] = 1;
    j["model_path"] = a.model;
    j["recipe"] = recipe.summary();
    j["calibration_images"] = cs.indices.size();
    j["heldout_images"] = proxy.top1.size();
    auto layers = nlohmann::ordered_json::array();
    for (const auto& s : sens) {
      auto results = nlohmann::ordered_json::array();
      for (const auto& r : s.results)
        results.push_back({{"wbits", r.bits}, {"kl", r.metrics.kl}, {"agreement", r.metrics.agreement},
                           {"sqnr_db", r.metrics.sqnr_db}});
      layers.push_back({{"layer", s.layer}, {"weights", s.weights}, {"results", results}});
    }
    j["layers"] = layers;
    auto fj = nlohmann::ordered_json::array();
    for (size_t k = 0; k < front.size(); ++k) {
      nlohmann::ordered_json p = {{"weight_bytes", front[k].bytes()}, {"predicted_kl", front[k].cost},
                                  {"wbits", front[k].bits}};
      for (const auto& v : verified)
        if (v.front_index == k) p["verified"] = {{"agreement", v.metrics.agreement}, {"kl", v.metrics.kl}};
      fj.push_back(p);
    }
    j["pareto_front"] = fj;
    if (chosen) {
      nlohmann::ordered_json c = {{"budget_kb", *a.budget_kb}, {"weight_bytes", chosen->bytes()},
                                  {"predicted_kl", chosen->cost}, {"wbits", chosen->bits}};
      for (const auto& v : verified)
        if (v.front_index == front.size()) c["verified"] = {{"agreement", v.metrics.agreement}, {"kl", v.metrics.kl}};
      j["budget"] = c;
    }
    j["seconds"] = total;
    write_file_atomic(a.json, j.dump(2) + "\n");
  }
}

}  // namespace

void add_sensitivity_command(CLI::App& app) {
  auto a = std::make_shared<SensitivityArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sensitivity", "Per-layer weight-bit sensitivity on held-out training images and the mixed-precision Pareto front");
  cmd->add_option("--model", a->model, "FP32 model (.onnx or Keras .h5)")->required();
  cmd->add_option("--data", a->data, "CIFAR-10 directory (training split)")->required();
  cmd->add_option("--json", a->json, "Write the sensitivities and the Pareto front as JSON");
  cmd->add_option("--preset", a->preset, "Weight method of the preset (best: MSE ranges + AdaRound + bias correction)")
      ->capture_default_str();
  cmd->add_option("--bits", a->bits, "Candidate weight bit widths (2..8)")->delimiter(',')->check(CLI::Range(2, 8));
  cmd->add_option("--abits", a->abits, "Activation bits of the verified models")->capture_default_str()->check(CLI::Range(2, 8));
  cmd->add_option("--budget-kb", a->budget_kb, "Also choose the allocation for this weight budget (kB = 1000 bytes)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--verify", a->verify,
                  "Quantize and measure this many front points (evenly spaced) and the budget's choice")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  cmd->add_option("--calib-per-class", a->calib_per_class, "Calibration images per class")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--heldout-per-class", a->heldout_per_class, "Held-out training images per class")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_flag("--no-adaround", a->no_adaround, "Round to nearest instead of AdaRound");
  cmd->add_option("--adaround-iters", a->adaround_iters, "AdaRound iterations per layer and width")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--seed", a->seed, "Seed of the calibration sample and AdaRound")->capture_default_str();
  cmd->add_option("--preprocess", a->preprocess, "Pixel preprocessing (see eval --help)")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Worker threads")->check(CLI::Range(1, 256));
  cmd->callback([a] { run_sensitivity(*a); });
}

}  // namespace tinyptq::cli
