// Models and data the tests build themselves (seeded, so every run sees the same bytes).
#pragma once
#include <cstdint>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/cifar.h"
#include "ir/graph.h"

namespace tinyptq::testing {

// A Dense autoencoder shaped like MLPerf Tiny anomaly detection: 640 → 128 → 128 → 128 → 128 → 8 → 128 → 128 →
// 128 → 128 → 640, each hidden Dense (Gemm) followed by a 1-D BatchNormalization and ReLU; He-scaled normal
// weights from std::mt19937(seed). Input and output [N, 640].
constexpr int64_t kAutoencoderFeatures = 640;
Graph autoencoder_model(uint32_t seed);

// n log-mel-like frames [n, 640]: a few smooth spectral shapes mixed per sample with bounded weights, plus noise.
Tensor autoencoder_frames(int64_t n, uint32_t seed);

// CIFAR-10 images d[indices] as 8-bit RGB PNGs DIR/<class>/<index, 5 digits>.png, each pixel repeated
// scale × scale (nearest upscaling); <class> is the class name, or "<label>_<name>" with numbered_classes.
void write_cifar_png_folder(const Dataset& d, const std::vector<int64_t>& indices, const std::string& dir,
                            int scale = 1, bool numbered_classes = false);

// A float tensor of the given shape, uniform in [lo, hi) from rng.
Tensor random_tensor(std::mt19937& rng, const Shape& shape, float lo, float hi);

// max |a[i] − b[i]| over the float elements (and a test failure if the shapes differ).
double max_abs_diff(const Tensor& a, const Tensor& b);

// The message of the tinyptq::Error that fn throws, "" if it throws none.
std::string error_of(const std::function<void()>& fn);

}  // namespace tinyptq::testing
