// ONNX reader/writer: models are built here with the onnx protobuf API, read into the IR, written back.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>

#include "core/error.h"
#include "onnx/onnx_reader.h"
#include "onnx/onnx_writer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- ModelProto builders ----

onnx::ModelProto make_model(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  m.mutable_graph()->set_name("test");
  return m;
}

// dims: -1 becomes dim_param "N".
void set_tensor_type(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims,
                     int elem_type = onnx::TensorProto::FLOAT) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0)
      dim->set_dim_param("N");
    else
      dim->set_dim_value(d);
  }
}
void add_input(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims) {
  set_tensor_type(m.mutable_graph()->add_input(), name, dims);
}
void add_output(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims = {-1}) {
  set_tensor_type(m.mutable_graph()->add_output(), name, dims);
}

onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& v : inputs) n->add_input(v);
  for (const auto& v : outputs) n->add_output(v);
  return n;
}

onnx::AttributeProto* attr(onnx::NodeProto* n, const std::string& name,
                           onnx::AttributeProto::AttributeType t) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(t);
  return a;
}
void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = attr(n, name, onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  attr(n, name, onnx::AttributeProto::INT)->set_i(v);
}
void attr_float(onnx::NodeProto* n, const std::string& name, float v) {
  attr(n, name, onnx::AttributeProto::FLOAT)->set_f(v);
}

// A float tensor in float_data (raw = false) or little-endian raw_data (the test host is x86-64).
void fill_float(onnx::TensorProto* t, const std::string& name, const std::vector<int64_t>& dims,
                const std::vector<float>& v, bool raw) {
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  if (!raw) {
    for (float x : v) t->add_float_data(x);
    return;
  }
  std::string bytes(v.size() * 4, '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());
  t->set_raw_data(bytes);
}
void add_init(onnx::ModelProto& m, const std::string& name, const std::vector<int64_t>& dims,
              const std::vector<float>& v, bool raw = true) {
  fill_float(m.mutable_graph()->add_initializer(), name, dims, v, raw);
}

std::vector<float> iota(size_t n, float start = 0.5f, float step = 0.25f) {
  std::vector<float> v(n);
  for (size_t k = 0; k < n; ++k) v[k] = start + step * float(k);
  return v;
}

std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  EXPECT_TRUE(m.SerializeToString(&s));
  return s;
}

Graph parse(const onnx::ModelProto& m) { return onnx_bytes_to_graph(serialize(m), "model.onnx"); }

// Message of the tinyptq::Error that f throws; fails the test if f throws nothing or something else.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "non-tinyptq exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

std::string parse_error(const onnx::ModelProto& m) {
  return error_of([&] { parse(m); });
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// x [N,3,8,8] → Conv(3→4, 3x3, pad 1) → Relu → y
onnx::ModelProto conv_model(bool raw_weights = true) {
  auto m = make_model();
  add_input(m, "x", {-1, 3, 8, 8});
  add_init(m, "w", {4, 3, 3, 3}, iota(108), raw_weights);
  add_init(m, "b", {4}, {0.1f, -0.2f, 0.3f, -0.4f}, raw_weights);
  auto* conv = add_node(m, "Conv", {"x", "w", "b"}, {"c"}, "conv");
  attr_ints(conv, "kernel_shape", {3, 3});
  attr_ints(conv, "pads", {1, 1, 1, 1});
  add_node(m, "Relu", {"c"}, {"y"}, "relu");
  add_output(m, "y", {-1, 4, 8, 8});
  return m;
}

const Node* find_node(const Graph& g, Op op) {
  for (const auto& n : g.nodes)
    if (n.op == op) return &n;
  return nullptr;
}

// ---- Graph comparison for round trips ----

void expect_attrs_eq(const Attrs& a, const Attrs& b, const std::string& node) {
  SCOPED_TRACE("node " + node);
  EXPECT_EQ(a.auto_pad, b.auto_pad);
  EXPECT_EQ(a.kernel_shape, b.kernel_shape);
  EXPECT_EQ(a.strides, b.strides);
  EXPECT_EQ(a.pads, b.pads);
  EXPECT_EQ(a.dilations, b.dilations);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.count_include_pad, b.count_include_pad);
  EXPECT_EQ(a.ceil_mode, b.ceil_mode);
  EXPECT_EQ(a.axis, b.axis);
  EXPECT_EQ(a.perm, b.perm);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_EQ(a.beta, b.beta);
  EXPECT_EQ(a.trans_a, b.trans_a);
  EXPECT_EQ(a.trans_b, b.trans_b);
  EXPECT_EQ(a.epsilon, b.epsilon);
  EXPECT_EQ(a.clip_min, b.clip_min);
  EXPECT_EQ(a.clip_max, b.clip_max);
}

void expect_tensor_eq(const Tensor& a, const Tensor& b, const std::string& name) {
  SCOPED_TRACE("tensor " + name);
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.f, b.f);
  EXPECT_EQ(a.i, b.i);
}

