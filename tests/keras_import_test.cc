// Keras HDF5 import: small .h5 fixtures written here with libhdf5 (structure, pads, weight layouts, errors)
// and the real MLPerf Tiny ResNet8 (node counts, parameters, CLI round trip through ONNX).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "engine/fp32_engine.h"
#include "keras/h5_file.h"
#include "keras/keras_import.h"
#include "keras/tf_padding.h"
#include "onnx/onnx_reader.h"
#include "test_util.h"

namespace tinyptq {
namespace {

using nlohmann::json;
using testing::TempDir;

// ---------------------------------------------------------------------------------------------------------
// Fixture writer: the subset of the Keras 2.x HDF5 layout the importer reads.

struct FixtureWeight {
  std::string var;  // "kernel", "bias", "gamma", ...
  Shape shape;
  std::vector<float> data;
};

struct FixtureLayer {
  std::string class_name, name;
  json config;
  std::vector<std::string> inbound;  // producer layer names
  std::vector<FixtureWeight> weights;
};

class H5Writer {
 public:
  explicit H5Writer(const std::string& path)
      : file_(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) {
    if (file_ < 0) throw std::runtime_error("cannot create " + path);
  }
  ~H5Writer() { H5Fclose(file_); }

  // Scalar variable-length string, as h5py writes model_config.
  void string_attr(const std::string& object, const std::string& name, const std::string& value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate_by_name(file_, object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT);
    const char* p = value.c_str();
    H5Awrite(attr, type, &p);
    H5Aclose(attr), H5Sclose(space), H5Tclose(type);
  }
  // Fixed-length null-padded string array, as Keras writes layer_names / weight_names; an empty list is a
  // 0-element float64 array, as h5py writes it.
  void string_list_attr(const std::string& object, const std::string& name,
                        const std::vector<std::string>& v) {
    hsize_t n = v.size();
    hid_t space = H5Screate_simple(1, &n, nullptr);
    size_t width = 1;
    for (const auto& s : v) width = std::max(width, s.size());
    hid_t type = v.empty() ? H5Tcopy(H5T_IEEE_F64LE) : H5Tcopy(H5T_C_S1);
    if (!v.empty()) H5Tset_size(type, width), H5Tset_strpad(type, H5T_STR_NULLPAD);
    hid_t attr = H5Acreate_by_name(file_, object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT);
    if (!v.empty()) {
      std::string buf(width * v.size(), '\0');
      for (size_t k = 0; k < v.size(); ++k) buf.replace(k * width, v[k].size(), v[k]);
      H5Awrite(attr, type, buf.data());
    }
    H5Aclose(attr), H5Sclose(space), H5Tclose(type);
  }
  void group(const std::string& path) {
    H5Gclose(H5Gcreate2(file_, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  void dataset(const std::string& path, const Shape& shape, const std::vector<float>& data) {
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t ds = H5Dcreate2(file_, path.c_str(), H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    H5Dclose(ds), H5Pclose(lcpl), H5Sclose(space);
  }

 private:
  hid_t file_;
};

// Writes a functional Keras 2.x model file: model_config, layer_names, weight_names, weight datasets.
void write_keras_h5(const std::string& path, const std::vector<FixtureLayer>& layers,
                    const std::string& output, bool with_config = true) {
  json jl = json::array();
  std::vector<std::string> names;
  for (const auto& l : layers) {
    json cfg = l.config;
    cfg["name"] = l.name;
    json node = json::array();
    for (const auto& in : l.inbound) node.push_back(json::array({in, 0, 0, json::object()}));
    json inbound = l.inbound.empty() ? json::array() : json::array({node});
    jl.push_back(
        {{"class_name", l.class_name}, {"config", cfg}, {"name", l.name}, {"inbound_nodes", inbound}});
    names.push_back(l.name);
  }
  json model = {{"class_name", "Functional"},
                {"config",
                 {{"name", "tiny"},
                  {"layers", jl},
                  {"input_layers", json::array({json::array({layers.front().name, 0, 0})})},
                  {"output_layers", json::array({json::array({output, 0, 0})})}}}};
  H5Writer w(path);
  if (with_config) w.string_attr("/", "model_config", model.dump());
  w.string_attr("/", "keras_version", "2.4.0");
  w.group("/model_weights");
  w.string_list_attr("/model_weights", "layer_names", names);
  for (const auto& l : layers) {
    const std::string group = "/model_weights/" + l.name;
    w.group(group);
    std::vector<std::string> weight_names;
    for (const auto& wt : l.weights) {
      weight_names.push_back(l.name + "/" + wt.var + ":0");
      w.dataset(group + "/" + l.name + "/" + wt.var + ":0", wt.shape, wt.data);
    }
    w.string_list_attr(group, "weight_names", weight_names);
  }
}

// Distinct values start, start+1, ... so a moved element can be traced.
std::vector<float> iota(int64_t n, float start = 0.0f) {
  std::vector<float> v(size_t(n), 0.0f);
  for (int64_t k = 0; k < n; ++k) v[size_t(k)] = start + float(k);
  return v;
}

FixtureWeight weight(const std::string& var, const Shape& shape, float start = 0.0f) {
  return {var, shape, iota(num_elements(shape), start)};
}

json conv_config(int64_t filters, int64_t k, int64_t stride, const std::string& padding) {
  return {{"filters", filters}, {"kernel_size", {k, k}},          {"strides", {stride, stride}},
          {"padding", padding}, {"data_format", "channels_last"}, {"dilation_rate", {1, 1}},
          {"groups", 1},        {"activation", "linear"},         {"use_bias", true}};
}

// Input 8×8×3 → conv1 (3×3, stride 2, same) → bn → relu ─┐
//            └→ skip (1×1, stride 2, same) ───────────────┴→ add → relu6 (ReLU max 6) → pool (2×2 avg)
//            → flatten → dense (3, softmax)
std::vector<FixtureLayer> tiny_model() {
  std::vector<FixtureLayer> m;
  m.push_back(
      {"InputLayer", "input_1", {{"batch_input_shape", {nullptr, 8, 8, 3}}, {"dtype", "float32"}}, {}, {}});
  m.push_back({"Conv2D",
               "conv1",
               conv_config(4, 3, 2, "same"),
               {"input_1"},
               {weight("kernel", {3, 3, 3, 4}), weight("bias", {4}, 0.5f)}});
  // Stored in a different order than ONNX wants: variables are matched by name.
  m.push_back({"BatchNormalization",
               "bn",
               {{"axis", json::array({3})}, {"epsilon", 0.001}, {"center", true}, {"scale", true}},
               {"conv1"},
               {weight("moving_variance", {4}, 30), weight("gamma", {4}, 1), weight("moving_mean", {4}, 20),
                weight("beta", {4}, 10)}});
  m.push_back({"Activation", "relu", {{"activation", "relu"}}, {"bn"}, {}});
  m.push_back({"Conv2D",
               "skip",
               conv_config(4, 1, 2, "same"),
               {"input_1"},
               {weight("kernel", {1, 1, 3, 4}, 100), weight("bias", {4})}});
  m.push_back({"Add", "add", json::object(), {"relu", "skip"}, {}});
  m.push_back(
      {"ReLU", "relu6", {{"max_value", 6.0}, {"negative_slope", 0.0}, {"threshold", 0.0}}, {"add"}, {}});
  m.push_back(
      {"AveragePooling2D",
       "pool",
       {{"pool_size", {2, 2}}, {"strides", {2, 2}}, {"padding", "valid"}, {"data_format", "channels_last"}},
       {"relu6"},
       {}});
  m.push_back({"Flatten", "flatten", {{"data_format", "channels_last"}}, {"pool"}, {}});
  m.push_back({"Dropout", "dropout", {{"rate", 0.5}}, {"flatten"}, {}});
  m.push_back({"Dense",
               "dense",
               {{"units", 3}, {"activation", "softmax"}, {"use_bias", true}},
               {"dropout"},
               {weight("kernel", {16, 3}), weight("bias", {3}, 7)}});
  return m;
}

FixtureLayer& find_layer(std::vector<FixtureLayer>& m, const std::string& name) {
  for (auto& l : m)
    if (l.name == name) return l;
  throw std::runtime_error("no fixture layer " + name);
}

std::map<Op, int> op_counts(const Graph& g) {
  std::map<Op, int> n;
  for (const auto& node : g.nodes) ++n[node.op];
  return n;
}

const Node& node_named(const Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

// The message of the Error that import_keras_h5 throws ("" and a test failure if none is thrown).
std::string import_error(const std::string& path) {
  try {
    import_keras_h5(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "import of " << path << " did not throw";
  return "";
}

// ---------------------------------------------------------------------------------------------------------

TEST(TfPadding, MatchesTensorFlowSamePaddingAndValidSizes) {
  struct Case {
    int64_t in, k, s, d;
    KerasPadding pad;
    int64_t before, after, out;
  };
  const Case cases[] = {
      {8, 3, 2, 1, KerasPadding::kSame, 0, 1, 4},    // stride 2 on even input: extra pixel after
      {32, 3, 2, 1, KerasPadding::kSame, 0, 1, 16},  //
      {7, 3, 2, 1, KerasPadding::kSame, 1, 1, 4},    // odd input: symmetric
      {32, 3, 1, 1, KerasPadding::kSame, 1, 1, 32},  //
      {8, 1, 2, 1, KerasPadding::kSame, 0, 0, 4},    // 1×1 stride 2: no padding
      {5, 4, 1, 1, KerasPadding::kSame, 1, 2, 5},    // even kernel
      {10, 3, 1, 2, KerasPadding::kSame, 2, 2, 10},  // dilation 2: effective kernel 5
      {4, 8, 8, 1, KerasPadding::kSame, 2, 2, 1},    // window larger than input
      {8, 3, 2, 1, KerasPadding::kValid, 0, 0, 3},   //
      {8, 8, 8, 1, KerasPadding::kValid, 0, 0, 1},   //
      {2, 3, 1, 1, KerasPadding::kValid, 0, 0, 0},   // does not fit
  };
  for (const Case& c : cases) {
    AxisPadding p = tf_axis_padding({c.in, c.k, c.s, c.d}, c.pad);
    EXPECT_EQ(p.before, c.before) << "in " << c.in << " k " << c.k << " s " << c.s << " d " << c.d;
    EXPECT_EQ(p.after, c.after) << "in " << c.in << " k " << c.k << " s " << c.s << " d " << c.d;
    EXPECT_EQ(p.out, c.out) << "in " << c.in << " k " << c.k << " s " << c.s << " d " << c.d;
  }
}

TEST(KerasImport, TinyModelStructure) {
  TempDir dir;
  const std::string path = dir.file("tiny.h5");
  write_keras_h5(path, tiny_model(), "dense");
  KerasImportResult r = import_keras_model(path);
  const Graph& g = r.graph;
  EXPECT_EQ(r.keras_layers, 11);
  EXPECT_EQ(r.keras_version, "2.4.0");

  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "input_1");
  EXPECT_EQ(g.inputs[0].dtype, DType::kFloat32);
  EXPECT_EQ(g.inputs[0].shape, (Shape{-1, 8, 8, 3}));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "dense");
  EXPECT_EQ(g.outputs[0].shape, (Shape{-1, 3}));

  // NHWC input is transposed to NCHW right away.
  ASSERT_FALSE(g.nodes.empty());
  ASSERT_EQ(g.consumers("input_1").size(), 1u);
  const Node& first = g.nodes[size_t(g.consumers("input_1")[0])];
  EXPECT_EQ(first.op, Op::kTranspose);
  EXPECT_EQ(first.attrs.perm, (std::vector<int64_t>{0, 3, 1, 2}));

  auto counts = op_counts(g);
  EXPECT_EQ(counts[Op::kConv], 2);
  EXPECT_EQ(counts[Op::kBatchNormalization], 1);
  EXPECT_EQ(counts[Op::kRelu], 1);
  EXPECT_EQ(counts[Op::kClip], 1);
  EXPECT_EQ(counts[Op::kAdd], 1);
  EXPECT_EQ(counts[Op::kAveragePool], 1);
  EXPECT_EQ(counts[Op::kTranspose], 2);  // input, and NHWC order before Flatten (2×2 spatial)
  EXPECT_EQ(counts[Op::kFlatten], 1);
  EXPECT_EQ(counts[Op::kGemm], 1);
  EXPECT_EQ(counts[Op::kSoftmax], 1);
  EXPECT_EQ(g.nodes.size(), 12u);  // Dropout is omitted

  // Conv: 3×3 stride 2 'same' on 8×8 pads 0 before, 1 after; 1×1 stride 2 pads nothing.
  const Node& conv1 = node_named(g, "conv1");
  EXPECT_EQ(conv1.attrs.kernel_shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(conv1.attrs.strides, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(conv1.attrs.pads, (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(conv1.attrs.dilations, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(conv1.attrs.group, 1);
  EXPECT_EQ(node_named(g, "skip").attrs.pads, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(conv1.inputs[0], first.outputs[0]);
  EXPECT_EQ(node_named(g, "skip").inputs[0], first.outputs[0]);

  const Node& bn = node_named(g, "bn");
  EXPECT_FLOAT_EQ(bn.attrs.epsilon, 0.001f);
  const Node& clip = node_named(g, "relu6");
  EXPECT_EQ(clip.op, Op::kClip);
  EXPECT_EQ(clip.attrs.clip_min, 0.0f);
  EXPECT_EQ(clip.attrs.clip_max, 6.0f);
  const Node& pool = node_named(g, "pool");
  EXPECT_EQ(pool.attrs.kernel_shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(pool.attrs.strides, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(pool.attrs.pads, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_FALSE(pool.attrs.count_include_pad);

  // Flatten reads NHWC order: a Transpose(0,2,3,1) sits between the pool and the Flatten.
  const Node& flatten = node_named(g, "flatten");
  int pre = g.producer(flatten.inputs[0]);
  ASSERT_GE(pre, 0);
  EXPECT_EQ(g.nodes[size_t(pre)].op, Op::kTranspose);
  EXPECT_EQ(g.nodes[size_t(pre)].attrs.perm, (std::vector<int64_t>{0, 2, 3, 1}));
  EXPECT_EQ(g.nodes[size_t(pre)].inputs[0], "pool");
  EXPECT_EQ(flatten.attrs.axis, 1);

  // Dense reads the Flatten directly (Dropout omitted), softmax last and named after the layer.
  const Node& gemm = node_named(g, "dense");
  EXPECT_EQ(gemm.op, Op::kGemm);
  EXPECT_EQ(gemm.inputs[0], "flatten");
  EXPECT_TRUE(gemm.attrs.trans_b);
  EXPECT_EQ(g.nodes.back().op, Op::kSoftmax);
  EXPECT_EQ(g.nodes.back().attrs.axis, 1);
  EXPECT_EQ(g.nodes.back().outputs[0], "dense");
  EXPECT_EQ(g.nodes.back().inputs[0], gemm.outputs[0]);

  // Add combines the relu branch and the skip conv.
  const Node& add = node_named(g, "add");
  EXPECT_EQ(add.inputs, (std::vector<std::string>{"relu", "skip"}));

  // 108+4 + 16 + 12+4 + 48+3 float parameters.
  EXPECT_EQ(g.parameter_count(), 108 + 4 + 16 + 12 + 4 + 48 + 3);
}

// Activation('sigmoid' | 'hard_sigmoid' | 'hard_swish' | 'hard_silu') becomes the ONNX op; Keras 2's
// hard_sigmoid clamp(0.2x + 0.5, 0, 1) is HardSigmoid with its ONNX defaults.
TEST(KerasImport, GatedActivations) {
  const std::pair<std::string, Op> cases[] = {{"sigmoid", Op::kSigmoid},
                                              {"hard_sigmoid", Op::kHardSigmoid},
                                              {"hard_swish", Op::kHardSwish},
                                              {"hard_silu", Op::kHardSwish}};
  for (const auto& [name, op] : cases) {
    SCOPED_TRACE(name);
    auto m = tiny_model();
    find_layer(m, "relu").config["activation"] = name;
    TempDir dir;
    write_keras_h5(dir.file("m.h5"), m, "dense");
    const Graph g = import_keras_h5(dir.file("m.h5"));
    EXPECT_EQ(op_counts(g)[op], 1);
    EXPECT_EQ(op_counts(g)[Op::kRelu], 0);
    for (const Node& n : g.nodes)
      if (n.op == Op::kHardSigmoid) EXPECT_TRUE(n.attrs.hard_alpha == 0.2f && n.attrs.hard_beta == 0.5f);
  }
}

// Input 4×4×2 → ZeroPadding2D((1, 2), (0, 1)) → zp ─┬──────────────┐
//                                                └→ Multiply(zp, zp) → sq ─┴→ Concatenate(axis −1)
// becomes Pad (NCHW spatial pads) → Mul → Concat over channels; the FP32 engine's result is checked
// element by element against the Keras definition computed here in NHWC.
TEST(KerasImport, ZeroPaddingMultiplyConcatenate) {
  std::vector<FixtureLayer> m;
  m.push_back({"InputLayer", "x", {{"batch_input_shape", {nullptr, 4, 4, 2}}, {"dtype", "float32"}}, {}, {}});
  m.push_back({"ZeroPadding2D", "zp", {{"padding", {{1, 2}, {0, 1}}}, {"data_format", "channels_last"}}, {"x"}, {}});
  m.push_back({"Multiply", "sq", json::object(), {"zp", "zp"}, {}});
  m.push_back({"Concatenate", "cat", {{"axis", -1}}, {"zp", "sq"}, {}});
  TempDir dir;
  write_keras_h5(dir.file("m.h5"), m, "cat");
  const Graph g = import_keras_h5(dir.file("m.h5"));
  EXPECT_EQ(op_counts(g)[Op::kPad], 1);
  EXPECT_EQ(op_counts(g)[Op::kMul], 1);
  EXPECT_EQ(op_counts(g)[Op::kConcat], 1);
  EXPECT_EQ(node_named(g, "zp").attrs.pad_amounts, (std::vector<int64_t>{0, 0, 1, 0, 0, 0, 2, 1}));
  EXPECT_EQ(node_named(g, "cat").attrs.axis, 1);  // NCHW channels

  std::vector<float> xv(2 * 4 * 4 * 2);
  for (size_t k = 0; k < xv.size(); ++k) xv[k] = float(k % 13) - 6.0f;
  const Tensor x = Tensor::from_floats({2, 4, 4, 2}, xv);
  const Tensor y = Fp32Engine(g).run(x)[0];
  const bool nhwc = y.shape == Shape{2, 7, 5, 4};
  ASSERT_TRUE(nhwc || y.shape == (Shape{2, 4, 7, 5})) << shape_str(y.shape);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 7; ++h)
      for (int64_t w = 0; w < 5; ++w)
        for (int64_t c = 0; c < 4; ++c) {
          const int64_t sh = h - 1, sw = w, sc = c % 2;
          const float zp = sh >= 0 && sh < 4 && sw < 4 ? xv[size_t(((n * 4 + sh) * 4 + sw) * 2 + sc)] : 0.0f;
          const float want = c < 2 ? zp : zp * zp;
          const size_t at = nhwc ? size_t(((n * 7 + h) * 5 + w) * 4 + c) : size_t(((n * 4 + c) * 7 + h) * 5 + w);
          ASSERT_EQ(y.f[at], want) << "n=" << n << " h=" << h << " w=" << w << " c=" << c;
        }
}

TEST(KerasImport, ZeroPaddingConfigErrors) {
  for (const json& bad : {json("same"), json({{1, 2}, {3}}), json({-1, 1})}) {
    std::vector<FixtureLayer> m;
    m.push_back({"InputLayer", "x", {{"batch_input_shape", {nullptr, 4, 4, 2}}, {"dtype", "float32"}}, {}, {}});
    m.push_back({"ZeroPadding2D", "zp", {{"padding", bad}}, {"x"}, {}});
    TempDir dir;
    write_keras_h5(dir.file("m.h5"), m, "zp");
    const std::string e = import_error(dir.file("m.h5"));
    EXPECT_NE(e.find("'padding'"), std::string::npos) << e;
  }
}

TEST(KerasImport, WeightLayoutsAreTransposed) {
  TempDir dir;
  const std::string path = dir.file("tiny.h5");
  write_keras_h5(path, tiny_model(), "dense");
  const Graph g = import_keras_h5(path);

  // Conv kernel HWIO (3,3,3,4) → OIHW (4,3,3,3): w[o][i][y][x] = k[y][x][i][o]; k holds its flat index.
  const Node& conv1 = node_named(g, "conv1");
  const Tensor* w = g.initializer(conv1.inputs[1]);
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->shape, (Shape{4, 3, 3, 3}));
  // One element by hand: k[y=1][x=2][i=0][o=3] sits at ((1·3+2)·3+0)·4+3 = 63, w[3][0][1][2] at 86.
  EXPECT_EQ(w->f[86], 63.0f);
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 3; ++i)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          ASSERT_EQ(w->f[size_t(((o * 3 + i) * 3 + y) * 3 + x)], float(((y * 3 + x) * 3 + i) * 4 + o))
              << "o " << o << " i " << i << " y " << y << " x " << x;
  const Tensor* bias = g.initializer(conv1.inputs[2]);
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(bias->f, (std::vector<float>{0.5f, 1.5f, 2.5f, 3.5f}));

  // BatchNormalization inputs: x, gamma, beta, moving_mean, moving_variance (stored in another order).
  const Node& bn = node_named(g, "bn");
  ASSERT_EQ(bn.inputs.size(), 5u);
  EXPECT_EQ(g.initializer(bn.inputs[1])->f, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(g.initializer(bn.inputs[2])->f, (std::vector<float>{10, 11, 12, 13}));
  EXPECT_EQ(g.initializer(bn.inputs[3])->f, (std::vector<float>{20, 21, 22, 23}));
  EXPECT_EQ(g.initializer(bn.inputs[4])->f, (std::vector<float>{30, 31, 32, 33}));

  // Dense kernel [in=16, out=3] → [out, in] for transB: W[o][i] = K[i][o].
  const Node& gemm = node_named(g, "dense");
  const Tensor* dw = g.initializer(gemm.inputs[1]);
  ASSERT_NE(dw, nullptr);
  ASSERT_EQ(dw->shape, (Shape{3, 16}));
  EXPECT_EQ(dw->f[2 * 16 + 5], 5.0f * 3 + 2);
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 16; ++i) ASSERT_EQ(dw->f[size_t(o * 16 + i)], float(i * 3 + o));
  EXPECT_EQ(g.initializer(gemm.inputs[2])->f, (std::vector<float>{7, 8, 9}));
}

TEST(KerasImport, DepthwiseGlobalPoolMaxPoolAndReshape) {
  // input 6×6×2 → depthwise (3×3, multiplier 2, stride 1, same, relu6) → maxpool (3×3, stride 2, same)
  // → gap (keepdims false) → reshape [4] → dense(2)
  std::vector<FixtureLayer> m;
  m.push_back({"InputLayer", "img", {{"batch_input_shape", {nullptr, 6, 6, 2}}}, {}, {}});
  m.push_back({"DepthwiseConv2D",
               "dw",
               {{"kernel_size", {3, 3}},
                {"strides", {1, 1}},
                {"padding", "same"},
                {"depth_multiplier", 2},
                {"activation", "relu6"},
                {"use_bias", false},
                {"data_format", "channels_last"}},
               {"img"},
               {weight("depthwise_kernel", {3, 3, 2, 2})}});
  m.push_back(
      {"MaxPooling2D", "mp", {{"pool_size", {3, 3}}, {"strides", {2, 2}}, {"padding", "same"}}, {"dw"}, {}});
  m.push_back({"GlobalAveragePooling2D", "gap", {{"data_format", "channels_last"}}, {"mp"}, {}});
  m.push_back({"Reshape", "rs", {{"target_shape", json::array({-1})}}, {"gap"}, {}});
  m.push_back({"Dense", "fc", {{"units", 2}, {"use_bias", false}}, {"rs"}, {weight("kernel", {4, 2})}});
  TempDir dir;
  const std::string path = dir.file("dw.h5");
  write_keras_h5(path, m, "fc");
  const Graph g = import_keras_h5(path);

  const Node& dw = node_named(g, "dw");
  EXPECT_EQ(dw.op, Op::kConv);
  EXPECT_EQ(dw.attrs.group, 2);
  EXPECT_EQ(dw.attrs.pads, (std::vector<int64_t>{1, 1, 1, 1}));
  ASSERT_EQ(dw.inputs.size(), 2u);  // no bias
  const Tensor* w = g.initializer(dw.inputs[1]);
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->shape, (Shape{4, 1, 3, 3}));
  // Output channel c·M + m holds k[y][x][c][m] (flat index ((y·3+x)·2+c)·2+m).
  for (int c = 0; c < 2; ++c)
    for (int mm = 0; mm < 2; ++mm)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          ASSERT_EQ(w->f[size_t(((c * 2 + mm) * 3 + y) * 3 + x)], float(((y * 3 + x) * 2 + c) * 2 + mm));
  EXPECT_EQ(g.nodes[size_t(g.producer("dw"))].op, Op::kClip);

  const Node& mp = node_named(g, "mp");
  EXPECT_EQ(mp.op, Op::kMaxPool);
  EXPECT_EQ(mp.attrs.pads, (std::vector<int64_t>{0, 0, 1, 1}));  // 6 → 3 with stride 2

  auto counts = op_counts(g);
  EXPECT_EQ(counts[Op::kGlobalAveragePool], 1);
  EXPECT_EQ(counts[Op::kFlatten], 1);
  EXPECT_EQ(counts[Op::kReshape], 1);
  EXPECT_EQ(counts[Op::kTranspose], 1);  // only the input: 1×1 spatial needs no reorder
  const Node& rs = node_named(g, "rs");
  const Tensor* target = g.initializer(rs.inputs[1]);
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->i, (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(g.outputs[0].shape, (Shape{-1, 2}));
}

TEST(KerasImport, SequentialModelWithoutInputLayer) {
  json layers = json::array();
  layers.push_back({{"class_name", "Conv2D"},
                    {"config",
                     {{"name", "c"},
                      {"filters", 2},
                      {"kernel_size", {1, 1}},
                      {"batch_input_shape", {nullptr, 4, 4, 1}},
                      {"activation", "relu"}}}});
  layers.push_back({{"class_name", "Flatten"}, {"config", {{"name", "f"}}}});
  json model = {{"class_name", "Sequential"}, {"config", {{"name", "seq"}, {"layers", layers}}}};
  TempDir dir;
  const std::string path = dir.file("seq.h5");
  {
    H5Writer w(path);
    w.string_attr("/", "model_config", model.dump());
    w.group("/model_weights");
    w.string_list_attr("/model_weights", "layer_names", {"c", "f"});
    w.group("/model_weights/c");
    w.string_list_attr("/model_weights/c", "weight_names", {"c/kernel:0", "c/bias:0"});
    w.dataset("/model_weights/c/c/kernel:0", {1, 1, 1, 2}, {1, 2});
    w.dataset("/model_weights/c/c/bias:0", {2}, {0, 0});
    w.group("/model_weights/f");
    w.string_list_attr("/model_weights/f", "weight_names", {});
  }
  const Graph g = import_keras_h5(path);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "c_input");
  EXPECT_EQ(g.inputs[0].shape, (Shape{-1, 4, 4, 1}));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "f");
  EXPECT_EQ(g.outputs[0].shape, (Shape{-1, 32}));
  EXPECT_EQ(op_counts(g)[Op::kRelu], 1);
}

// ---------------------------------------------------------------------------------------------------------
// Errors: always a tinyptq::Error naming the file / layer.

TEST(KerasImportErrors, UnsupportedLayerIsNamed) {
  auto m = tiny_model();
  m.insert(m.begin() + 4, FixtureLayer{"LSTM", "my_lstm", {{"units", 4}}, {"relu"}, {}});
  TempDir dir;
  write_keras_h5(dir.file("m.h5"), m, "dense");
  std::string msg = import_error(dir.file("m.h5"));
  EXPECT_NE(msg.find("my_lstm"), std::string::npos) << msg;
  EXPECT_NE(msg.find("LSTM"), std::string::npos) << msg;
}

TEST(KerasImportErrors, UnsupportedConfigsAreNamed) {
  struct Case {
    std::string layer, key;
    json value;
    std::string expect;
  };
  const Case cases[] = {
      {"conv1", "data_format", "channels_first", "channels_first"},
      {"conv1", "activation", "tanh", "tanh"},
      {"relu6", "negative_slope", 0.1, "negative_slope"},
      {"conv1", "padding", "causal", "causal"},
      {"bn", "axis", json::array({1}), "axis"},
  };
  for (const Case& c : cases) {
    auto m = tiny_model();
    find_layer(m, c.layer).config[c.key] = c.value;
    TempDir dir;
    write_keras_h5(dir.file("m.h5"), m, "dense");
    std::string msg = import_error(dir.file("m.h5"));
    EXPECT_NE(msg.find("'" + c.layer + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
  }
}

TEST(KerasImportErrors, WeightShapeMismatchIsNamed) {
  auto m = tiny_model();
  find_layer(m, "conv1").weights[0] = weight("kernel", {3, 3, 3, 5});  // config says 4 filters
  TempDir dir;
  write_keras_h5(dir.file("m.h5"), m, "dense");
  std::string msg = import_error(dir.file("m.h5"));
  EXPECT_NE(msg.find("'conv1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("kernel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3,3,3,5]"), std::string::npos) << msg;

  m = tiny_model();
  find_layer(m, "conv1").config["kernel_size"] = {5, 5};  // weights are 3×3
  write_keras_h5(dir.file("m2.h5"), m, "dense");
  msg = import_error(dir.file("m2.h5"));
  EXPECT_NE(msg.find("'conv1'"), std::string::npos) << msg;

  m = tiny_model();
  find_layer(m, "dense").config["units"] = 4;
  write_keras_h5(dir.file("m3.h5"), m, "dense");
  msg = import_error(dir.file("m3.h5"));
  EXPECT_NE(msg.find("'dense'"), std::string::npos) << msg;
}

TEST(KerasImportErrors, MissingOrExtraWeightsAreNamed) {
  auto m = tiny_model();
  find_layer(m, "bn").weights.pop_back();  // no beta
  TempDir dir;
  write_keras_h5(dir.file("m.h5"), m, "dense");
  std::string msg = import_error(dir.file("m.h5"));
  EXPECT_NE(msg.find("'bn'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("beta"), std::string::npos) << msg;

  m = tiny_model();
  find_layer(m, "dense").config["use_bias"] = false;  // but a bias is stored
  write_keras_h5(dir.file("m2.h5"), m, "dense");
  msg = import_error(dir.file("m2.h5"));
  EXPECT_NE(msg.find("'dense'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bias"), std::string::npos) << msg;
}

TEST(KerasImportErrors, NotAModelFile) {
  TempDir dir;
  EXPECT_NE(import_error(dir.file("missing.h5")).find("missing.h5"), std::string::npos);

  std::mt19937 rng(7);
  std::string noise(4096, '\0');
  for (char& ch : noise) ch = char(rng());
  testing::write_bytes(dir.file("noise.h5"), noise);
  EXPECT_NE(import_error(dir.file("noise.h5")).find("not an HDF5 file"), std::string::npos);

  testing::write_bytes(dir.file("text.h5"), "{\"class_name\": \"Functional\"}");
  EXPECT_NE(import_error(dir.file("text.h5")).find("text.h5"), std::string::npos);

  write_keras_h5(dir.file("noconfig.h5"), tiny_model(), "dense", /*with_config=*/false);
  EXPECT_NE(import_error(dir.file("noconfig.h5")).find("model_config"), std::string::npos);

  {
    H5Writer w(dir.file("badjson.h5"));
    w.string_attr("/", "model_config", "{\"class_name\": \"Functional\", \"config\": {");
  }
  EXPECT_NE(import_error(dir.file("badjson.h5")).find("JSON"), std::string::npos);
}

TEST(KerasImportErrors, TruncatedRealModelThrows) {
  const std::string bytes = read_file(testing::resnet8_h5());
  ASSERT_GT(bytes.size(), 100000u);
  TempDir dir;
  for (size_t n : {size_t(0), size_t(8), size_t(100), size_t(1000), size_t(4096), size_t(50000),
                   size_t(300000), bytes.size() / 2, bytes.size() - 1000, bytes.size() - 1}) {
    const std::string path = dir.file("cut_" + std::to_string(n) + ".h5");
    testing::write_bytes(path, bytes.substr(0, n));
    EXPECT_THROW(import_keras_h5(path), Error) << n << " bytes";
  }
}

// Bytes overwritten in the metadata (first 64 KiB: superblock, object headers, model_config) or anywhere:
// the import either succeeds or throws tinyptq::Error — never another exception, never a crash.
TEST(KerasImportErrors, CorruptedRealModelFailsCleanly) {
  const std::string bytes = read_file(testing::resnet8_h5());
  TempDir dir;
  std::mt19937 rng(12345);
  int failures = 0;
  for (int t = 0; t < 40; ++t) {
    std::string b = bytes;
    for (int k = 0; k < 4; ++k) {
      size_t span = t % 2 == 0 ? std::min<size_t>(65536, b.size()) : b.size();
      b[rng() % span] = char(rng());
    }
    const std::string path = dir.file("flip_" + std::to_string(t) + ".h5");
    testing::write_bytes(path, b);
    try {
      import_keras_h5(path);
    } catch (const Error&) {
      ++failures;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << t << ": non-Error exception: " << e.what();
    }
  }
  EXPECT_GT(failures, 0);  // some corruptions must be detected
}

// ---------------------------------------------------------------------------------------------------------
// The real MLPerf Tiny ResNet8.

// The dataset values as stored, read independently of the importer.
std::vector<float> read_raw_dataset(const std::string& file, const std::string& dataset) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  std::vector<float> v(size_t(H5Sget_simple_extent_npoints(space)));
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(space), H5Dclose(ds), H5Fclose(f);
  return v;
}

TEST(KerasImportResnet8, StructureAndParameters) {
  KerasImportResult r = import_keras_model(testing::resnet8_h5());
  const Graph& g = r.graph;
  EXPECT_EQ(r.keras_layers, 30);
  auto counts = op_counts(g);
  EXPECT_EQ(counts[Op::kConv], 9);
  EXPECT_EQ(counts[Op::kBatchNormalization], 7);
  EXPECT_EQ(counts[Op::kAdd], 3);
  EXPECT_EQ(counts[Op::kRelu], 7);
  EXPECT_EQ(counts[Op::kAveragePool], 1);
  EXPECT_EQ(counts[Op::kFlatten], 1);
  EXPECT_EQ(counts[Op::kGemm], 1);
  EXPECT_EQ(counts[Op::kSoftmax], 1);
  EXPECT_EQ(counts[Op::kTranspose], 1);   // input only: the pool output is 1×1
  EXPECT_EQ(g.parameter_count(), 78666);  // Keras model.count_params()
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "input_1");
  EXPECT_EQ(g.inputs[0].shape, (Shape{-1, 32, 32, 3}));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "dense");
  EXPECT_EQ(g.outputs[0].shape, (Shape{-1, 10}));

  EXPECT_EQ(node_named(g, "conv2d").attrs.pads, (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(node_named(g, "conv2d_3").attrs.pads, (std::vector<int64_t>{0, 0, 1, 1}));  // 3×3 s2 on 32
  EXPECT_EQ(node_named(g, "conv2d_6").attrs.pads, (std::vector<int64_t>{0, 0, 1, 1}));  // 3×3 s2 on 16
  EXPECT_EQ(node_named(g, "conv2d_5").attrs.pads, (std::vector<int64_t>{0, 0, 0, 0}));  // 1×1 s2
  EXPECT_EQ(node_named(g, "average_pooling2d").attrs.kernel_shape, (std::vector<int64_t>{8, 8}));
  EXPECT_FLOAT_EQ(node_named(g, "batch_normalization").attrs.epsilon, 0.001f);

  // conv2d_3 kernel (3,3,16,32) HWIO → OIHW, checked against the raw dataset.
  const std::vector<float> k =
      read_raw_dataset(testing::resnet8_h5(), "/model_weights/conv2d_3/conv2d_3/kernel:0");
  ASSERT_EQ(k.size(), size_t(3 * 3 * 16 * 32));
  const Tensor* w = g.initializer(node_named(g, "conv2d_3").inputs[1]);
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->shape, (Shape{32, 16, 3, 3}));
  for (int o = 0; o < 32; ++o)
    for (int i = 0; i < 16; ++i)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          ASSERT_EQ(w->f[size_t(((o * 16 + i) * 3 + y) * 3 + x)], k[size_t(((y * 3 + x) * 16 + i) * 32 + o)]);
  const std::vector<float> dk =
      read_raw_dataset(testing::resnet8_h5(), "/model_weights/dense/dense/kernel:0");
  const Tensor* dw = g.initializer(node_named(g, "dense").inputs[1]);
  ASSERT_NE(dw, nullptr);
  ASSERT_EQ(dw->shape, (Shape{10, 64}));
  for (int o = 0; o < 10; ++o)
    for (int i = 0; i < 64; ++i) ASSERT_EQ(dw->f[size_t(o * 64 + i)], dk[size_t(i * 10 + o)]);
}

TEST(KerasImportResnet8, CliWritesOnnxThatLoadsBack) {
  TempDir dir;
  const std::string out = dir.file("resnet8.onnx");
  auto r = testing::run_command("'" + testing::tinyptq_binary() + "' import-keras '" + testing::resnet8_h5() +
                                "' -o '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("78666 parameters"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(out), std::string::npos) << r.output;
  ASSERT_TRUE(std::filesystem::exists(out));

  const Graph imported = import_keras_h5(testing::resnet8_h5());
  const Graph loaded = load_onnx(out);
  EXPECT_EQ(loaded.parameter_count(), imported.parameter_count());
  EXPECT_EQ(op_counts(loaded)[Op::kConv], 9);
  EXPECT_EQ(op_counts(loaded)[Op::kBatchNormalization], 7);
  ASSERT_EQ(loaded.inputs.size(), 1u);
  EXPECT_EQ(loaded.inputs[0].name, "input_1");
  ASSERT_EQ(loaded.outputs.size(), 1u);
  EXPECT_EQ(loaded.outputs[0].name, "dense");
}

TEST(KerasImportCli, ErrorsExitWithOneMessage) {
  TempDir dir;
  testing::write_bytes(dir.file("junk.h5"), std::string(1000, 'x'));
  auto r = testing::run_command("'" + testing::tinyptq_binary() + "' import-keras '" + dir.file("junk.h5") +
                                "' -o '" + dir.file("o.onnx") + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("tinyptq: error:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("junk.h5"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("o.onnx")));

  r = testing::run_command("'" + testing::tinyptq_binary() + "' import-keras '" + dir.file("junk.h5") + "'");
  EXPECT_NE(r.exit_code, 0) << r.output;  // -o is required
}

}  // namespace
}  // namespace tinyptq

namespace tinyptq {
namespace {

// A chunked dataset whose chunks were never written reads back as fill values: a few-kB file could claim
// 2^26 floats (256 MiB). The reader must refuse it from the storage size, before allocating.
TEST(H5File, RefusesDatasetLargerThanItsStorage) {
  TempDir dir;
  const std::string path = dir.file("hollow.h5");
  {
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[2] = {8192, 8192}, chunk[2] = {64, 64};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    hid_t ds = H5Dcreate2(file, "w", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    // One chunk written: storage is 16 kB, the dataset claims 256 MiB.
    std::vector<float> block(64 * 64, 1.0f);
    const hsize_t start[2] = {0, 0};
    hid_t mem = H5Screate_simple(2, chunk, nullptr);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, chunk, nullptr);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, block.data());
    H5Sclose(mem);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
  }
  H5File h5(path);
  try {
    h5.read_float_dataset("w", Shape{8192, 8192});
    FAIL() << "a dataset larger than its storage was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stores only 16384 bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tinyptq
