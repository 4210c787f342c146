#include "engine/fp32_engine.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "core/error.h"
#include "engine/fp32/plan.h"
#include "engine/fp32/reference_step.h"
#include "engine/fp32/thread_pool.h"
#include "engine/shape_inference.h"
#include "kernels/fp32/kernel_table.h"
#include "kernels/fp32/portable/conv_plan.h"

namespace tinyptq {

using fp32_engine::Plan;
using fp32_engine::Step;
using fp32_engine::StepKind;

namespace {

constexpr size_t kMaxCachedPlans = 8;

// Buffers of one thread: value slots and kernel scratch.
struct Workspace {
  std::vector<Tensor> slots;
  std::vector<float> scratch;
  Tensor input;  // depth-first: the current image
  std::vector<const Tensor*> inputs;  // a reference step's inputs (kept: no allocation per call)
  void fit(const Plan& plan) {
    if (slots.size() < size_t(plan.slots)) slots.resize(size_t(plan.slots));
    if (scratch.size() < size_t(plan.scratch_floats)) scratch.resize(size_t(plan.scratch_floats));
  }
};

Tensor& prepare_float_output(const Plan& plan, const Step& step, Workspace& ws) {
  Tensor& t = ws.slots[plan.slot[step.output]];
  t.dtype = DType::kFloat32;
  t.shape = step.out_shape;
  t.i.clear();
  if (step.kind != StepKind::kConv) {
    t.f.resize(size_t(num_elements(step.out_shape)));
    return t;
  }
  // Dense, or laid out as its readers' planes: the Conv writes the data, the padding is zeroed here.
  const int64_t images = step.out_shape[0], image = step.conv->out.image;
  t.f.resize(size_t(images * image));
  fp32::zero_spans(step.out_padding, image, t.f.data(), images);
  return t;
}

// Runs items [begin, end) of a non-reference step; `out` was prepared by prepare_float_output.
// planes: the Conv's phase planes for the whole batch, or null (built per image in scratch).
void run_items(const fp32::KernelTable& k, const Plan& plan, const Step& step,
               const std::vector<const Tensor*>& view, Tensor& out, int64_t begin, int64_t end,
               const float* planes, float* scratch) {
  auto in = [&](size_t j) { return step.inputs[j] >= 0 ? view[step.inputs[j]]->f.data() : nullptr; };
  float* y = out.f.data();
  const int64_t first = begin * fp32_engine::kElementwiseChunk;
  const int64_t len = std::min(end * fp32_engine::kElementwiseChunk, step.count) - first;
  switch (step.kind) {
    case StepKind::kConv: {
      const fp32::ConvRunFn run = step.conv->implicit ? k.conv.run : fp32::conv_run_reference;
      run(*step.conv, in(0), in(1), y, plan.input_shape[0], begin, end, planes, scratch);
      return;
    }
    case StepKind::kGemm: k.gemm.run(*step.gemm, in(0), y, begin, end); return;
    case StepKind::kClamp: k.clamp.run(in(0) + first, y + first, len, step.lo, step.hi); return;
    case StepKind::kAddClamp:
      k.add_clamp.run(in(0) + first, in(1) + first, y + first, len, step.lo, step.hi);
      return;
    case StepKind::kCopy: std::memcpy(y + first, in(0) + first, size_t(len) * sizeof(float)); return;
    case StepKind::kMean:
      k.plane_mean.run(in(0), y, step.cols, begin * fp32_engine::kMeanChunk,
                       std::min(end * fp32_engine::kMeanChunk, step.count));
      return;
    case StepKind::kTranspose2d:
      for (int64_t n = begin; n < end; ++n)
        k.transpose2d.run(in(0) + n * step.rows * step.cols, y + n * step.rows * step.cols, step.rows, step.cols);
      return;
    case StepKind::kReference: return;
  }
}

}  // namespace

struct Fp32Engine::Impl {
  Graph graph;
  Fp32EngineOptions options;
  const fp32::KernelTable* kernels = nullptr;
  fp32_engine::ValueTable values;
  std::vector<std::unique_ptr<Plan>> plans;  // most recent last
  std::map<Shape, bool> separable;
  std::unique_ptr<fp32_engine::ThreadPool> pool;
  std::vector<Workspace> workspaces;  // per thread
  std::vector<float> planes;          // layer-wise Conv phase planes of the whole batch