void expect_graphs_eq(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (size_t k = 0; k < a.inputs.size(); ++k) {
    EXPECT_EQ(a.inputs[k].name, b.inputs[k].name);
    EXPECT_EQ(a.inputs[k].dtype, b.inputs[k].dtype);
    EXPECT_EQ(a.inputs[k].shape, b.inputs[k].shape);
  }
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t k = 0; k < a.outputs.size(); ++k) {
    EXPECT_EQ(a.outputs[k].name, b.outputs[k].name);
    EXPECT_EQ(a.outputs[k].dtype, b.outputs[k].dtype);
    EXPECT_EQ(a.outputs[k].shape, b.outputs[k].shape);
  }
  ASSERT_EQ(a.initializers.size(), b.initializers.size());
  for (const auto& [name, t] : a.initializers) {
    ASSERT_TRUE(b.is_initializer(name)) << name;
    expect_tensor_eq(t, b.initializers.at(name), name);
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t k = 0; k < a.nodes.size(); ++k) {
    EXPECT_EQ(a.nodes[k].op, b.nodes[k].op);
    EXPECT_EQ(a.nodes[k].name, b.nodes[k].name);
    EXPECT_EQ(a.nodes[k].inputs, b.nodes[k].inputs);
    EXPECT_EQ(a.nodes[k].outputs, b.nodes[k].outputs);
    expect_attrs_eq(a.nodes[k].attrs, b.nodes[k].attrs, a.nodes[k].name);
  }
  EXPECT_EQ(a.metadata, b.metadata);
}

Node make_node(Op op, const std::string& name, std::vector<std::string> in, std::vector<std::string> out,
               Attrs attrs = {}) {
  return Node{op, name, std::move(in), std::move(out), std::move(attrs)};
}

// An IR graph touching every op and every non-default attribute the writer handles.
Graph full_graph() {
  Graph g;
  g.name = "full";
  g.inputs.push_back({"img", DType::kFloat32, {-1, 32, 32, 3}});
  g.outputs.push_back({"prob", DType::kFloat32, {-1, 10}});
  g.metadata["tinyptq.bits"] = "8";
  g.metadata["note"] = "round trip";
  auto& init = g.initializers;
  init["w1"] = Tensor::from_floats({8, 3, 3, 3}, iota(216, -1.0f, 0.01f));
  init["b1"] = Tensor::from_floats({8}, iota(8));
  init["bn_s"] = Tensor::from_floats({8}, iota(8, 1.0f));
  init["bn_b"] = Tensor::from_floats({8}, iota(8, -0.5f));
  init["bn_m"] = Tensor::from_floats({8}, iota(8, 0.1f));
  init["bn_v"] = Tensor::from_floats({8}, iota(8, 0.9f));
  init["q_scale"] = Tensor::from_floats({8}, iota(8, 0.01f, 0.001f));
  init["q_zp"] = Tensor::from_ints(DType::kInt8, {8}, {0, 1, -1, 2, -2, 127, -128, 0});
  init["w2_q"] = Tensor::from_ints(DType::kInt8, {8, 4, 1, 1}, std::vector<int64_t>(32, -7));
  init["b2_q"] = Tensor::from_ints(DType::kInt32, {8}, {1, -2, 3, -4, 100000, 6, 7, -8});
  init["a_scale"] = Tensor::from_floats({}, {0.05f});
  init["a_zp"] = Tensor::from_ints(DType::kUint8, {}, {128});
  init["shape"] = Tensor::from_ints(DType::kInt64, {2}, {-1, 32});
  init["fc_w"] = Tensor::from_floats({10, 32}, iota(320, -0.3f, 0.002f));
  init["fc_b"] = Tensor::from_floats({10}, iota(10));
  // Attributes set by a lambda (designated initializers would trip -Wmissing-field-initializers).
  auto with = [](auto set) {
    Attrs a;
    set(a);
    return a;
  };
  const Attrs conv1 = with([](Attrs& a) {
    a.kernel_shape = {3, 3}, a.strides = {2, 2}, a.pads = {1, 1, 0, 0}, a.dilations = {1, 1};
  });
  const Attrs conv2 = with([](Attrs& a) {
    a.auto_pad = AutoPad::kSameUpper, a.kernel_shape = {1, 1}, a.strides = {1, 1}, a.dilations = {1, 1};
    a.group = 2;
  });
  const Attrs maxpool = with([](Attrs& a) {
    a.kernel_shape = {2, 2}, a.strides = {2, 2}, a.pads = {0, 0, 1, 1}, a.dilations = {1, 1},
    a.ceil_mode = true;
  });
  const Attrs avgpool = with([](Attrs& a) {
    a.kernel_shape = {3, 3}, a.strides = {1, 1}, a.pads = {1, 1, 1, 1}, a.dilations = {1, 1};
    a.count_include_pad = true;
  });
  const Attrs axis0 = with([](Attrs& a) { a.axis = 0; });
  g.nodes = {
      make_node(Op::kTranspose, "to_nchw", {"img"}, {"x"}, with([](Attrs& a) {
                  a.perm = {0, 3, 1, 2};
                })),
      make_node(Op::kConv, "conv1", {"x", "w1", "b1"}, {"c1"}, conv1),
      make_node(Op::kBatchNormalization, "bn1", {"c1", "bn_s", "bn_b", "bn_m", "bn_v"}, {"n1"},
                with([](Attrs& a) { a.epsilon = 1e-3f; })),
      make_node(Op::kClip, "relu6", {"n1"}, {"r1"},
                with([](Attrs& a) { a.clip_min = 0.0f, a.clip_max = 6.0f; })),
      make_node(Op::kClip, "relu_like", {"r1"}, {"r1b"}, with([](Attrs& a) { a.clip_min = 0.0f; })),
      make_node(Op::kClip, "cap", {"r1b"}, {"r1c"}, with([](Attrs& a) { a.clip_max = 4.0f; })),
      make_node(Op::kDequantizeLinear, "w2_dq", {"w2_q", "q_scale", "q_zp"}, {"w2"}, axis0),
      make_node(Op::kDequantizeLinear, "b2_dq", {"b2_q", "q_scale"}, {"b2"}, axis0),
      make_node(Op::kQuantizeLinear, "a_q", {"r1c", "a_scale", "a_zp"}, {"r1_q"}),
      make_node(Op::kDequantizeLinear, "a_dq", {"r1_q", "a_scale", "a_zp"}, {"r1_dq"}),
      make_node(Op::kConv, "conv2", {"r1_dq", "w2", "b2"}, {"c2"}, conv2),
      make_node(Op::kRelu, "relu2", {"c2"}, {"r2"}),
      make_node(Op::kAdd, "add", {"r2", "r1_dq"}, {"s"}),
      make_node(Op::kMul, "mul", {"s", "a_scale"}, {"s2"}),
      make_node(Op::kSub, "sub", {"s2", "a_scale"}, {"s3"}),
      make_node(Op::kMaxPool, "maxpool", {"s3"}, {"p1"}, maxpool),
      make_node(Op::kAveragePool, "avgpool", {"p1"}, {"p2"}, avgpool),
      make_node(Op::kGlobalAveragePool, "gap", {"p2"}, {"g"}),
      make_node(Op::kFlatten, "flatten", {"g"}, {"f"}, with([](Attrs& a) { a.axis = 1; })),
      make_node(Op::kReshape, "reshape", {"f", "shape"}, {"f2"}),
      make_node(Op::kIdentity, "id", {"f2"}, {"f3"}),
      make_node(Op::kGemm, "fc", {"f3", "fc_w", "fc_b"}, {"logits"},
                with([](Attrs& a) { a.alpha = 0.5f, a.beta = 2.0f, a.trans_b = true; })),
      make_node(Op::kTranspose, "fc_w_t", {"fc_w"}, {"fc_w_t"}, with([](Attrs& a) {
                  a.perm = {1, 0};
                })),
      make_node(Op::kMatMul, "mm", {"f3", "fc_w_t"}, {"logits2"}),
      make_node(Op::kAdd, "add2", {"logits", "logits2"}, {"l"}),
      make_node(Op::kSoftmax, "softmax", {"l"}, {"prob"}, with([](Attrs& a) { a.axis = 1; })),
  };
  g.validate_and_sort();
  return g;
}

