#include "onnx/onnx_reader.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"
#include "onnx/onnx_tensor.h"

namespace tinyptq {

namespace {

constexpr int64_t kMinOpset = 7, kMaxOpset = 21;
// protobuf parses at most INT_MAX bytes; anything larger is not a model we can read.
constexpr int64_t kMaxModelBytes = INT_MAX;
constexpr float kInf = std::numeric_limits<float>::infinity();
// Far above any small CNN (ResNet-50 has ~180 nodes, ~3x that in QDQ form); bounds the work that
// graph validation and the passes spend on a hostile file.
constexpr int kMaxNodes = 10000;
// Bounds on declared sizes, far above any CIFAR-scale CNN: one dimension of a graph input or output, its
// element count, and any window value (kernel, stride, dilation, pad).
constexpr int64_t kMaxDim = int64_t(1) << 24;
constexpr int64_t kMaxValueElements = int64_t(1) << 32;
constexpr int64_t kMaxWindow = int64_t(1) << 16;
constexpr int kMaxConcatInputs = 64;

using Attr = onnx::AttributeProto;

// Typed, checked access to one node's attributes. Errors name the node and the attribute.
class NodeAttrs {
 public:
  NodeAttrs(const onnx::NodeProto& node, std::string where) : node_(node), where_(std::move(where)) {}

