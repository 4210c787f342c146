#include "engine/int_engine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>

#include "core/error.h"
#include "engine/int/plan.h"
#include "engine/fp32/thread_pool.h"
#include "engine/qdq_lowering.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq {

namespace {

constexpr int kMaxThreads = 256;
constexpr int64_t kAlign = 64;
// Steps with less work than this (Step::cost units, whole batch) run on one thread.
constexpr double kMinParallelCost = 32768;
// Chunks per worker a split step is cut into: one (each claim and completion moves a cache line between
// cores; measured at batch 1 on 2 threads, 4 chunks per worker cost more than they balanced).
constexpr int64_t kChunksPerWorker = 1;

int64_t align_up(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

struct AlignedDelete {
  void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(kAlign)); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedDelete>;

AlignedBuffer aligned_buffer(int64_t bytes) {
  return AlignedBuffer(static_cast<uint8_t*>(
      ::operator new[](size_t(std::max<int64_t>(align_up(bytes), kAlign)), std::align_val_t(kAlign))));
}

const char* kind_name(qdq::StepKind k) {
  switch (k) {
    case qdq::StepKind::kInteger: return "int";
    case qdq::StepKind::kFloat: return "float";
    case qdq::StepKind::kLayout: return "layout";
  }
  return "?";
}

}  // namespace

// Two schedules, both computing every output element with the same code whatever the thread count:
//  - images ≥ workers: the workers claim whole images, one at a time, and run each through every step
//    in their own one-image arena (depth-first: an image's activations stay in L1/L2, no
//    synchronization between steps);
//  - fewer images than workers (batch 1): step by step over the whole batch; a large step is cut into
//    chunks of output rows that the workers claim, a small step runs on the calling thread.
// Work is claimed on demand (fp32_engine::ThreadPool), so a worker the OS has not scheduled delays
// nothing; a row or an image is computed by the same code whichever worker claims it.
struct IntEngine::Impl {
  qdq::Plan plan;
  const int8::KernelTable* kernels = nullptr;
  Requantization requant = Requantization::kFloat;
  std::unique_ptr<fp32_engine::ThreadPool> pool;

  // Each step has its own scratch region per worker (kernels may keep data there between calls, e.g.
  // the conv's padded-source border): step s uses scratch + scratch_offset[s].
  std::vector<int64_t> scratch_offset;
  int64_t scratch_total = 0;
  size_t step_index = 0;  // layer-wise: the step being split

  struct Worker {
    AlignedBuffer scratch;
    AlignedBuffer arena;            // one image (depth-first)
    std::vector<uint8_t*> base;     // per value
  };
  std::vector<Worker> workers;

  // Arena: storage value r holds its images at arena + offset[r]·N (per-image offsets scale with the
  // batch, so the plan made for one image is valid for every N). External and view values have −1.
  std::vector<int64_t> offset;
  int64_t arena_per_image = 0;
  int64_t capacity = 0;  // images the shared arena holds
  AlignedBuffer arena;   // layer-wise schedule

  // The current run (read by the pool jobs).
  const float* input = nullptr;
  int64_t images = 0;
  std::vector<Tensor>* outputs = nullptr;
  const qdq::Step* step = nullptr;  // layer-wise: the step being split
  int64_t chunks = 1;               // and its chunk count
  fp32_engine::ThreadPool::ItemFn image_job, chunk_job;

