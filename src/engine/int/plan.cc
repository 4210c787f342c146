#include "engine/int/plan.h"

#include <algorithm>
#include <cstdio>

namespace tinyptq::qdq {

namespace {
std::string format_float(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", double(v));
  return buf;
}
}  // namespace

std::string QuantInfo::str() const {
  return std::string(dtype_name(container)) + " s=" + format_float(scale) +
         " zp=" + std::to_string(zero_point - container_shift());
}

std::string Value::str() const {
  std::string s = name + " " + (quantized ? quant.str() : std::string("float32")) + " " + shape_str(shape);
  if (layout == Layout::kNHWC) s += " NHWC";
  return s;
}

int Plan::add_value(Value v) {
  values.push_back(std::move(v));
  return int(values.size()) - 1;
}

int Plan::add(std::unique_ptr<Step> step) {
  step->input_bytes.clear();
  for (int v : step->inputs) step->input_bytes.push_back(values[v].bytes());
  step->output_bytes = values[step->output].bytes();
  steps.push_back(std::move(step));
  return int(steps.size()) - 1;
}

int Plan::storage_of(int v) const {
  while (values[v].view_of >= 0) v = values[v].view_of;
  return v;
}

size_t Plan::scratch_bytes() const {
  size_t n = 0;
  for (const auto& s : steps) n = std::max(n, s->scratch_bytes());
  return n;
}

}  // namespace tinyptq::qdq