  const Attr* find(const std::string& name) const {
    for (const auto& a : node_.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t get_int(const std::string& name, int64_t def) const {
    const Attr* a = find(name);
    if (!a) return def;
    expect(*a, Attr::INT, a->has_i(), "an int");
    return a->i();
  }
  bool get_bool(const std::string& name, bool def) const {
    const int64_t v = get_int(name, def ? 1 : 0);
    check(v == 0 || v == 1, where_ + ": attribute '" + name + "' must be 0 or 1, got " + std::to_string(v));
    return v == 1;
  }
  float get_float(const std::string& name, float def) const {
    const Attr* a = find(name);
    if (!a) return def;
    expect(*a, Attr::FLOAT, a->has_f(), "a float");
    check(!std::isnan(a->f()), where_ + ": attribute '" + name + "' is NaN");
    return a->f();
  }
  std::vector<int64_t> get_ints(const std::string& name) const {
    const Attr* a = find(name);
    if (!a) return {};
    expect(*a, Attr::INTS, true, "a list of ints");
    return {a->ints().begin(), a->ints().end()};
  }
  std::string get_string(const std::string& name, const std::string& def) const {
    const Attr* a = find(name);
    if (!a) return def;
    expect(*a, Attr::STRING, a->has_s(), "a string");
    return a->s();
  }
  const std::string& where() const { return where_; }

 private:
  // Old exporters sometimes leave `type` UNDEFINED and only set the value field.
  void expect(const Attr& a, Attr::AttributeType type, bool untyped_ok, const char* what) const {
    const bool ok = a.type() == type || (a.type() == Attr::UNDEFINED && untyped_ok);
    check(ok, where_ + ": attribute '" + a.name() + "' must be " + what);
  }
  const onnx::NodeProto& node_;
  std::string where_;
};

struct Arity {
  int min_inputs, max_inputs;
};

Arity arity(Op op, int64_t opset) {
  switch (op) {
    case Op::kConv: return {2, 3};
    case Op::kBatchNormalization: return {5, 5};
    case Op::kClip: return {1, opset >= 11 ? 3 : 1};
    case Op::kAdd:
    case Op::kMul:
    case Op::kSub:
    case Op::kMatMul:
    case Op::kReshape: return {2, 2};
    case Op::kGemm:
    case Op::kQuantizeLinear:
    case Op::kDequantizeLinear: return {2, 3};
    case Op::kConcat: return {1, kMaxConcatInputs};
    case Op::kPad: return opset >= 11 ? Arity{2, opset >= 18 ? 4 : 3} : Arity{1, 1};
    default: return {1, 1};
  }
}

// Reads one ONNX model into a Graph. Errors carry no file label; onnx_bytes_to_graph adds it.
class ModelReader {
 public:
  explicit ModelReader(const onnx::ModelProto& model) : model_(model) {}
  Graph read();

 private:
  void read_opset();
  void read_initializers();
  void check_supported() const;
  void read_constant(const onnx::NodeProto& np, const std::string& where);
  ValueInfo read_value_info(const onnx::ValueInfoProto& vi, const char* kind) const;
  Node read_node(const onnx::NodeProto& np, const std::string& name);
  void read_window_attrs(const NodeAttrs& attrs, Node& node) const;
  void check_window_attrs(const std::string& where, Node& node) const;
  float clip_bound(const Node& node, size_t slot, float absent, const std::string& where);
  void read_pad(const NodeAttrs& attrs, Node& node, const std::string& where);
  bool is_zero_initializer(const std::string& v) const;

  const onnx::ModelProto& model_;
  int64_t opset_ = 0;
  Graph g_;
  std::set<std::string> consumed_;  // values read by any node or listed as graph outputs
  std::set<std::string> dropped_;   // inputs folded into attributes (Clip bounds) or ignored (Dropout)
};

void ModelReader::read_opset() {
  bool found = false;
  for (const auto& os : model_.opset_import()) {
    if (!os.domain().empty() && os.domain() != "ai.onnx") continue;
    check(!found, "model imports the ai.onnx opset twice");
    found = true;
    opset_ = os.version();
  }
  check(found, "model imports no ai.onnx opset");
  if (opset_ < kMinOpset || opset_ > kMaxOpset)
    throw Error("ai.onnx opset " + std::to_string(opset_) + " is not supported (supported: " +
                std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset) + ")");
}

void ModelReader::read_initializers() {
  const auto& graph = model_.graph();
  check(graph.sparse_initializer_size() == 0, "sparse initializers are not supported");
  for (const auto& init : graph.initializer()) {
    check(!init.name().empty(), "initializer with an empty name");
    const std::string what = "initializer '" + init.name() + "'";
    check(!g_.is_initializer(init.name()), what + " is defined twice");
    g_.initializers.emplace(init.name(), tensor_from_proto(init, what));
  }
}

// Lists every unsupported operator at once, in order of first appearance.
void ModelReader::check_supported() const {
  std::vector<std::string> bad;
  for (const auto& np : model_.graph().node()) {
    const bool onnx_domain = np.domain().empty() || np.domain() == "ai.onnx";
    std::string type = onnx_domain ? np.op_type() : np.domain() + ":" + np.op_type();
    const bool ok = onnx_domain &&
                    (op_from_name(np.op_type()) || np.op_type() == "Constant" || np.op_type() == "Dropout");
    if (!ok && std::find(bad.begin(), bad.end(), type) == bad.end()) bad.push_back(type);
  }
  if (!bad.empty()) throw Error("unsupported operators: " + join(bad, ", "));
}

// Constant → initializer holding its value.
void ModelReader::read_constant(const onnx::NodeProto& np, const std::string& where) {
  check(np.output_size() == 1 && !np.output(0).empty(), where + ": must have exactly one output");
  const std::string& out = np.output(0);
  check(!g_.is_initializer(out), where + ": output '" + out + "' is already an initializer");
  check(np.attribute_size() == 1, where + ": must have exactly one value attribute");
  const Attr& a = np.attribute(0);
  const std::string what = where + " value";
  Tensor t;
  if (a.name() == "value" && a.has_t()) {
    t = tensor_from_proto(a.t(), what);
  } else if (a.name() == "value_float" && (a.type() == Attr::FLOAT || a.has_f())) {
    t = Tensor::from_floats({}, {a.f()});
  } else if (a.name() == "value_floats" && (a.type() == Attr::FLOATS || a.floats_size() > 0)) {
    t = Tensor::from_floats({a.floats_size()}, {a.floats().begin(), a.floats().end()});
  } else if (a.name() == "value_int" && (a.type() == Attr::INT || a.has_i())) {
    t = Tensor::from_ints(DType::kInt64, {}, {a.i()});
  } else if (a.name() == "value_ints" && (a.type() == Attr::INTS || a.ints_size() > 0)) {
    t = Tensor::from_ints(DType::kInt64, {a.ints_size()}, {a.ints().begin(), a.ints().end()});
  } else {
    throw Error(where + ": unsupported value attribute '" + a.name() + "'");
  }
  g_.initializers.emplace(out, std::move(t));
}

ValueInfo ModelReader::read_value_info(const onnx::ValueInfoProto& vi, const char* kind) const {
  ValueInfo v;
  v.name = vi.name();
  const std::string what = std::string(kind) + " '" + vi.name() + "'";
  check(!vi.has_type() || vi.type().has_tensor_type(), what + " is not a tensor");
  const auto& tt = vi.type().tensor_type();
  if (tt.elem_type() != onnx::TensorProto::UNDEFINED) {
    auto dt = dtype_from_onnx(tt.elem_type());
    if (!dt) throw Error(what + " has unsupported element type " + onnx_elem_type_name(tt.elem_type()));
    v.dtype = *dt;
  }
  // No shape means unknown rank (kept empty). Symbolic or unknown dims become -1.
  if (tt.has_shape())
    for (const auto& d : tt.shape().dim())
      v.shape.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : -1);
  // Engines size buffers from these shapes (symbolic dims as 1): bound them before anything does.
  Shape sized = v.shape;
  for (int64_t& d : sized) d = std::max<int64_t>(d, 1);
  bool small = std::all_of(sized.begin(), sized.end(), [](int64_t d) { return d <= kMaxDim; });
  try {
    small = small && num_elements(sized) <= kMaxValueElements;
  } catch (const Error&) {
    small = false;
  }
  check(small, what + " has shape " + shape_str(v.shape) + ", which is too large");
  return v;
}

bool ModelReader::is_zero_initializer(const std::string& v) const {
  const Tensor* t = g_.initializer(v);
  if (!t || t->stored() != 1) return false;
  return t->dtype == DType::kFloat32 ? t->f[0] == 0.0f : t->i[0] == 0;
}

AutoPad parse_auto_pad(const std::string& s, const std::string& where) {
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "VALID") return AutoPad::kValid;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  throw Error(where + ": unknown auto_pad '" + s + "'");
}

void ModelReader::read_window_attrs(const NodeAttrs& attrs, Node& node) const {
  Attrs& a = node.attrs;
  a.auto_pad = parse_auto_pad(attrs.get_string("auto_pad", "NOTSET"), attrs.where());
  a.kernel_shape = attrs.get_ints("kernel_shape");
  a.strides = attrs.get_ints("strides");
  a.pads = attrs.get_ints("pads");
  a.dilations = attrs.get_ints("dilations");
  // Conv may omit kernel_shape; it is then the weight's spatial dims.
  if (node.op == Op::kConv && a.kernel_shape.empty())
    if (const Tensor* w = g_.initializer(node.inputs[1]); w && w->shape.size() >= 3)
      a.kernel_shape.assign(w->shape.begin() + 2, w->shape.end());
}

// Checks window attributes and fills defaults, so that with a known kernel rank k:
// strides and dilations hold k values (default 1), pads holds 2k values (default 0) unless auto_pad
// is set, in which case pads is empty.
void ModelReader::check_window_attrs(const std::string& where, Node& node) const {
  Attrs& a = node.attrs;
  const bool is_conv = node.op == Op::kConv;
  check(is_conv || !a.kernel_shape.empty(), where + ": missing kernel_shape");
  for (int64_t v : a.kernel_shape) check(v > 0, where + ": kernel_shape values must be > 0");
  for (int64_t v : a.strides) check(v > 0, where + ": strides must be > 0");
  for (int64_t v : a.dilations) check(v > 0, where + ": dilations must be > 0");
  for (int64_t v : a.pads) check(v >= 0, where + ": pads must be >= 0");
  for (const auto* values : {&a.kernel_shape, &a.strides, &a.dilations, &a.pads})
    for (int64_t v : *values)
      check(v <= kMaxWindow, where + ": window value " + std::to_string(v) + " is too large (limit " +
                                 std::to_string(kMaxWindow) + ")");
  check(a.group > 0, where + ": group must be > 0");
  const size_t k = !a.kernel_shape.empty() ? a.kernel_shape.size()
                   : !a.strides.empty()    ? a.strides.size()
                   : !a.dilations.empty()  ? a.dilations.size()
                                           : a.pads.size() / 2;
  const std::string rank = std::to_string(k);
  check(a.strides.empty() || a.strides.size() == k, where + ": strides must have " + rank + " values");
  check(a.dilations.empty() || a.dilations.size() == k, where + ": dilations must have " + rank + " values");
  check(a.pads.empty() || a.pads.size() == 2 * k,
        where + ": pads must have " + std::to_string(2 * k) + " values");
  if (is_conv)
    if (const Tensor* w = g_.initializer(node.inputs[1])) {
      check(w->shape.size() == k + 2,
            where + ": weight shape " + shape_str(w->shape) + " does not match a " + rank + "-D kernel");
      check(std::equal(a.kernel_shape.begin(), a.kernel_shape.end(), w->shape.begin() + 2),
            where + ": kernel_shape does not match weight shape " + shape_str(w->shape));
      check(w->shape[0] > 0 && w->shape[1] > 0, where + ": weight shape " + shape_str(w->shape) + " is empty");
      if (node.inputs.size() > 2 && !node.inputs[2].empty())
        if (const Tensor* b = g_.initializer(node.inputs[2]))
          check(b->shape == Shape{w->shape[0]}, where + ": bias shape " + shape_str(b->shape) +
                                                    " does not match " + std::to_string(w->shape[0]) +
                                                    " output channels");
      check(w->shape[0] % a.group == 0, where + ": " + std::to_string(w->shape[0]) +
                                            " output channels are not divisible by group " +
                                            std::to_string(a.group));
    }
  if (k == 0) return;
  if (a.strides.empty()) a.strides.assign(k, 1);
  if (a.dilations.empty()) a.dilations.assign(k, 1);
  const bool zero_pads = std::all_of(a.pads.begin(), a.pads.end(), [](int64_t p) { return p == 0; });
  if (a.auto_pad != AutoPad::kNotSet) {
    check(zero_pads, where + ": pads cannot be combined with auto_pad");
    a.pads.clear();
  } else if (a.pads.empty()) {
    a.pads.assign(2 * k, 0);
  }
  // A pad reaching past the whole window only adds outputs computed from padding alone.
  if (a.kernel_shape.size() == k && a.pads.size() == 2 * k)
    for (size_t i = 0; i < 2 * k; ++i) {
      const int64_t extent = a.dilations[i % k] * (a.kernel_shape[i % k] - 1) + 1;
      check(a.pads[i] < extent, where + ": pad " + std::to_string(a.pads[i]) + " is not smaller than the window (" +
                                    std::to_string(extent) + ")");
    }
}

// Value of a Clip min (slot 1) or max (slot 2) input: a one-element float initializer, `absent` if omitted.
float ModelReader::clip_bound(const Node& node, size_t slot, float absent, const std::string& where) {
  if (node.inputs.size() <= slot || node.inputs[slot].empty()) return absent;
  const std::string& v = node.inputs[slot];
  const char* which = slot == 1 ? "min" : "max";
  const Tensor* t = g_.initializer(v);
  check(t != nullptr, where + ": " + which + " input '" + v + "' must be a constant");
  check(t->dtype == DType::kFloat32 && t->stored() == 1,
        where + ": " + which + " input '" + v + "' must be a single float");
  check(!std::isnan(t->f[0]), where + ": " + which + " is NaN");
  dropped_.insert(v);
  return t->f[0];
}

// Pad in canonical form: pads (attribute before opset 11, else a constant int64 input) and the constant
// value (attribute `value` before opset 11, else an optional one-element input) move into attributes.
void ModelReader::read_pad(const NodeAttrs& attrs, Node& node, const std::string& where) {
  Attrs& a = node.attrs;
  const std::string mode = attrs.get_string("mode", "constant");
  if (mode == "constant") a.pad_mode = PadMode::kConstant;
  else if (mode == "reflect") a.pad_mode = PadMode::kReflect;
  else if (mode == "edge") a.pad_mode = PadMode::kEdge;
  else throw Error(where + ": mode '" + mode.substr(0, 64) + "' is not supported (constant, reflect, edge)");
  if (opset_ < 11) {
    a.pad_amounts = attrs.get_ints(opset_ < 2 ? "paddings" : "pads");
    a.pad_value = attrs.get_float("value", 0.0f);
    return;
  }
  const std::string& pv = node.inputs[1];
  const Tensor* pads = g_.initializer(pv);
  check(pads != nullptr, where + ": pads input '" + pv + "' must be a constant");
  check(pads->dtype == DType::kInt64 && pads->shape.size() == 1 && pads->stored() == pads->shape[0],
        where + ": pads input '" + pv + "' must be a 1-D int64 tensor");
  a.pad_amounts = pads->i;
  dropped_.insert(pv);
  if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
    const std::string& cv = node.inputs[2];
    const Tensor* t = g_.initializer(cv);
    check(t != nullptr, where + ": constant_value input '" + cv + "' must be a constant");
    check(t->dtype == DType::kFloat32 && t->stored() == 1,
          where + ": constant_value input '" + cv + "' must be a single float");
    check(!std::isnan(t->f[0]), where + ": constant_value is NaN");
    a.pad_value = t->f[0];
    dropped_.insert(cv);
  }
  check(node.inputs.size() < 4 || node.inputs[3].empty(), where + ": the axes input is not supported");
  node.inputs.resize(1);
}

