// Hostile inputs against the real CLI binary: truncated and corrupted ONNX / Keras HDF5 / CIFAR files,
// enormous declared shapes (under `ulimit -v`), bad windows and dims, contradicting weights, cycles and
// dangling inputs, unsupported operators and layers, NaN/Inf weights, bad labels, empty splits and
// calibration sets, and output paths that cannot be written (directory, missing directory, read-only
// mount, /proc, full tmpfs, RLIMIT_FSIZE, a full device). Every case must end with exit status 1..123 (no
// signal, no `timeout 60` expiry), exactly one output line "tinyptq: error: ..." naming the offending
// file, and no output file or "*.tmp-*" leftover.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>

#include "core/atomic_file.h"
#include "test_util.h"

namespace tinyptq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;
using testing::TempDir;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// Virtual memory cap for the runs that must fail before allocating (kB). ASan reserves terabytes of shadow
// address space, so under ASan the cap is its allocator limit instead (an oversized request fails).
constexpr int64_t kVmLimitKb = 1500 * 1024;

int g_inputs = 0;  // hostile inputs tried by this process

std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string bin() { return q(testing::tinyptq_binary()); }

// `shell` wraps the CLI command line (e.g. "ulimit -f 64; exec %s"); %s is replaced by the command.
CommandResult run_cli(const std::string& args, const std::string& shell = "exec %s") {
  std::string cmd = shell;
  cmd.replace(cmd.find("%s"), 2, bin() + " " + args);
  return testing::run_command("timeout 60 sh -c " + q(cmd) + " </dev/null");
}

