#include "export_c/c_program.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "engine/int_engine.h"
#include "engine/qdq_lowering.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq::export_c {

namespace {

bool is_supported(const qdq::Step& s) {
  return s.kind == qdq::StepKind::kInteger &&
         (op_as<int8::ConvParams>(s) || op_as<int8::GemmParams>(s) || op_as<int8::AddParams>(s) ||
          op_as<int8::AvgPoolParams>(s) || op_as<int8::GlobalAvgPoolParams>(s) || op_as<int8::MaxPoolParams>(s) ||
          op_as<int8::RequantizeParams>(s));
}

std::string why_unsupported(const qdq::Step& s) {
  const std::string what = "'" + s.nodes + "'";
  if (s.kind == qdq::StepKind::kFloat) return what + " runs in float (" + s.kernel + ")";
  if (s.kind == qdq::StepKind::kLayout) return what + " is a layout copy (" + s.kernel + ")";
  if (op_as<int8::DequantizeParams>(s)) return what + " dequantizes to float inside the network";
  if (op_as<int8::QuantizeParams>(s)) return what + " quantizes a float value inside the network";
  return what + " (" + s.kernel + ")";
}

int64_t align8(int64_t v) { return (v + 7) / 8 * 8; }

// The order of a value's bytes: NHWC values [1, C, H, W] as "HxWxC (HWC)", others row-major.
std::string memory_order(const qdq::Value& v) {
  if (v.layout == qdq::Layout::kNHWC && v.shape.size() == 4)
    return std::to_string(v.shape[2]) + "x" + std::to_string(v.shape[3]) + "x" + std::to_string(v.shape[1]) +
           " (HWC)";
  std::string r;
  for (size_t i = 1; i < v.shape.size(); ++i) r += (i > 1 ? "x" : "") + std::to_string(v.shape[i]);
  return r.empty() ? "1" : r;
}

// readers[b]: indices of the layers that read buffer b (deleted layers excluded).
std::map<int, std::vector<int>> readers_of(const std::vector<CLayer>& layers, const std::vector<bool>& deleted) {
  std::map<int, std::vector<int>> r;
  for (size_t i = 0; i < layers.size(); ++i)
    if (!deleted[i])
      for (int b : layers[i].inputs) r[b].push_back(int(i));
  return r;
}

// Fuses residual Adds into the Conv producing one operand (see c_program.h). Returns the deleted layers.
std::vector<bool> fuse_residual_adds(std::vector<CLayer>& layers, int& output_buffer) {
  std::vector<bool> deleted(layers.size(), false);
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto* add = op_as<int8::AddParams>(*layers[i].step);
    if (!add) continue;
    std::map<int, int> producer;
    for (size_t j = 0; j < layers.size(); ++j)
      if (!deleted[j]) producer[layers[j].output] = int(j);
    const auto readers = readers_of(layers, deleted);
    for (int side = 0; side < 2; ++side) {
      const int c = layers[i].inputs[size_t(side)], r = layers[i].inputs[size_t(1 - side)];
      if (c == r || c == kInputBuffer || r == kInputBuffer || c == output_buffer || !producer.count(r)) continue;
      const int p = producer.at(c);
      CLayer& conv = layers[size_t(p)];
      if (!op_as<int8::ConvParams>(*conv.step) || conv.residual) continue;
      if (readers.at(c) != std::vector<int>{int(i)}) continue;
      if (producer.at(r) >= p) continue;
      bool dies = true;  // r read by nothing at or after the conv except this Add
      for (int reader : readers.at(r)) dies = dies && (reader == int(i) || reader < p);
      if (!dies) continue;
      conv.residual = add;
      conv.conv_is_a = side == 0;
      conv.output = r;
      deleted[i] = true;
      const int add_out = layers[i].output;
      for (size_t j = i + 1; j < layers.size(); ++j)
        for (int& in : layers[j].inputs)
          if (in == add_out) in = r;
      if (output_buffer == add_out) output_buffer = r;
      break;
    }
  }
  return deleted;
}

}  // namespace

const char* target_name(Target t) { return t == Target::kGeneric ? "generic" : "cortex-m4"; }

Target parse_target(const std::string& s) {
  if (s == "generic") return Target::kGeneric;
  if (s == "cortex-m4") return Target::kCortexM4;
  throw Error("unknown target '" + s + "' (valid: cortex-m4, generic)");
}