  void plan_buffers();
  void ensure_capacity(int64_t images);
  void point(std::vector<uint8_t*>& base, uint8_t* arena_base, const float* input_base, int64_t n) const;
  void run_images(int w, int64_t begin, int64_t end);
  void run_chunks(int w, int64_t begin, int64_t end) const;
  void copy_outputs(uint8_t* const* base, int64_t first, int64_t count) const;
  qdq::RunContext context(const Worker& w, size_t step) const {
    return {w.base.data(), w.scratch.get() + scratch_offset[step]};
  }
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

void IntEngine::Impl::ensure_capacity(int64_t n) {
  if (n <= capacity) return;
  check(arena_per_image == 0 || n <= (int64_t(1) << 40) / arena_per_image,
        "batch of " + std::to_string(n) + " images is too large");
  arena = aligned_buffer(arena_per_image * n);
  capacity = n;
}

// base[v] = image 0 of value v for a run of n images stored at arena_base (the input at input_base).
void IntEngine::Impl::point(std::vector<uint8_t*>& base, uint8_t* arena_base, const float* input_base,
                            int64_t n) const {
  for (size_t v = 0; v < base.size(); ++v) {
    const int root = plan.storage_of(int(v));
    if (plan.values[root].external)
      base[v] = reinterpret_cast<uint8_t*>(const_cast<float*>(input_base));
    else
      base[v] = offset[root] >= 0 ? arena_base + offset[root] * n : nullptr;
  }
}

// Copies images [0, count) of the graph outputs (at base) to images [first, first + count) of *outputs.
void IntEngine::Impl::copy_outputs(uint8_t* const* base, int64_t first, int64_t count) const {
  for (size_t k = 0; k < plan.outputs.size(); ++k) {
    const qdq::Value& value = plan.values[plan.outputs[k]];
    const int64_t per = value.elements(), n = per * count;
    const uint8_t* src = base[plan.outputs[k]];
    Tensor& t = (*outputs)[k];
    if (!value.quantized) {
      std::memcpy(t.f.data() + first * per, src, size_t(n) * sizeof(float));
    } else {
      const int32_t shift = value.quant.container_shift();
      int64_t* dst = t.i.data() + first * per;
      for (int64_t i = 0; i < n; ++i) dst[i] = int64_t(src[i]) - shift;
    }
  }
}

void IntEngine::Impl::run_images(int w, int64_t begin, int64_t end) {
  Worker& me = workers[size_t(w)];
  const int64_t in_floats = plan.values[plan.input].elements();  // per image
  for (int64_t i = begin; i < end; ++i) {
    point(me.base, me.arena.get(), input + i * in_floats, 1);
    for (size_t s = 0; s < plan.steps.size(); ++s)
      plan.steps[s]->run(context(me, s), 0, 1, {0, plan.steps[s]->rows()});
    copy_outputs(me.base.data(), i, 1);
  }
}

void IntEngine::Impl::run_chunks(int w, int64_t begin, int64_t end) const {
  const int64_t rows = step->rows();
  for (int64_t c = begin; c < end; ++c)
    step->run(context(workers[size_t(w)], step_index), 0, images,
              {rows * c / chunks, rows * (c + 1) / chunks});
}

IntEngine::IntEngine(const Graph& qdq_graph, IntEngineOptions opts) : impl_(std::make_unique<Impl>()) {
  check(opts.threads >= 1 && opts.threads <= kMaxThreads, "threads must be between 1 and " +
                                                              std::to_string(kMaxThreads) + ", got " +
                                                              std::to_string(opts.threads));
  Graph g = qdq_graph;
  g.validate_and_sort();
  impl_->kernels = opts.kernels ? opts.kernels : &int8::best_kernels();
  impl_->requant = opts.requant ? *opts.requant : model_requantization(g);
  impl_->plan = lower_qdq_graph(g, *impl_->kernels, impl_->requant);
  impl_->plan_buffers();
  Impl& m = *impl_;
  m.pool = std::make_unique<fp32_engine::ThreadPool>(opts.threads);
  for (const auto& step : m.plan.steps) {
    m.scratch_offset.push_back(m.scratch_total);
    m.scratch_total += align_up(int64_t(step->scratch_bytes()));
  }
  m.workers.resize(size_t(opts.threads));
  for (auto& wk : m.workers) {
    wk.scratch = aligned_buffer(m.scratch_total);
    std::memset(wk.scratch.get(), 0, size_t(m.scratch_total));
    wk.arena = aligned_buffer(m.arena_per_image);
    wk.base.assign(m.plan.values.size(), nullptr);
  }
  m.image_job = [&m](int w, int64_t b, int64_t e) { m.run_images(w, b, e); };
  m.chunk_job = [&m](int w, int64_t b, int64_t e) { m.run_chunks(w, b, e); };
}

IntEngine::~IntEngine() = default;
IntEngine::IntEngine(IntEngine&&) noexcept = default;
IntEngine& IntEngine::operator=(IntEngine&&) noexcept = default;

std::vector<double> IntEngine::profile_steps(const Tensor& input, int64_t images) {
  Impl& m = *impl_;
  const int64_t per = m.plan.values[m.plan.input].elements();
  check(input.dtype == DType::kFloat32 && !input.shape.empty() && input.shape[0] >= 1 &&
            int64_t(input.f.size()) == input.shape[0] * per,
        "profile: input must be float32 images of the graph input's shape");
  std::vector<double> seconds(m.plan.steps.size(), 0.0);
  Impl::Worker& me = m.workers[0];
  for (int64_t i = 0; i < images; ++i) {
    m.point(me.base, me.arena.get(), input.f.data() + (i % input.shape[0]) * per, 1);
    for (size_t s = 0; s < m.plan.steps.size(); ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      m.plan.steps[s]->run(m.context(me, s), 0, 1, {0, m.plan.steps[s]->rows()});
      seconds[s] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  return seconds;
}

std::vector<std::string> IntEngine::step_names() const {
  std::vector<std::string> r;
  for (const auto& s : impl_->plan.steps) r.push_back(s->kernel + " " + s->nodes);
  return r;
}

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
  for (int v : m.plan.outputs) {
    const qdq::Value& value = m.plan.values[v];
    Shape shape = value.shape;
    shape[0] = images;
    const size_t count = size_t(value.elements() * images);
    outputs.push_back(value.quantized
                          ? Tensor::from_ints(value.quant.container, shape, std::vector<int64_t>(count))
                          : Tensor::from_floats(shape, std::vector<float>(count)));
  }
  if (images == 0) return outputs;

  m.input = input.f.data();
  m.images = images;
  m.outputs = &outputs;
  const int workers = m.pool->size();
  if (images >= workers) {
    m.pool->parallel_for(images, 1, m.image_job);
  } else {
    m.ensure_capacity(images);
    Impl::Worker& w0 = m.workers[0];
    m.point(w0.base, m.arena.get(), m.input, images);
    for (size_t w = 1; w < m.workers.size(); ++w) m.workers[w].base = w0.base;
    for (size_t s = 0; s < m.plan.steps.size(); ++s) {
      const auto& step = m.plan.steps[s];
      const bool split = step->cost() * double(images) >= kMinParallelCost && step->rows() >= workers;
      if (!split) {
        step->run(m.context(w0, s), 0, images, {0, step->rows()});
        continue;
      }
      m.step = step.get();
      m.step_index = s;
      m.chunks = std::min<int64_t>(step->rows(), kChunksPerWorker * workers);
      m.pool->parallel_for(m.chunks, 1, m.chunk_job);
    }
    m.copy_outputs(w0.base.data(), 0, images);
  }
  m.outputs = nullptr;
  return outputs;
}

std::string IntEngine::describe() const {
  const qdq::Plan& plan = impl_->plan;
  std::string s = "integer engine (" + std::string(impl_->kernels->isa) + " kernels, " +
                  requantization_name(impl_->requant) + " requantization): " + std::to_string(integer_op_count()) + " integer, " +
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

Requantization model_requantization(const Graph& g) {
  const auto it = g.metadata.find("tinyptq.requant");
  if (it == g.metadata.end()) return Requantization::kFloat;
  return parse_requantization(it->second);
}

bool is_qdq_graph(const Graph& g) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
    return n.op == Op::kQuantizeLinear || n.op == Op::kDequantizeLinear;
  });
}

}  // namespace tinyptq