// The CLI with its address space capped: allocations the input merely declares must never happen.
CommandResult run_cli_capped(const std::string& args) {
  if (kAsan) {
    const char* env = std::getenv("ASAN_OPTIONS");
    const std::string opts = std::string(env ? env : "") + ":allocator_may_return_null=1:max_allocation_size_mb=" +
                             std::to_string(kVmLimitKb / 1024);
    return run_cli(args, "ASAN_OPTIONS=" + q(opts) + " exec %s");
  }
  return run_cli(args, "ulimit -v " + std::to_string(kVmLimitKb) + "; exec %s");
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Error messages that do not name the file yet because the check lives outside the parsers (see
// docs/hardening.md, "known gaps"): the failure must still be clean, and the gap is printed.
enum class Naming { kRequired, kKnownGap };

// Whether a command may print its normal report before failing on its output files (eval prints the
// accuracy table, then writes --json / --predictions).
enum class Before { kNothing, kReport };

// The contract for one hostile run. `names` must appear in the error line; `outputs` must not exist and
// their directories must hold no "<name>.tmp-*" file.
void expect_clean_failure(const CommandResult& r, const std::string& names, const std::vector<std::string>& outputs,
                          const std::string& context, Naming naming = Naming::kRequired,
                          Before before = Before::kNothing) {
  ++g_inputs;
  SCOPED_TRACE(context);
  EXPECT_GE(r.exit_code, 1) << r.output;
  EXPECT_LE(r.exit_code, 123) << "killed, timed out or crashed: " << r.output;
  const std::vector<std::string> lines = lines_of(r.output);
  if (before == Before::kNothing) {
    ASSERT_EQ(lines.size(), 1u) << "expected exactly one line, got:\n" << r.output;
  }
  ASSERT_FALSE(lines.empty());
  const std::string& error = lines.back();
  EXPECT_EQ(error.rfind("tinyptq: error: ", 0), 0u) << error;
  for (size_t k = 0; k + 1 < lines.size(); ++k) EXPECT_EQ(lines[k].find("error"), std::string::npos) << lines[k];
  if (error.find(names) == std::string::npos) {
    if (naming == Naming::kRequired)
      ADD_FAILURE() << "error does not name '" << names << "': " << error;
    else
      std::cout << "[known gap] " << context << ": " << error << "\n";
  }
  for (const std::string& out : outputs) {
    EXPECT_FALSE(fs::exists(fs::symlink_status(out))) << "output left behind: " << out;
    const fs::path dir = fs::path(out).parent_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    const std::string stem = fs::path(out).filename().string() + ".tmp-";
    for (const auto& e : fs::directory_iterator(dir, ec))
      EXPECT_NE(e.path().filename().string().rfind(stem, 0), 0u) << "temporary file left behind: " << e.path();
  }
}

void report_count(const char* test) { std::cout << "[hostile] " << test << ": " << g_inputs << " inputs so far\n"; }

// ---------------------------------------------------------------------------------------------------------
// Fixture helpers: the real model as ONNX protobuf, the real .h5 with a replaced model_config or weight.

onnx::ModelProto real_onnx() {
  onnx::ModelProto m;
  const std::string bytes = read_file(testing::resnet8_onnx());
  if (!m.ParseFromString(bytes)) throw std::runtime_error("cannot parse the cached resnet8.onnx");
  return m;
}

std::string save_proto(const onnx::ModelProto& m, const std::string& path) {
  testing::write_bytes(path, m.SerializeAsString());
  return path;
}

onnx::NodeProto* node_of(onnx::ModelProto& m, const std::string& op, int nth = 0) {
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.op_type() == op && nth-- == 0) return &n;
  throw std::runtime_error("no node " + op);
}

onnx::TensorProto* initializer_of(onnx::ModelProto& m, const std::string& name) {
  for (auto& t : *m.mutable_graph()->mutable_initializer())
    if (t.name() == name) return &t;
  throw std::runtime_error("no initializer " + name);
}

void set_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = nullptr;
  for (auto& x : *n->mutable_attribute())
    if (x.name() == name) a = &x;
  if (!a) a = n->add_attribute();
  a->Clear();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void set_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = nullptr;
  for (auto& x : *n->mutable_attribute())
    if (x.name() == name) a = &x;
  if (!a) a = n->add_attribute();
  a->Clear();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

json real_model_config() {
  hid_t f = H5Fopen(testing::resnet8_h5().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t attr = H5Aopen(f, "model_config", H5P_DEFAULT);
  hid_t type = H5Aget_type(attr);
  char* text = nullptr;
  H5Aread(attr, type, &text);
  json j = json::parse(text);
  H5free_memory(text);
  H5Tclose(type), H5Aclose(attr), H5Fclose(f);
  return j;
}

// Copy of the real .h5 with model_config replaced by `config` (deleted when empty).
std::string h5_with_config(const std::string& path, const std::string& config) {
  fs::copy_file(testing::resnet8_h5(), path, fs::copy_options::overwrite_existing);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete(f, "model_config");
  if (!config.empty()) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(f, "model_config", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* p = config.c_str();
    H5Awrite(attr, type, &p);
    H5Aclose(attr), H5Sclose(space), H5Tclose(type);
  }
  H5Fclose(f);
  return path;
}

// Copy of the real .h5 with element 0 of a weight dataset set to `value`.
std::string h5_with_weight(const std::string& path, const std::string& dataset, float value) {
  fs::copy_file(testing::resnet8_h5(), path, fs::copy_options::overwrite_existing);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  std::vector<float> v(size_t(H5Sget_simple_extent_npoints(space)));
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  v[0] = value;
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(space), H5Dclose(ds), H5Fclose(f);
  return path;
}

json& layer_named(json& config, const std::string& name) {
  for (auto& l : config["config"]["layers"])
    if (l["name"] == name) return l;
  throw std::runtime_error("no layer " + name);
}

std::vector<size_t> cut_lengths(size_t n) {
  std::vector<size_t> cuts = {0, 1, 2, 3, 5, 8, 16, 64, 256, 1024, 4096, 16384, 65536};
  for (size_t d : {8, 4, 2})
    cuts.push_back(n / d), cuts.push_back(n - n / d);
  for (size_t k : {size_t(1000), size_t(64), size_t(2), size_t(1)}) cuts.push_back(n - k);
  std::vector<size_t> out;
  for (size_t c : cuts)
    if (c < n && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

std::string real_cifar() { return testing::cifar_dir(); }

// A CIFAR binary directory holding only test_batch.bin with these bytes.
std::string cifar_dir_with(const TempDir& dir, const std::string& name, const std::string& test_batch) {
  const std::string d = dir.file(name);
  fs::create_directories(d);
  testing::write_bytes(d + "/test_batch.bin", test_batch);
  return d;
}

std::string test_batch_records(int64_t n) {
  return read_file(real_cifar() + "/test_batch.bin").substr(0, size_t(n) * 3073);
}

// ---------------------------------------------------------------------------------------------------------
// ONNX

TEST(HostileOnnx, TruncatedAtManyLengths) {
  const std::string full = read_file(testing::resnet8_onnx());
  TempDir dir;
  const std::string json_out = dir.file("out.json"), q_out = dir.file("q.onnx");
  for (size_t n : cut_lengths(full.size())) {
    const std::string path = dir.file("cut_" + std::to_string(n) + ".onnx");
    testing::write_bytes(path, full.substr(0, n));
    expect_clean_failure(run_cli("eval --model " + q(path) + " --data " + q(real_cifar()) + " --limit 8 --json " +
                                 q(json_out)),
                         path, {json_out}, "eval of ONNX cut at " + std::to_string(n));
    if (n % 3 == 0)
      expect_clean_failure(run_cli("quantize --model " + q(path) + " --data " + q(real_cifar()) + " -o " + q(q_out) +
                                   " --calib-per-class 1"),
                           path, {q_out}, "quantize of ONNX cut at " + std::to_string(n));
  }
  report_count("HostileOnnx.TruncatedAtManyLengths");
}

struct OnnxCase {
  std::string what;
  std::function<void(onnx::ModelProto&)> mutate;
  bool capped = false;  // run under the address-space cap
  Naming naming = Naming::kRequired;
};

void run_onnx_cases(const std::vector<OnnxCase>& cases, const std::string& command_tail, const char* test) {
  TempDir dir;
  const std::string out = dir.file("out.json");
  int k = 0;
  for (const OnnxCase& c : cases) {
    onnx::ModelProto m = real_onnx();
    c.mutate(m);
    const std::string path = save_proto(m, dir.file("case_" + std::to_string(k++) + ".onnx"));
    const std::string args = "eval --model " + q(path) + " --data " + q(real_cifar()) + " --limit 4 --json " + q(out);
    const std::string tail = command_tail.empty() ? args : command_tail;
    std::string cmd = tail;
    for (size_t p; (p = cmd.find("{model}")) != std::string::npos;) cmd.replace(p, 7, q(path));
    for (size_t p; (p = cmd.find("{out}")) != std::string::npos;) cmd.replace(p, 5, q(out));
    expect_clean_failure(c.capped ? run_cli_capped(cmd) : run_cli(cmd), path, {out}, c.what, c.naming);
  }
  report_count(test);
}

TEST(HostileOnnx, ShapesWindowsGraphsAndOperators) {
  const std::vector<OnnxCase> cases = {
      {"weight shape contradicts its data", [](auto& m) {
         auto* w = initializer_of(m, node_of(m, "Conv")->input(1));
         w->set_dims(0, w->dims(0) * 2);
       }},
      {"enormous weight shape, no data", [](auto& m) {
         auto* w = initializer_of(m, node_of(m, "Conv")->input(1));
         w->clear_dims(), w->clear_raw_data(), w->clear_float_data();
         for (int64_t d : {1 << 20, 1 << 20, 3, 3}) w->add_dims(d);
       }, true},
      {"enormous weight shape beyond int64 products", [](auto& m) {
         auto* w = initializer_of(m, node_of(m, "Conv")->input(1));
         for (int k = 0; k < 4; ++k) w->set_dims(k, std::numeric_limits<int64_t>::max() / 2);
       }, true},
      {"negative weight dim", [](auto& m) { initializer_of(m, node_of(m, "Conv")->input(1))->set_dims(0, -16); }},
      {"zero-sized weight", [](auto& m) {
         auto* w = initializer_of(m, node_of(m, "Conv")->input(1));
         w->set_dims(0, 0), w->clear_raw_data(), w->clear_float_data();
       }},
      {"raw_data not a multiple of 4", [](auto& m) {
         initializer_of(m, node_of(m, "Conv")->input(1))->mutable_raw_data()->pop_back();
       }},
      {"external data", [](auto& m) {
         initializer_of(m, node_of(m, "Conv")->input(1))->set_data_location(onnx::TensorProto::EXTERNAL);
       }},
      {"double weights", [](auto& m) {
         initializer_of(m, node_of(m, "Conv")->input(1))->set_data_type(onnx::TensorProto::DOUBLE);
       }},
      {"zero strides", [](auto& m) { set_ints(node_of(m, "Conv"), "strides", {0, 0}); }},
      {"negative strides", [](auto& m) { set_ints(node_of(m, "Conv"), "strides", {-1, -1}); }},
      {"zero kernel", [](auto& m) { set_ints(node_of(m, "Conv"), "kernel_shape", {0, 0}); }},
      {"negative kernel", [](auto& m) { set_ints(node_of(m, "Conv"), "kernel_shape", {-3, 3}); }},
      {"kernel contradicts weight", [](auto& m) { set_ints(node_of(m, "Conv"), "kernel_shape", {5, 5}); }},
      {"zero dilations", [](auto& m) { set_ints(node_of(m, "Conv"), "dilations", {0, 0}); }},
      {"negative pads", [](auto& m) { set_ints(node_of(m, "Conv"), "pads", {-1, -1, -1, -1}); }},
      {"pads of the wrong rank", [](auto& m) { set_ints(node_of(m, "Conv"), "pads", {1, 1, 1}); }},
      {"group zero", [](auto& m) { set_int(node_of(m, "Conv"), "group", 0); }},
      {"group not dividing channels", [](auto& m) { set_int(node_of(m, "Conv"), "group", 7); }},
      {"zero pool window", [](auto& m) { set_ints(node_of(m, "AveragePool"), "kernel_shape", {0, 0}); }},
      {"huge pool window", [](auto& m) { set_ints(node_of(m, "AveragePool"), "kernel_shape", {1 << 30, 1 << 30}); }},
      {"huge pads", [](auto& m) { set_ints(node_of(m, "Conv"), "pads", {1 << 30, 1 << 30, 1 << 30, 1 << 30}); },
       true},
      {"huge strides", [](auto& m) { set_ints(node_of(m, "Conv"), "strides", {int64_t(1) << 40, int64_t(1) << 40}); }},
      {"pads as large as the window", [](auto& m) { set_ints(node_of(m, "Conv"), "pads", {3, 3, 3, 3}); }},
      {"bias contradicts the weight", [](auto& m) {
         auto* b = initializer_of(m, node_of(m, "Conv")->input(2));
         b->set_dims(0, b->dims(0) / 2);
         b->mutable_raw_data()->resize(b->raw_data().size() / 2);
       }},
      {"enormous input image", [](auto& m) {
         auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
         shape->mutable_dim(1)->set_dim_value(int64_t(1) << 20);
         shape->mutable_dim(2)->set_dim_value(int64_t(1) << 20);
       }, true},
      {"input of rank 2", [](auto& m) {
         auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
         shape->mutable_dim()->DeleteSubrange(2, 2);
       }, false},
      {"dangling input", [](auto& m) { node_of(m, "Conv", 1)->set_input(0, "ghost_value"); }},
      {"cycle", [](auto& m) {
         auto* first = m.mutable_graph()->mutable_node(0);
         first->set_input(0, m.graph().node(m.graph().node_size() - 2).output(0));
       }},
      {"value produced twice", [](auto& m) {
         node_of(m, "Conv", 1)->set_output(0, node_of(m, "Conv", 0)->output(0));
       }},
      {"graph output never produced", [](auto& m) { m.mutable_graph()->mutable_output(0)->set_name("nowhere"); }},
      {"no graph output", [](auto& m) { m.mutable_graph()->clear_output(); }},
      {"unsupported operator", [](auto& m) { node_of(m, "Relu")->set_op_type("LeakyRelu"); }},
      {"custom domain operator", [](auto& m) { node_of(m, "Relu")->set_domain("com.evil"); }},
      {"opset too new", [](auto& m) { m.mutable_opset_import(0)->set_version(99); }},
      {"no opset", [](auto& m) { m.clear_opset_import(); }},
      {"no graph", [](auto& m) { m.clear_graph(); }},
      {"reshape target not constant", [](auto& m) {
         auto* n = node_of(m, "Flatten");
         n->set_op_type("Reshape");
         n->clear_attribute();
         n->add_input(m.graph().input(0).name());
       }},
      {"gemm weight transposed", [](auto& m) {
         auto* w = initializer_of(m, node_of(m, "Gemm")->input(1));
         std::swap(*w->mutable_dims()->Mutable(0), *w->mutable_dims()->Mutable(1));
         w->set_dims(1, w->dims(1) + 1);
         w->mutable_raw_data()->append(size_t(w->dims(0)) * 4, '\0');
       }, false},
  };
  run_onnx_cases(cases, "", "HostileOnnx.ShapesWindowsGraphsAndOperators");
}

// Quantization must refuse NaN/Inf weights; the float engine is fed NaN/Inf pixels through --preprocess.
TEST(HostileOnnx, NanAndInfWeightsAndInputs) {
  auto poison = [](float v) {
    return [v](onnx::ModelProto& m) {
      auto* w = initializer_of(m, node_of(m, "Conv", 2)->input(1));
      std::memcpy(w->mutable_raw_data()->data() + 4, &v, 4);
    };
  };
  const std::string quantize = "quantize --model {model} --data " + q(real_cifar()) +
                               " -o {out} --calib-per-class 1 --sqnr-images 0";
  run_onnx_cases({{"NaN weight", poison(std::nanf("")), false},
                  {"+Inf weight", poison(std::numeric_limits<float>::infinity()), false}},
                 quantize, "HostileOnnx.NanAndInfWeightsAndInputs");

  TempDir dir;
  const std::string out = dir.file("q.onnx");
  for (const char* spec : {"scale=nan", "scale=inf", "scale=1,mean=0,0,0,std=0,0,0", "scale=1e39",
                           "scale=1,mean=nan,0,0,std=1,1,1"}) {
    expect_clean_failure(run_cli("quantize --model " + q(testing::resnet8_onnx()) + " --data " + q(real_cifar()) +
                                 " -o " + q(out) + " --calib-per-class 1 --preprocess " + q(spec)),
                         "preprocess", {out}, std::string("preprocess ") + spec);
  }
  report_count("HostileOnnx.NanAndInfWeightsAndInputs");
}

// Every command that loads a model refuses a NaN/Inf weight with one error naming the file and the tensor,
// before any work: eval, bench and sensitivity used to print numbers computed from it.
TEST(HostileOnnx, EveryCommandRefusesNonFiniteWeights) {
  TempDir dir;
  const std::string out = dir.file("out.json");
  const std::string data = q(real_cifar());
  const std::vector<std::string> commands = {
      "eval --model {model} --data " + data + " --limit 4 --json {out}",
      "quantize --model {model} --data " + data + " -o {out} --calib-per-class 1 --sqnr-images 0",
      "bench --model {model} --batch 1 --threads 1 --seconds 0.01 --json {out}",
      "sensitivity --model {model} --data " + data + " --json {out}",
      "study --model {model} --data " + data + " -o " + q(dir.file("study")) + " --quick"};
  int k = 0;
  for (const float v : {std::nanf(""), std::numeric_limits<float>::infinity()}) {
    onnx::ModelProto m = real_onnx();
    const std::string tensor = node_of(m, "Conv", 2)->input(1);
    std::memcpy(initializer_of(m, tensor)->mutable_raw_data()->data() + 4, &v, 4);
    const std::string path = save_proto(m, dir.file("w" + std::to_string(k++) + ".onnx"));
    for (std::string cmd : commands) {
      for (size_t p; (p = cmd.find("{model}")) != std::string::npos;) cmd.replace(p, 7, q(path));
      for (size_t p; (p = cmd.find("{out}")) != std::string::npos;) cmd.replace(p, 5, q(out));
      const CommandResult r = run_cli(cmd);
      expect_clean_failure(r, path, {out, dir.file("study")}, cmd);
      EXPECT_NE(r.output.find("initializer '" + tensor + "' contains NaN or Inf"), std::string::npos) << r.output;
    }
  }
  report_count("HostileOnnx.EveryCommandRefusesNonFiniteWeights");
}

// ---------------------------------------------------------------------------------------------------------
// Keras HDF5

TEST(HostileKeras, TruncatedAtManyLengths) {
  const std::string full = read_file(testing::resnet8_h5());
  TempDir dir;
  const std::string out = dir.file("out.onnx");
  for (size_t n : cut_lengths(full.size())) {
    const std::string path = dir.file("cut_" + std::to_string(n) + ".h5");
    testing::write_bytes(path, full.substr(0, n));
    expect_clean_failure(run_cli("import-keras " + q(path) + " -o " + q(out)), path, {out},
                         "import of .h5 cut at " + std::to_string(n));
  }
  report_count("HostileKeras.TruncatedAtManyLengths");
}

TEST(HostileKeras, ModelConfigCorruptions) {
  struct Case {
    std::string what;
    std::function<void(json&)> mutate;
    bool capped = false;
  };
  auto set = [](const std::string& layer, const std::string& key, json v) {
    return [=](json& c) { layer_named(c, layer)["config"][key] = v; };
  };
  const std::vector<Case> cases = {
      {"filters contradict the kernel", set("conv2d", "filters", 17)},
      {"zero kernel", set("conv2d", "kernel_size", json::array({0, 0}))},
      {"negative kernel", set("conv2d", "kernel_size", json::array({-3, 3}))},
      {"zero strides", set("conv2d", "strides", json::array({0, 0}))},
      {"negative strides", set("conv2d", "strides", json::array({-1, -1}))},
      {"huge strides", set("conv2d", "strides", json::array({int64_t(1) << 40, 1}))},
      {"zero dilation", set("conv2d", "dilation_rate", json::array({0, 0}))},
      {"zero filters", set("conv2d", "filters", 0)},
      {"string filters", set("conv2d", "filters", "16")},
      {"zero pool", set("average_pooling2d", "pool_size", json::array({0, 0}))},
      {"zero dense units", set("dense", "units", 0)},
      {"negative dense units", set("dense", "units", -10)},
      {"channels_first", set("conv2d", "data_format", "channels_first")},
      {"unsupported activation", set("conv2d", "activation", "selu")},
      {"enormous input", set("input_1", "batch_input_shape", json::array({nullptr, 1000000, 1000000, 3})), true},
      {"zero input dim", set("input_1", "batch_input_shape", json::array({nullptr, 0, 32, 3}))},
      {"negative input dim", set("input_1", "batch_input_shape", json::array({nullptr, -32, 32, 3}))},
      {"input of rank 3", set("input_1", "batch_input_shape", json::array({nullptr, 32, 3}))},
      {"unsupported layer", [](json& c) { layer_named(c, "conv2d")["class_name"] = "LSTM"; }},
      {"dangling inbound", [](json& c) { layer_named(c, "conv2d")["inbound_nodes"][0][0][0] = "ghost"; }},
      {"cycle", [](json& c) { layer_named(c, "conv2d")["inbound_nodes"][0][0][0] = "activation"; }},
      {"duplicate layer names", [](json& c) { layer_named(c, "conv2d_1")["name"] = "conv2d"; }},
      {"shared layer", [](json& c) {
         auto& calls = layer_named(c, "conv2d")["inbound_nodes"];
         calls.push_back(calls[0]);
       }},
      {"no output layers", [](json& c) { c["config"]["output_layers"] = json::array(); }},
      {"unknown model class", [](json& c) { c["class_name"] = "Subclassed"; }},
      {"layers not a list", [](json& c) { c["config"]["layers"] = 7; }},
  };
  TempDir dir;
  const std::string out = dir.file("out.onnx");
  int k = 0;
  for (const Case& c : cases) {
    json config = real_model_config();
    c.mutate(config);
    const std::string path = h5_with_config(dir.file("case_" + std::to_string(k++) + ".h5"), config.dump());
    const std::string args = "import-keras " + q(path) + " -o " + q(out);
    expect_clean_failure(c.capped ? run_cli_capped(args) : run_cli(args), path, {out}, c.what);
  }
  // Not JSON, deeply nested JSON, no model_config at all.
  const std::vector<std::pair<std::string, std::string>> raw = {
      {"not JSON", "{\"class_name\": \"Functional\", \"config\": {"},
      {"deeply nested arrays", "{\"class_name\": \"Functional\", \"config\": " + std::string(100000, '[') +
                                   std::string(100000, ']') + "}"},
      {"deeply nested objects", [] {
         std::string s = "{\"class_name\": \"Functional\", \"config\": {\"layers\": [{\"class_name\": \"Dense\", "
                         "\"name\": \"d\", \"inbound_nodes\": [], \"config\": ";
         for (int i = 0; i < 100000; ++i) s += "{\"a\":";
         s += "1" + std::string(100000, '}') + "}]}}";
         return s;
       }()},
      {"no model_config", ""},
  };
  for (const auto& [what, text] : raw) {
    const std::string path = h5_with_config(dir.file("raw_" + std::to_string(k++) + ".h5"), text);
    expect_clean_failure(run_cli("import-keras " + q(path) + " -o " + q(out)), path, {out}, what);
  }
  report_count("HostileKeras.ModelConfigCorruptions");
}

TEST(HostileKeras, NanAndInfWeightsAreRefusedByQuantize) {
  TempDir dir;
  const std::string out = dir.file("q.onnx");
  int k = 0;
  for (const auto& [dataset, value] :
       std::vector<std::pair<std::string, float>>{{"model_weights/conv2d/conv2d/kernel:0", std::nanf("")},
                                                  {"model_weights/dense/dense/kernel:0", INFINITY},
                                                  {"model_weights/batch_normalization/batch_normalization/"
                                                   "moving_variance:0", -INFINITY}}) {
    const std::string path = h5_with_weight(dir.file("w" + std::to_string(k++) + ".h5"), dataset, value);
    expect_clean_failure(run_cli("quantize --model " + q(path) + " --data " + q(real_cifar()) + " -o " + q(out) +
                                 " --calib-per-class 1 --sqnr-images 0"),
                         path, {out}, "non-finite value in " + dataset);
  }
  report_count("HostileKeras.NanAndInfWeightsAreRefusedByQuantize");
}

// ---------------------------------------------------------------------------------------------------------
// CIFAR data and calibration lockfiles

TEST(HostileData, TruncatedAndMislabelledBatches) {
  TempDir dir;
  const std::string model = testing::resnet8_onnx(), out = dir.file("out.json");
  const std::string ten = test_batch_records(10);
  struct Case {
    std::string what, bytes;
  };
  std::vector<Case> cases = {{"empty batch (empty split)", ""},
                             {"one byte", ten.substr(0, 1)},
                             {"one image minus a byte", ten.substr(0, 3072)},
                             {"three images plus a byte", ten.substr(0, 3 * 3073 + 1)},
                             {"ten images minus a byte", ten.substr(0, 10 * 3073 - 1)}};
  for (uint8_t bad : {uint8_t(10), uint8_t(11), uint8_t(255)}) {
    std::string b = ten;
    b[7 * 3073] = char(bad);
    cases.push_back({"label " + std::to_string(bad) + " at image 7", b});
  }
  int k = 0;
  for (const Case& c : cases) {
    const std::string d = cifar_dir_with(dir, "d" + std::to_string(k++), c.bytes);
    expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(d) + " --json " + q(out)),
                         d + "/test_batch.bin", {out}, c.what);
  }
  // A split with no batch file, a directory that does not exist, a batch file that is a directory.
  const std::string only_test = cifar_dir_with(dir, "only_test", ten);
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(only_test) + " --split train --json " + q(out)),
                       only_test, {out}, "train split missing");
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(dir.file("nope")) + " --json " + q(out)),
                       dir.file("nope"), {out}, "missing data directory");
  fs::create_directories(dir.file("dirbatch/test_batch.bin"));
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(dir.file("dirbatch")) + " --json " + q(out)),
                       dir.file("dirbatch"), {out}, "batch file is a directory");
  // Class names: too few, and a meta file too large to be one.
  const std::string meta_dir = cifar_dir_with(dir, "meta", ten);
  testing::write_bytes(meta_dir + "/batches.meta.txt", "a\nb\nc\n");
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(meta_dir) + " --json " + q(out)),
                       meta_dir + "/batches.meta.txt", {out}, "three class names");
  testing::write_bytes(meta_dir + "/batches.meta.txt", std::string(2 << 20, 'x'));
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(meta_dir) + " --json " + q(out)),
                       meta_dir + "/batches.meta.txt", {out}, "2 MB meta file");
  report_count("HostileData.TruncatedAndMislabelledBatches");
}

