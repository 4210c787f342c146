#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/progress.h"
#include "data/calibration.h"
#include "engine/int_engine.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "eval/source_eval.h"
#include "onnx/onnx_writer.h"
#include "quant/prepare_graph.h"
#include "quant/quantizer.h"
#include "study/study.h"
#include "study/study_data.h"
#include "study/study_output.h"

namespace tinyptq {

namespace {

namespace fs = std::filesystem;

std::string file_key(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (c == '/') c = '_';
  return s;
}

const char* container_str(Container c) { return c == Container::kInt8 ? "int8" : "uint8"; }

// Calibrations shared between configurations, built on first use and dropped after their last user.
class CalibrationPool {
 public:
  CalibrationPool(const Graph& model, const StudyData& data) : model_(model), data_(data) {}

  void expect(const StudyConfig& c) {
    std::lock_guard<std::mutex> lock(mu_);
    ++entries_[key(c)].remaining;
  }

  // build_seconds: time this call spent building the calibration (0 when another configuration built it).
  std::shared_ptr<const Calibration> acquire(const StudyConfig& c, double* build_seconds = nullptr) {
    std::shared_future<std::shared_ptr<const Calibration>> fut;
    std::promise<std::shared_ptr<const Calibration>> promise;
    bool build = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      Entry& e = entries_[key(c)];
      if (!e.future.valid()) {
        e.future = promise.get_future().share();
        build = true;
      }
      fut = e.future;
    }
    if (build) {
      const auto b0 = std::chrono::steady_clock::now();
      try {
        const CalibrationSet cs = study_calibration_draw(data_, c.calib_per_class, c.calib_seed);
        Tensor inputs = source_batch(*data_.calib, cs.indices);
        promise.set_value(std::make_shared<const Calibration>(model_, std::move(inputs), c.recipe.cross_layer_equalization));
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
      if (build_seconds) *build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count();
    }
    return fut.get();
  }

  void release(const StudyConfig& c) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[key(c)];
    if (--e.remaining <= 0) e.future = {};
  }