Node ModelReader::read_node(const onnx::NodeProto& np, const std::string& name) {
  const bool dropout = np.op_type() == "Dropout";
  Node node;
  node.op = dropout ? Op::kIdentity : *op_from_name(np.op_type());
  node.name = name;
  const std::string where = "node '" + name + "' (" + np.op_type() + ")";
  node.inputs.assign(np.input().begin(), np.input().end());
  while (!node.inputs.empty() && node.inputs.back().empty()) node.inputs.pop_back();

  // Outputs: the first is the result; trailing optional outputs (MaxPool indices, BatchNormalization
  // training statistics, Dropout mask) are dropped when nothing reads them.
  check(np.output_size() >= 1 && !np.output(0).empty(), where + ": missing output");
  for (int k = 1; k < np.output_size(); ++k)
    check(np.output(k).empty() || !consumed_.count(np.output(k)),
          where + ": output '" + np.output(k) + "' is used, which is not supported");
  node.outputs = {np.output(0)};

  const NodeAttrs attrs(np, where);
  if (dropout) {
    // Inference-mode Dropout is the identity; training_mode must be absent or a constant 0.
    check(!node.inputs.empty() && !node.inputs[0].empty(), where + ": missing input");
    if (node.inputs.size() >= 3)
      check(is_zero_initializer(node.inputs[2]), where + ": training_mode must be a constant false");
    dropped_.insert(node.inputs.begin() + 1, node.inputs.end());
    node.inputs.resize(1);
    return node;
  }
  const Arity ar = arity(node.op, opset_);
  const int n_in = int(node.inputs.size());
  check(n_in >= ar.min_inputs && n_in <= ar.max_inputs,
        where + ": has " + std::to_string(n_in) + " inputs, expected " + std::to_string(ar.min_inputs) +
            (ar.max_inputs != ar.min_inputs ? ".." + std::to_string(ar.max_inputs) : ""));
  const int required = node.op == Op::kClip ? 1 : ar.min_inputs;
  for (int k = 0; k < required; ++k)
    check(!node.inputs[k].empty(), where + ": input " + std::to_string(k) + " is empty");

  Attrs& a = node.attrs;
  switch (node.op) {
    case Op::kConv:
      a.group = attrs.get_int("group", 1);
      read_window_attrs(attrs, node);
      check_window_attrs(where, node);
      break;
    case Op::kAveragePool:
    case Op::kMaxPool:
      read_window_attrs(attrs, node);
      a.ceil_mode = attrs.get_bool("ceil_mode", false);
      if (node.op == Op::kAveragePool) a.count_include_pad = attrs.get_bool("count_include_pad", false);
      if (node.op == Op::kMaxPool)
        check(attrs.get_int("storage_order", 0) == 0, where + ": storage_order=1 is not supported");
      check_window_attrs(where, node);
      break;
    case Op::kBatchNormalization:
      a.epsilon = attrs.get_float("epsilon", 1e-5f);
      check(std::isfinite(a.epsilon) && a.epsilon >= 0, where + ": epsilon must be finite and >= 0");
      check(attrs.get_int("spatial", 1) == 1, where + ": spatial=0 is not supported");
      check(attrs.get_int("training_mode", 0) == 0, where + ": training_mode is not supported");
      break;
    case Op::kClip:
      if (opset_ < 11) {
        a.clip_min = attrs.get_float("min", -kInf);
        a.clip_max = attrs.get_float("max", kInf);
      } else {
        a.clip_min = clip_bound(node, 1, -kInf, where);
        a.clip_max = clip_bound(node, 2, kInf, where);
        node.inputs.resize(1);
      }
      break;
    case Op::kHardSigmoid:
      a.hard_alpha = attrs.get_float("alpha", 0.2f);
      a.hard_beta = attrs.get_float("beta", 0.5f);
      break;
    case Op::kFlatten: a.axis = attrs.get_int("axis", 1); break;
    case Op::kConcat:
      check(opset_ < 4 || attrs.find("axis") != nullptr, where + ": attribute 'axis' is required");
      a.axis = attrs.get_int("axis", 1);  // (opset < 4 default)
      for (const auto& in : node.inputs) check(!in.empty(), where + ": an input is empty");
      break;
    case Op::kPad: read_pad(attrs, node, where); break;
    case Op::kSoftmax: a.axis = attrs.get_int("axis", opset_ >= 13 ? -1 : 1); break;
    case Op::kTranspose: {
      a.perm = attrs.get_ints("perm");
      std::vector<int64_t> sorted = a.perm;
      std::sort(sorted.begin(), sorted.end());
      for (size_t k = 0; k < sorted.size(); ++k)
        check(sorted[k] == int64_t(k),
              where + ": perm is not a permutation of 0.." + std::to_string(int64_t(sorted.size()) - 1));
      break;
    }
    case Op::kGemm:
      a.alpha = attrs.get_float("alpha", 1.0f);
      a.beta = attrs.get_float("beta", 1.0f);
      a.trans_a = attrs.get_bool("transA", false);
      a.trans_b = attrs.get_bool("transB", false);
      break;
    case Op::kReshape: {
      const Tensor* shape = g_.initializer(node.inputs[1]);
      check(shape != nullptr, where + ": shape input '" + node.inputs[1] + "' must be a constant");
      check(shape->dtype == DType::kInt64 && shape->shape.size() == 1,
            where + ": shape input must be a 1-D int64 tensor");
      const bool has_zero = std::count(shape->i.begin(), shape->i.end(), 0) > 0;
      check(!attrs.get_bool("allowzero", false) || !has_zero,
            where + ": allowzero=1 with a 0 in shape is not supported");
      break;
    }
    case Op::kQuantizeLinear:
    case Op::kDequantizeLinear:
      a.axis = attrs.get_int("axis", 1);
      check(attrs.get_int("block_size", 0) == 0, where + ": blocked quantization is not supported");
      if (node.op == Op::kQuantizeLinear && node.inputs.size() < 3) {
        const int64_t out_type = attrs.get_int("output_dtype", 0);
        check(out_type == 0 || out_type == onnx::TensorProto::UINT8,
              where + ": output_dtype without a zero_point input is not supported");
      }
      break;
    default: break;
  }
  return node;
}