CProgram build_program(const Graph& qdq_graph, Target target) {
  Graph g = qdq_graph;
  g.validate_and_sort();
  check(is_qdq_graph(g),
        "not a quantized model (no QuantizeLinear/DequantizeLinear nodes); make one with tinyptq quantize");
  CProgram prog;
  prog.core = integer_core(g);
  prog.plan = lower_qdq_graph(prog.core.graph, int8::reference_kernels(), Requantization::kInteger);
  const qdq::Plan& plan = prog.plan;
  check(plan.outputs.size() == 1,
        "export-c needs a model with one output; this one has " + std::to_string(plan.outputs.size()));

  std::vector<std::string> problems;
  std::map<int, int> buffer_of;  // plan storage → buffer
  int input_storage = -1;
  std::vector<CLayer> layers;
  std::vector<int64_t> bytes;
  std::vector<std::string> names;
  const int graph_input = plan.storage_of(plan.input);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const qdq::Step& st = *plan.steps[i];
    if (i == 0 && op_as<int8::QuantizeParams>(st) && plan.storage_of(st.inputs[0]) == graph_input) {
      input_storage = plan.storage_of(st.output);
      const qdq::Value& v = plan.values[size_t(st.output)];
      prog.input_quant = v.quant;
      prog.input_shape = v.shape;
      prog.input_size = v.elements();
      prog.input_layout = memory_order(v);
      // The layer that reads it may see it through a view (e.g. an NHWC graph input seen as NCHW).
      for (size_t j = 0; j < plan.values.size(); ++j)
        if (plan.storage_of(int(j)) == input_storage && plan.values[j].layout == qdq::Layout::kNHWC)
          prog.input_layout = memory_order(plan.values[j]);
      continue;
    }
    if (!is_supported(st)) {
      problems.push_back(why_unsupported(st));
      continue;
    }
    CLayer l;
    l.step = &st;
    for (int in : st.inputs) {
      const int s = plan.storage_of(in);
      if (s == input_storage) {
        l.inputs.push_back(kInputBuffer);
      } else if (buffer_of.count(s)) {
        l.inputs.push_back(buffer_of.at(s));
      } else {
        problems.push_back("'" + st.nodes + "' reads '" + plan.values[size_t(in)].name +
                           "', which no integer step computes");
        l.inputs.push_back(kInputBuffer);
      }
    }
    const int s = plan.storage_of(st.output);
    buffer_of[s] = int(bytes.size());
    l.output = int(bytes.size());
    bytes.push_back(plan.values[size_t(st.output)].bytes());
    names.push_back(plan.values[size_t(st.output)].name);
    layers.push_back(l);
  }
  if (input_storage < 0) problems.insert(problems.begin(), "the graph input is not quantized by the first step");
  const int out_value = plan.outputs[0];
  if (!plan.values[size_t(out_value)].quantized)
    problems.push_back("the output '" + plan.values[size_t(out_value)].name + "' is not quantized");
  else if (!buffer_of.count(plan.storage_of(out_value)))
    problems.push_back("the output '" + plan.values[size_t(out_value)].name + "' is not computed by an integer step");
  if (!problems.empty()) {
    std::string msg = "cannot export to integer C: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw Error(msg);
  }
  prog.output_quant = plan.values[size_t(out_value)].quant;
  prog.output_shape = plan.values[size_t(out_value)].shape;
  prog.output_size = plan.values[size_t(out_value)].elements();
  prog.output_layout = memory_order(plan.values[size_t(out_value)]);
  int output_buffer = buffer_of.at(plan.storage_of(out_value));

  const std::vector<bool> deleted = fuse_residual_adds(layers, output_buffer);

  // Compact: live layers, buffers they use (renumbered in order of first use), DSP scratch.
  std::map<int, int> renumber;
  auto id = [&](int b) {
    if (b == kInputBuffer) return b;
    auto it = renumber.find(b);
    if (it != renumber.end()) return it->second;
    const int n = int(prog.buffers.size());
    renumber[b] = n;
    prog.buffers.push_back({bytes[size_t(b)], 0, 0, -1});
    prog.buffer_names.push_back(names[size_t(b)]);
    return n;
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    if (deleted[i]) continue;
    CLayer l = layers[i];
    for (int& in : l.inputs) in = id(in);
    l.output = id(l.output);
    if (const auto* c = op_as<int8::ConvParams>(*l.step)) {
      prog.macs += c->shape.out_h * c->shape.out_w * c->shape.out_c * c->shape.taps();
      if (target == Target::kCortexM4 && c->shape.groups == 1 && c->weights->zero_points.empty()) {
        l.dsp = true;
        l.k4 = (c->shape.taps() + 3) / 4 * 4;
        l.scratch = int(prog.buffers.size());
        prog.buffers.push_back({2 * l.k4, 0, 0, -1});
        prog.buffer_names.push_back("im2col column of '" + l.step->nodes + "'");
      }
    } else if (const auto* gp = op_as<int8::GemmParams>(*l.step)) {
      prog.macs += l.step->rows() * gp->k * gp->n;
    }
    prog.layers.push_back(l);
  }
  prog.output_buffer = id(output_buffer);

  // Lifetimes: from the producing layer to the last reader (the output: to the end).
  std::vector<bool> seen(prog.buffers.size(), false);
  const int last = int(prog.layers.size()) - 1;
  for (int i = 0; i <= last; ++i) {
    const CLayer& l = prog.layers[size_t(i)];
    auto touch = [&](int b) {
      if (b == kInputBuffer) return;
      ArenaBuffer& ab = prog.buffers[size_t(b)];
      if (!seen[size_t(b)]) ab.first = i, seen[size_t(b)] = true;
      ab.last = std::max(ab.last, i);
    };
    for (int b : l.inputs) touch(b);
    touch(l.output);
    if (l.scratch >= 0) touch(l.scratch);
  }
  prog.buffers[size_t(prog.output_buffer)].last = last;
  for (const auto& b : prog.buffers) prog.naive_bytes += align8(b.bytes);
  prog.arena_bytes = plan_arena(prog.buffers);
  return prog;
}

}  // namespace tinyptq::export_c
