// The part of a QDQ model that export-c turns into integer C: the graph up to its last quantized values.
// A graph output computed from a quantized value only by DequantizeLinear and then ops that keep the
// top-1 (Softmax, Identity) is replaced by that quantized value: the C code returns the int8 logits, whose
// argmax is the model's prediction.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyptq::export_c {

struct IntegerCore {
  Graph graph;                       // outputs are QuantizeLinear outputs (uint8 or int8)
  std::vector<std::string> dropped;  // the trailing nodes removed, e.g. "Softmax 'dense_softmax'"
};

// `g` validated and sorted. Outputs that cannot be traced back so stay as they are (the exporter then
// reports the float ops that compute them).
IntegerCore integer_core(const Graph& g);

}  // namespace tinyptq::export_c
