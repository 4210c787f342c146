#include "engine/int_engine.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>

#include "core/error.h"
#include "engine/int/plan.h"
#include "engine/int/thread_pool.h"
#include "engine/qdq_lowering.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq {

namespace {

constexpr int kMaxThreads = 256;
constexpr int64_t kAlign = 64;
// Steps with less work than this (Step::cost units, whole batch) run on one thread.
constexpr double kMinParallelCost = 32768;

int64_t align_up(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

struct AlignedDelete {
  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(kAlign)); }
};

const char* kind_name(qdq::StepKind k) {
  switch (k) {
    case qdq::StepKind::kInteger: return "int";
    case qdq::StepKind::kFloat: return "float";
    case qdq::StepKind::kLayout: return "layout";
  }
  return "?";
}

}  // namespace

struct IntEngine::Impl {
  qdq::Plan plan;
  const int8::KernelTable* kernels = nullptr;
  std::unique_ptr<qdq::ThreadPool> pool;
  std::vector<std::vector<uint8_t>> scratch;  // per worker
  std::vector<uint8_t*> base;                 // per value, for the current run
  std::vector<qdq::RunContext> contexts;      // per worker: base and its scratch

  // The step being run and how it is split (read by `job`, which the pool runs on every worker).
  const qdq::Step* step = nullptr;
  int64_t images = 0;
  bool split_images = true;
  std::function<void(int)> job;

  // Arena: storage value r holds its images at arena + offset[r]·N (per-image offsets scale with the
  // batch, so the plan made for one image is valid for every N). External and view values have −1.
  std::vector<int64_t> offset;
  int64_t arena_per_image = 0;
  int64_t capacity = 0;  // images the arena holds
  std::unique_ptr<uint8_t[], AlignedDelete> arena;

  void plan_buffers();
  void ensure_capacity(int64_t images);
  void run_step(const qdq::Step& step, int64_t images);
  void run_slice(int worker) const;
};

// Liveness of every storage value (first step writing it .. last step reading any view of it, graph outputs
// to the end), then first-fit offsets, largest values first: two values share bytes only if their
// lifetimes are disjoint.
void IntEngine::Impl::plan_buffers() {
  const int count = int(plan.values.size());
  const int end = int(plan.steps.size());
  std::vector<int> first(count, -1), last(count, -1);
  for (int s = 0; s < end; ++s) {
    const qdq::Step& step = *plan.steps[s];
    const int out = plan.storage_of(step.output);
    if (first[out] < 0) first[out] = s;
    last[out] = std::max(last[out], s);
    for (int v : step.inputs) last[plan.storage_of(v)] = std::max(last[plan.storage_of(v)], s);
  }
  for (int v : plan.outputs) last[plan.storage_of(v)] = end;

  std::vector<int> order;
  for (int v = 0; v < count; ++v)
    if (plan.values[v].view_of < 0 && !plan.values[v].external && first[v] >= 0) order.push_back(v);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return plan.values[a].bytes() > plan.values[b].bytes(); });
  offset.assign(count, -1);
  std::vector<int> placed;
  for (int v : order) {
    const int64_t size = align_up(std::max<int64_t>(plan.values[v].bytes(), 1));
    // Candidate offsets: 0 and the end of every placed value alive at the same time.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int u : placed)
      if (!(last[u] < first[v] || last[v] < first[u]))
        busy.emplace_back(offset[u], offset[u] + align_up(std::max<int64_t>(plan.values[u].bytes(), 1)));
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto& [lo, hi] : busy) {
      if (at + size <= lo) break;
      at = std::max(at, hi);
    }
    offset[v] = at;
    arena_per_image = std::max(arena_per_image, at + size);
    placed.push_back(v);
  }
}

void IntEngine::Impl::ensure_capacity(int64_t images) {
  if (images <= capacity) return;
  check(arena_per_image == 0 || images <= (int64_t(1) << 40) / arena_per_image,
        "batch of " + std::to_string(images) + " images is too large");
  const size_t bytes = size_t(std::max<int64_t>(arena_per_image * images, kAlign));
  arena.reset(static_cast<uint8_t*>(::operator new[](bytes, std::align_val_t(kAlign))));
  capacity = images;
}

// Splits a step over the workers: by images when there are at least as many images as workers, else by
// output rows; small steps run on the calling thread. Each output element is computed by the same code
// whatever the split, so results do not depend on the thread count.
void IntEngine::Impl::run_step(const qdq::Step& s, int64_t n) {
  const int workers = pool->size();
  const int64_t rows = s.rows();
  if (workers == 1 || s.cost() * double(n) < kMinParallelCost || (n < workers && rows < workers)) {
    s.run(contexts[0], 0, n, {0, rows});
    return;
  }
  step = &s;
  images = n;
  split_images = n >= workers;
  pool->run(job);
}

void IntEngine::Impl::run_slice(int w) const {
  const int64_t workers = pool->size(), rows = step->rows();
  if (split_images) {
    const int64_t i0 = images * w / workers, i1 = images * (w + 1) / workers;
    if (i1 > i0) step->run(contexts[w], i0, i1 - i0, {0, rows});
  } else {
    const int64_t r0 = rows * w / workers, r1 = rows * (w + 1) / workers;
    if (r1 > r0) step->run(contexts[w], 0, images, {r0, r1});
  }
}