// ---- Reading ----

TEST(OnnxReader, TypedAndRawInitializersGiveSameIr) {
  const Graph raw = parse(conv_model(true));
  const Graph typed = parse(conv_model(false));
  expect_graphs_eq(raw, typed);
  ASSERT_TRUE(raw.is_initializer("w"));
  EXPECT_EQ(raw.initializers.at("w").shape, (Shape{4, 3, 3, 3}));
  EXPECT_EQ(raw.initializers.at("w").f, iota(108));

  // Integer types: int32_data (int8/uint8/int32), int64_data vs little-endian raw_data.
  struct Case {
    int type;
    DType dtype;
    std::vector<int64_t> values;
    int bytes;
  };
  const Case cases[] = {
      {onnx::TensorProto::INT8, DType::kInt8, {-128, -1, 0, 1, 127}, 1},
      {onnx::TensorProto::UINT8, DType::kUint8, {0, 1, 128, 254, 255}, 1},
      {onnx::TensorProto::INT32, DType::kInt32, {-2147483647 - 1, -5, 0, 70000, 2147483647}, 4},
      {onnx::TensorProto::INT64, DType::kInt64, {-(int64_t(1) << 40), -1, 0, 3, int64_t(1) << 50}, 8},
  };
  for (const auto& c : cases) {
    auto typed_m = conv_model(), raw_m = conv_model();
    auto* tt = typed_m.mutable_graph()->add_initializer();
    auto* tr = raw_m.mutable_graph()->add_initializer();
    for (auto* t : {tt, tr}) {
      t->set_name("q");
      t->set_data_type(c.type);
      t->add_dims(int64_t(c.values.size()));
    }
    std::string raw;
    for (int64_t v : c.values) {
      c.type == onnx::TensorProto::INT64 ? tt->add_int64_data(v) : tt->add_int32_data(int32_t(v));
      for (int b = 0; b < c.bytes; ++b) raw.push_back(char((uint64_t(v) >> (8 * b)) & 0xff));
    }
    tr->set_raw_data(raw);
    // Make "q" used so it is part of the model.
    for (auto* m : {&typed_m, &raw_m}) add_node(*m, "Identity", {"q"}, {"q_out"});
    for (auto* m : {&typed_m, &raw_m}) add_output(*m, "q_out");
    const Graph gt = parse(typed_m), gr = parse(raw_m);
    SCOPED_TRACE(dtype_name(c.dtype));
    ASSERT_TRUE(gt.is_initializer("q"));
    EXPECT_EQ(gt.initializers.at("q").dtype, c.dtype);
    EXPECT_EQ(gt.initializers.at("q").i, c.values);
    expect_graphs_eq(gt, gr);
  }
}

