#include "kernels/fp32/reference/reshape.h"

#include <string>

#include "core/error.h"

namespace tinyptq::fp32_ref {

Shape reshape_output_shape(const Shape& x, const std::vector<int64_t>& spec) {
  const int64_t count = num_elements(x);
  Shape out(spec.size());
  int64_t infer_at = -1, known = 1;
  for (size_t d = 0; d < spec.size(); ++d) {
    const int64_t v = spec[d];
    if (v == -1) {
      check(infer_at < 0, "Reshape shape " + shape_str(spec) + " has more than one -1");
      infer_at = int64_t(d);
      continue;
    }
    check(v >= 0, "Reshape shape " + shape_str(spec) + " has a negative entry other than -1");
    if (v == 0) {
      check(d < x.size(), "Reshape shape " + shape_str(spec) + " copies dimension " + std::to_string(d) +
                              " (0) of input " + shape_str(x) + ", which does not exist");
      out[d] = x[d];
    } else {
      out[d] = v;
    }
    check(out[d] == 0 || known <= (int64_t(1) << 40) / out[d],
          "Reshape shape " + shape_str(spec) + " is too large");
    known *= out[d];
  }
  if (infer_at >= 0) {
    check(known != 0 && count % known == 0, "Reshape cannot infer the -1 in " + shape_str(spec) +
                                                " for input " + shape_str(x) + " (" + std::to_string(count) +
                                                " elements)");
    out[infer_at] = count / known;
  }
  check(num_elements(out) == count, "Reshape from " + shape_str(x) + " (" + std::to_string(count) +
                                        " elements) to " + shape_str(out) + " changes the element count");
  return out;
}

Shape flatten_output_shape(const Shape& x, int64_t axis) {
  const int64_t rank = int64_t(x.size());
  check(axis >= -rank && axis <= rank,
        "Flatten axis " + std::to_string(axis) + " is out of range for input " + shape_str(x));
  if (axis < 0) axis += rank;
  return {num_elements(Shape(x.begin(), x.begin() + axis)), num_elements(Shape(x.begin() + axis, x.end()))};
}

}  // namespace tinyptq::fp32_ref
