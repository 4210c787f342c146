// IR → ONNX (opset 13, ai.onnx domain). Output is deterministic: the same graph gives the same bytes.
#pragma once
#include <string>

#include "core/atomic_file.h"
#include "ir/graph.h"

namespace tinyptq {

// Serializes the graph as an ONNX ModelProto and checks it with onnx::checker; throws Error if the
// checker rejects it. int8/uint8 initializers are stored one byte per element (raw_data).
std::string graph_to_onnx_bytes(const Graph& graph);

// graph_to_onnx_bytes + crash-safe write (temporary file, then rename). Returns the bytes written.
int64_t save_onnx(const Graph& graph, const std::string& path);

// The same, staged in `files` (written to its temporary now, renamed by files.commit()).
int64_t save_onnx(const Graph& graph, const std::string& path, StagedFiles& files);

}  // namespace tinyptq