// Python layout: hand-written pickles (protocol 2, as the official files) truncated, mislabelled or
// naming a forbidden global.
std::string py_batch(const std::string& pixels, const std::vector<int>& labels, const std::string& global_module,
                     const std::string& global_name) {
  auto le = [](uint64_t v, int n) {
    std::string s;
    for (int k = 0; k < n; ++k) s += char((v >> (8 * k)) & 0xFF);
    return s;
  };
  const int n = int(labels.size());
  std::string p = "\x80\x02}q\x01(U\x04" "dataq\x02" "c" + global_module + "\n" + global_name + "\nq\x03";
  p += "cnumpy\nndarray\nq\x04K";
  p += std::string(1, '\0') + "\x85U\x01" "b\x87R(K\x01K" + le(uint64_t(n), 1) + "M" + le(3072, 2) + "\x86";
  p += "cnumpy\ndtype\nU\x02u1K" + std::string(1, '\0') + "K\x01\x87R(K\x03U\x01|NNNJ" + le(0xFFFFFFFF, 4) + "J" +
       le(0xFFFFFFFF, 4) + "K" + std::string(1, '\0') + "tb\x89T" + le(pixels.size(), 4) + pixels + "tb";
  p += "U\x06labels](";
  for (int l : labels) p += "J" + le(uint32_t(l), 4);
  p += "eu.";
  return p;
}

