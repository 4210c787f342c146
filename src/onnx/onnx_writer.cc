#include "onnx/onnx_writer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "onnx/onnx_tensor.h"

namespace tinyptq {

namespace {

constexpr int64_t kIrVersion = 7;
constexpr int64_t kOpset = 13;
constexpr int64_t kHardSwishOpset = 14;  // HardSwish exists from opset 14; other graphs keep 13
constexpr float kDefaultEpsilon = 1e-5f;

bool all_equal(const std::vector<int64_t>& v, int64_t x) {
  return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
}

void add_int(onnx::NodeProto* n, const char* name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void add_float(onnx::NodeProto* n, const char* name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void add_ints(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t e : v) a->add_ints(e);
}

void add_string(onnx::NodeProto* n, const char* name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

const char* auto_pad_name(AutoPad p) {
  switch (p) {
    case AutoPad::kNotSet: return "NOTSET";
    case AutoPad::kValid: return "VALID";
    case AutoPad::kSameUpper: return "SAME_UPPER";
    case AutoPad::kSameLower: return "SAME_LOWER";
  }
  return "NOTSET";
}

// A -1 (symbolic) dim is written as dim_param "N". An empty IR shape is written as a scalar shape for
// inputs and left out (unknown, to be inferred) for outputs.
void set_value_info(const ValueInfo& v, onnx::ValueInfoProto* p, bool is_output) {
  p->set_name(v.name);
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_elem_type(v.dtype));
  if (v.shape.empty() && is_output) return;
  auto* shape = tt->mutable_shape();
  for (int64_t d : v.shape) {
    auto* dim = shape->add_dim();
    if (d < 0)
      dim->set_dim_param("N");
    else
      dim->set_dim_value(d);
  }
}

// Conv/pool window attributes; kernel_shape is always written, the rest only when not the default.
void add_window_attrs(const Node& n, onnx::NodeProto* np) {
  const Attrs& a = n.attrs;
  if (a.auto_pad != AutoPad::kNotSet) add_string(np, "auto_pad", auto_pad_name(a.auto_pad));
  if (!a.kernel_shape.empty()) add_ints(np, "kernel_shape", a.kernel_shape);
  if (!all_equal(a.strides, 1)) add_ints(np, "strides", a.strides);
  if (!all_equal(a.pads, 0)) add_ints(np, "pads", a.pads);
  if (!all_equal(a.dilations, 1)) add_ints(np, "dilations", a.dilations);
}

class ModelWriter {
 public:
  explicit ModelWriter(const Graph& g) : g_(g) {
    for (const auto& v : g.inputs) used_.insert(v.name);
    for (const auto& v : g.outputs) used_.insert(v.name);
    for (const auto& [name, t] : g.initializers) used_.insert(name);
    for (const auto& n : g.nodes) {
      used_.insert(n.name);
      used_.insert(n.inputs.begin(), n.inputs.end());
      used_.insert(n.outputs.begin(), n.outputs.end());
    }
  }
  onnx::ModelProto write();

 private:
  std::string fresh_name(const std::string& base);
  std::string scalar_initializer(const std::string& base, float v);
  void write_node(const Node& n, onnx::NodeProto* np);
  void infer_output_shapes(onnx::ModelProto& model) const;

  const Graph& g_;
  std::set<std::string> used_;
  onnx::GraphProto* graph_ = nullptr;
};

std::string ModelWriter::fresh_name(const std::string& base) {
  std::string name = base;
  for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

std::string ModelWriter::scalar_initializer(const std::string& base, float v) {
  const std::string name = fresh_name(base);
  tensor_to_proto(Tensor::from_floats({}, {v}), name, graph_->add_initializer());
  return name;
}

void ModelWriter::write_node(const Node& n, onnx::NodeProto* np) {
  np->set_op_type(op_name(n.op));
  np->set_name(n.name);
  for (const auto& v : n.inputs) np->add_input(v);
  for (const auto& v : n.outputs) np->add_output(v);
  const Attrs& a = n.attrs;
  switch (n.op) {
    case Op::kConv:
      add_window_attrs(n, np);
      if (a.group != 1) add_int(np, "group", a.group);
      break;
    case Op::kAveragePool:
    case Op::kMaxPool:
      add_window_attrs(n, np);
      if (a.ceil_mode) add_int(np, "ceil_mode", 1);
      if (n.op == Op::kAveragePool && a.count_include_pad) add_int(np, "count_include_pad", 1);
      break;
    case Op::kBatchNormalization:
      if (a.epsilon != kDefaultEpsilon) add_float(np, "epsilon", a.epsilon);
      break;
    case Op::kClip: {
      // Opset 13 takes the bounds as optional scalar inputs; an infinite bound is omitted.
      check(n.inputs.size() == 1, "node '" + n.name + "' (Clip) must have exactly one input");
      const std::string base = n.name.empty() ? n.outputs.at(0) : n.name;
      const bool has_min = std::isfinite(a.clip_min) || a.clip_min > 0;
      const bool has_max = std::isfinite(a.clip_max) || a.clip_max < 0;
      if (has_min || has_max) np->add_input(has_min ? scalar_initializer(base + "_min", a.clip_min) : "");
      if (has_max) np->add_input(scalar_initializer(base + "_max", a.clip_max));
      break;
    }
    case Op::kHardSigmoid:
      if (a.hard_alpha != 0.2f) add_float(np, "alpha", a.hard_alpha);
      if (a.hard_beta != 0.5f) add_float(np, "beta", a.hard_beta);
      break;
    case Op::kFlatten:
      if (a.axis != 1) add_int(np, "axis", a.axis);
      break;
    case Op::kConcat: add_int(np, "axis", a.axis); break;
    case Op::kPad: {
      // Opset 13: pads as an int64 input, the constant as an optional scalar input (omitted when 0).
      check(n.inputs.size() == 1, "node '" + n.name + "' (Pad) must have exactly one input");
      const std::string base = n.name.empty() ? n.outputs.at(0) : n.name;
      const std::string pads = fresh_name(base + "_pads");
      tensor_to_proto(Tensor::from_ints(DType::kInt64, {int64_t(a.pad_amounts.size())}, a.pad_amounts), pads,
                      graph_->add_initializer());
      np->add_input(pads);
      if (a.pad_mode == PadMode::kConstant && a.pad_value != 0.0f)
        np->add_input(scalar_initializer(base + "_value", a.pad_value));
      if (a.pad_mode != PadMode::kConstant) add_string(np, "mode", a.pad_mode == PadMode::kEdge ? "edge" : "reflect");
      break;
    }
    case Op::kSoftmax:
      if (a.axis != -1) add_int(np, "axis", a.axis);
      break;
    case Op::kTranspose:
      if (!a.perm.empty()) add_ints(np, "perm", a.perm);
      break;
    case Op::kGemm:
      if (a.alpha != 1.0f) add_float(np, "alpha", a.alpha);
      if (a.beta != 1.0f) add_float(np, "beta", a.beta);
      if (a.trans_a) add_int(np, "transA", 1);
      if (a.trans_b) add_int(np, "transB", 1);
      break;
    case Op::kQuantizeLinear:
    case Op::kDequantizeLinear: {
      // axis matters only for per-axis quantization (a 1-D scale with more than one element).
      const Tensor* scale = n.inputs.size() > 1 ? g_.initializer(n.inputs[1]) : nullptr;
      const bool per_axis = scale ? scale->shape.size() == 1 && scale->stored() > 1 : a.axis != 1;
      if (per_axis) add_int(np, "axis", a.axis);
      break;
    }
    default: break;
  }
}

onnx::ModelProto ModelWriter::write() {
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("tinyptq");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  const bool hard_swish =
      std::any_of(g_.nodes.begin(), g_.nodes.end(), [](const Node& n) { return n.op == Op::kHardSwish; });
  opset->set_version(hard_swish ? kHardSwishOpset : kOpset);
  for (const auto& [key, value] : g_.metadata) {
    auto* p = model.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }
  graph_ = model.mutable_graph();
  graph_->set_name(g_.name);
  for (const auto& v : g_.inputs) set_value_info(v, graph_->add_input(), false);
  for (const auto& v : g_.outputs) set_value_info(v, graph_->add_output(), true);
  for (const auto& [name, t] : g_.initializers) tensor_to_proto(t, name, graph_->add_initializer());
  for (const auto& n : g_.nodes) write_node(n, graph_->add_node());
  infer_output_shapes(model);
  return model;
}

// The checker requires a shape on every graph output; outputs whose IR shape is unknown get the one
// ONNX shape inference derives from the inputs (intermediate value_info is not kept).
void ModelWriter::infer_output_shapes(onnx::ModelProto& model) const {
  auto missing = [&] {
    for (const auto& o : model.graph().output())
      if (!o.type().tensor_type().has_shape()) return o.name();
    return std::string();
  };
  if (missing().empty()) return;
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception&) {
    // Inference failures surface below as a missing shape or from the checker.
  }
  model.mutable_graph()->clear_value_info();
  const std::string name = missing();
  check(name.empty(), "graph output '" + name + "' has no shape and ONNX shape inference cannot derive it");
}

}  // namespace

std::string graph_to_onnx_bytes(const Graph& graph) {
  const onnx::ModelProto model = ModelWriter(graph).write();
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(std::string("the ONNX checker rejected the exported model: ") + e.what());
  }
  const size_t size = model.ByteSizeLong();
  check(size <= size_t(INT_MAX), "the model is too large for ONNX (" + std::to_string(size) + " bytes)");
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    check(model.SerializeToCodedStream(&out) && !out.HadError(), "serializing the ONNX model failed");
  }
  return bytes;
}

int64_t save_onnx(const Graph& graph, const std::string& path) {
  StagedFiles files;
  const int64_t bytes = save_onnx(graph, path, files);
  files.commit();
  return bytes;
}

int64_t save_onnx(const Graph& graph, const std::string& path, StagedFiles& files) {
  std::string bytes;
  try {
    bytes = graph_to_onnx_bytes(graph);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  files.add(path, bytes);
  return int64_t(bytes.size());
}

}  // namespace tinyptq
