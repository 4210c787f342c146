#include "model_fixtures.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "data/image_encode.h"
#include "test_util.h"

namespace tinyptq::testing {


Graph autoencoder_model(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  Graph g;
  g.name = "autoencoder";
  g.inputs = {{"input", DType::kFloat32, {-1, kAutoencoderFeatures}}};
  const std::vector<int64_t> widths = {kAutoencoderFeatures, 128, 128, 128, 128, 8, 128, 128, 128, 128, kAutoencoderFeatures};
  std::string x = "input";
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const int64_t in = widths[l], out = widths[l + 1];
    const std::string n = "dense" + std::to_string(l);
    std::vector<float> w(static_cast<size_t>(in * out)), b(static_cast<size_t>(out));
    const double he = std::sqrt(2.0 / double(in));
    for (auto& v : w) v = float(normal(rng) * he);
    for (auto& v : b) v = float(0.05 * normal(rng));
    g.initializers[n + "/kernel"] = Tensor::from_floats({out, in}, std::move(w));
    g.initializers[n + "/bias"] = Tensor::from_floats({out}, std::move(b));
    Node gemm{Op::kGemm, n, {x, n + "/kernel", n + "/bias"}, {n + "_out"}, Attrs{}};
    gemm.attrs.trans_b = true;
    g.nodes.push_back(gemm);
    x = n + "_out";
    if (l + 2 == widths.size()) break;  // the last Dense has no BatchNorm / ReLU
    const size_t channels = static_cast<size_t>(out);
    std::vector<float> gamma(channels), beta(channels), mean(channels), var(channels);
    for (int64_t c = 0; c < out; ++c) {
      gamma[size_t(c)] = float(0.5 + uni(rng));
      beta[size_t(c)] = float(0.1 * normal(rng));
      mean[size_t(c)] = float(0.2 * normal(rng));
      var[size_t(c)] = float(0.5 + 1.5 * uni(rng));
    }
    const std::string bn = n + "_bn";
    g.initializers[bn + "/gamma"] = Tensor::from_floats({out}, std::move(gamma));
    g.initializers[bn + "/beta"] = Tensor::from_floats({out}, std::move(beta));
    g.initializers[bn + "/mean"] = Tensor::from_floats({out}, std::move(mean));
    g.initializers[bn + "/var"] = Tensor::from_floats({out}, std::move(var));
    g.nodes.push_back({Op::kBatchNormalization, bn,
                       {x, bn + "/gamma", bn + "/beta", bn + "/mean", bn + "/var"}, {bn + "_out"}, Attrs{}});
    g.nodes.push_back({Op::kRelu, n + "_relu", {bn + "_out"}, {n + "_relu_out"}, Attrs{}});
    x = n + "_relu_out";
  }
  g.outputs = {{x, DType::kFloat32, {-1, kAutoencoderFeatures}}};
  g.validate_and_sort();
  return g;
}

// Log-mel-like frames (bounded, normalized features): a few smooth spectral shapes mixed per sample with
// bounded weights, plus noise.
Tensor autoencoder_frames(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> mix(-1.5, 1.5);
  std::vector<float> v(static_cast<size_t>(n * kAutoencoderFeatures));
  for (int64_t i = 0; i < n; ++i) {
    const double a = mix(rng), b = mix(rng), c = mix(rng);
    for (int64_t f = 0; f < kAutoencoderFeatures; ++f) {
      const double t = double(f % 128) / 128.0;
      v[size_t(i * kAutoencoderFeatures + f)] =
          float(a * std::sin(3.0 * t) + b * std::cos(7.0 * t) + c * t + 0.3 * normal(rng));
    }
  }
  return Tensor::from_floats({n, kAutoencoderFeatures}, std::move(v));
}

void write_cifar_png_folder(const Dataset& d, const std::vector<int64_t>& indices, const std::string& dir, int scale,
                            bool numbered_classes) {
  const int s = 32 * scale;
  PngSpec spec;
  spec.height = spec.width = s;
  for (int64_t k : indices) {
    const uint8_t* chw = d.image(k);
    std::vector<uint16_t> hwc(size_t(s * s * 3));
    for (int y = 0; y < s; ++y)
      for (int x = 0; x < s; ++x)
        for (int ch = 0; ch < 3; ++ch) hwc[size_t((y * s + x) * 3 + ch)] = chw[ch * 1024 + (y / scale) * 32 + x / scale];
    const int label = d.labels[size_t(k)];
    const std::string cls = dir + "/" + (numbered_classes ? std::to_string(label) + "_" : std::string()) +
                            d.class_names[size_t(label)];
    std::filesystem::create_directories(cls);
    char name[32];
    std::snprintf(name, sizeof name, "/%05lld.png", static_cast<long long>(k));
    write_bytes(cls + name, encode_png(spec, hwc));
  }
}

Tensor random_tensor(std::mt19937& rng, const Shape& shape, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size_t(num_elements(shape)));
  for (auto& x : v) x = dist(rng);
  return Tensor::from_floats(shape, std::move(v));
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  double worst = 0;
  for (size_t i = 0; i < a.f.size() && i < b.f.size(); ++i)
    worst = std::max(worst, std::abs(double(a.f[i]) - double(b.f[i])));
  return worst;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace tinyptq::testing