TEST(HostileData, PythonLayoutBatches) {
  TempDir dir;
  const std::string model = testing::resnet8_onnx(), out = dir.file("out.json");
  std::string px;
  for (int k = 0; k < 3; ++k) px += test_batch_records(3).substr(size_t(k) * 3073 + 1, 3072);
  const std::string good = py_batch(px, {3, 8, 8}, "numpy.core.multiarray", "_reconstruct");
  struct Case {
    std::string what, bytes;
  };
  std::vector<Case> cases = {{"label 10", py_batch(px, {3, 10, 8}, "numpy.core.multiarray", "_reconstruct")},
                             {"label -1", py_batch(px, {3, -1, 8}, "numpy.core.multiarray", "_reconstruct")},
                             {"os.system global", py_batch(px, {3, 8, 8}, "os", "system")},
                             {"labels for 4 images", py_batch(px, {3, 8, 8, 1}, "numpy.core.multiarray", "_reconstruct")}};
  for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(40), size_t(200), good.size() / 2, good.size() - 100,
                   good.size() - 1})
    cases.push_back({"cut at " + std::to_string(n), good.substr(0, n)});
  int k = 0;
  for (const Case& c : cases) {
    const std::string d = dir.file("py" + std::to_string(k++));
    fs::create_directories(d);
    testing::write_bytes(d + "/test_batch", c.bytes);
    expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(d) + " --json " + q(out)),
                         d + "/test_batch", {out}, "python batch: " + c.what);
  }
  // The uncorrupted fixture loads (so the failures above are the corruptions' doing).
  const std::string ok = dir.file("py_ok");
  fs::create_directories(ok);
  testing::write_bytes(ok + "/test_batch", good);
  const CommandResult r = run_cli("eval --model " + q(model) + " --data " + q(ok));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  report_count("HostileData.PythonLayoutBatches");
}