  // Layer-wise work is cut into one contiguous share per thread. Items are ordered pixel tile before channel
  // block, so a thread keeps the same image region from layer to layer and reads mostly what it wrote itself
  // (the cross-core traffic of finer interleaved chunks cost more than the balance they bought). A worker
  // that starts late finds its share taken by the others: never slower than one thread.
  int64_t grain(int64_t items) const {
    const int64_t t = pool->size();
    return std::max<int64_t>(1, (items + t - 1) / t);
  }

  const Plan& plan_for(const Shape& shape, bool fused) {
    for (auto& p : plans)
      if (p->input_shape == shape && p->fused == fused) return *p;
    if (plans.size() >= kMaxCachedPlans) plans.erase(plans.begin());
    plans.push_back(std::make_unique<Plan>(fp32_engine::make_plan(graph, values, shape, fused, *kernels)));
    return *plans.back();
  }

  bool depth_first(const Shape& shape) {
    auto it = separable.find(shape);
    if (it != separable.end()) return it->second;
    bool ok = fp32_engine::batch_separable(graph, shape);
    for (int v : values.output_ids) ok = ok && !values.initializer[v];
    if (separable.size() > 64) separable.clear();
    separable[shape] = ok;
    return ok;
  }

  // A reference step: its kernel over the plan's whole batch, the result into the step's slot.
  void run_reference(const Plan& plan, const Step& step, Workspace& ws, const std::vector<const Tensor*>& view) {
    ws.inputs.clear();
    for (int v : step.inputs) ws.inputs.push_back(v >= 0 ? view[v] : nullptr);
    fp32_engine::run_step_into(graph.nodes[step.node], step.ref, step.out_shape, ws.inputs,
                               ws.slots[plan.slot[step.output]]);
  }

  // Step i over the plan's whole batch, items split over the threads; with step i + 1 too when that one
  // reuses step i's phase planes (one pass over both steps' items). Returns the number of steps run.
  size_t run_step_parallel(const Plan& plan, size_t i, std::vector<const Tensor*>& view) {
    const Step& step = plan.steps[i];
    const Step* guest = i + 1 < plan.steps.size() && plan.steps[i + 1].reuse_planes ? &plan.steps[i + 1] : nullptr;
    Workspace& ws = workspaces[0];
    try {
      if (step.kind == StepKind::kReference) {
        run_reference(plan, step, ws, view);
      } else {
        Tensor& out = prepare_float_output(plan, step, ws);
        Tensor* guest_out = guest ? &prepare_float_output(plan, *guest, ws) : nullptr;
        const float* shared_planes = nullptr;
        if (step.kind == StepKind::kConv && step.input_is_planes) {
          shared_planes = view[step.inputs[0]]->f.data();
        } else if (step.kind == StepKind::kConv && (pool->size() > 1 || guest) &&
                   fp32::conv_planes_floats(*step.conv) > 0) {
          // Phase planes once per image and channel, before the tiles that read them.
          const fp32::ConvPlan& c = *step.conv;
          const int64_t images = plan.input_shape[0], per = fp32::conv_planes_floats(c);
          const int64_t channels = c.shape.in_channels;
          if (planes.size() < size_t(images * per)) planes.resize(size_t(images * per));
          const float* x = view[step.inputs[0]]->f.data();
          pool->parallel_for(images * channels, grain(images * channels), [&](int, int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
              const int64_t n = k / channels, ch = k % channels;
              c.build_planes(c, x + n * c.image_in(), planes.data() + n * per, ch, ch + 1);
            }
          });
          shared_planes = planes.data();
        }
        // Segment s of T (one per thread) holds items [s·n/T, (s+1)·n/T) of the step and the same share of the
        // guest's, so shares stay balanced when the guest's items are much cheaper (a 1×1 shortcut).
        const int64_t segments = pool->size();
        const int64_t n_guest = guest ? guest->items : 0;
        pool->parallel_for(segments, 1, [&](int w, int64_t b, int64_t e) {
          float* scratch = workspaces[w].scratch.data();
          for (int64_t s = b; s < e; ++s) {
            const int64_t lo = s * step.items / segments, hi = (s + 1) * step.items / segments;
            if (lo < hi) run_items(*kernels, plan, step, view, out, lo, hi, shared_planes, scratch);
            const int64_t glo = s * n_guest / segments, ghi = (s + 1) * n_guest / segments;
            if (glo < ghi) run_items(*kernels, plan, *guest, view, *guest_out, glo, ghi, shared_planes, scratch);
          }
        });
      }
    } catch (const Error& e) {
      throw Error(fp32_engine::node_label(graph.nodes[step.node]) + ": " + e.what());
    }
    view[step.output] = &ws.slots[plan.slot[step.output]];
    if (guest) view[guest->output] = &ws.slots[plan.slot[guest->output]];
    return guest ? 2 : 1;
  }