TEST(OnnxReader, ConstantNodesBecomeInitializers) {
  auto m = make_model();
  add_input(m, "x", {-1, 4});
  auto* c1 = add_node(m, "Constant", {}, {"w"}, "const_w");
  fill_float(attr(c1, "value", onnx::AttributeProto::TENSOR)->mutable_t(), "", {4, 2}, iota(8), false);
  attr_float(add_node(m, "Constant", {}, {"alpha"}), "value_float", 2.5f);
  auto* floats = attr(add_node(m, "Constant", {}, {"bias"}), "value_floats", onnx::AttributeProto::FLOATS);
  floats->add_floats(1.0f);
  floats->add_floats(-1.0f);
  attr_int(add_node(m, "Constant", {}, {"one"}), "value_int", 7);
  attr_ints(add_node(m, "Constant", {}, {"shape"}), "value_ints", {-1, 2});
  add_node(m, "MatMul", {"x", "w"}, {"mm"});
  add_node(m, "Add", {"mm", "bias"}, {"a"});
  add_node(m, "Mul", {"a", "alpha"}, {"s"});
  add_node(m, "Reshape", {"s", "shape"}, {"y"});
  add_node(m, "Identity", {"one"}, {"y2"});
  add_output(m, "y");
  add_output(m, "y2", {});

  const Graph g = parse(m);
  for (const auto& n : g.nodes) EXPECT_NE(op_name(n.op), std::string("Constant"));
  EXPECT_EQ(g.nodes.size(), 5u);
  ASSERT_TRUE(g.is_initializer("w"));
  EXPECT_EQ(g.initializers.at("w").shape, (Shape{4, 2}));
  EXPECT_EQ(g.initializers.at("w").f, iota(8));
  EXPECT_EQ(g.initializers.at("alpha").shape, Shape{});
  EXPECT_EQ(g.initializers.at("alpha").f, std::vector<float>{2.5f});
  EXPECT_EQ(g.initializers.at("bias").f, (std::vector<float>{1.0f, -1.0f}));
  EXPECT_EQ(g.initializers.at("one").dtype, DType::kInt64);
  EXPECT_EQ(g.initializers.at("one").i, std::vector<int64_t>{7});
  EXPECT_EQ(g.initializers.at("shape").i, (std::vector<int64_t>{-1, 2}));
  // The Reshape reads the constant shape as input 1.
  EXPECT_EQ(find_node(g, Op::kReshape)->inputs, (std::vector<std::string>{"s", "shape"}));
}

