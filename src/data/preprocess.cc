#include "data/preprocess.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace tinyptq {
namespace {

constexpr int kPlane = Dataset::kHeight * Dataset::kWidth;

float parse_number(const std::string& text, const std::string& spec) {
  auto parse_one = [&](std::string_view s) {
    float v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      throw Error("preprocess spec '" + spec + "': '" + text + "' is not a number");
    return v;
  };
  const size_t slash = text.find('/');
  const float v = slash == std::string::npos
                      ? parse_one(text)
                      : parse_one(std::string_view(text).substr(0, slash)) /
                            parse_one(std::string_view(text).substr(slash + 1));
  if (!std::isfinite(v)) throw Error("preprocess spec '" + spec + "': '" + text + "' is not finite");
  return v;
}

std::array<float, 3> channel_values(const std::vector<float>& v, const std::string& key, const std::string& spec) {
  if (v.size() == 1) return {v[0], v[0], v[0]};
  if (v.size() == 3) return {v[0], v[1], v[2]};
  throw Error("preprocess spec '" + spec + "': " + key + " takes 1 or 3 values, got " + std::to_string(v.size()));
}

// Per-channel lookup table: lut[c][pixel] = (pixel * scale - mean[c]) / std[c], evaluated exactly so.
using Lut = std::array<std::array<float, 256>, 3>;
Lut make_lut(const Preprocess& p) {
  Lut lut;
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[size_t(c)][size_t(v)] = (float(v) * p.scale - p.mean[size_t(c)]) / p.std[size_t(c)];
  return lut;
}

// One CHW uint8 image to 3 × 32 × 32 floats.
void convert_image(const uint8_t* img, Layout layout, const Lut& lut, float* out) {
  if (layout == Layout::kNCHW) {
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < kPlane; ++k) out[c * kPlane + k] = lut[size_t(c)][img[c * kPlane + k]];
  } else {
    for (int k = 0; k < kPlane; ++k)
      for (int c = 0; c < 3; ++c) out[k * 3 + c] = lut[size_t(c)][img[c * kPlane + k]];
  }
}

}  // namespace

const char* layout_name(Layout l) { return l == Layout::kNCHW ? "nchw" : "nhwc"; }

Layout parse_layout(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (lower == "nchw") return Layout::kNCHW;
  if (lower == "nhwc") return Layout::kNHWC;
  throw Error("unknown layout '" + name + "' (expected nchw or nhwc)");
}

Preprocess parse_preprocess(const std::string& spec) {
  Preprocess p;
  if (spec.empty() || spec == "raw") return p;
  if (spec == "unit" || spec == "imagenet") {
    p.scale = 1.0f / 255.0f;
    if (spec == "imagenet") {
      p.mean = {0.485f, 0.456f, 0.406f};
      p.std = {0.229f, 0.224f, 0.225f};
    }
    return p;
  }
  if (spec.find('=') == std::string::npos)
    throw Error("unknown preprocess '" + spec + "' (expected raw, unit, imagenet or scale=..,mean=..,std=..)");

  // Tokens split on ','; a token "key=value" starts a key, a bare token adds a value to the current key.
  std::vector<std::pair<std::string, std::vector<float>>> keys;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string token = spec.substr(start, end - start);
    const size_t eq = token.find('=');
    if (eq != std::string::npos) {
      const std::string key = token.substr(0, eq);
      if (key != "scale" && key != "mean" && key != "std")
        throw Error("preprocess spec '" + spec + "': unknown key '" + key + "' (expected scale, mean, std)");
      for (const auto& [k, v] : keys)
        if (k == key) throw Error("preprocess spec '" + spec + "': '" + key + "' given twice");
      keys.push_back({key, {parse_number(token.substr(eq + 1), spec)}});
    } else {
      if (keys.empty()) throw Error("preprocess spec '" + spec + "': value '" + token + "' before any key");
      keys.back().second.push_back(parse_number(token, spec));
    }
    start = end + 1;
  }
  for (const auto& [key, values] : keys) {
    if (key == "scale") {
      if (values.size() != 1) throw Error("preprocess spec '" + spec + "': scale takes one value");
      p.scale = values[0];
    } else if (key == "mean") {
      p.mean = channel_values(values, key, spec);
    } else {
      p.std = channel_values(values, key, spec);
      for (float s : p.std)
        if (!(s > 0)) throw Error("preprocess spec '" + spec + "': std values must be > 0");
    }
  }
  return p;
}

std::string preprocess_str(const Preprocess& p) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "scale=%.9g,mean=%.9g,%.9g,%.9g,std=%.9g,%.9g,%.9g", double(p.scale),
                double(p.mean[0]), double(p.mean[1]), double(p.mean[2]), double(p.std[0]), double(p.std[1]),
                double(p.std[2]));
  return buf;
}

void images_to_floats(const Dataset& d, int64_t first, int64_t n, Layout layout, const Preprocess& p, float* out) {
  if (first < 0 || n < 0 || first > d.count || n > d.count - first)
    throw Error("images [" + std::to_string(first) + ", " + std::to_string(first) + "+" + std::to_string(n) +
                ") out of range: dataset has " + std::to_string(d.count) + " images");
  const Lut lut = make_lut(p);
  for (int64_t k = 0; k < n; ++k) convert_image(d.image(first + k), layout, lut, out + k * Dataset::kImageBytes);
}

void images_to_floats(const Dataset& d, const std::vector<int64_t>& indices, Layout layout, const Preprocess& p,
                      float* out) {
  for (int64_t index : indices) d.image(index);  // throws on a bad index before anything is written
  const Lut lut = make_lut(p);
  for (size_t k = 0; k < indices.size(); ++k)
    convert_image(d.image(indices[k]), layout, lut, out + k * Dataset::kImageBytes);
}

}  // namespace tinyptq