Graph ModelReader::read() {
  check(model_.has_graph(), "not an ONNX model (no graph)");
  check(model_.ir_version() > 0, "not an ONNX model (no ir_version)");
  read_opset();
  const int n_nodes = model_.graph().node_size();
  check(n_nodes <= kMaxNodes,
        "graph has " + std::to_string(n_nodes) + " nodes (the limit is " + std::to_string(kMaxNodes) + ")");
  check_supported();
  const auto& graph = model_.graph();
  if (!graph.name().empty()) g_.name = graph.name();
  for (const auto& p : model_.metadata_props()) g_.metadata[p.key()] = p.value();
  read_initializers();

  std::vector<std::string> names;  // node names, generated where missing
  for (int k = 0; k < graph.node_size(); ++k) {
    const auto& np = graph.node(k);
    names.push_back(np.name().empty() ? np.op_type() + "_" + std::to_string(k) : np.name());
    for (const auto& v : np.input()) consumed_.insert(v);
  }
  for (const auto& o : graph.output()) consumed_.insert(o.name());
  for (int k = 0; k < graph.node_size(); ++k)
    if (graph.node(k).op_type() == "Constant")
      read_constant(graph.node(k), "node '" + names[k] + "' (Constant)");

  for (const auto& in : graph.input())
    if (!g_.is_initializer(in.name())) g_.inputs.push_back(read_value_info(in, "graph input"));
  for (const auto& out : graph.output()) g_.outputs.push_back(read_value_info(out, "graph output"));

  for (int k = 0; k < graph.node_size(); ++k)
    if (graph.node(k).op_type() != "Constant") g_.nodes.push_back(read_node(graph.node(k), names[k]));
  // Clip bounds now live in attributes and Dropout's extra inputs are ignored: drop the initializers
  // that held them unless something else still reads them.
  std::set<std::string> still_used;
  for (const auto& n : g_.nodes) still_used.insert(n.inputs.begin(), n.inputs.end());
  for (const auto& o : g_.outputs) still_used.insert(o.name);
  for (const auto& v : dropped_)
    if (!still_used.count(v)) g_.initializers.erase(v);
  g_.validate_and_sort();
  return std::move(g_);
}

}  // namespace

Graph onnx_bytes_to_graph(std::string_view bytes, const std::string& label) {
  try {
    if (int64_t(bytes.size()) > kMaxModelBytes)
      throw Error("model is too large (" + std::to_string(bytes.size()) + " bytes; the limit is 2 GiB)");
    onnx::ModelProto model;
    if (bytes.empty() || !model.ParseFromArray(bytes.data(), int(bytes.size())))
      throw Error("not a valid ONNX model (protobuf parsing failed: truncated or not an ONNX file)");
    return ModelReader(model).read();
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

Graph load_onnx(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  check(fs::exists(status), path + ": no such file");
  check(!fs::is_directory(status), path + ": is a directory, not an ONNX file");
  const auto size = fs::file_size(path, ec);
  if (!ec && int64_t(size) > kMaxModelBytes)
    throw Error(path + ": file is too large (" + std::to_string(size) + " bytes; the limit is 2 GiB)");
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return onnx_bytes_to_graph(bytes, path);
}

}  // namespace tinyptq