IntEngine::IntEngine(const Graph& qdq_graph, IntEngineOptions opts) : impl_(std::make_unique<Impl>()) {
  check(opts.threads >= 1 && opts.threads <= kMaxThreads, "threads must be between 1 and " +
                                                              std::to_string(kMaxThreads) + ", got " +
                                                              std::to_string(opts.threads));
  Graph g = qdq_graph;
  g.validate_and_sort();
  impl_->kernels = &int8::best_kernels();
  impl_->plan = lower_qdq_graph(g, *impl_->kernels);
  impl_->plan_buffers();
  Impl& m = *impl_;
  m.pool = std::make_unique<qdq::ThreadPool>(opts.threads);
  m.scratch.assign(size_t(opts.threads), std::vector<uint8_t>(m.plan.scratch_bytes() + kAlign));
  m.base.assign(m.plan.values.size(), nullptr);
  for (int w = 0; w < opts.threads; ++w) m.contexts.push_back({m.base.data(), m.scratch[w].data()});
  m.job = [&m](int w) { m.run_slice(w); };
}

IntEngine::~IntEngine() = default;
IntEngine::IntEngine(IntEngine&&) noexcept = default;
IntEngine& IntEngine::operator=(IntEngine&&) noexcept = default;

std::vector<Tensor> IntEngine::run(const Tensor& input) {
  Impl& m = *impl_;
  const qdq::Value& in = m.plan.values[m.plan.input];
  if (input.dtype != DType::kFloat32)
    throw Error(std::string("input must be float32, got ") + dtype_name(input.dtype));
  bool shape_ok = input.shape.size() == in.shape.size() && !input.shape.empty();
  for (size_t d = 1; shape_ok && d < in.shape.size(); ++d) shape_ok = input.shape[d] == in.shape[d];
  if (!shape_ok) {
    Shape expected = in.shape;
    expected[0] = -1;
    throw Error("input has shape " + shape_str(input.shape) + ", expected " + shape_str(expected) +
                " for graph input '" + in.name + "'");
  }
  const int64_t images = input.shape[0];
  if (int64_t(input.f.size()) != input.size())
    throw Error("input data does not match its shape " + shape_str(input.shape));

  std::vector<Tensor> outputs;
  if (images > 0) {
    m.ensure_capacity(images);
    std::vector<uint8_t*>& base = m.base;
    for (size_t v = 0; v < base.size(); ++v) {
      const int root = m.plan.storage_of(int(v));
      if (m.plan.values[root].external)
        base[v] = reinterpret_cast<uint8_t*>(const_cast<float*>(input.f.data()));
      else
        base[v] = m.offset[root] >= 0 ? m.arena.get() + m.offset[root] * images : nullptr;
    }
    for (const auto& step : m.plan.steps) m.run_step(*step, images);

    for (int v : m.plan.outputs) {
      const qdq::Value& value = m.plan.values[v];
      Shape shape = value.shape;
      shape[0] = images;
      const int64_t count = value.elements() * images;
      if (!value.quantized) {
        std::vector<float> data(static_cast<size_t>(count));
        std::memcpy(data.data(), base[v], size_t(count) * sizeof(float));
        outputs.push_back(Tensor::from_floats(shape, std::move(data)));
      } else {
        std::vector<int64_t> data(static_cast<size_t>(count));
        const int32_t shift = value.quant.container_shift();
        for (int64_t i = 0; i < count; ++i) data[i] = int64_t(base[v][i]) - shift;
        outputs.push_back(Tensor::from_ints(value.quant.container, shape, std::move(data)));
      }
    }
  } else {
    for (int v : m.plan.outputs) {
      const qdq::Value& value = m.plan.values[v];
      Shape shape = value.shape;
      shape[0] = 0;
      outputs.push_back(value.quantized ? Tensor::from_ints(value.quant.container, shape, {})
                                        : Tensor::from_floats(shape, {}));
    }
  }
  return outputs;
}

std::string IntEngine::describe() const {
  const qdq::Plan& plan = impl_->plan;
  std::string s = "integer engine (" + std::string(impl_->kernels->isa) +
                  " kernels): " + std::to_string(integer_op_count()) + " integer, " +
                  std::to_string(float_op_count()) + " float, " +
                  std::to_string(plan.steps.size() - integer_op_count() - float_op_count()) +
                  " layout steps; arena " + std::to_string(impl_->arena_per_image) + " bytes per image\n";
  char buf[64];
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const qdq::Step& step = *plan.steps[i];
    std::snprintf(buf, sizeof buf, "%3zu %-6s ", i, kind_name(step.kind));
    s += buf + step.kernel + "  " + step.nodes + " -> " + plan.values[step.output].str();
    if (!step.detail.empty()) s += "  [" + step.detail + "]";
    s += "\n";
  }
  return s;
}

int IntEngine::integer_op_count() const {
  int n = 0;
  for (const auto& s : impl_->plan.steps) n += s->kind == qdq::StepKind::kInteger;
  return n;
}

int IntEngine::float_op_count() const {
  int n = 0;
  for (const auto& s : impl_->plan.steps) n += s->kind == qdq::StepKind::kFloat;
  return n;
}

bool is_qdq_graph(const Graph& g) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
    return n.op == Op::kQuantizeLinear || n.op == Op::kDequantizeLinear;
  });
}

}  // namespace tinyptq