 private:
  struct Entry {
    int remaining = 0;
    std::shared_future<std::shared_ptr<const Calibration>> future;
  };
  static std::string key(const StudyConfig& c) {
    return std::to_string(c.calib_per_class) + "/" + std::to_string(c.calib_seed) + "/" +
           (c.recipe.cross_layer_equalization ? "cle" : "plain");
  }
  const Graph& model_;
  const StudyData& data_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// Bytes of the Conv/Gemm weights packed at their bit widths: weights behind a DequantizeLinear at the
// layer's wbits, float weights at 32 bits.
int64_t packed_weight_bytes(const QuantizeResult& q) {
  const Graph& g = q.model.graph;
  std::map<std::string, int> wbits;
  for (const auto& l : q.layers)
    if (l.wbits > 0) wbits[l.node] = l.wbits;
  int64_t bits = 0;
  for (const auto& n : g.nodes) {
    if ((n.op != Op::kConv && n.op != Op::kGemm) || n.inputs.size() < 2) continue;
    const int p = g.producer(n.inputs[1]);
    if (p >= 0 && g.nodes[size_t(p)].op == Op::kDequantizeLinear) {
      const Tensor* w = g.initializer(g.nodes[size_t(p)].inputs[0]);
      if (w) bits += w->size() * (wbits.count(n.name) ? wbits.at(n.name) : 8);
    } else if (const Tensor* w = g.initializer(n.inputs[1])) {
      bits += w->size() * 32;
    }
  }
  return (bits + 7) / 8;
}

ConfigResult run_config(const StudyConfig& c, const Calibration& calib, const StudyData& data,
                        const Fp32Baseline& fp32, const std::vector<std::vector<Tensor>>& fp32_outputs,
                        const std::string& out_dir) {
  QuantizeOptions qo;
  qo.sqnr_images = c.group == "preset" ? 128 : 0;
  QuantizeResult q = quantize(calib, c.recipe, qo);
  const std::string bytes = graph_to_onnx_bytes(q.model.graph);
  if (c.save_model) write_file_atomic(out_dir + "/models/" + file_key(c.name) + ".onnx", bytes);
  IntEngine engine(q.model.graph, IntEngineOptions{1});
  struct Adapter : Engine {
    IntEngine& e;
    explicit Adapter(IntEngine& e) : e(e) {}
    std::vector<Tensor> run(const Tensor& x) override { return e.run(x); }
    std::string backend() const override { return "int8"; }
  } adapter(engine);
  EvalOptions eo;
  eo.progress = false;
  const StudyEval se = evaluate_on(data, adapter, eo, &fp32_outputs, &fp32.predicted, false);
  const EvalResult& r = se.eval;

  ConfigResult out;
  out.name = c.name;
  out.group = c.group;
  out.label = c.label;
  out.variant = c.variant;
  out.layer = c.layer;
  out.preset = c.recipe.preset;
  out.recipe = c.recipe.summary();
  out.wbits = c.recipe.wbits;
  out.abits = c.recipe.abits;
  out.act_type = container_str(c.recipe.act_type);
  out.weight_type = container_str(c.recipe.weight_type);
  out.granularity = c.recipe.per_channel ? "per-channel" : "per-tensor";
  out.act_method = method_name(c.recipe.act_method);
  out.calib_images = int(calib.inputs().shape[0]);
  out.calib_seed = c.calib_seed;
  out.correct = r.correct;
  out.total = r.total;
  out.accuracy = r.accuracy;
  out.delta = r.accuracy - fp32.accuracy;
  out.agreement = agreement_percent(r.predicted, fp32.predicted);
  out.sqnr_db = se.fidelity.sqnr_db;
  out.mean_cosine = se.fidelity.mean_cosine;
  out.flipped = flipped_images(r.predicted, fp32.predicted);
  for (int64_t i : out.flipped) out.flipped_predicted.push_back(r.predicted[size_t(i)]);
  for (size_t k = 0; k < r.per_class.size(); ++k) {
    out.per_class_accuracy.push_back(r.per_class[k].accuracy);
    out.per_class_delta.push_back(r.per_class[k].accuracy - (k < fp32.per_class_accuracy.size() ? fp32.per_class_accuracy[k] : 0));
  }
  out.model_bytes = int64_t(bytes.size());
  out.size_reduction = out.model_bytes ? double(fp32.model_bytes) / double(out.model_bytes) : 0;
  out.packed_weight_bytes = packed_weight_bytes(q);
  if (c.group == "preset") out.layers = q.layers;
  out.quantize_seconds = q.seconds;
  out.images_per_second = r.images_per_second;
  return out;
}

// Configurations whose calibration cache is large (kLargeCalibPerClass images per class or more: 2000
// CIFAR-10 images, ~1 GB of activations) are spread evenly through the run order instead of running side
// by side, so at most one such cache is usually alive. Fresh pages are the cost (the first touch of a
// page is what a VM charges for); retained freed pages are reused. Only the order changes, not results.
constexpr int kLargeCalibPerClass = 200;

void spread_large_calibrations(const std::vector<StudyConfig>& plan, std::vector<size_t>& order) {
  std::vector<size_t> large, rest;
  for (size_t k : order) (plan[k].calib_per_class >= kLargeCalibPerClass ? large : rest).push_back(k);
  if (large.size() < 2) return;
  order.clear();
  // Large one i goes before rest element floor(i·|rest|/|large|).
  size_t r = 0;
  for (size_t i = 0; i < large.size(); ++i) {
    const size_t until = i * rest.size() / large.size();
    while (r < until) order.push_back(rest[r++]);
    order.push_back(large[i]);
  }
  while (r < rest.size()) order.push_back(rest[r++]);
}

}  // namespace

StudyResults run_study(const StudyOptions& opts) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto lap = t0;
  StudyResults res;
  // Appends the wall time since the previous stage.
  auto stage_done = [&](const std::string& name) {
    const auto now = Clock::now();
    res.stages.push_back({name, std::chrono::duration<double>(now - lap).count(), false});
    lap = now;
  };
  check(opts.jobs >= 1, "--jobs must be at least 1");
  res.options = opts;
  // Every input is validated before the output directory exists: a bad model or data set leaves nothing.
  Graph model = load_model(opts.model);
  const StudyData data = open_study_data(opts, model);
  res.cifar = data.cifar;
  res.labelled = data.labelled;
  res.calib_is_test = data.calib_is_test;

