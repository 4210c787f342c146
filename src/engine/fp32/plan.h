// The FP32 engine's execution plan for one input shape: a list of steps (optimized kernels from a
// fp32::KernelTable, or one reference node), the value each step writes, and a buffer slot per value
// (values whose lifetimes do not overlap share a slot).
//
// Fusion (only in plans made with fuse = true, i.e. runs without a tap): Conv [→ BatchNormalization]
// [→ Add(·, r)] [→ Relu | Clip] becomes one Conv step (BN folded into the packed weights, r read in the output
// stage), Add [→ Relu | Clip] one AddClamp step. A value is fused away only when its single consumer is the
// next node of the chain and it is not a graph output.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "engine/fp32/reference_step.h"
#include "ir/graph.h"
#include "kernels/fp32/kernel_table.h"
#include "kernels/fp32/portable/conv_plan.h"

namespace tinyptq::fp32_engine {

enum class StepKind { kConv, kGemm, kClamp, kAddClamp, kCopy, kMean, kTranspose2d, kReference };

struct Step {
  StepKind kind = StepKind::kReference;
  int node = 0;               // graph node this step is named after (the chain's first node)
  std::vector<int> inputs;    // value ids (-1: omitted); kConv: {x, residual or -1}; kAddClamp: {a, b}
  int output = -1;            // value id written
  Shape out_shape;
  int64_t items = 1;          // independent work items (threads split them)
  int64_t count = 0;          // kClamp / kAddClamp / kCopy: elements
  float lo = 0, hi = 0;       // kClamp / kAddClamp
  int64_t rows = 0, cols = 0;  // kTranspose2d: per image [rows][cols] → [cols][rows]; kMean: cols = plane size
  std::shared_ptr<const fp32::ConvPlan> conv;
  // kConv: reads the phase planes the step before it built (a Conv of the same input whose layout this
  // plan adopted, fp32::adopt_phase_layout); the engine runs the two in one pass over the threads.
  bool reuse_planes = false;
  // kConv: input 0 is already in this Conv's planes layout (its producer wrote it so): nothing to build.
  bool input_is_planes = false;
  // kConv whose output is written as its readers' planes (conv->out gives the floats per image): the spans
  // of that layout no element fills, zeroed before each run.
  std::vector<fp32::PlaneSpan> out_padding;
  std::shared_ptr<const fp32::GemmPlan> gemm;
  StepParams ref;             // kReference
};

// Elements per work item of the elementwise steps.
inline constexpr int64_t kElementwiseChunk = 8192;
// Planes per work item of kMean steps.
inline constexpr int64_t kMeanChunk = 256;

// What a plan needs to know about the graph's values (built once by the engine).
struct ValueTable {
  std::vector<std::string> names;              // value id → name
  std::vector<const Tensor*> initializer;      // value id → initializer, or null
  std::vector<std::vector<int>> node_inputs;   // per node: value ids, -1 for an omitted input
  std::vector<int> node_output;                // per node: value id of its output
  std::vector<int> output_ids;                 // graph outputs
  int input_id = -1;
};

struct Plan {
  Shape input_shape;
  bool fused = false;
  std::vector<Step> steps;
  std::map<std::string, Shape> shapes_by_name;  // infer_shapes for this input shape
  std::vector<Shape> shapes;     // value id → shape for this input shape
  std::vector<DType> dtypes;     // value id → dtype
  std::vector<int> slot;         // value id → buffer slot (node outputs only; -1 otherwise)
  int slots = 0;
  int64_t scratch_floats = 0;    // per thread
};

// Builds the plan of `graph` for `input_shape`. Throws Error naming the node on inconsistent shapes.
Plan make_plan(const Graph& graph, const ValueTable& values, const Shape& input_shape, bool fuse,
               const fp32::KernelTable& kernels);

// True when every value's batch dim is the input's and no node mixes images, so that running the images
// one at a time gives the same per-image results (the engine then runs images in parallel, depth-first).
bool batch_separable(const Graph& graph, const Shape& input_shape);

}  // namespace tinyptq::fp32_engine