TEST(OnnxReader, NhwcInputWithTranspose) {
  auto m = make_model(11);
  add_input(m, "img", {-1, 32, 32, 3});
  // An unknown (neither value nor param) dim also reads as -1.
  m.mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->clear_dim_value();
  add_init(m, "w", {16, 3, 3, 3}, iota(432));
  add_init(m, "fc_w", {16, 10}, iota(160));
  add_init(m, "fc_b", {10}, iota(10));
  attr_ints(add_node(m, "Transpose", {"img"}, {"x"}, "nchw"), "perm", {0, 3, 1, 2});
  auto* conv = add_node(m, "Conv", {"x", "w"}, {"c"}, "conv");  // kernel_shape from the weight
  conv->add_attribute()->set_name("auto_pad");
  conv->mutable_attribute(0)->set_type(onnx::AttributeProto::STRING);
  conv->mutable_attribute(0)->set_s("SAME_UPPER");
  add_node(m, "Relu", {"c"}, {"r"});
  add_node(m, "GlobalAveragePool", {"r"}, {"p"});
  add_node(m, "Flatten", {"p"}, {"f"});
  auto* gemm = add_node(m, "Gemm", {"f", "fc_w", "fc_b"}, {"l"});
  attr_float(gemm, "alpha", 0.5f);
  attr_int(gemm, "transA", 0);
  add_node(m, "Softmax", {"l"}, {"y"});
  add_output(m, "y", {-1, 10});

  const Graph g = parse(m);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].shape, (Shape{-1, -1, 32, 3}));
  ASSERT_EQ(g.nodes.size(), 7u);
  EXPECT_EQ(g.nodes[0].op, Op::kTranspose);
  EXPECT_EQ(g.nodes[0].attrs.perm, (std::vector<int64_t>{0, 3, 1, 2}));
  const Node& c = g.nodes[1];
  EXPECT_EQ(c.op, Op::kConv);
  EXPECT_EQ(c.name, "conv");
  EXPECT_EQ(c.attrs.auto_pad, AutoPad::kSameUpper);
  EXPECT_EQ(c.attrs.kernel_shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(c.attrs.strides, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(c.attrs.dilations, (std::vector<int64_t>{1, 1}));
  EXPECT_TRUE(c.attrs.pads.empty());     // resolved at run time for SAME_*
  EXPECT_EQ(g.nodes[2].name, "Relu_2");  // unnamed nodes get "<op>_<index>"
  EXPECT_EQ(g.nodes[5].op, Op::kGemm);
  EXPECT_EQ(g.nodes[5].attrs.alpha, 0.5f);
  EXPECT_EQ(g.nodes[5].attrs.beta, 1.0f);
  EXPECT_FALSE(g.nodes[5].attrs.trans_b);
  EXPECT_EQ(g.nodes[6].attrs.axis, 1);  // Softmax default axis before opset 13

  m.mutable_opset_import(0)->set_version(13);
  EXPECT_EQ(parse(m).nodes[6].attrs.axis, -1);
}

TEST(OnnxReader, MatMulAddAndPools) {
  auto m = make_model();
  add_input(m, "x", {-1, 4, 8, 8});
  add_init(m, "w", {64, 3}, iota(192));
  add_init(m, "b", {3}, iota(3));
  auto* mp = add_node(m, "MaxPool", {"x"}, {"p", ""});
  attr_ints(mp, "kernel_shape", {2, 2});
  attr_ints(mp, "strides", {2, 2});
  attr_int(mp, "ceil_mode", 1);
  auto* ap = add_node(m, "AveragePool", {"p"}, {"a"});
  attr_ints(ap, "kernel_shape", {3, 3});
  attr_ints(ap, "pads", {1, 1, 1, 1});
  attr_int(ap, "count_include_pad", 1);
  auto* fl = add_node(m, "Flatten", {"a"}, {"f"});
  attr_int(fl, "axis", 1);
  add_node(m, "MatMul", {"f", "w"}, {"mm"});
  add_node(m, "Add", {"mm", "b"}, {"y"});
  add_output(m, "y", {-1, 3});
  const Graph g = parse(m);
  ASSERT_EQ(g.nodes.size(), 5u);
  EXPECT_EQ(g.nodes[0].outputs, std::vector<std::string>{"p"});  // empty optional output dropped
  EXPECT_TRUE(g.nodes[0].attrs.ceil_mode);
  EXPECT_EQ(g.nodes[0].attrs.pads, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_TRUE(g.nodes[1].attrs.count_include_pad);
  EXPECT_EQ(g.nodes[1].attrs.pads, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(g.nodes[3].op, Op::kMatMul);
  EXPECT_EQ(g.nodes[4].op, Op::kAdd);
  EXPECT_EQ(g.nodes[4].inputs, (std::vector<std::string>{"mm", "b"}));
}

TEST(OnnxReader, ClipFromConstantInputs) {
  auto m = make_model(13);
  add_input(m, "x", {-1, 4});
  add_init(m, "lo", {}, {0.0f});
  auto* c = add_node(m, "Constant", {}, {"hi"});
  attr_float(c, "value_float", 6.0f);
  add_node(m, "Clip", {"x", "lo", "hi"}, {"a"}, "relu6");
  add_node(m, "Clip", {"a", "lo"}, {"b"}, "min_only");
  add_node(m, "Clip", {"b", "", "hi"}, {"y"}, "max_only");
  add_output(m, "y");
  const Graph g = parse(m);
  ASSERT_EQ(g.nodes.size(), 3u);
  for (const auto& n : g.nodes) EXPECT_EQ(n.inputs.size(), 1u) << n.name;
  EXPECT_EQ(g.nodes[0].attrs.clip_min, 0.0f);
  EXPECT_EQ(g.nodes[0].attrs.clip_max, 6.0f);
  EXPECT_EQ(g.nodes[1].attrs.clip_min, 0.0f);
  EXPECT_EQ(g.nodes[1].attrs.clip_max, kInf);
  EXPECT_EQ(g.nodes[2].attrs.clip_min, -kInf);
  EXPECT_EQ(g.nodes[2].attrs.clip_max, 6.0f);
  EXPECT_TRUE(g.initializers.empty());  // bounds live in attributes now

  // A bound computed at run time is rejected.
  auto bad = make_model(13);
  add_input(bad, "x", {-1, 4});
  add_input(bad, "lo", {});
  add_node(bad, "Clip", {"x", "lo"}, {"y"}, "clip");
  add_output(bad, "y");
  const std::string msg = parse_error(bad);
  EXPECT_TRUE(starts_with(msg, "model.onnx: ")) << msg;
  EXPECT_NE(msg.find("node 'clip' (Clip): min input 'lo' must be a constant"), std::string::npos) << msg;
}

TEST(OnnxReader, ClipFromAttributesBeforeOpset11) {
  auto m = make_model(10);
  add_input(m, "x", {-1, 4});
  auto* c = add_node(m, "Clip", {"x"}, {"a"});
  attr_float(c, "min", -1.0f);
  attr_float(c, "max", 1.0f);
  attr_float(add_node(m, "Clip", {"a"}, {"y"}), "max", 2.0f);
  add_output(m, "y");
  const Graph g = parse(m);
  EXPECT_EQ(g.nodes[0].attrs.clip_min, -1.0f);
  EXPECT_EQ(g.nodes[0].attrs.clip_max, 1.0f);
  EXPECT_EQ(g.nodes[1].attrs.clip_min, -kInf);
  EXPECT_EQ(g.nodes[1].attrs.clip_max, 2.0f);

  // Opset 6 (Clip with attributes, but also pre-7 broadcasting rules) is outside the supported range.
  m.mutable_opset_import(0)->set_version(6);
  const std::string msg = parse_error(m);
  EXPECT_EQ(msg, "model.onnx: ai.onnx opset 6 is not supported (supported: 7..21)");
}

TEST(OnnxReader, InitializerInputsAreNotGraphInputsAndDropoutIsIdentity) {
  auto m = conv_model();
  set_tensor_type(m.mutable_graph()->add_input(), "w", {4, 3, 3, 3});  // old exporters list weights as inputs
  // Replace Relu with Dropout(ratio) + Relu; the unused mask output is dropped.
  add_init(m, "ratio", {}, {0.5f});
  m.mutable_graph()->mutable_node(1)->set_input(0, "d");
  add_node(m, "Dropout", {"c", "ratio"}, {"d", "mask"}, "drop");
  const Graph g = parse(m);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "x");
  const Node* d = find_node(g, Op::kIdentity);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->inputs, std::vector<std::string>{"c"});
  EXPECT_EQ(d->outputs, std::vector<std::string>{"d"});
  EXPECT_FALSE(g.is_initializer("ratio"));
}

TEST(OnnxReader, MetadataAndQdqAxis) {
  auto m = conv_model();
  auto* p = m.add_metadata_props();
  p->set_key("k");
  p->set_value("v");
  add_init(m, "s", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  attr_int(add_node(m, "QuantizeLinear", {"y", "s"}, {"q"}), "axis", 1);
  add_node(m, "DequantizeLinear", {"q", "s"}, {"dq"});
  add_output(m, "dq");
  const Graph g = parse(m);
  EXPECT_EQ(g.metadata.at("k"), "v");
  EXPECT_EQ(find_node(g, Op::kQuantizeLinear)->attrs.axis, 1);
}

// ---- Writing ----

TEST(OnnxWriter, RoundTripPreservesEverything) {
  const Graph g = full_graph();
  const std::string bytes = graph_to_onnx_bytes(g);
  const Graph back = onnx_bytes_to_graph(bytes, "rt.onnx");
  expect_graphs_eq(g, back);
  // And once more: graph → bytes is stable through a read.
  EXPECT_EQ(graph_to_onnx_bytes(back), bytes);
}

TEST(OnnxWriter, OutputPassesCheckerAndIsDeterministic) {
  const Graph g = full_graph();
  const std::string a = graph_to_onnx_bytes(g);
  const std::string b = graph_to_onnx_bytes(full_graph());
  EXPECT_EQ(a, b);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(a));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  EXPECT_EQ(m.ir_version(), 7);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), 13);
  EXPECT_EQ(m.producer_name(), "tinyptq");
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(1).dim_value(), 32);
  ASSERT_EQ(m.metadata_props_size(), 2);

  std::map<std::string, const onnx::NodeProto*> nodes;
  for (const auto& n : m.graph().node()) nodes[n.name()] = &n;
  auto attr_names = [&](const std::string& node) {
    std::vector<std::string> names;
    for (const auto& at : nodes.at(node)->attribute()) names.push_back(at.name());
    return names;
  };
  // Only non-default attributes (kernel_shape always for Conv/pools).
  EXPECT_EQ(attr_names("conv1"), (std::vector<std::string>{"kernel_shape", "strides", "pads"}));
  EXPECT_EQ(attr_names("conv2"), (std::vector<std::string>{"auto_pad", "kernel_shape", "group"}));
  EXPECT_TRUE(attr_names("softmax").size() == 1);  // axis 1 differs from the opset-13 default -1
  EXPECT_TRUE(attr_names("flatten").empty());
  EXPECT_TRUE(attr_names("relu6").empty());
  EXPECT_EQ(nodes.at("relu6")->input_size(), 3);
  EXPECT_EQ(nodes.at("relu_like")->input_size(), 2);
  EXPECT_EQ(nodes.at("cap")->input_size(), 3);
  EXPECT_EQ(nodes.at("cap")->input(1), "");
  // Q/DQ axis only for per-axis scales.
  EXPECT_EQ(attr_names("w2_dq"), std::vector<std::string>{"axis"});
  EXPECT_TRUE(attr_names("a_q").empty());
  EXPECT_TRUE(attr_names("a_dq").empty());
  // Initializers are raw_data, int8/uint8 one byte per element.
  for (const auto& t : m.graph().initializer()) {
    EXPECT_TRUE(t.has_raw_data()) << t.name();
    const std::map<std::string, size_t> expected_bytes = {{"w2_q", 32}, {"a_zp", 1}, {"w1", 216 * 4}};
    if (expected_bytes.count(t.name())) {
      EXPECT_EQ(t.raw_data().size(), expected_bytes.at(t.name())) << t.name();
    }
  }
}