  stage_done("load model and data");
  fs::create_directories(opts.out_dir + "/models");
  fs::create_directories(opts.out_dir + "/results.d");
  const std::string fp32_path = opts.out_dir + "/models/fp32.onnx";
  const int64_t fp32_bytes = save_onnx(model, fp32_path);

  // The shared calibration lockfile.
  const CalibrationSet lock = study_calibration_draw(data, opts.calib_per_class, opts.seed);
  res.calib_images = int64_t(lock.indices.size());
  save_calibration_lock(lock, opts.out_dir + "/calibration.json");

  // FP32 baseline; its outputs are every configuration's fidelity reference.
  std::vector<std::vector<Tensor>> fp32_outputs;
  {
    EvalOptions eo;
    eo.progress_label = "FP32 baseline";
    auto engine = make_engine(model, 1);
    StudyEval se = evaluate_on(data, *engine, eo, nullptr, nullptr, true);
    fp32_outputs = std::move(se.outputs);
    const EvalResult& r = se.eval;
    Fp32Baseline& b = res.fp32;
    b.model_path = opts.model;
    b.correct = r.correct;
    b.total = r.total;
    b.accuracy = r.accuracy;
    for (const auto& pc : r.per_class) {
      b.class_names.push_back(pc.class_name);
      b.per_class_accuracy.push_back(pc.accuracy);
    }
    b.labels = r.labels;
    b.predicted = r.predicted;
    b.model_bytes = fp32_bytes;
    b.parameters = model.parameter_count();
    b.images_per_second = r.images_per_second;
  }
  stage_done("FP32 baseline (save, calibration lock, evaluate)");

  // The weight layers (the per-layer sensitivity axis) and the FP32 weight bytes, on the graph the
  // quantizer sees (BatchNorm folded).
  std::vector<std::string> layers;
  {
    const Graph prepared = prepare_for_quantization(model);
    for (const auto& l : plan_quantization(prepared, QuantRecipe{}).layers)
      if (l.rule.weight_input >= 0) {
        layers.push_back(l.name);
        const Node& n = prepared.nodes[size_t(l.node)];
        if (const Tensor* w = prepared.initializer(n.inputs[size_t(l.rule.weight_input)]))
          res.fp32.packed_weight_bytes += w->size() * 4;
      }
  }
  const std::vector<StudyConfig> plan = study_plan(opts, layers);
  res.configs.resize(plan.size());
  std::vector<bool> done(plan.size(), false);
  if (opts.resume) {
    for (size_t k = 0; k < plan.size(); ++k) {
      const std::string path = opts.out_dir + "/results.d/" + file_key(plan[k].name) + ".json";
      if (!fs::exists(path)) continue;
      try {
        res.configs[k] = result_from_json(nlohmann::json::parse(read_file(path)));
        done[k] = res.configs[k].name == plan[k].name;
      } catch (const std::exception&) {
        done[k] = false;  // unreadable partial result: recompute
      }
    }
    std::cerr << "study: --resume: " << std::count(done.begin(), done.end(), true) << " of " << plan.size()
              << " configurations already finished in " << opts.out_dir << "/results.d\n";
  }
  CalibrationPool pool(model, data);
  for (size_t k = 0; k < plan.size(); ++k)
    if (!done[k]) pool.expect(plan[k]);

