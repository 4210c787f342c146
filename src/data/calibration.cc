#include "data/calibration.h"

#include <algorithm>
#include <climits>
#include <random>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace tinyptq {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kIndicesPerLine = 16;

// Uniform in [0, n), n > 0: rejects raw draws below 2^64 mod n, so the accepted range is a multiple of n.
uint64_t bounded_draw(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

using Json = nlohmann::json;

const Json& field(const Json& root, const char* name, const std::string& label) {
  auto it = root.find(name);
  if (it == root.end()) throw Error(label + ": calibration lock is missing \"" + name + "\"");
  return *it;
}

// A JSON integer in [lo, hi]; floats, strings and out-of-range values are errors.
int64_t integer_field(const Json& v, const std::string& what, int64_t lo, int64_t hi, const std::string& label) {
  bool ok = v.is_number_integer();
  int64_t x = 0;
  if (ok && v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    ok = u <= uint64_t(INT64_MAX);
    x = int64_t(u);
  } else if (ok) {
    x = v.get<int64_t>();
  }
  if (!ok || x < lo || x > hi)
    throw Error(label + ": " + what + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "], got " + v.dump().substr(0, 40));
  return x;
}

std::string string_field(const Json& root, const char* name, const std::string& label) {
  const Json& v = field(root, name, label);
  if (!v.is_string() || v.get<std::string>().empty())
    throw Error(label + ": \"" + name + "\" must be a non-empty string");
  return v.get<std::string>();
}

}  // namespace

CalibrationSet stratified_sample(const Dataset& d, int per_class, uint64_t seed) {
  if (per_class <= 0) throw Error("calibration: images per class must be > 0, got " + std::to_string(per_class));
  if (d.labels.size() < size_t(d.count)) throw Error("calibration: dataset has fewer labels than images");
  std::vector<std::vector<int64_t>> by_class(Dataset::kNumClasses);
  for (int64_t k = 0; k < d.count; ++k) {
    const uint8_t label = d.labels[size_t(k)];
    if (label >= Dataset::kNumClasses) throw Error("calibration: image " + std::to_string(k) + " has label " +
                                                   std::to_string(label));
    by_class[label].push_back(k);
  }
  CalibrationSet c{"cifar10", split_name(d.split), seed, per_class, {}};
  std::mt19937_64 rng(seed);
  for (int cls = 0; cls < Dataset::kNumClasses; ++cls) {
    std::vector<int64_t>& pool = by_class[size_t(cls)];
    if (pool.size() < size_t(per_class)) {
      const std::string name = size_t(cls) < d.class_names.size() ? " (" + d.class_names[size_t(cls)] + ")" : "";
      throw Error("calibration: class " + std::to_string(cls) + name + " has only " + std::to_string(pool.size()) +
                  " images in the " + split_name(d.split) + " split, " + std::to_string(per_class) + " needed");
    }
    // Partial Fisher–Yates: positions [0, per_class) end up a uniform sample of the pool.
    for (size_t i = 0; i < size_t(per_class); ++i) {
      const size_t j = i + size_t(bounded_draw(rng, pool.size() - i));
      std::swap(pool[i], pool[j]);
    }
    c.indices.insert(c.indices.end(), pool.begin(), pool.begin() + per_class);
  }
  std::sort(c.indices.begin(), c.indices.end());
  return c;
}

std::string calibration_to_json(const CalibrationSet& c) {
  std::string s = "{\n";
  s += "  \"schema_version\": " + std::to_string(kSchemaVersion) + ",\n";
  s += "  \"dataset\": " + Json(c.dataset).dump() + ",\n";
  s += "  \"split\": " + Json(c.split).dump() + ",\n";
  s += "  \"seed\": " + std::to_string(c.seed) + ",\n";
  s += "  \"per_class\": " + std::to_string(c.per_class) + ",\n";
  s += "  \"count\": " + std::to_string(c.indices.size()) + ",\n";
  s += "  \"indices\": [";
  for (size_t k = 0; k < c.indices.size(); ++k) {
    if (k > 0) s += ",";
    s += k % kIndicesPerLine == 0 ? "\n    " : " ";
    s += std::to_string(c.indices[k]);
  }
  s += c.indices.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return s;
}