  // All steps of a batch-1 plan on one image, in one thread.
  void run_image(const Plan& plan, Workspace& ws, std::vector<const Tensor*>& view) {
    for (const Step& step : plan.steps) {
      const Node& node = graph.nodes[step.node];
      try {
        if (step.kind == StepKind::kReference) {
          run_reference(plan, step, ws, view);
        } else {
          Tensor& out = prepare_float_output(plan, step, ws);
          // Planes: the input itself (written as planes), or those the Conv before a plane-reusing one just
          // built in scratch for this image, or none (the Conv builds its own).
          const float* planes_built = step.input_is_planes ? view[step.inputs[0]]->f.data()
                                      : step.reuse_planes ? ws.scratch.data()
                                                          : nullptr;
          run_items(*kernels, plan, step, view, out, 0, step.items, planes_built, ws.scratch.data());
        }
      } catch (const Error& e) {
        throw Error(fp32_engine::node_label(node) + ": " + e.what());
      }
      view[step.output] = &ws.slots[plan.slot[step.output]];
    }
  }

  std::vector<Tensor> run_depth_first(const Tensor& input) {
    const int64_t n = input.shape[0];
    Shape one = input.shape;
    one[0] = 1;
    const Plan& plan = plan_for(one, options.fuse);
    const int64_t in_per = num_elements(one);
    std::vector<Tensor> outputs;
    for (int v : values.output_ids) {
      Tensor t;
      t.dtype = plan.dtypes[v];
      t.shape = plan.shapes[v];
      t.shape[0] = n;
      if (t.dtype == DType::kFloat32) t.f.resize(size_t(num_elements(t.shape)));
      else t.i.resize(size_t(num_elements(t.shape)));
      outputs.push_back(std::move(t));
    }
    for (auto& ws : workspaces) ws.fit(plan);
    pool->parallel_for(n, std::max<int64_t>(1, n / (int64_t(pool->size()) * 8)), [&](int w, int64_t b, int64_t e) {
      Workspace& ws = workspaces[w];
      std::vector<const Tensor*> view(values.initializer);
      for (int64_t i = b; i < e; ++i) {
        ws.input.dtype = DType::kFloat32;
        ws.input.shape = one;
        ws.input.f.assign(input.f.begin() + i * in_per, input.f.begin() + (i + 1) * in_per);
        view[values.input_id] = &ws.input;
        run_image(plan, ws, view);
        for (size_t k = 0; k < values.output_ids.size(); ++k) {
          const Tensor& src = *view[values.output_ids[k]];
          Tensor& dst = outputs[k];
          if (src.dtype != dst.dtype)
            throw Error(std::string("output '") + values.names[values.output_ids[k]] + "' is " +
                                            dtype_name(src.dtype) + ", expected " + dtype_name(dst.dtype));
          if (src.dtype == DType::kFloat32)
            std::copy(src.f.begin(), src.f.end(), dst.f.begin() + i * int64_t(src.f.size()));
          else
            std::copy(src.i.begin(), src.i.end(), dst.i.begin() + i * int64_t(src.i.size()));
        }
      }
    });
    return outputs;
  }

  std::vector<Tensor> run_layer_wise(const Tensor& input, const Tap& tap) {
    const Plan& plan = plan_for(input.shape, options.fuse && !tap);
    for (auto& ws : workspaces) ws.fit(plan);
    std::vector<const Tensor*> view(values.initializer);
    view[values.input_id] = &input;
    if (tap) tap(values.names[values.input_id], input);
    for (size_t i = 0; i < plan.steps.size();) {
      const size_t ran = run_step_parallel(plan, i, view);
      for (size_t k = i; tap && k < i + ran; ++k) tap(values.names[plan.steps[k].output], *view[plan.steps[k].output]);
      i += ran;
    }
    std::vector<Tensor> outputs;
    for (int v : values.output_ids) outputs.push_back(*view[v]);
    return outputs;
  }
};

