// Writes the seed corpora of the fuzz targets: OUTDIR/<target>/<seed>. Everything is generated here (small
// valid inputs of each format plus a few near-misses), so no binary corpus is committed.
// Usage: tinyptq_fuzz_seeds OUTDIR [SHARED_DIR]
// With SHARED_DIR (the real data, ../shared), seeds derived from the real model and batches are added too;
// they stay in the build directory and are never committed.
#include <archive.h>
#include <archive_entry.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "data/calibration.h"
#include "data/image_encode.h"
#include "data/npy.h"
#include "data/tensor_pb.h"
#include "fuzz_util.h"
#include "ir/graph.h"
#include "keras/h5_file.h"
#include "keras/keras_import.h"
#include "keras_fixture.h"
#include "onnx/onnx_writer.h"

namespace tinyptq::fuzz {
namespace {

std::vector<float> ramp(int64_t n, float start, float step) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) v[size_t(k)] = start + step * float(k);
  return v;
}

Attrs window(std::vector<int64_t> kernel, std::vector<int64_t> strides, std::vector<int64_t> pads) {
  Attrs a;
  a.kernel_shape = std::move(kernel);
  a.strides = std::move(strides);
  a.pads = std::move(pads);
  a.dilations.assign(a.kernel_shape.size(), 1);
  return a;
}

