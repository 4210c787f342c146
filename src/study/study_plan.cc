#include "study/study_plan.h"

#include <algorithm>

#include "study/ablation.h"

namespace tinyptq {

namespace {

std::string method_key(Method m) { return method_name(m); }

}  // namespace

QuantRecipe naive_recipe(int wbits, int abits) {
  QuantRecipe r = preset_recipe("ort-uint8");
  r.preset = "naive";
  r.weight_type = Container::kInt8;
  r.weight_symmetric = true;
  r.wbits = wbits;
  r.abits = abits;
  return r;
}

QuantRecipe best_recipe(int wbits, int abits) { return preset_recipe("best", wbits, abits); }

// The sweeps run AdaRound dozens of times, so they use a study budget (docs/study.md): its Gram matrices
// cost images × positions × K², its iterations Cout × K² each. `quantize --preset best` uses the full one.
// The output-aware activation-range search (about 10x an observer pass) gives way to ranges observed on
// the partially quantized network (docs/low_bit.md: −0.6 pp at W4A8, −0.2 pp at W4A4).
// Recipes that run the partially quantized network over the calibration images (AdaRound, or bias
// correction on quantized inputs) calibrate on the sweep's smaller set.
void use_sweep_budget(StudyConfig& c, const StudyOptions& o) {
  if (c.recipe.act_ranges == ActRanges::kOutputAware) c.recipe.act_ranges = ActRanges::kQuantized;
  if (c.recipe.adaround || (c.recipe.bias_correction && c.recipe.quantized_inputs))
    c.calib_per_class = std::min(c.calib_per_class, kSweepCalibPerClass);
  if (c.recipe.adaround) c.recipe.adaround_iterations = o.quick ? kQuickAdaRoundIterations : kSweepAdaRoundIterations;
}

std::vector<StudyConfig> study_plan(const StudyOptions& o, const std::vector<std::string>& layers) {
  std::vector<StudyConfig> out;
  auto add = [&](StudyConfig c) {
    if (c.calib_per_class == 100 && o.calib_per_class != 100 && c.group != "calibration")
      c.calib_per_class = o.calib_per_class;
    if (c.group != "calibration") c.calib_seed = o.seed;
    c.recipe.seed = o.seed;
    out.push_back(std::move(c));
  };
  // Presets.
  for (const auto& p : preset_names()) {
    StudyConfig c;
    c.name = "preset/" + p;
    c.group = "preset";
    c.label = p;
    c.recipe = preset_recipe(p);
    c.save_model = true;
    add(c);
  }
  // Observer × weight granularity × activation type, 8 bits, symmetric int8 weights.
  for (Method m : {Method::kMinMax, Method::kEntropy, Method::kPercentile, Method::kMse})
    for (bool pc : {false, true})
      for (Container at : {Container::kInt8, Container::kUint8}) {
        if (o.quick && (at == Container::kInt8 || m == Method::kEntropy)) continue;
        StudyConfig c;
        c.group = "matrix";
        c.recipe = preset_recipe("ort-int8");
        c.recipe.preset = "matrix";
        c.recipe.act_method = m;
        c.recipe.per_channel = pc;
        c.recipe.act_type = at;
        c.label = method_key(m) + std::string(pc ? " per-channel" : " per-tensor") + (at == Container::kInt8 ? " int8" : " uint8");
        c.name = "matrix/" + method_key(m) + (pc ? "-pc-" : "-pt-") + (at == Container::kInt8 ? "int8" : "uint8");
        add(c);
      }
  // Calibration-set size: mean and spread over seeds.
  const std::vector<int> sizes = o.quick ? std::vector<int>{10, 100, 1000} : std::vector<int>{10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
  const int seeds = o.quick ? 1 : 3;
  for (int n : sizes)
    for (int s = 0; s < seeds; ++s) {
      StudyConfig c;
      c.group = "calibration";
      c.recipe = preset_recipe("best");
      c.recipe.bias_correction = false;
      c.calib_per_class = n / 10;
      c.calib_seed = o.seed + uint64_t(s) + 1000;
      c.label = std::to_string(n) + " images";
      c.variant = std::to_string(n);
      c.name = "calibration/n" + std::to_string(n) + "-s" + std::to_string(s);
      add(c);
    }
  // Weight bits × activation bits.
  const std::vector<int> widths = o.quick ? std::vector<int>{8, 4} : std::vector<int>{2, 3, 4, 5, 6, 7, 8};
  for (const char* variant : {"naive", "best"})
    for (int wb : widths)
      for (int ab : widths) {
        StudyConfig c;
        c.group = "bits";
        c.variant = variant;
        c.wbits = wb;
        c.abits = ab;
        c.recipe = std::string(variant) == "naive" ? naive_recipe(wb, ab) : best_recipe(wb, ab);
        c.label = "W" + std::to_string(wb) + "A" + std::to_string(ab) + " " + variant;
        c.name = "bits/" + std::string(variant) + "-w" + std::to_string(wb) + "a" + std::to_string(ab);
        add(c);
        use_sweep_budget(out.back(), o);
      }
  // Per-layer sensitivity at 4-bit weights: one layer quantized (others float), one layer float.
  if (!o.quick)
    for (const auto& l : layers)
      for (const char* variant : {"only", "except"}) {
        StudyConfig c;
        c.group = "layer";
        c.variant = variant;
        c.layer = l;
        c.wbits = 4;
        // Fragility under plain rounding (MSE ranges, bias correction, no AdaRound): what AdaRound would
        // repair is what the ranking must show.
        c.recipe = best_recipe(4, 8);
        c.recipe.adaround = false;
        for (const auto& other : layers) {
          const bool quantized = std::string(variant) == "only" ? other == l : other != l;
          if (!quantized) c.recipe.layers[other].keep_float = true;
        }
        c.label = std::string(variant) + " " + l;
        c.name = "layer/" + std::string(variant) + "-" + l;
        add(c);
        use_sweep_budget(out.back(), o);
      }
  // Low-bit ablation (ablation.h).
  for (auto& c : ablation_configs(o)) {
    add(std::move(c));
    use_sweep_budget(out.back(), o);  // full-budget ablation: docs/low_bit.md
  }
  return out;
}

}  // namespace tinyptq