CalibrationSet calibration_from_json(const std::string& text, const std::string& label) {
  Json root;
  try {
    // Nesting is bounded while parsing: printing a deeper value in an error message would recurse.
    constexpr int kMaxDepth = 16;
    root = Json::parse(text, [&](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxDepth)
        throw Error(label + ": calibration lock nests deeper than " + std::to_string(kMaxDepth) + " levels");
      return true;
    });
  } catch (const Json::exception& e) {
    throw Error(label + ": calibration lock is not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw Error(label + ": calibration lock must be a JSON object");
  const int64_t version = integer_field(field(root, "schema_version", label), "schema_version", 0, INT_MAX, label);
  if (version != kSchemaVersion)
    throw Error(label + ": unsupported calibration lock schema_version " + std::to_string(version) + " (expected " +
                std::to_string(kSchemaVersion) + ")");
  CalibrationSet c;
  c.dataset = string_field(root, "dataset", label);
  c.split = string_field(root, "split", label);
  if (c.split != "train" && c.split != "test")
    throw Error(label + ": \"split\" must be \"train\" or \"test\", got \"" + c.split.substr(0, 40) + "\"");
  const Json& seed = field(root, "seed", label);
  if (!seed.is_number_unsigned()) throw Error(label + ": seed must be a non-negative integer");
  c.seed = seed.get<uint64_t>();
  c.per_class = int(integer_field(field(root, "per_class", label), "per_class", 1, INT_MAX, label));
  const int64_t count = integer_field(field(root, "count", label), "count", 0, INT64_MAX, label);
  const Json& indices = field(root, "indices", label);
  if (!indices.is_array()) throw Error(label + ": indices must be an array");
  if (count != int64_t(indices.size()))
    throw Error(label + ": count is " + std::to_string(count) + " but indices has " +
                std::to_string(indices.size()) + " entries");
  c.indices.reserve(indices.size());
  std::unordered_set<int64_t> seen;
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t index = integer_field(indices[k], "indices[" + std::to_string(k) + "]", 0, INT64_MAX, label);
    if (!seen.insert(index).second) throw Error(label + ": index " + std::to_string(index) + " appears twice");
    c.indices.push_back(index);
  }
  return c;
}

CalibrationSet load_calibration_lock(const std::string& path) {
  return calibration_from_json(read_file(path), path);
}

void save_calibration_lock(const CalibrationSet& c, const std::string& path) {
  write_file_atomic(path, calibration_to_json(c));
}

void check_indices(const CalibrationSet& c, const Dataset& d) {
  if (!c.split.empty() && c.split != split_name(d.split))
    throw Error("calibration set was drawn from the " + c.split + " split, but the dataset is the " +
                split_name(d.split) + " split");
  for (int64_t index : c.indices)
    if (index < 0 || index >= d.count)
      throw Error("calibration index " + std::to_string(index) + " out of range: the " + split_name(d.split) +
                  " split of '" + d.source + "' has " + std::to_string(d.count) + " images");
}

}  // namespace tinyptq

namespace tinyptq {

CalibrationSet sample_source(const DataSource& s, int per_class, uint64_t seed, const std::string& dataset) {
  if (per_class <= 0) throw Error("calibration: samples per class must be > 0, got " + std::to_string(per_class));
  const std::vector<int>& labels = s.labels();
  const int classes = labels.empty() ? 1 : s.num_classes();
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
  for (int64_t k = 0; k < s.count(); ++k) by_class[labels.empty() ? 0 : size_t(labels[size_t(k)])].push_back(k);
  CalibrationSet c{dataset, "train", seed, per_class, {}};
  std::mt19937_64 rng(seed);
  for (int cls = 0; cls < classes; ++cls) {
    std::vector<int64_t>& pool = by_class[size_t(cls)];
    if (!labels.empty() && pool.size() < size_t(per_class))
      throw Error(s.path() + ": calibration needs " + std::to_string(per_class) + " samples of class " +
                  std::to_string(cls) + ", the data has " + std::to_string(pool.size()));
    const size_t take = std::min(pool.size(), size_t(per_class));
    for (size_t i = 0; i < take; ++i) std::swap(pool[i], pool[i + size_t(bounded_draw(rng, pool.size() - i))]);
    c.indices.insert(c.indices.end(), pool.begin(), pool.begin() + int64_t(take));
  }
  std::sort(c.indices.begin(), c.indices.end());
  return c;
}

void check_indices(const CalibrationSet& c, const DataSource& s) {
  for (int64_t index : c.indices)
    if (index < 0 || index >= s.count())
      throw Error("calibration index " + std::to_string(index) + " out of range: '" + s.path() + "' has " +
                  std::to_string(s.count()) + " samples");
}

}  // namespace tinyptq