TEST(HostileData, CalibrationLockfiles) {
  TempDir dir;
  const std::string model = testing::resnet8_onnx(), out = dir.file("q.onnx");
  const std::string valid = R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,)"
                            R"("count":2,"indices":[4,9]})";
  struct Case {
    std::string what, text;
    Naming naming = Naming::kRequired;
  };
  std::vector<Case> cases = {
      {"zero-sized calibration set",
       R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,"count":0,"indices":[]})"},
      {"index out of range",
       R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,"count":1,"indices":[99999999]})"},
      {"negative index",
       R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,"count":1,"indices":[-1]})"},
      {"duplicate index",
       R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,"count":2,"indices":[3,3]})"},
      {"count mismatch",
       R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,"count":5,"indices":[3]})"},
      {"float index",
       R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,"count":1,"indices":[1.5]})"},
      {"deeply nested", R"({"schema_version":)" + std::string(100000, '[') + std::string(100000, ']') + "}"},
      {"deeply nested index", R"({"schema_version":1,"dataset":"cifar10","split":"train","seed":1,"per_class":1,)"
                              R"("count":1,"indices":[)" + std::string(100000, '[') + std::string(100000, ']') + "]}"},
      {"not an object", "[1,2,3]"},
      {"binary garbage", std::string("\x00\xff\xfe{", 4)},
  };
  for (size_t n : {size_t(0), size_t(1), size_t(10), valid.size() / 2, valid.size() - 1})
    cases.push_back({"cut at " + std::to_string(n), valid.substr(0, n)});
  int k = 0;
  for (const Case& c : cases) {
    const std::string lock = dir.file("lock" + std::to_string(k++) + ".json");
    testing::write_bytes(lock, c.text);
    expect_clean_failure(run_cli("quantize --model " + q(model) + " --data " + q(real_cifar()) + " -o " + q(out) +
                                 " --calib-indices " + q(lock)),
                         lock, {out}, "lockfile: " + c.what, c.naming);
  }
  report_count("HostileData.CalibrationLockfiles");
}

