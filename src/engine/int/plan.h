// The integer engine's execution plan: values (float or quantized, with their storage layout) and the
// steps that compute them. Built by lower_qdq_graph (engine/qdq_lowering.h), run by IntEngine.
//
// All shapes are per image: the batch N of the graph is the leading dim and every value holds N images of
// `bytes()` each, one after the other, so any step can run on any contiguous range of images.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"
#include "kernels/int8/kernel_table.h"

namespace tinyptq::qdq {

// kNHWC: a rank-4 value of logical shape [1, C, H, W] stored channels-innermost as [1][H][W][C]. Every
// other value is stored row-major in its logical shape.
enum class Layout { kRowMajor, kNHWC };

// real = scale · (q − zero_point) with q and zero_point in the uint8 storage domain; `container` is the
// graph's type (an int8 value q8 is stored as q8 + 128, its zero point likewise).
struct QuantInfo {
  float scale = 1;
  int32_t zero_point = 0;
  DType container = DType::kUint8;

  int32_t container_shift() const { return container == DType::kInt8 ? 128 : 0; }
  bool operator==(const QuantInfo& o) const {
    return scale == o.scale && zero_point == o.zero_point && container == o.container;
  }
  std::string str() const;  // e.g. "int8 s=0.0235 zp=-3" (zero point in the graph's domain)
};

struct Value {
  std::string name;
  Shape shape;  // logical graph shape of one image (dim 0 is 1)
  bool quantized = false;
  QuantInfo quant;  // quantized values only
  Layout layout = Layout::kRowMajor;
  int view_of = -1;       // shares the storage of this value (same bytes per image, other shape/layout)
  bool external = false;  // the graph input: stored in the caller's tensor

  int64_t elements() const { return num_elements(shape); }
  int64_t element_size() const { return quantized ? 1 : 4; }
  int64_t bytes() const { return elements() * element_size(); }  // per image
  std::string str() const;  // e.g. "x_q uint8 [1,16,32,32] NHWC s=... zp=..."
};

// Storage of every value for one run: base[v] points at image 0 of value v.
struct RunContext {
  uint8_t* const* base = nullptr;
  void* scratch = nullptr;  // this thread's scratch for this step (Step::scratch_bytes long, zeroed when
                            // made); it keeps its contents between the step's calls
};

enum class StepKind {
  kInteger,  // int8 kernels, quantize/dequantize included
  kFloat,    // float reference kernels
  kLayout,   // data movement only (copies, transposes, layout changes)
};

// The op and params of an integer step, for code generators (export/c); weights are packed by the kernel the
// step was made with (the reference layout when lowered in integer mode). monostate: any other step.
using StepOp = std::variant<std::monostate, const int8::ConvParams*, const int8::GemmParams*,
                            const int8::AddParams*, const int8::AvgPoolParams*, const int8::GlobalAvgPoolParams*,
                            const int8::MaxPoolParams*, const int8::QuantizeParams*, const int8::DequantizeParams*,
                            const int8::RequantizeParams*>;

class Step {
 public:
  virtual ~Step() = default;

  StepKind kind = StepKind::kFloat;
  std::string kernel;  // kernel name
  std::string nodes;   // the graph nodes the step covers, e.g. "conv1+relu1+conv1_q"
  std::string detail;  // parameters for describe()
  std::vector<int> inputs;
  int output = -1;
  std::vector<int64_t> input_bytes;  // per image, filled by Plan::add
  int64_t output_bytes = 0;

  // Output rows per image along which one image's work can be split between threads (1: not splittable).
  virtual int64_t rows() const { return 1; }
  virtual size_t scratch_bytes() const { return 0; }
  // Rough work per image (multiply-adds or bytes moved); tiny steps are not worth threading.
  virtual double cost() const { return double(output_bytes); }
  // Computes output rows `rows` of images [first, first + images). Never throws, never allocates.
  virtual void run(const RunContext& ctx, int64_t first, int64_t images, int8::RowRange rows) const = 0;
  virtual StepOp op() const { return {}; }

 protected:
  const uint8_t* in(const RunContext& ctx, size_t k, int64_t image) const {
    return ctx.base[inputs[k]] + image * input_bytes[k];
  }
  uint8_t* out(const RunContext& ctx, int64_t image) const { return ctx.base[output] + image * output_bytes; }
};

struct Plan {
  std::vector<Value> values;
  std::vector<std::unique_ptr<Step>> steps;
  int input = -1;            // the graph input (float, external)
  std::vector<int> outputs;  // graph outputs in order

  int add_value(Value v);
  // Appends a step, filling its per-image byte sizes from the values. Returns its index.
  int add(std::unique_ptr<Step> step);
  // The value whose storage v uses (follows view_of).
  int storage_of(int v) const;
  size_t scratch_bytes() const;  // max over steps
};

}  // namespace tinyptq::qdq