TEST(OnnxWriter, CheckerRejectionIsAnError) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 3, 4, 4}});
  g.outputs.push_back({"y", DType::kFloat32, {-1, 3, 4, 4}});
  Node conv = make_node(Op::kConv, "conv", {"x"}, {"y"});  // Conv needs a weight input
  conv.attrs.kernel_shape = {1, 1};
  g.nodes.push_back(conv);
  const std::string msg = error_of([&] { graph_to_onnx_bytes(g); });
  EXPECT_NE(msg.find("ONNX checker rejected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("conv"), std::string::npos) << msg;
}

TEST(OnnxWriter, UnknownOutputShapeIsInferred) {
  Graph g;
  g.inputs.push_back({"x", DType::kFloat32, {-1, 4}});
  g.outputs.push_back({"y", DType::kFloat32, {}});
  g.initializers["w"] = Tensor::from_floats({4, 3}, iota(12));
  g.nodes.push_back(make_node(Op::kMatMul, "mm", {"x", "w"}, {"y"}));
  EXPECT_EQ(onnx_bytes_to_graph(graph_to_onnx_bytes(g), "inferred.onnx").outputs[0].shape, (Shape{-1, 3}));
  // An output ONNX cannot infer (a reshape to a run-time shape) is an error, not an invalid file.
  g.initializers.clear();
  g.nodes[0] = make_node(Op::kReshape, "r", {"x", "s"}, {"y"});
  g.inputs.push_back({"s", DType::kInt64, {-1}});
  EXPECT_NE(error_of([&] { graph_to_onnx_bytes(g); }).find("graph output 'y' has no shape"),
            std::string::npos);
}

TEST(OnnxWriter, SaveAndLoadFile) {
  testing::TempDir dir;
  const Graph g = full_graph();
  const std::string path = dir.file("m.onnx");
  const int64_t n = save_onnx(g, path);
  EXPECT_EQ(n, int64_t(std::filesystem::file_size(path)));
  expect_graphs_eq(g, load_onnx(path));
}

TEST(OnnxWriter, OutputPathIsDirectoryLeavesNoFile) {
  testing::TempDir dir;
  const std::string msg = error_of([&] { save_onnx(full_graph(), dir.path()); });
  EXPECT_NE(msg.find(dir.path()), std::string::npos) << msg;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  const std::string missing_dir = dir.file("no/such/dir/m.onnx");
  EXPECT_NE(error_of([&] { save_onnx(full_graph(), missing_dir); }).find(missing_dir), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// ---- Hostile and broken input ----

TEST(OnnxErrors, MissingFileAndDirectory) {
  testing::TempDir dir;
  const std::string path = dir.file("absent.onnx");
  EXPECT_EQ(error_of([&] { load_onnx(path); }), path + ": no such file");
  EXPECT_TRUE(starts_with(error_of([&] { load_onnx(dir.path()); }), dir.path() + ": "));
}

TEST(OnnxErrors, RandomBytes) {
  std::mt19937 rng(1234);
  for (size_t len : {1u, 7u, 64u, 1000u, 20000u}) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = char(rng() & 0xff);
    const std::string msg = error_of([&] { onnx_bytes_to_graph(bytes, "noise.bin"); });
    EXPECT_TRUE(starts_with(msg, "noise.bin: ")) << msg;
  }
  EXPECT_EQ(error_of([&] { onnx_bytes_to_graph("", "empty.onnx"); }),
            "empty.onnx: not a valid ONNX model (protobuf parsing failed: truncated or not an ONNX file)");
  testing::TempDir dir;
  testing::write_bytes(dir.file("text.onnx"), "this is not a model\n");
  EXPECT_TRUE(starts_with(error_of([&] { load_onnx(dir.file("text.onnx")); }), dir.file("text.onnx") + ": "));
}

TEST(OnnxErrors, TruncatedAtEveryLength) {
  const std::string bytes = graph_to_onnx_bytes(full_graph());
  int rejected = 0, accepted = 0;
  for (size_t len = 0; len < bytes.size(); len += 1 + len / 512) {
    try {
      onnx_bytes_to_graph(std::string_view(bytes).substr(0, len), "cut.onnx");
      ++accepted;  // a cut at a field boundary can still be a (smaller) valid model
    } catch (const Error& e) {
      ++rejected;
      ASSERT_TRUE(starts_with(e.what(), "cut.onnx: ")) << e.what();
    } catch (...) {
      FAIL() << "non-tinyptq exception at length " << len;
    }
  }
  EXPECT_GT(rejected, 100);
  EXPECT_LT(accepted, rejected / 10);
}

TEST(OnnxErrors, CorruptedBytesNeverCrash) {
  const std::string bytes = graph_to_onnx_bytes(full_graph());
  std::mt19937 rng(99);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = bytes;
    for (int flips = 1 + int(rng() % 3); flips > 0; --flips) bad[rng() % bad.size()] = char(rng() & 0xff);
    try {
      onnx_bytes_to_graph(bad, "flipped.onnx");
    } catch (const Error& e) {
      ++rejected;
      ASSERT_TRUE(starts_with(e.what(), "flipped.onnx: ")) << e.what();
    } catch (...) {
      FAIL() << "non-tinyptq exception in trial " << trial;
    }
  }
  EXPECT_GT(rejected, 100);
}

TEST(OnnxErrors, UnsupportedOperatorsListedTogether) {
  auto m = conv_model();
  add_node(m, "Foo", {"y"}, {"f1"});
  add_node(m, "Bar", {"f1"}, {"f2"});
  add_node(m, "Foo", {"f2"}, {"f3"});
  add_node(m, "Relu", {"f3"}, {"f4"})->set_domain("com.example");
  EXPECT_EQ(parse_error(m), "model.onnx: unsupported operators: Foo, Bar, com.example:Relu");
}

TEST(OnnxErrors, CycleAndDanglingInput) {
  auto cyc = make_model();
  add_input(cyc, "x", {-1, 4});
  add_node(cyc, "Add", {"x", "b"}, {"a"}, "first");
  add_node(cyc, "Relu", {"a"}, {"b"}, "second");
  add_output(cyc, "b");
  std::string msg = parse_error(cyc);
  EXPECT_TRUE(starts_with(msg, "model.onnx: graph has a cycle")) << msg;

  auto dangling = make_model();
  add_input(dangling, "x", {-1, 4});
  add_node(dangling, "Add", {"x", "nowhere"}, {"y"}, "add");
  add_output(dangling, "y");
  msg = parse_error(dangling);
  EXPECT_TRUE(starts_with(msg, "model.onnx: node 'add' reads 'nowhere'")) << msg;
}

TEST(OnnxErrors, InconsistentInitializers) {
  auto typed = conv_model(false);
  typed.mutable_graph()->mutable_initializer(0)->add_float_data(1.0f);  // 109 values for 108 elements
  EXPECT_EQ(parse_error(typed),
            "model.onnx: initializer 'w' declares shape [4,3,3,3] (108 elements) but holds 109 elements");

  auto raw = conv_model(true);
  raw.mutable_graph()->mutable_initializer(1)->mutable_raw_data()->resize(12);
  EXPECT_NE(parse_error(raw).find("initializer 'b' declares shape [4] (4 elements) but holds 3"),
            std::string::npos);

  auto odd = conv_model(true);
  odd.mutable_graph()->mutable_initializer(1)->mutable_raw_data()->resize(15);
  EXPECT_NE(parse_error(odd).find("not a multiple of the element size 4"), std::string::npos);

  auto range = conv_model();
  auto* t = range.mutable_graph()->add_initializer();
  t->set_name("q");
  t->set_data_type(onnx::TensorProto::INT8);
  t->add_dims(1);
  t->add_int32_data(300);
  EXPECT_NE(parse_error(range).find("out of range for int8"), std::string::npos);

  auto ext = conv_model();
  ext.mutable_graph()->mutable_initializer(0)->set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_NE(parse_error(ext).find("initializer 'w' uses external data"), std::string::npos);

  auto f16 = conv_model();
  f16.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::FLOAT16);
  EXPECT_NE(parse_error(f16).find("unsupported element type FLOAT16"), std::string::npos);
}

