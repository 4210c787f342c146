// Engine throughput measurement for `tinyptq bench`: a fixed pseudo-random input (the same xorshift32
// values run_ort.js --bench feeds ONNX Runtime), runs back to back after a warm-up, images/s and
// per-run latency percentiles; and the multiply-accumulates one image costs.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "eval/evaluate.h"
#include "ir/graph.h"

namespace tinyptq::bench {

struct Latency {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0;
};

struct Measurement {
  double images_per_second = 0;  // runs · batch / elapsed
  Latency latency;               // of one run (one batch)
  int64_t runs = 0;
  double seconds = 0;
};

// [batch, image_shape[1:]...] of xorshift32 values in [0, 1) (seed 0x9e3779b9), as run_ort.js --bench.
Tensor bench_input(const Shape& image_shape, int64_t batch);

// Warm-up for min(1, seconds/5) s, then runs until `seconds` have passed (at least 3 runs).
Measurement measure(Engine& engine, const Tensor& input, double seconds);

// Σ over Conv (out elements · C/group · kH · kW), Gemm (M·N·K) and MatMul nodes for one image.
// QDQ graphs count the same nodes (their weights are DequantizeLinear outputs).
int64_t macs_per_image(const Graph& g);

}  // namespace tinyptq::bench