// NHWC input → Transpose → Conv → BN → Clip → (QDQ) → grouped Conv → Relu → Add/Mul/Sub → pools → GAP
// → Flatten → Reshape → Identity → Gemm + MatMul → Add → Softmax: every op the reader supports.
Graph all_ops_graph() {
  Graph g;
  g.name = "all_ops";
  g.inputs.push_back({"img", DType::kFloat32, {-1, 8, 8, 3}});
  g.outputs.push_back({"prob", DType::kFloat32, {-1, 4}});
  auto& in = g.initializers;
  in["w1"] = Tensor::from_floats({4, 3, 3, 3}, ramp(108, -0.5f, 0.01f));
  in["b1"] = Tensor::from_floats({4}, ramp(4, 0.1f, 0.1f));
  in["bn_s"] = Tensor::from_floats({4}, ramp(4, 1.0f, 0.1f));
  in["bn_b"] = Tensor::from_floats({4}, ramp(4, -0.2f, 0.1f));
  in["bn_m"] = Tensor::from_floats({4}, ramp(4, 0.0f, 0.05f));
  in["bn_v"] = Tensor::from_floats({4}, ramp(4, 0.5f, 0.1f));
  in["q_scale"] = Tensor::from_floats({4}, ramp(4, 0.01f, 0.001f));
  in["q_zp"] = Tensor::from_ints(DType::kInt8, {4}, {0, 1, -1, 2});
  in["w2_q"] = Tensor::from_ints(DType::kInt8, {4, 2, 1, 1}, std::vector<int64_t>(8, -7));
  in["b2_q"] = Tensor::from_ints(DType::kInt32, {4}, {1, -2, 3, 100000});
  in["a_scale"] = Tensor::from_floats({}, {0.05f});
  in["a_zp"] = Tensor::from_ints(DType::kUint8, {}, {128});
  in["shape"] = Tensor::from_ints(DType::kInt64, {2}, {-1, 4});
  in["fc_w"] = Tensor::from_floats({4, 4}, ramp(16, -0.3f, 0.04f));
  in["fc_b"] = Tensor::from_floats({4}, ramp(4, 0.0f, 1.0f));
  Attrs perm;
  perm.perm = {0, 3, 1, 2};
  Attrs bn;
  bn.epsilon = 1e-3f;
  Attrs relu6;
  relu6.clip_min = 0.0f, relu6.clip_max = 6.0f;
  Attrs axis0;
  axis0.axis = 0;
  Attrs conv2 = window({1, 1}, {1, 1}, {});
  conv2.auto_pad = AutoPad::kSameUpper;
  conv2.group = 2;
  Attrs maxpool = window({2, 2}, {2, 2}, {0, 0, 1, 1});
  maxpool.ceil_mode = true;
  Attrs avgpool = window({3, 3}, {1, 1}, {1, 1, 1, 1});
  avgpool.count_include_pad = true;
  Attrs gemm;
  gemm.alpha = 0.5f, gemm.beta = 2.0f, gemm.trans_b = true;
  Attrs perm2;
  perm2.perm = {1, 0};
  auto node = [](Op op, const char* name, std::vector<std::string> ins, const char* out, Attrs a = {}) {
    return Node{op, name, std::move(ins), {out}, std::move(a)};
  };
  g.nodes = {
      node(Op::kTranspose, "to_nchw", {"img"}, "x", perm),
      node(Op::kConv, "conv1", {"x", "w1", "b1"}, "c1", window({3, 3}, {2, 2}, {1, 1, 0, 0})),
      node(Op::kBatchNormalization, "bn1", {"c1", "bn_s", "bn_b", "bn_m", "bn_v"}, "n1", bn),
      node(Op::kClip, "relu6", {"n1"}, "r1", relu6),
      node(Op::kDequantizeLinear, "w2_dq", {"w2_q", "q_scale", "q_zp"}, "w2", axis0),
      node(Op::kDequantizeLinear, "b2_dq", {"b2_q", "q_scale"}, "b2", axis0),
      node(Op::kQuantizeLinear, "a_q", {"r1", "a_scale", "a_zp"}, "r1_q"),
      node(Op::kDequantizeLinear, "a_dq", {"r1_q", "a_scale", "a_zp"}, "r1_dq"),
      node(Op::kConv, "conv2", {"r1_dq", "w2", "b2"}, "c2", conv2),
      node(Op::kRelu, "relu2", {"c2"}, "r2"),
      node(Op::kAdd, "add", {"r2", "r1_dq"}, "s"),
      node(Op::kMul, "mul", {"s", "a_scale"}, "s2"),
      node(Op::kSub, "sub", {"s2", "a_scale"}, "s3"),
      node(Op::kMaxPool, "maxpool", {"s3"}, "p1", maxpool),
      node(Op::kAveragePool, "avgpool", {"p1"}, "p2", avgpool),
      node(Op::kGlobalAveragePool, "gap", {"p2"}, "gp"),
      node(Op::kFlatten, "flatten", {"gp"}, "f"),
      node(Op::kReshape, "reshape", {"f", "shape"}, "f2"),
      node(Op::kIdentity, "id", {"f2"}, "f3"),
      node(Op::kGemm, "fc", {"f3", "fc_w", "fc_b"}, "logits", gemm),
      node(Op::kTranspose, "fc_w_t", {"fc_w"}, "fc_w_t", perm2),
      node(Op::kMatMul, "mm", {"f3", "fc_w_t"}, "logits2"),
      node(Op::kAdd, "add2", {"logits", "logits2"}, "l"),
      node(Op::kSoftmax, "softmax", {"l"}, "prob"),
  };
  g.validate_and_sort();
  return g;
}

// NCHW input → Conv → Relu → GlobalAveragePool → Flatten → Gemm: the ResNet-like minimum.
Graph small_cnn_graph() {
  Graph g;
  g.name = "small_cnn";
  g.inputs.push_back({"input", DType::kFloat32, {-1, 3, 8, 8}});
  g.outputs.push_back({"logits", DType::kFloat32, {-1, 2}});
  g.initializers["w"] = Tensor::from_floats({2, 3, 3, 3}, ramp(54, -0.2f, 0.01f));
  g.initializers["fc_w"] = Tensor::from_floats({2, 2}, {1, 0, 0, 1});
  g.initializers["fc_b"] = Tensor::from_floats({2}, {0.5f, -0.5f});
  Attrs gemm;
  gemm.trans_b = true;
  g.nodes = {Node{Op::kConv, "conv", {"input", "w"}, {"c"}, window({3, 3}, {1, 1}, {1, 1, 1, 1})},
             Node{Op::kRelu, "relu", {"c"}, {"r"}, {}},
             Node{Op::kGlobalAveragePool, "gap", {"r"}, {"g"}, {}},
             Node{Op::kFlatten, "flat", {"g"}, {"f"}, {}},
             Node{Op::kGemm, "fc", {"f", "fc_w", "fc_b"}, {"logits"}, gemm}};
  g.validate_and_sort();
  return g;
}