TEST(OnnxErrors, HugeDeclaredDimsWithoutData) {
  auto huge = conv_model();
  auto* t = huge.mutable_graph()->add_initializer();
  t->set_name("huge");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1000000);
  t->add_dims(1000000);  // 10^12 floats = 4 TB if anyone allocated it
  EXPECT_EQ(
      parse_error(huge),
      "model.onnx: initializer 'huge' declares shape [1000000,1000000] (1000000000000 elements) but holds "
      "0 elements");
  t->add_dims(int64_t(1) << 40);  // overflows int64 when multiplied
  EXPECT_NE(parse_error(huge).find("initializer 'huge': shape"), std::string::npos);
  t->set_dims(2, -3);
  EXPECT_NE(parse_error(huge).find("negative dimension"), std::string::npos);
}

TEST(OnnxErrors, BadConvAttributes) {
  struct Case {
    std::string attr;
    std::vector<int64_t> value;
    std::string expected;
  };
  const Case cases[] = {
      {"strides", {0, 1}, "strides must be > 0"},
      {"strides", {-1, 1}, "strides must be > 0"},
      {"pads", {1, -1, 1, 1}, "pads must be >= 0"},
      {"dilations", {0, 0}, "dilations must be > 0"},
      {"strides", {1, 1, 1}, "strides must have 2 values"},
      {"pads", {1, 1}, "pads must have 4 values"},
      {"kernel_shape", {3, 3, 3}, "pads must have 6 values"},
      {"kernel_shape", {3, 1}, "kernel_shape does not match weight shape"},
      {"kernel_shape", {0, 3}, "kernel_shape values must be > 0"},
  };
  for (const auto& c : cases) {
    auto m = conv_model();
    auto* conv = m.mutable_graph()->mutable_node(0);
    for (auto& a : *conv->mutable_attribute())
      if (a.name() == c.attr) a.set_name("replaced");
    attr_ints(conv, c.attr, c.value);
    const std::string msg = parse_error(m);
    EXPECT_TRUE(starts_with(msg, "model.onnx: node 'conv' (Conv): " + c.expected)) << c.attr << ": " << msg;
  }
  auto m = conv_model();
  attr_int(m.mutable_graph()->mutable_node(0), "group", 0);
  EXPECT_EQ(parse_error(m), "model.onnx: node 'conv' (Conv): group must be > 0");
  auto wrong_type = conv_model();
  attr_float(wrong_type.mutable_graph()->mutable_node(0), "group", 1.0f);
  EXPECT_NE(parse_error(wrong_type).find("attribute 'group' must be an int"), std::string::npos);
  auto pool = conv_model();
  add_node(pool, "MaxPool", {"y"}, {"p"}, "pool");
  add_output(pool, "p");
  EXPECT_EQ(parse_error(pool), "model.onnx: node 'pool' (MaxPool): missing kernel_shape");
}

