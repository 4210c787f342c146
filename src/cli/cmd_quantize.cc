// tinyptq quantize: calibrate on stratified training images and write a QDQ ONNX model.
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "data/calibration.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "eval/source_eval.h"
#include "data/open_source.h"
#include "onnx/onnx_writer.h"
#include "quant/mixed_plan.h"
#include "quant/quantizer.h"

namespace tinyptq::cli {

namespace {

struct QuantizeArgs {
  std::string model, data, output, preset = "best", json, calib_indices, lock, preprocess = "raw";
  std::string calib_split = "train", data_format = "auto", labels;
  std::optional<std::string> method, weight_method, act_type, weight_type;
  std::optional<int> wbits, abits, adaround_iters, adaround_batch, threads;
  std::optional<double> percentile, adaround_lr, adaround_reg, adaround_warmup;
  std::optional<double> weight_budget_kb;
  std::vector<int> mixed_bits = {2, 3, 4, 5, 6, 7, 8};
  std::vector<std::string> keep_float;  // layer (node) names run in float
  std::optional<std::string> act_ranges;
  std::optional<int> output_abits;
  int heldout_per_class = 50;
  bool adaround_minibatch = false, adaround_post_activation = false, fp32_inputs = false;
  bool per_channel = false, per_tensor = false, reduce_range = false, no_reduce_range = false;
  bool float_logits = false, no_float_logits = false;
  std::optional<std::string> requant;  // float | integer; default: the preset's
  bool bias_correction = false, no_bias_correction = false, cle = false, adaround = false, no_adaround = false;
  bool force_test = false;
  int calib_per_class = 100;
  std::optional<int> calib_samples;  // data without labels: samples drawn (default 1000, all when fewer)
  bool calib_per_class_given = false;  // without labels, an explicit --calib-per-class counts as the total
  uint64_t seed = 0;
  int64_t sqnr_images = 128;
};

Container parse_container(const std::string& s, const char* flag) {
  if (s == "int8") return Container::kInt8;
  if (s == "uint8") return Container::kUint8;
  throw Error(std::string(flag) + " must be int8 or uint8 (got '" + s + "')");
}

Method parse_method(const std::string& s, const char* flag) {
  auto m = method_from_name(s);
  check(m.has_value(), std::string(flag) + " must be minmax, entropy, percentile or mse (got '" + s + "')");
  return *m;
}

QuantRecipe build_recipe(const QuantizeArgs& a) {
  QuantRecipe r = preset_recipe(a.preset, a.wbits.value_or(8), a.abits.value_or(8));
  if (a.weight_budget_kb && a.preset == "best") use_low_bit_methods(r);
  if (a.method) r.act_method = parse_method(*a.method, "--method");
  if (a.weight_method) r.weight_method = parse_method(*a.weight_method, "--weight-method");
  check(r.weight_method == Method::kMinMax || r.weight_method == Method::kMse, "--weight-method must be minmax or mse");
  if (a.act_type) r.act_type = parse_container(*a.act_type, "--act-type");
  if (a.weight_type) {
    r.weight_type = parse_container(*a.weight_type, "--weight-type");
    r.weight_symmetric = r.weight_type == Container::kInt8;
  }
  if (a.per_channel) r.per_channel = true;
  if (a.per_tensor) r.per_channel = false;
  if (a.wbits) r.wbits = *a.wbits;
  if (a.abits) r.abits = *a.abits;
  if (a.percentile) r.percentile = *a.percentile;
  if (a.reduce_range) r.reduce_range = true;
  if (a.no_reduce_range) r.reduce_range = false;
  if (a.requant) r.requant = parse_requantization(*a.requant);
  if (a.float_logits) r.float_logits = true;
  if (a.no_float_logits) r.float_logits = false;
  if (a.bias_correction) r.bias_correction = true;
  if (a.no_bias_correction) r.bias_correction = false;
  if (a.cle) r.cross_layer_equalization = true;
  if (a.adaround) r.adaround = true;
  if (a.no_adaround) r.adaround = false;
  if (a.adaround_iters) r.adaround_iterations = *a.adaround_iters;
  if (a.adaround_batch) r.adaround_batch = *a.adaround_batch;
  if (a.adaround_lr) r.adaround_lr = *a.adaround_lr;
  if (a.adaround_reg) r.adaround_reg = *a.adaround_reg;
  if (a.adaround_warmup) r.adaround_warmup = *a.adaround_warmup;
  if (a.adaround_minibatch) r.adaround_full_batch = false;
  if (a.adaround_post_activation) {
    r.adaround_full_batch = false;
    r.adaround_post_activation = true;
  }
  if (a.fp32_inputs) r.quantized_inputs = false;
  if (a.output_abits) r.output_abits = *a.output_abits;
  if (a.act_ranges) {
    check(*a.act_ranges == "float" || *a.act_ranges == "quantized" || *a.act_ranges == "output",
          "--act-ranges must be float, quantized or output (got '" + *a.act_ranges + "')");
    r.act_ranges = *a.act_ranges == "float"       ? ActRanges::kFloat
                   : *a.act_ranges == "quantized" ? ActRanges::kQuantized
                                                  : ActRanges::kOutputAware;
  }
  for (const auto& name : a.keep_float) r.layers[name].keep_float = true;
  if (a.threads) r.threads = *a.threads;
  r.seed = a.seed;
  return r;
}

void run_quantize(const QuantizeArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  QuantRecipe recipe = build_recipe(a);
  // Outputs appear together or not at all: check every path now, stage each file, commit at the end.
  for (const std::string& path : {a.output, a.lock, a.json})
    if (!path.empty()) check_writable(path);
  StagedFiles outputs;
  check(a.calib_split == "train" || a.calib_split == "test", "--calib-split must be train or test");
  check(a.calib_split == "train" || a.force_test,
        "calibrating on the test split leaks the evaluation set; pass --force-test-calibration to do it anyway");
  Graph model = load_model(a.model);
  const Split split = a.calib_split == "test" ? Split::kTest : Split::kTrain;
  const DataSpec spec{a.data, parse_data_format(a.data_format), a.labels, split, -1};
  const bool cifar = resolve_format(spec) == DataFormat::kCifar10;
  Layout layout = Layout::kNCHW;
  Dataset d;
  CalibrationSet cs;
  Tensor inputs;
  if (cifar) {  // the CIFAR-10 path, unchanged
    layout = input_layout(model, a.model);
    d = load_cifar10(a.data, split);
    if (!a.calib_indices.empty()) {
      cs = load_calibration_lock(a.calib_indices);
      check(cs.split == a.calib_split || a.force_test,
            a.calib_indices + ": lockfile is for split '" + cs.split + "', not '" + a.calib_split + "'");
    } else {
      cs = stratified_sample(d, a.calib_per_class, a.seed);
      cs.split = a.calib_split;
    }
    try {
      check_indices(cs, d);
      check(!cs.indices.empty(), "calibration set is empty");
    } catch (const Error& e) {
      if (a.calib_indices.empty()) throw;
      throw Error(a.calib_indices + ": " + e.what());  // the lockfile is at fault: name it
    }
    inputs = image_batch(d, cs.indices, layout, parse_preprocess(a.preprocess));
  } else {  // any other DataSource: stratified over its labels, or a seeded draw without them
    check(!a.weight_budget_kb, "--weight-budget-kb needs CIFAR-10 data (held-out images come from its train split)");
    const auto source =
        open_data_source(with_model_image_size(spec, model), source_layout(model), parse_preprocess(a.preprocess));
    check_fits_model(*source, model, a.model);
    // Without labels there is one "class": draw --calib-samples of it (as many as CIFAR-10's 10 × 100).
    const int draw = !source->labels().empty() ? a.calib_per_class
                     : a.calib_samples        ? *a.calib_samples
                     : a.calib_per_class_given ? a.calib_per_class
                                               : 1000;
    cs = a.calib_indices.empty() ? sample_source(*source, draw, a.seed, data_format_name(resolve_format(spec)))
                                 : load_calibration_lock(a.calib_indices);
    try {
      check_indices(cs, *source);
      check(!cs.indices.empty(), "calibration set is empty");
    } catch (const Error& e) {
      if (a.calib_indices.empty()) throw;
      throw Error(a.calib_indices + ": " + e.what());
    }
    inputs = source_batch(*source, cs.indices);
  }

  // Calibration and quantization errors concern the model: name its file.
  auto naming_model = [&](auto&& fn) {
    try {
      return fn();
    } catch (const Error& e) {
      throw Error(a.model + ": " + e.what());
    }
  };
  auto calib_ptr = naming_model(
      [&] { return std::make_unique<Calibration>(model, std::move(inputs), recipe.cross_layer_equalization); });
  Calibration& calib = *calib_ptr;
  // Mixed precision: per-layer widths from sensitivity on held-out training images.
  std::optional<MixedPlan> mixed;
  std::optional<ProxySet> proxy;
  if (a.weight_budget_kb) {
    check(a.keep_float.empty(), "--keep-float cannot be combined with --weight-budget-kb (mixed precision sets every layer's width)");
    check(split == Split::kTrain, "--weight-budget-kb needs --calib-split train (held-out images come from it)");
    const std::vector<int64_t> held = heldout_indices(d, cs, a.heldout_per_class);
    proxy = make_proxy_set(calib, image_batch(d, held, layout, parse_preprocess(a.preprocess)), recipe.threads);
    SensitivityOptions so;
    so.bits = a.mixed_bits;
    mixed = plan_mixed_precision(calib, *proxy, recipe, *a.weight_budget_kb * 1000.0, so);
    recipe = mixed->recipe;
  }
  QuantizeOptions qo;
  qo.sqnr_images = a.sqnr_images;
  QuantizeResult res = naming_model([&] { return quantize(calib, recipe, qo); });
  const int64_t bytes = save_onnx(res.model.graph, a.output, outputs);
  if (!a.lock.empty()) outputs.add(a.lock, calibration_to_json(cs));
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<std::vector<std::string>> rows;
  for (const auto& l : res.layers) {
    const bool float_out = l.abits == 32;  // dequantized int32 accumulator (--float-logits)
    rows.push_back({l.node, l.op, l.wbits ? std::to_string(l.wbits) + (l.weight_granularity == "per-channel" ? "/ch" : "") : "-",
                    std::to_string(l.abits), float_out ? "float" : "[" + fixed(l.min, 3) + ", " + fixed(l.max, 3) + "]",
                    float_out ? "-" : fixed(l.scale, 6), float_out ? "-" : std::to_string(l.zero_point), float_out ? "-" : fixed(l.sqnr_db, 1)});
  }
  std::cout << "preset " << recipe.preset << ": " << recipe.summary() << "\n"
            << (a.keep_float.empty() ? std::string() : "kept float: " + join(a.keep_float, ", ") + "\n")
            << "calibration: " << cs.indices.size() << " images from " << cs.split << " (seed " << cs.seed << ")\n\n"
            << text_table({"layer", "op", "W bits", "A bits", "output range", "scale", "zp", "SQNR dB"}, rows) << "\n"
            << "wrote " << a.output << " (" << bytes << " bytes) in " << fixed(total, 2) << " s (quantize "
            << fixed(res.seconds, 2) << " s)\n";
  std::optional<ProxyMetrics> verified;
  if (mixed) {
    verified = evaluate_proxy(res.model.graph, *proxy);
    std::vector<std::vector<std::string>> crows;
    for (const auto& c : mixed->candidates) {
      std::string bits;
      for (int b : c.allocation.bits) bits += std::to_string(b);
      crows.push_back({std::to_string(c.min_bits), bits, fixed(c.allocation.bytes() / 1000.0, 3), fixed(c.allocation.cost, 4),
                       fixed(c.measured.agreement, 2), fixed(c.measured.kl, 4),
                       c.allocation.bits == mixed->chosen.bits ? "chosen" : ""});
    }
    if (!crows.empty())
      std::cout << "\nmixed-precision candidates (exact optimum with widths >= floor; measured = whole model on the "
                   "held-out images):\n"
                << text_table({"floor", "bits", "weight kB", "predicted KL", "measured agr %", "measured KL", ""}, crows);
    std::cout << "\nmixed precision: " << fixed(mixed->chosen.bytes() / 1000.0, 3) << " kB of weights (budget "
              << fixed(*a.weight_budget_kb, 3) << " kB, 1 kB = 1000 bytes, biases excluded); predicted KL "
              << fixed(mixed->chosen.cost, 4) << "; on " << proxy->top1.size()
              << " held-out training images: agreement with FP32 " << fixed(verified->agreement, 2) << "%, KL "
              << fixed(verified->kl, 4) << "\n";
  }

  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["schema_version"] = 1;
    j["model_path"] = a.model;
    j["output_path"] = a.output;
    j["output_bytes"] = bytes;
    j["preset"] = recipe.preset;
    j["recipe"] = recipe.summary();
    if (!a.keep_float.empty()) j["keep_float"] = a.keep_float;
    auto layers = nlohmann::ordered_json::array();
    for (const auto& l : res.layers)
      layers.push_back({{"node", l.node}, {"op", l.op}, {"output", l.value}, {"wbits", l.wbits}, {"abits", l.abits},
                        {"weight_granularity", l.weight_granularity}, {"range", {l.min, l.max}}, {"scale", l.scale},
                        {"zero_point", l.zero_point}, {"sqnr_db", l.sqnr_db}});
    j["layers"] = layers;
    j["calibration"] = nlohmann::ordered_json::parse(calibration_to_json(cs));
    j["timing"] = {{"quantize_seconds", res.seconds}, {"total_seconds", total}};
    if (mixed) {
      auto layers_j = nlohmann::ordered_json::array();
      for (size_t i = 0; i < mixed->choices.size(); ++i)
        layers_j.push_back({{"layer", mixed->choices[i].layer}, {"weights", mixed->choices[i].weights},
                            {"wbits", mixed->chosen.bits[i]}});
      auto cands = nlohmann::ordered_json::array();
      for (const auto& c : mixed->candidates)
        cands.push_back({{"min_bits", c.min_bits}, {"wbits", c.allocation.bits}, {"weight_bytes", c.allocation.bytes()},
                         {"predicted_kl", c.allocation.cost}, {"heldout_agreement", c.measured.agreement},
                         {"heldout_kl", c.measured.kl}});
      j["mixed_precision"] = {{"budget_kb", *a.weight_budget_kb}, {"weight_bytes", mixed->chosen.bytes()},
                              {"predicted_kl", mixed->chosen.cost}, {"heldout_images", proxy->top1.size()},
                              {"heldout_agreement", verified->agreement}, {"heldout_kl", verified->kl}, {"candidates", cands},
                              {"layers", layers_j}};
    }
    outputs.add(a.json, j.dump(2) + "\n");
  }
  outputs.commit();
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand("quantize", "Calibrate on CIFAR-10 training images and write a QDQ ONNX model");
  cmd->add_option("--model", a->model, "FP32 model (.onnx or Keras .h5)")->required();
  cmd->add_option("--data", a->data, "CIFAR-10 directory, image folder, .npy, .npz or ONNX tensor .pb (calibration samples)")->required();
  cmd->add_option("--data-format", a->data_format, "auto (by content), cifar10, images, npy, npz or pb (ONNX TensorProto)")->capture_default_str();
  cmd->add_option("--labels", a->labels, "Labels for array data (1-D integer .npy): stratified calibration");
  cmd->add_option("-o,--output", a->output, "Output QDQ ONNX file")->required();
  cmd->add_option("--preset", a->preset, "ort-int8 | ort-uint8 | pytorch-x86 | tflite-int8 | best")->capture_default_str();
  cmd->add_option("--method", a->method, "Activation calibration: minmax | entropy | percentile | mse");
  cmd->add_option("--weight-method", a->weight_method, "Weight range: minmax | mse");
  cmd->add_option("--percentile", a->percentile, "Percentile for --method percentile (e.g. 99.999)");
  cmd->add_option("--act-type", a->act_type, "Activation container: int8 | uint8");
  cmd->add_option("--weight-type", a->weight_type, "Weight container: int8 (symmetric) | uint8 (asymmetric)");
  cmd->add_flag("--per-channel", a->per_channel, "Per-output-channel weight scales");
  cmd->add_flag("--per-tensor", a->per_tensor, "One weight scale per tensor");
  cmd->add_option("--wbits", a->wbits, "Weight bit width 2..8")->check(CLI::Range(2, 8));
  cmd->add_option("--abits", a->abits, "Activation bit width 2..8")->check(CLI::Range(2, 8));
  cmd->add_flag("--reduce-range", a->reduce_range, "One fewer activation bit (PyTorch x86)");
  cmd->add_flag("--no-reduce-range", a->no_reduce_range, "Full activation range");
  cmd->add_option("--requant", a->requant,
                  "Arithmetic the model is made for, recorded in its metadata: float (ONNX Runtime) or integer "
                  "(TFLite/CMSIS-NN fixed point; the default of tflite-int8)");
  cmd->add_flag("--float-logits", a->float_logits,
                "Keep the network outputs (logits) float: dequantize the last layer's int32 accumulator");
  cmd->add_flag("--no-float-logits", a->no_float_logits, "Quantize the network outputs to the activation bits");
  cmd->add_flag("--bias-correction", a->bias_correction, "Empirical bias correction");
  cmd->add_flag("--no-bias-correction", a->no_bias_correction, "Disable bias correction");
  cmd->add_flag("--cle", a->cle, "Cross-layer equalization before quantizing");
  cmd->add_flag("--adaround", a->adaround, "Learn weight rounding (AdaRound)");
  cmd->add_flag("--no-adaround", a->no_adaround, "Round weights to nearest");
  cmd->add_option("--adaround-iters", a->adaround_iters, "AdaRound iterations per layer")->check(CLI::Range(1, 100000));
  cmd->add_option("--adaround-batch", a->adaround_batch, "AdaRound images per mini-batch step")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--adaround-lr", a->adaround_lr, "AdaRound Adam step size")->check(CLI::Range(1e-6, 10.0));
  cmd->add_option("--adaround-reg", a->adaround_reg, "AdaRound rounding-regulariser weight (lambda)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--adaround-warmup", a->adaround_warmup, "AdaRound share of iterations before the regulariser")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--adaround-minibatch", a->adaround_minibatch,
                "AdaRound on random mini-batches instead of the exact full-batch quadratic form");
  cmd->add_flag("--adaround-post-activation", a->adaround_post_activation,
                "AdaRound reconstructs the output after the fused ReLU (implies --adaround-minibatch)");
  cmd->add_flag("--fp32-inputs", a->fp32_inputs,
                "AdaRound / bias correction see the FP32 layer inputs fake-quantized, not the quantized network's");
  cmd->add_option("--act-ranges", a->act_ranges,
                 "Activation ranges: float (observer on FP32 activations) | quantized (observer on the partially "
                 "quantized network) | output (output-aware search)");
  cmd->add_option("--output-abits", a->output_abits, "Bits of the network-output activations (logits)")
      ->check(CLI::Range(2, 8));
  cmd->add_option("--threads", a->threads, "Worker threads for AdaRound and the layer runner")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--weight-budget-kb", a->weight_budget_kb,
                 "Mixed precision: per-layer weight widths (2..8) chosen by sensitivity on held-out training images "
                 "so that the weights take at most this many kB (1 kB = 1000 bytes, biases excluded)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--keep-float", a->keep_float,
                  "Layers (node names, comma-separated) to leave in float, like ONNX Runtime's nodes_to_exclude; "
                  "quantize lists the names")
      ->delimiter(',');
  cmd->add_option("--mixed-bits", a->mixed_bits, "Candidate weight widths for --weight-budget-kb (comma-separated, 2..8)")
      ->delimiter(',')->check(CLI::Range(2, 8))->capture_default_str();
  cmd->add_option("--heldout-per-class", a->heldout_per_class,
                  "Held-out training images per class for --weight-budget-kb (outside the calibration set)")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--calib-per-class", a->calib_per_class, "Calibration images per class")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--calib-samples", a->calib_samples,
                  "Calibration samples for data without labels (default 1000, or --calib-per-class when given; all "
                  "of them when there are fewer)")
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--calib-indices", a->calib_indices, "Reuse a calibration lockfile (JSON)");
  cmd->add_option("--calib-split", a->calib_split, "Split to calibrate on")->capture_default_str();
  cmd->add_flag("--force-test-calibration", a->force_test, "Allow calibrating on the test split");
  cmd->add_option("--lock", a->lock, "Write the calibration lockfile to FILE");
  cmd->add_option("--seed", a->seed, "Seed for sampling and AdaRound")->capture_default_str();
  cmd->add_option("--preprocess", a->preprocess, "Pixel preprocessing (see eval --help)")->capture_default_str();
  cmd->add_option("--sqnr-images", a->sqnr_images, "Calibration images used for the per-layer SQNR (0: skip)")
      ->capture_default_str();
  cmd->add_option("--json", a->json, "Write the per-layer report, recipe and lockfile as JSON");
  cmd->callback([a, cmd] {
    a->calib_per_class_given = cmd->count("--calib-per-class") > 0;
    run_quantize(*a);
  });
}

}  // namespace tinyptq::cli