// ---------------------------------------------------------------------------------------------------------
// Output paths that cannot be written. The import of the real model is the writer under test.

TEST(HostileOutputs, UnwritableDestinations) {
  TempDir dir;
  const std::string h5 = testing::resnet8_h5();
  auto import_to = [&](const std::string& out, const std::string& shell = "exec %s") {
    return run_cli("import-keras " + q(h5) + " -o " + q(out), shell);
  };
  fs::create_directories(dir.file("adir"));
  expect_clean_failure(import_to(dir.file("adir")), dir.file("adir"), {dir.file("adir/x")}, "output is a directory");
  EXPECT_TRUE(fs::is_empty(dir.file("adir")));
  expect_clean_failure(import_to(dir.file("missing/sub/out.onnx")), dir.file("missing/sub/out.onnx"),
                       {dir.file("missing/sub/out.onnx")}, "missing directory");
  expect_clean_failure(import_to("/proc/tinyptq-hostile-out.onnx"), "/proc/tinyptq-hostile-out.onnx",
                       {"/proc/tinyptq-hostile-out.onnx"}, "inside /proc");
  // RLIMIT_FSIZE with SIGXFSZ ignored: writes past 64 kB fail with EFBIG, as on a full disk.
  expect_clean_failure(import_to(dir.file("big.onnx"), "trap '' XFSZ; ulimit -f 64; exec %s"), dir.file("big.onnx"),
                       {dir.file("big.onnx")}, "file size limit");

  // Root ignores permission bits, so read-only and full filesystems are mounted in a private mount
  // namespace; what the directory holds afterwards is listed from inside it.
  const std::string mnt = dir.file("mnt");
  fs::create_directories(mnt);
  const std::string ro = "mount --bind " + q(mnt) + " " + q(mnt) + " && mount -o remount,ro,bind " + q(mnt) + " " +
                         q(mnt) + " || exit 99; %s; rc=$?; ls -A " + q(mnt) + "; exit $rc";
  const std::string full = "mount -t tmpfs -o size=16k tmpfs " + q(mnt) + " || exit 99; %s; rc=$?; ls -A " + q(mnt) +
                           "; exit $rc";
  for (const auto& [what, script] : {std::pair{"read-only mount", ro}, std::pair{"full tmpfs", full}}) {
    std::string cmd = script;
    cmd.replace(cmd.find("%s"), 2, bin() + " import-keras " + q(h5) + " -o " + q(mnt + "/out.onnx"));
    const CommandResult r = testing::run_command("timeout 60 unshare -m sh -c " + q(cmd));
    ASSERT_NE(r.exit_code, 99) << "mount failed: " << r.output;
    // Any file listed by `ls -A` would be a second output line, failing the one-line check.
    expect_clean_failure(r, mnt + "/out.onnx", {mnt + "/out.onnx"}, what);
  }

  // eval and quantize outputs: JSON / predictions / ONNX / lockfile into places that cannot take them.
  const std::string model = testing::resnet8_onnx();
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(real_cifar()) + " --limit 4 --json " +
                               q(dir.file("adir"))),
                       dir.file("adir"), {}, "eval --json to a directory", Naming::kRequired, Before::kReport);
  expect_clean_failure(run_cli("eval --model " + q(model) + " --data " + q(real_cifar()) + " --limit 4 --predictions " +
                               q(dir.file("missing/p.csv"))),
                       dir.file("missing/p.csv"), {dir.file("missing/p.csv")}, "eval --predictions into missing dir",
                       Naming::kRequired, Before::kReport);
  expect_clean_failure(run_cli("quantize --model " + q(model) + " --data " + q(real_cifar()) + " --calib-per-class 1 "
                               "--sqnr-images 0 -o " + q(dir.file("missing/q.onnx"))),
                       dir.file("missing/q.onnx"), {dir.file("missing/q.onnx")}, "quantize -o into missing dir");
  report_count("HostileOutputs.UnwritableDestinations");
}

