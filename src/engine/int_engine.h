// The integer engine: runs a QDQ graph (QuantizeLinear/DequantizeLinear around float ops, as written by
// tinyptq's quantizer or ONNX Runtime's quantize_static) with integer arithmetic. Matched patterns
// (DQ → Conv/Gemm/MatMul[+Add] → [Relu|Clip] → Q, DQ → Add → [Relu] → Q, DQ → pools → Q, DQ → layout op → Q)
// run as uint8 × int8 kernels with int32 accumulators (kernels/int8/kernel_table.h), everything else in float
// with the reference FP32 kernels. See engine/qdq_lowering.h for the plan and docs in the kernel headers for
// the arithmetic; results agree with ONNX Runtime's QLinear* operators on x86.
//
// Prepare (constructor) lowers the graph, packs the weights, plans an arena for all intermediates and gives
// every thread a one-image arena and per-step scratch; run() allocates its outputs, and the shared arena
// only when a batch smaller than the thread count arrives that is larger than every earlier such batch.
// Scheduling and threading: see int_engine.cc (results are identical for any thread count).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tinyptq {

namespace int8 {
struct KernelTable;
}
enum class Requantization;

struct IntEngineOptions {
  int threads = 1;  // work is split over images, or over output rows when there are fewer images
  // Kernel table (int8::available_kernels()); null = int8::best_kernels(). Every table gives bit-identical
  // results (tests check each kernel against the reference).
  const int8::KernelTable* kernels = nullptr;
  // Requantization arithmetic; unset: the model's metadata `tinyptq.requant` ("float" | "integer"), else
  // float (ONNX Runtime's). Integer runs Conv and Gemm on the table's kernels where they are fixed_point
  // (AVX-512 VNNI), every other requantizing op on the reference kernels.
  std::optional<Requantization> requant;
};

// The arithmetic a model asks for in its metadata `tinyptq.requant` (written by `quantize --requant` and the
// tflite-int8 preset); float when absent. Error on another value.
Requantization model_requantization(const Graph& g);

class IntEngine {
 public:
  // Throws Error naming the node/value on an invalid or unsupported graph.
  IntEngine(const Graph& qdq_graph, IntEngineOptions opts = {});
  ~IntEngine();
  IntEngine(IntEngine&&) noexcept;
  IntEngine& operator=(IntEngine&&) noexcept;

  // input: float, shaped like the graph input with any batch N ≥ 1. Returns the graph outputs in order:
  // float outputs as float; a quantized graph output (a QuantizeLinear output) in its graph dtype.
  // Results do not depend on the thread count. Throws Error on a bad input dtype or shape.
  std::vector<Tensor> run(const Tensor& input);

  // Wall seconds each step took, summed over `images` single-image passes on this thread (worker 0's arena),
  // in step order; for finding hot steps (bench --profile). `input` holds at least one image; image i uses
  // input image i mod N. Results are not returned.
  std::vector<double> profile_steps(const Tensor& input, int64_t images);
  // The step names profile_steps reports: "kernel nodes".
  std::vector<std::string> step_names() const;

  // One line per step: integer / float / layout, the kernel, the nodes it covers, shapes and quantization.
  std::string describe() const;
  int integer_op_count() const;  // steps running int8 kernels (quantize/dequantize included)
  int float_op_count() const;    // steps running float kernels

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True if the graph contains QuantizeLinear or DequantizeLinear nodes.
bool is_qdq_graph(const Graph& g);

}  // namespace tinyptq
