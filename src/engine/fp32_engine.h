// The FP32 engine: runs a float graph (or a QDQ graph as float simulation: quantized values widened into
// Tensor::i). The reference kernels (src/kernels/fp32/reference) define what "correct" means; the engine
// runs the optimized kernels of a fp32::KernelTable (chosen once from CPUID) where it has them — Conv, Gemm,
// Add, Relu, Clip, copies — and the reference kernels for every other operator.
//
// Prepare (constructor) validates and sorts the graph and checks every node. Per input shape the engine
// makes a plan once (shapes, fused steps, weights packed for the kernels, buffer slots) and reuses it:
// run() then allocates only its outputs, and buffers only when a larger shape arrives.
//
// Execution: without a tap, Conv [→ BatchNormalization] [→ Add] [→ Relu | Clip] chains run as one fused
// step. With N ≥ threads images, each thread runs the whole graph on its share of the images, one image at
// a time (cache-resident, no synchronisation); with fewer images, or with a tap, steps run one after the
// other over the whole batch, each split over the threads (by images, pixel tiles and channel blocks).
// Results do not depend on the thread count: every output element is computed by one thread, in the same
// order. With a tap nothing is fused (every value is materialised), so results may differ from a run
// without a tap by float rounding (~1e-7 relative).
//
// run() updates the plan cache: one engine per calling thread.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyptq {

namespace fp32 {
struct KernelTable;
}

struct Fp32EngineOptions {
  // Threads used by run() (the caller plus threads − 1 workers); 0 = std::thread::hardware_concurrency().
  // The default 1 suits callers that already run engines in parallel (the study, tests).
  int threads = 1;
  // Kernel table (fp32::available_kernels()); null = fp32::best_kernels().
  const fp32::KernelTable* kernels = nullptr;
  // Fuse Conv/BN/Add/Relu chains when run() has no tap.
  bool fuse = true;
};

class Fp32Engine {
 public:
  // Throws Error naming the node/value on an invalid graph or an unsupported node (wrong input count,
  // extra outputs, a Reshape shape that is not an int64 initializer, inconsistent shapes for the declared
  // input shape), and on negative threads.
  explicit Fp32Engine(Graph graph);
  Fp32Engine(Graph graph, Fp32EngineOptions options);
  ~Fp32Engine();
  Fp32Engine(Fp32Engine&&) noexcept;
  Fp32Engine& operator=(Fp32Engine&&) noexcept;

  // Called with the graph input first, then with every node output right after it is computed.
  using Tap = std::function<void(const std::string& value, const Tensor& t)>;

  // input: float tensor shaped like the graph input with any batch N. Returns the graph outputs in order.
  // Throws Error on a bad input (dtype, shape) or when a node fails (message names the node).
  std::vector<Tensor> run(const Tensor& input, const Tap& tap = nullptr);

  const Graph& graph() const;
  int threads() const;
  const char* kernel_isa() const;  // "avx512", "avx2" or "reference"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinyptq
