// Fuzz target: ONNX bytes → onnx_bytes_to_graph (protobuf parse, attribute/initializer checks,
// Graph::validate_and_sort) → canonicalize → writer → reader again. Bad input must end in tinyptq::Error.
// Properties checked on accepted models: the IR invariants of graph.h hold after loading and after
// canonicalize, and a graph the writer accepts is read back without error.
// A structure-aware custom mutator edits parsed ModelProtos (op types, wiring, attributes, dims, opset)
// so the search reaches the reader's semantic checks instead of stopping at protobuf parsing.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include "core/error.h"
#include "fuzz_util.h"
#include "ir/graph.h"
#include "ir/passes.h"
#include "onnx/onnx_reader.h"
#include "onnx/onnx_writer.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace tinyptq::fuzz {
namespace {

[[noreturn]] void property_failed(const std::string& what) {
  std::fprintf(stderr, "property violated: %s\n", what.c_str());
  std::abort();
}

// Graph invariants promised by Graph::validate_and_sort: topological order, single producers.
void check_invariants(const Graph& g, const char* stage) {
  std::set<std::string> available;
  for (const auto& in : g.inputs) available.insert(in.name);
  for (const auto& [name, t] : g.initializers) {
    available.insert(name);
    if (t.stored() != num_elements(t.shape)) property_failed(std::string(stage) + ": initializer " + name);
  }
  for (const auto& n : g.nodes) {
    for (const auto& v : n.inputs)
      if (!v.empty() && !available.count(v)) property_failed(std::string(stage) + ": node " + n.name + " order");
    for (const auto& o : n.outputs)
      if (!o.empty() && !available.insert(o).second)
        property_failed(std::string(stage) + ": value " + o + " produced twice");
  }
  for (const auto& o : g.outputs)
    if (!available.count(o.name)) property_failed(std::string(stage) + ": output " + o.name);
}

// ---- structure-aware mutation

const char* const kOpTypes[] = {"Conv", "BatchNormalization", "Relu", "Clip", "Add", "Mul", "Sub", "AveragePool",
                                "MaxPool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Gemm",
                                "MatMul", "Softmax", "Identity", "QuantizeLinear", "DequantizeLinear",
                                "Constant", "Dropout", "LSTM", "Loop"};
const char* const kAttrNames[] = {"kernel_shape", "strides", "pads", "dilations", "group", "axis", "perm",
                                  "auto_pad", "alpha", "beta", "transA", "transB", "epsilon", "min", "max",
                                  "ceil_mode", "count_include_pad", "allowzero", "value", "value_ints",
                                  "value_float", "storage_order", "block_size", "output_dtype"};
const int64_t kInterestingInts[] = {0, 1, 2, 3, -1, -2, 7, 255, 1 << 16, int64_t(1) << 31, int64_t(1) << 40,
                                    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
const float kInterestingFloats[] = {0.0f, 1.0f, -1.0f, 1e-30f, 1e30f, std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(), std::nanf("")};

template <class T, size_t N>
const T& pick(const T (&a)[N], std::mt19937& rng) {
  return a[rng() % N];
}

int64_t interesting_int(std::mt19937& rng) {
  return rng() % 3 == 0 ? int64_t(rng() % 64) - 8 : pick(kInterestingInts, rng);
}

std::vector<std::string> value_names(const onnx::GraphProto& g) {
  std::vector<std::string> names = {"", "missing_value"};
  for (const auto& v : g.input()) names.push_back(v.name());
  for (const auto& v : g.initializer()) names.push_back(v.name());
  for (const auto& n : g.node())
    for (const auto& o : n.output()) names.push_back(o);
  return names;
}

void mutate_ints(google::protobuf::RepeatedField<int64_t>* v, std::mt19937& rng) {
  const unsigned what = rng() % 4;
  if (what == 0 || v->empty()) {
    v->Add(interesting_int(rng));
  } else if (what == 1) {
    v->RemoveLast();
  } else {
    v->Set(int(rng() % unsigned(v->size())), interesting_int(rng));
  }
}

void mutate_attribute(onnx::NodeProto* n, std::mt19937& rng) {
  if (n->attribute_size() == 0 || rng() % 4 == 0) {
    auto* a = n->add_attribute();
    a->set_name(pick(kAttrNames, rng));
    switch (rng() % 4) {
      case 0: a->set_type(onnx::AttributeProto::INT), a->set_i(interesting_int(rng)); break;
      case 1: a->set_type(onnx::AttributeProto::FLOAT), a->set_f(pick(kInterestingFloats, rng)); break;
      case 2: a->set_type(onnx::AttributeProto::STRING), a->set_s(rng() % 2 ? "SAME_UPPER" : "VALID"); break;
      default:
        a->set_type(onnx::AttributeProto::INTS);
        for (unsigned k = rng() % 5; k > 0; --k) a->add_ints(interesting_int(rng));
    }
    return;
  }
  auto* a = n->mutable_attribute(int(rng() % unsigned(n->attribute_size())));
  switch (rng() % 5) {
    case 0: mutate_ints(a->mutable_ints(), rng); break;
    case 1: a->set_i(interesting_int(rng)); break;
    case 2: a->set_f(pick(kInterestingFloats, rng)); break;
    case 3: a->set_type(onnx::AttributeProto::AttributeType(rng() % 12)); break;
    default: n->mutable_attribute()->DeleteSubrange(int(rng() % unsigned(n->attribute_size())), 1);
  }
}

void mutate_tensor(onnx::TensorProto* t, std::mt19937& rng) {
  switch (rng() % 5) {
    case 0: mutate_ints(t->mutable_dims(), rng); break;
    case 1: t->set_data_type(int(rng() % 17)); break;
    case 2:
      if (t->has_raw_data()) t->mutable_raw_data()->resize(t->raw_data().size() / 2 + rng() % 8);
      break;
    case 3:
      if (t->has_raw_data() && t->raw_data().size() >= 4) {
        const float v = pick(kInterestingFloats, rng);
        std::memcpy(t->mutable_raw_data()->data() + (rng() % (t->raw_data().size() / 4)) * 4, &v, 4);
      }
      break;
    default: t->add_float_data(pick(kInterestingFloats, rng));
  }
}

void mutate_model(onnx::ModelProto& m, std::mt19937& rng) {
  onnx::GraphProto* g = m.mutable_graph();
  const int nodes = g->node_size();
  onnx::NodeProto* n = nodes > 0 ? g->mutable_node(int(rng() % unsigned(nodes))) : nullptr;
  switch (rng() % 11) {
    case 0:
      if (n) n->set_op_type(pick(kOpTypes, rng));
      break;
    case 1:
      if (n && n->input_size() > 0) {
        const auto names = value_names(*g);
        n->set_input(int(rng() % unsigned(n->input_size())), names[rng() % names.size()]);
      } else if (n) {
        n->add_input("missing_value");
      }
      break;
    case 2:
      if (n && n->output_size() > 0) {
        const auto names = value_names(*g);
        n->set_output(int(rng() % unsigned(n->output_size())), names[rng() % names.size()]);
      }
      break;
    case 3:
      if (n) mutate_attribute(n, rng);
      break;
    case 4:
      if (g->initializer_size() > 0) mutate_tensor(g->mutable_initializer(int(rng() % unsigned(g->initializer_size()))), rng);
      break;
    case 5:
      if (g->input_size() > 0) {
        auto* shape = g->mutable_input(int(rng() % unsigned(g->input_size())))->mutable_type()->mutable_tensor_type()->mutable_shape();
        if (shape->dim_size() > 0 && rng() % 2)
          shape->mutable_dim(int(rng() % unsigned(shape->dim_size())))->set_dim_value(interesting_int(rng));
        else
          shape->add_dim()->set_dim_value(interesting_int(rng));
      }
      break;
    case 6:
      if (nodes > 0) g->mutable_node()->DeleteSubrange(int(rng() % unsigned(nodes)), 1);
      break;
    case 7:
      if (n) *g->add_node() = *n;
      break;
    case 8:
      if (nodes > 1) g->mutable_node()->SwapElements(int(rng() % unsigned(nodes)), int(rng() % unsigned(nodes)));
      break;
    case 9:
      if (m.opset_import_size() > 0) m.mutable_opset_import(0)->set_version(int64_t(rng() % 26));
      break;
    default:
      if (g->initializer_size() > 0) {
        if (rng() % 2)
          *g->add_initializer() = g->initializer(int(rng() % unsigned(g->initializer_size())));
        else
          g->mutable_initializer()->DeleteSubrange(int(rng() % unsigned(g->initializer_size())), 1);
      }
  }
}

}  // namespace
}  // namespace tinyptq::fuzz

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  std::mt19937 rng(seed);
  onnx::ModelProto model;
  if (rng() % 4 != 0 && size > 0 && model.ParseFromArray(data, int(size))) {
    for (unsigned k = 1 + rng() % 3; k > 0; --k) tinyptq::fuzz::mutate_model(model, rng);
    std::string out;
    if (model.SerializeToString(&out) && out.size() <= max_size) {
      std::memcpy(data, out.data(), out.size());
      return out.size();
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tinyptq;
  Graph g;
  try {
    g = onnx_bytes_to_graph(fuzz::as_view(data, size), "fuzz.onnx");
  } catch (const Error&) {
    return 0;
  }
  fuzz::check_invariants(g, "after load");
  try {
    canonicalize(g);
  } catch (const Error&) {
    return 0;
  }
  fuzz::check_invariants(g, "after canonicalize");
  std::string bytes;
  try {
    bytes = graph_to_onnx_bytes(g);
  } catch (const Error&) {
    return 0;  // the writer (onnx::checker) may refuse graphs the lenient reader accepts
  }
  try {
    onnx_bytes_to_graph(bytes, "roundtrip.onnx");
  } catch (const Error& e) {
    fuzz::property_failed(std::string("written model does not read back: ") + e.what());
  }
  return 0;
}
