// Lowering of a QDQ graph into the integer engine's plan (engine/int/plan.h). Patterns, matched in graph
// order on the DequantizeLinear outputs a node reads and the QuantizeLinear its output feeds:
//   DQ(x), DQ(w)[, DQ(b)] → Conv → [Relu | Clip] → Q                      conv step (NHWC)
//   DQ(x), DQ(w)[, DQ(b)] → Gemm → [Relu | Clip] → Q                      gemm step (transA 0, alpha = beta =
//   1) DQ(x), DQ(w) → MatMul [→ Add(bias)] → [Relu | Clip] → Q                gemm step DQ(a), DQ(b) → Add →
//   [Relu | Clip] → Q                                add step (equal shapes) DQ(x) → AveragePool | MaxPool |
//   GlobalAveragePool → [Relu | Clip] → Q  pool steps DQ(x) → Flatten | Reshape | Transpose → Q a view, or a
//   copy; requantized
//                                                                          through a table if Q differs
//   Q(float value) → quantize step;  Q(DQ(q)) → view or requantization;  DQ(q) read by a float op →
//   dequantize step;  DQ(initializer) read by a float op → float constant.
// Every other node runs in float with the reference kernels (engine/int/float_steps.h).
//
// Weights are int8 (uint8 shifted by −128), per-tensor or per output channel. A bias is int32 at scale
// s_x·s_w[c]; one given in float or at another scale (relative difference > 1e-5) is rounded to it.
// M[c] = (s_x·s_w[c])/s_y in float, as ONNX Runtime computes it; with integer requantization the fixed-point
// QuantizeMultiplier(double(s_x)·double(s_w[c])/double(s_y)), and every requantizing op (Conv, Gemm, Add,
// pools, requantize tables) uses the integer formulas of kernel_table.h on the reference kernels. A fused Relu/Clip(lo, hi) becomes the
// output clamp [Q(lo), Q(hi)]; this is exact because rounding is monotonic.
// A pattern whose int32 accumulator could overflow (kernel_table.h) runs in float instead.
//
// Layouts: the integer ops read and write rank-4 activations in NHWC, float ops read row-major. A value is
// converted to the layout a consumer needs once (a view when only size-1 axes move, e.g. [N,C,1,1]).
// Flatten/Reshape/Transpose/Identity become views where the bytes do not move (Transpose(0,3,1,2) of an
// NHWC graph input is the input itself seen as NHWC).
//
// Images run independently: the lowering infers shapes for N = 1 and N = 2 and rejects graphs in which
// some value does not keep the batch on axis 0 (e.g. Reshape to [-1], Softmax over axis 0).
#pragma once
#include "engine/int/plan.h"
#include "ir/graph.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq {

// `graph` must be validated and topologically sorted. Throws Error naming the node or value on anything
// unsupported (per-axis activation quantization, a float op reading a quantized tensor, ...).
qdq::Plan lower_qdq_graph(const Graph& graph, const int8::KernelTable& kernels,
                          Requantization requant = Requantization::kFloat);

}  // namespace tinyptq
