// A quantized model as the exported C runs it: the integer engine's plan (lowered with integer
// requantization on the reference kernels, so every param and packed weight is the engine's own) as a list
// of kernel calls on buffers placed in one arena.
//
// Rules (all checked, with one error listing every node that breaks them):
//  - the first step quantizes the float graph input; the C function takes those int8 codes instead;
//  - every other step is an integer Conv, Gemm, Add, AveragePool, GlobalAveragePool, MaxPool or table
//    requantization — no float op, no layout copy, no dequantization inside the network;
//  - one output, a quantized value (trailing DequantizeLinear → Softmax are dropped, integer_core.h).
// In place, where safe: a residual Add whose one operand is a Conv output read by nothing else and whose
// other operand dies at the Add is fused into that Conv, which writes add(conv, old) over the other operand
// (each element reads only its own position, and nothing reads that buffer later). Its Add step disappears.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/int/plan.h"
#include "export_c/integer_core.h"
#include "export_c/memory_planner.h"

namespace tinyptq::export_c {

enum class Target { kGeneric, kCortexM4 };
const char* target_name(Target t);           // "generic" / "cortex-m4"
Target parse_target(const std::string& s);   // inverse; Error listing the choices

inline constexpr int kInputBuffer = -1;  // the caller's input, not in the arena

// The step's params when it is an integer step of op T (int8::ConvParams, ...), else null.
template <typename T>
const T* op_as(const qdq::Step& s) {
  const qdq::StepOp op = s.op();
  return std::holds_alternative<const T*>(op) ? std::get<const T*>(op) : nullptr;
}

struct CLayer {
  const qdq::Step* step = nullptr;  // its op() gives the params
  std::vector<int> inputs;          // buffer ids (kInputBuffer for the model input)
  int output = -1;                  // buffer id
  const int8::AddParams* residual = nullptr;  // Conv with a fused Add: output holds the other operand
  bool conv_is_a = false;                     // the Conv output is the Add's first operand
  bool dsp = false;                           // Cortex-M4 kernel (im2col + SMLAD), scratch below
  int scratch = -1;                           // buffer id of the int16 im2col column
  int64_t k4 = 0;                             // DSP: taps rounded up to a multiple of 4
};

struct CProgram {
  IntegerCore core;
  qdq::Plan plan;  // owns the params and packed weights the layers point to
  std::vector<CLayer> layers;
  std::vector<ArenaBuffer> buffers;
  std::vector<std::string> buffer_names;  // the plan value each buffer holds (for comments)
  int output_buffer = -1;
  int64_t arena_bytes = 0;
  int64_t naive_bytes = 0;  // every buffer separate, no reuse (for the report)
  qdq::QuantInfo input_quant, output_quant;
  Shape input_shape, output_shape;  // per image, logical graph shapes
  std::string input_layout, output_layout;  // memory order, e.g. "32x32x3 (HWC)" or "10"
  int64_t input_size = 0, output_size = 0;
  int64_t macs = 0;  // multiply-accumulates per inference (Conv + Gemm)
};

// Throws Error (message without the file name) when the model is not a QDQ graph the rules above accept.
CProgram build_program(const Graph& qdq_graph, Target target);

}  // namespace tinyptq::export_c