Fp32Engine::~Fp32Engine() = default;
Fp32Engine::Fp32Engine(Fp32Engine&&) noexcept = default;
Fp32Engine& Fp32Engine::operator=(Fp32Engine&&) noexcept = default;

Fp32Engine::Fp32Engine(Graph graph) : Fp32Engine(std::move(graph), Fp32EngineOptions{}) {}

Fp32Engine::Fp32Engine(Graph graph, Fp32EngineOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  check(options.threads >= 0, "Fp32Engine threads must be >= 0, got " + std::to_string(options.threads));
  if (options.threads == 0) options.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  options.threads = std::min(options.threads, 256);
  m.options = options;
  m.kernels = options.kernels ? options.kernels : &fp32::best_kernels();
  m.graph = std::move(graph);
  Graph& g = m.graph;
  g.validate_and_sort();
  const ValueInfo& input = graph_image_input(g);
  for (const auto& [name, t] : g.initializers)
    check(t.stored() == num_elements(t.shape), "initializer '" + name + "' holds " + std::to_string(t.stored()) +
                                                   " values for shape " + shape_str(t.shape));

  fp32_engine::ValueTable& v = m.values;
  std::map<std::string, int> ids;
  auto id_of = [&](const std::string& name) {
    auto [it, inserted] = ids.emplace(name, int(v.names.size()));
    if (inserted) {
      v.names.push_back(name);
      v.initializer.push_back(g.initializer(name));
    }
    return it->second;
  };
  v.input_id = id_of(input.name);
  for (const Node& node : g.nodes) {
    std::vector<int> in;
    for (const auto& name : node.inputs) in.push_back(name.empty() ? -1 : id_of(name));
    check(!in.empty() && in[0] >= 0, fp32_engine::node_label(node) + ": has no input");
    v.node_inputs.push_back(std::move(in));
    check(!node.outputs.empty() && !node.outputs[0].empty(), fp32_engine::node_label(node) + ": has no output");
    v.node_output.push_back(id_of(node.outputs[0]));
  }
  for (const auto& out : g.outputs) v.output_ids.push_back(id_of(out.name));

  // Static checks for the declared input shape (batch 1), when every other dim is known.
  Shape declared = input.shape;
  bool known = !declared.empty();
  for (size_t d = 1; d < declared.size(); ++d) known = known && declared[d] >= 0;
  if (known) {
    declared[0] = 1;
    infer_shapes(g, declared);
  }
  // Inputs that must be constants: Clip bounds, Q/DQ scales and zero points, the Reshape shape.
  for (const Node& node : g.nodes) {
    const bool constant_tail = node.op == Op::kClip || node.op == Op::kQuantizeLinear ||
                               node.op == Op::kDequantizeLinear || node.op == Op::kReshape;
    if (!constant_tail) continue;
    for (size_t k = 1; k < node.inputs.size(); ++k)
      check(node.inputs[k].empty() || g.is_initializer(node.inputs[k]),
            fp32_engine::node_label(node) + ": input " + std::to_string(k) + " ('" + node.inputs[k] +
                "') must be an initializer");
  }
  m.pool = std::make_unique<fp32_engine::ThreadPool>(options.threads);
  m.workspaces.resize(size_t(options.threads));
}

const Graph& Fp32Engine::graph() const { return impl_->graph; }
int Fp32Engine::threads() const { return impl_->options.threads; }
const char* Fp32Engine::kernel_isa() const { return impl_->kernels->isa; }

std::vector<Tensor> Fp32Engine::run(const Tensor& input, const Tap& tap) {
  Impl& m = *impl_;
  // Messages are built only on failure (this runs on every call).
  if (input.dtype != DType::kFloat32)
    throw Error(std::string("engine input must be float32, got ") + dtype_name(input.dtype));
  if (int64_t(input.f.size()) != num_elements(input.shape))
    throw Error("engine input holds " + std::to_string(input.f.size()) + " values for shape " +
                shape_str(input.shape));
  check_input_shape(m.graph, input.shape);
  const bool per_image = !tap && !input.shape.empty() && input.shape[0] >= m.options.threads && input.shape[0] > 1 &&
                         m.depth_first(input.shape);
  return per_image ? m.run_depth_first(input) : m.run_layer_wise(input, tap);
}

}  // namespace tinyptq