// Written with the protobuf API: opset 9 Clip attributes, Constant nodes, Dropout, typed float_data.
std::string legacy_onnx() {
  onnx::ModelProto m;
  m.set_ir_version(4);
  auto* os = m.add_opset_import();
  os->set_version(9);
  auto* g = m.mutable_graph();
  g->set_name("legacy");
  auto set_type = [](onnx::ValueInfoProto* v, const char* name, std::vector<int64_t> dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  set_type(g->add_input(), "x", {1, 4});
  set_type(g->add_output(), "y", {1, 4});
  auto* c = g->add_node();
  c->set_op_type("Constant");
  c->add_output("k");
  auto* va = c->add_attribute();
  va->set_name("value");
  va->set_type(onnx::AttributeProto::TENSOR);
  va->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  va->mutable_t()->add_dims(4);
  for (float f : {1.0f, 2.0f, 3.0f, 4.0f}) va->mutable_t()->add_float_data(f);
  auto* mul = g->add_node();
  mul->set_op_type("Mul");
  mul->add_input("x"), mul->add_input("k"), mul->add_output("m");
  auto* drop = g->add_node();
  drop->set_op_type("Dropout");
  drop->add_input("m"), drop->add_output("d"), drop->add_output("mask");
  auto* clip = g->add_node();
  clip->set_op_type("Clip");
  clip->add_input("d"), clip->add_output("y");
  for (auto [name, v] : {std::pair{"min", 0.0f}, std::pair{"max", 6.0f}}) {
    auto* a = clip->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  return m.SerializeAsString();
}

// ---- pickle (hand-written opcodes, the way CPython's pickler writes them)

struct PickleWriter {
  std::string b;
  PickleWriter& op(uint8_t c) { b += char(c); return *this; }
  PickleWriter& le(uint64_t v, int n) {
    for (int k = 0; k < n; ++k) b += char((v >> (8 * k)) & 0xFF);
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) {
    b += "c" + module + "\n" + name + "\n";
    return *this;
  }
  PickleWriter& put(int i) { return op('q').le(uint64_t(i), 1); }
  PickleWriter& int1(int v) { return op('K').le(uint64_t(v), 1); }
  PickleWriter& int2(int v) { return op('M').le(uint64_t(v), 2); }
  PickleWriter& int4(int32_t v) { return op('J').le(uint32_t(v), 4); }
  PickleWriter& short_string(const std::string& s) { op('U').le(s.size(), 1); b += s; return *this; }
  PickleWriter& short_unicode(const std::string& s) { op(0x8c).le(s.size(), 1); b += s; return *this; }
  PickleWriter& string(const std::string& s) { op('T').le(s.size(), 4); b += s; return *this; }
  PickleWriter& bytes(const std::string& s) { op('B').le(s.size(), 4); b += s; return *this; }
};

// Python 2 cPickle protocol 2, as the official cifar-10-batches-py files: {data: u1 (n, 3072), labels}.
std::string py2_batch(int n) {
  PickleWriter w;
  w.op(0x80).le(2, 1).op('}').put(1).op('(');
  w.short_string("data").put(2).global("numpy.core.multiarray", "_reconstruct").put(3).global("numpy", "ndarray");
  w.put(4).int1(0).op(0x85).short_string("b").op(0x87).op('R').put(5);
  w.op('(').int1(1).int1(n).int2(3072).op(0x86).global("numpy", "dtype").put(6);
  w.short_string("u1").int1(0).int1(1).op(0x87).op('R').put(7);
  w.op('(').int1(3).short_string("|").op('N').op('N').op('N').int4(-1).int4(-1).int1(0).op('t').op('b');
  std::string pixels(size_t(n) * 3072, '\0');
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = char(k * 7);
  w.op(0x89).string(pixels).op('t').op('b');
  w.short_string("labels").put(8).op(']').put(9).op('(');
  for (int k = 0; k < n; ++k) w.int1(k % 10);
  w.op('e').short_string("batch_label").short_string("testing batch 1 of 1").op('u').op('.');
  return w.b;
}

// Protocol 4 style: STACK_GLOBAL, MEMOIZE, BINBYTES, int64 labels through numpy._core._frombuffer (protocol 5).
std::string py3_frombuffer_labels() {
  PickleWriter w;
  w.op(0x80).le(4, 1).op('}').op(0x94).op('(');
  w.short_unicode("labels").op(0x94).short_unicode("numpy._core.numeric").short_unicode("_frombuffer").op(0x93).op('(');
  std::string raw;
  for (int64_t v : {3, 1, 4}) raw += std::string(reinterpret_cast<const char*>(&v), 8);
  w.bytes(raw).short_unicode("numpy").short_unicode("dtype").op(0x93).short_unicode("i8").op(0x89).op(0x88);
  w.op(0x87).op('R').op('(').int1(3).short_unicode("<").op('N').op('N').op('N').int4(-1).int4(-1).int1(0);
  w.op('t').op('b').int1(3).op(0x85).short_unicode("C").op('t').op('R');
  w.op('u').op('.');
  return w.b;
}

std::string py2_meta() {
  PickleWriter w;
  w.op(0x80).le(2, 1).op('}').put(1).op('(').short_string("label_names").op(']').put(2).op('(');
  for (const char* s : {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"})
    w.short_string(s);
  w.op('e').short_string("num_vis").int2(3072).op('u').op('.');
  return w.b;
}

std::string cifar_records(int n) {
  std::string s;
  for (int r = 0; r < n; ++r) {
    s += char(r % 10);
    for (int k = 0; k < 3072; ++k) s += char((r * 131 + k * 7) & 0xFF);
  }
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace
}  // namespace tinyptq::fuzz

// A zip (stored members) written with libarchive, the layout numpy.savez produces.
static std::string zip_of(const std::vector<std::pair<std::string, std::string>>& members) {
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  struct archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& [name, data] : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, la_int64_t(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

int main(int argc, char** argv) {
  using namespace tinyptq;
  using namespace tinyptq::fuzz;
  namespace fs = std::filesystem;
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s OUTDIR [SHARED_DIR]\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  auto put = [&](const std::string& target, const std::string& name, const std::string& bytes) {
    fs::create_directories(out + "/" + target);
    write_file(out + "/" + target + "/" + name, bytes);
  };

  put("fuzz_onnx", "all_ops.onnx", graph_to_onnx_bytes(all_ops_graph()));
  put("fuzz_onnx", "small_cnn.onnx", graph_to_onnx_bytes(small_cnn_graph()));
  put("fuzz_onnx", "legacy.onnx", legacy_onnx());

  const std::vector<FixtureLayer> layers = fixture_model();
  const std::string config = fixture_config(layers, {"dense", "flatten"});
  const std::string h5 = scratch_dir() + "/fixture.h5";
  write_fixture_h5(h5, layers, config);
  put("fuzz_keras", "fixture.h5", read_all(h5));
  put("fuzz_keras_config", "fixture.json", config);
  put("fuzz_keras_config", "one_output.json", fixture_config(layers, {"dense"}));
  const std::vector<FixtureLayer> chain(layers.begin(), layers.begin() + 4);
  put("fuzz_keras_config", "chain.json", fixture_config(chain, {"relu"}));
  put("fuzz_keras_config", "sequential.json",
      json{{"class_name", "Sequential"},
           {"config", {{"name", "seq"}, {"layers", json::array({
               {{"class_name", "Conv2D"}, {"config", {{"name", "conv1"}, {"filters", 4}, {"kernel_size", {3, 3}},
                                                      {"strides", 2}, {"padding", "same"},
                                                      {"batch_input_shape", {nullptr, 8, 8, 3}}}}},
               {{"class_name", "Flatten"}, {"config", {{"name", "flat"}}}}})}}}}
          .dump());

  put("fuzz_cifar", "two_records.bin", cifar_records(2));
  put("fuzz_cifar", "meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");

  put("fuzz_pickle", "py2_batch", py2_batch(2));
  put("fuzz_pickle", "py3_frombuffer", py3_frombuffer_labels());
  put("fuzz_pickle", "py2_meta", py2_meta());

  CalibrationSet c{"cifar10", "train", 42, 2, {}};
  for (int64_t k = 0; k < 20; ++k) c.indices.push_back(k * 3);
  put("fuzz_lockfile", "train.json", calibration_to_json(c));
  c.split = "test", c.seed = 18446744073709551615ull, c.per_class = 1, c.indices = {};
  put("fuzz_lockfile", "empty.json", calibration_to_json(c));

  put("fuzz_tensor_pb", "f32.pb", tensor_pb_bytes(Tensor::from_floats({2, 3}, {1, -2, 3.5f, 0, 5, 6}), "x"));
  put("fuzz_tensor_pb", "u8.pb", tensor_pb_bytes(Tensor::from_ints(DType::kUint8, {1, 4}, {0, 7, 200, 255})));
  put("fuzz_npy", "f32.npy", npy_bytes(Tensor::from_floats({2, 3}, {1, -2, 3.5f, 0, 5, 6})));
  put("fuzz_npy", "u8.npy", npy_bytes(Tensor::from_ints(DType::kUint8, {2, 2, 1}, {0, 7, 200, 255})));
  put("fuzz_npy", "i64.npy", npy_bytes(Tensor::from_ints(DType::kInt64, {3}, {-1, 0, 1LL << 40})));
  put("fuzz_npy", "xy.npz",
      zip_of({{"x.npy", npy_bytes(Tensor::from_floats({2, 1}, {4, 5}))},
              {"y.npy", npy_bytes(Tensor::from_ints(DType::kUint8, {2}, {1, 0}))}}));
  {
    std::vector<uint16_t> rgb, gray16;
    std::vector<uint8_t> rgb8, gray8;
    for (int k = 0; k < 6 * 5; ++k) {
      for (int c = 0; c < 3; ++c) rgb.push_back(uint16_t((k * 37 + c * 91) & 0xFF)), rgb8.push_back(uint8_t(rgb.back()));
      gray16.push_back(uint16_t(k * 2000)), gray8.push_back(uint8_t(k * 8));
    }
    PngSpec s;
    s.height = 5, s.width = 6;
    put("fuzz_image", "rgb.png", encode_png(s, rgb));
    s.color = PngColor::kGray, s.bit_depth = 16, s.interlaced = true;
    put("fuzz_image", "gray16_interlaced.png", encode_png(s, gray16));
    s.color = PngColor::kPalette, s.bit_depth = 2, s.interlaced = false;
    s.palette = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    s.palette_alpha = {0, 255};
    std::vector<uint16_t> idx;
    for (int k = 0; k < 30; ++k) idx.push_back(uint16_t(k % 4));
    put("fuzz_image", "palette2_trns.png", encode_png(s, idx));
    put("fuzz_image", "rgb.jpg", encode_jpeg(rgb8.data(), 5, 6, 3, 75));
    put("fuzz_image", "gray.jpg", encode_jpeg(gray8.data(), 5, 6, 1, 90));
  }
  if (argc == 3) {
    const std::string shared = argv[2];
    const std::string h5_real = shared + "/models/mlperf-tiny-resnet8/pretrainedResnet.h5";
    const std::string batch = shared + "/data/cifar-10-batches-bin/test_batch.bin";
    if (fs::exists(h5_real)) {
      put("fuzz_keras", "real.h5", read_file(h5_real));
      put("fuzz_keras_config", "real.json", H5File(h5_real).read_string_attribute("/", "model_config"));
      put("fuzz_onnx", "resnet8.onnx", graph_to_onnx_bytes(import_keras_model(h5_real).graph));
    }
    if (fs::exists(batch)) put("fuzz_cifar", "real3.bin", read_file(batch).substr(0, 3 * 3073));
  }
  std::printf("seeds written to %s\n", out.c_str());
  return 0;
}