TEST(OnnxErrors, StructuralProblems) {
  auto no_opset = conv_model();
  no_opset.clear_opset_import();
  EXPECT_EQ(parse_error(no_opset), "model.onnx: model imports no ai.onnx opset");
  auto new_opset = conv_model();
  new_opset.mutable_opset_import(0)->set_version(22);
  EXPECT_NE(parse_error(new_opset).find("opset 22 is not supported"), std::string::npos);
  auto no_graph = conv_model();
  no_graph.clear_graph();
  EXPECT_EQ(parse_error(no_graph), "model.onnx: not an ONNX model (no graph)");

  auto reshape = conv_model();
  add_input(reshape, "shape", {2});
  add_node(reshape, "Reshape", {"y", "shape"}, {"r"}, "reshape");
  add_output(reshape, "r");
  EXPECT_NE(parse_error(reshape).find("node 'reshape' (Reshape): shape input 'shape' must be a constant"),
            std::string::npos);

  auto arity = conv_model();
  add_node(arity, "Add", {"y"}, {"s"}, "add");
  add_output(arity, "s");
  EXPECT_EQ(parse_error(arity), "model.onnx: node 'add' (Add): has 1 inputs, expected 2");

  auto perm = conv_model();
  attr_ints(add_node(perm, "Transpose", {"y"}, {"t"}, "t"), "perm", {0, 2, 2, 1});
  add_output(perm, "t");
  EXPECT_NE(parse_error(perm).find("perm is not a permutation"), std::string::npos);

  auto twice = conv_model();
  add_node(twice, "Relu", {"x"}, {"y"}, "again");
  EXPECT_NE(parse_error(twice).find("value 'y' is produced more than once"), std::string::npos);

  auto many = conv_model();
  for (int k = 0; k < 10000; ++k) add_node(many, "Relu", {"y"}, {"r" + std::to_string(k)});
  EXPECT_EQ(parse_error(many), "model.onnx: graph has 10002 nodes (the limit is 10000)");

  auto used_mask = conv_model();
  add_node(used_mask, "Dropout", {"y"}, {"d", "mask"}, "drop");
  add_output(used_mask, "mask");
  EXPECT_NE(parse_error(used_mask).find("output 'mask' is used"), std::string::npos);
}

}  // namespace
}  // namespace tinyptq
