// The internal graph IR: an ONNX-shaped dataflow graph with typed attributes. Loaders (ONNX, Keras)
// produce it, passes rewrite it (BN folding, quantization), engines run it, the writer exports it.
// Invariants after Graph::validate(): nodes are in topological order, every input is a graph input,
// an initializer or an earlier node's output, and every value name is produced exactly once.
#pragma once
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyptq {

enum class Op {
  kConv, kBatchNormalization, kRelu, kClip, kAdd, kMul, kSub, kAveragePool, kMaxPool,
  kGlobalAveragePool, kFlatten, kReshape, kTranspose, kGemm, kMatMul, kSoftmax, kIdentity,
  kQuantizeLinear, kDequantizeLinear, kSigmoid, kHardSigmoid, kHardSwish, kConcat, kPad,
};

// ONNX op_type string for an Op, and the reverse (nullopt for unsupported types).
const char* op_name(Op op);
std::optional<Op> op_from_name(const std::string& name);

// Attributes of all supported ops in one typed struct; each op reads only its own fields.
// ONNX auto_pad for Conv/pools. SAME_* pads are resolved from the input's spatial size at run time.
enum class AutoPad { kNotSet, kValid, kSameUpper, kSameLower };
// ONNX Pad modes: a constant, the mirror image without the edge, or the repeated edge value.
enum class PadMode { kConstant, kReflect, kEdge };

struct Attrs {
  AutoPad auto_pad = AutoPad::kNotSet;  // Conv, pools
  std::vector<int64_t> kernel_shape;  // Conv, pools
  std::vector<int64_t> strides;       // Conv, pools (default 1s)
  std::vector<int64_t> pads;          // Conv, pools: [begin..., end...] (default 0s)
  std::vector<int64_t> dilations;     // Conv (default 1s)
  int64_t group = 1;                  // Conv
  bool count_include_pad = false;     // AveragePool
  bool ceil_mode = false;             // pools
  int64_t axis = 1;                   // Flatten, Softmax, Concat, Q/DQ (per-axis)
  std::vector<int64_t> perm;          // Transpose
  float alpha = 1.0f, beta = 1.0f;    // Gemm
  bool trans_a = false, trans_b = false;  // Gemm
  float epsilon = 1e-5f;              // BatchNormalization
  float clip_min = -std::numeric_limits<float>::infinity();  // Clip (from inputs or attrs)
  float clip_max = std::numeric_limits<float>::infinity();
  float hard_alpha = 0.2f, hard_beta = 0.5f;  // HardSigmoid: y = max(0, min(1, hard_alpha·x + hard_beta))
  // Pad (canonical form: the data input only; pads and constant_value read from inputs or attrs):
  // pad_amounts = [x1_begin, ..., xr_begin, x1_end, ..., xr_end], negative crops (constant mode only).
  std::vector<int64_t> pad_amounts;
  PadMode pad_mode = PadMode::kConstant;
  float pad_value = 0.0f;
};

struct Node {
  Op op;
  std::string name;
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  Attrs attrs;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;  // -1 for a symbolic (batch) dimension
};

struct Graph {
  std::string name = "tinyptq";
  std::vector<ValueInfo> inputs;   // exactly one image input in practice
  std::vector<ValueInfo> outputs;
  std::map<std::string, Tensor> initializers;
  std::vector<Node> nodes;
  // Extra key/value metadata exported as ONNX metadata_props (e.g. narrowed bit widths).
  std::map<std::string, std::string> metadata;

  bool is_initializer(const std::string& v) const { return initializers.count(v) != 0; }
  const Tensor* initializer(const std::string& v) const;
  // Index of the node producing value v, or -1.
  int producer(const std::string& v) const;
  // Indices of nodes consuming value v.
  std::vector<int> consumers(const std::string& v) const;
  // Sorts nodes topologically and checks the invariants above; throws Error naming the offending
  // node/value (cycle, dangling input, value produced twice, unknown graph output).
  void validate_and_sort();
  // Drops nodes whose outputs nothing uses and initializers no node reads.
  void remove_dead();
  // A value name not yet used in the graph, derived from base.
  std::string unique_name(const std::string& base) const;
  // Number of float parameters held by initializers.
  int64_t parameter_count() const;
};

}  // namespace tinyptq