// A -Inf bias in the first Conv: ReLU turns the activations back into zeros, so nothing non-finite reaches
// the observers: the quantizer must refuse it like a non-finite weight instead of saturating it.
TEST(HostileOnnx, InfBiasIsRefusedByQuantize) {
  run_onnx_cases({{"-Inf bias", [](auto& m) {
                     auto* b = initializer_of(m, node_of(m, "Conv", 0)->input(2));
                     const float v = -std::numeric_limits<float>::infinity();
                     std::memcpy(b->mutable_raw_data()->data(), &v, 4);
                   }}},
                 "quantize --model {model} --data " + q(real_cifar()) + " -o {out} --calib-per-class 1 --sqnr-images 0",
                 "HostileOnnx.InfBiasIsRefusedByQuantize");
}

// A character device that is always full (like /dev/full) as the output: written in place (ENOSPC,
// reported), never replaced by a regular file. Safe to run: the node lives in a temporary directory.
TEST(HostileOutputs, FullDeviceAsOutput) {
  TempDir dir;
  const std::string dev = dir.file("full");
  ASSERT_EQ(::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 7)), 0);
  const CommandResult r = run_cli("import-keras " + q(testing::resnet8_h5()) + " -o " + q(dev));
  expect_clean_failure(r, dev, {}, "output is a full device");
  struct stat st {};
  ASSERT_EQ(::stat(dev.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device node was replaced by a regular file";
  report_count("HostileOutputs.FullDeviceAsOutput");
}

// quantize writes -o, --lock and --json together: a lockfile path that cannot be written must not leave
// the model behind.
TEST(HostileOutputs, QuantizeLeavesNoModelWhenTheLockCannotBeWritten) {
  TempDir dir;
  const std::string out = dir.file("q.onnx"), lock = dir.file("missing/lock.json");
  expect_clean_failure(run_cli("quantize --model " + q(testing::resnet8_onnx()) + " --data " + q(real_cifar()) +
                               " --calib-per-class 1 --sqnr-images 0 -o " + q(out) + " --lock " + q(lock)),
                       lock, {out, lock}, "quantize --lock into a missing directory");
  report_count("HostileOutputs.QuantizeLeavesNoModelWhenTheLockCannotBeWritten");
}

// Command-line usage errors (CLI11 parse errors) follow the same contract: one "tinyptq: error:" line
// naming the offending option, exit status 2, nothing written; --help still succeeds.
TEST(HostileCli, UsageErrorsAreOneLine) {
  TempDir dir;
  const std::string out = dir.file("q.onnx");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"quantize --model m.onnx --data d -o " + q(out) + " --wbits 12", "--wbits"},
      {"quantize --model m.onnx -o " + q(out), "--data"},
      {"eval --model m.onnx --data d --no-such-flag", "--no-such-flag"},
      {"frobnicate", "subcommand"},
      {"study --model m.onnx --data d -o " + q(dir.file("s")) + " --jobs 0", "--jobs"},
  };
  for (const auto& [args, names] : cases) {
    const CommandResult r = run_cli(args);
    expect_clean_failure(r, names, {out}, args);
    EXPECT_EQ(r.exit_code, 2) << args;
  }
  EXPECT_EQ(run_cli("quantize --help").exit_code, 0);
  report_count("HostileCli.UsageErrorsAreOneLine");
}

// The address-space cap itself does not break a normal run (so the capped failures above are the
// inputs' doing), and a huge-but-valid limit request stays cheap.
TEST(HostileOutputs, CapAllowsNormalRuns) {
  const CommandResult r = run_cli_capped("eval --model " + q(testing::resnet8_onnx()) + " --data " + q(real_cifar()) +
                                         " --limit 16");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace tinyptq