  stage_done("plan and calibration pool");
  std::vector<double> config_seconds(plan.size(), 0.0), calib_seconds(plan.size(), 0.0);
  Progress progress("study", int64_t(plan.size()));
  progress.advance(int64_t(std::count(done.begin(), done.end(), true)));
  // Longest first (AdaRound, then the quantized-input path), so the last configurations to finish are short
  // ones and the jobs end together. Results stay in plan order; each configuration is independent.
  auto cost_rank = [](const StudyConfig& c) {
    return c.recipe.adaround ? 0 : (c.recipe.bias_correction && c.recipe.quantized_inputs) ? 1 : 2;
  };
  std::vector<size_t> order(plan.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return cost_rank(plan[a]) < cost_rank(plan[b]); });
  spread_large_calibrations(plan, order);
  std::atomic<size_t> next{0}, finished{size_t(std::count(done.begin(), done.end(), true))};
  std::mutex err_mu;
  std::string first_error;
  auto worker = [&] {
    for (;;) {
      const size_t slot = next.fetch_add(1);
      if (slot >= plan.size()) return;
      const size_t k = order[slot];
      if (done[k]) continue;
      if (interrupted()) return;  // between configurations: finished results are all written
      {
        std::lock_guard<std::mutex> lock(err_mu);
        if (!first_error.empty()) return;
      }
      try {
        const auto c0 = Clock::now();
        auto calib = pool.acquire(plan[k], &calib_seconds[k]);
        res.configs[k] = run_config(plan[k], *calib, data, res.fp32, fp32_outputs, opts.out_dir);
        calib.reset();
        pool.release(plan[k]);
        config_seconds[k] = std::chrono::duration<double>(Clock::now() - c0).count();
        write_file_atomic(opts.out_dir + "/results.d/" + file_key(plan[k].name) + ".json",
                          result_to_json(res.configs[k], true).dump() + "\n");
        ++finished;
        progress.advance();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (first_error.empty()) first_error = plan[k].name + ": " + e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < opts.jobs; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  progress.finish();
  check(first_error.empty(), "study configuration " + first_error);
  if (finished < plan.size() && interrupted())
    throw Interrupted("study interrupted: " + std::to_string(finished.load()) + " of " + std::to_string(plan.size()) +
                          " configurations finished in " + opts.out_dir + "/results.d; run it again with --resume",
                      interrupt_signal());
  stage_done("configurations (" + std::to_string(plan.size() - size_t(std::count(done.begin(), done.end(), true))) +
             " run on " + std::to_string(opts.jobs) + " jobs)");
  // Per group, in plan order of first appearance: calibration + quantize + evaluate, summed over jobs.
  for (size_t k = 0; k < plan.size(); ++k) {
    const std::string name = "  group " + plan[k].group;
    auto it = std::find_if(res.stages.begin(), res.stages.end(), [&](const StageTime& t) { return t.name == name; });
    if (it == res.stages.end()) it = res.stages.insert(res.stages.end(), StageTime{name, 0.0, true});
    it->seconds += config_seconds[k];
  }
  // The same thread seconds split by phase: FP32 calibration passes (activation caches), quantize, and
  // the rest (integer evaluation, ONNX serialization, result files, waiting for a shared calibration).
  double calib_total = 0, quant_total = 0, all_total = 0;
  for (size_t k = 0; k < plan.size(); ++k) {
    calib_total += calib_seconds[k];
    quant_total += res.configs[k].quantize_seconds;
    all_total += config_seconds[k];
  }
  res.stages.push_back({"  phase: FP32 calibration passes", calib_total, true});
  res.stages.push_back({"  phase: quantize", quant_total, true});
  res.stages.push_back({"  phase: evaluate, serialize, wait", all_total - calib_total - quant_total, true});
  res.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  write_study_outputs(res);
  print_stage_table(res, std::cerr);
  return res;
}

}  // namespace tinyptq
