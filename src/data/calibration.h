// Calibration sample selection: a seeded, stratified sample of a CIFAR split (or of any
// DataSource), and the lockfile that pins it so every later run quantizes with exactly the same images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/cifar.h"
#include "data/data_source.h"

namespace tinyptq {

struct CalibrationSet {
  std::string dataset;           // "cifar10"
  std::string split;             // "train" / "test"
  uint64_t seed = 0;
  int per_class = 0;
  std::vector<int64_t> indices;  // image indices into the split, ascending
};

// per_class images of each class, drawn with std::mt19937_64(seed) raw outputs: for classes 0..9 in order,
// a partial Fisher–Yates shuffle of that class's indices (ascending) with unbiased bounded draws picks the
// first per_class. Identical on every platform. Error if per_class <= 0 or a class has too few images.
CalibrationSet stratified_sample(const Dataset& d, int per_class, uint64_t seed);

// {"schema_version":1,"dataset":..,"split":..,"seed":..,"per_class":..,"count":..,"indices":[..]}
std::string calibration_to_json(const CalibrationSet& c);
// Validates every field and type (schema_version 1, split train/test, per_class > 0, count == number of
// indices, indices non-negative and unique). Errors name `label` (usually the file path).
CalibrationSet calibration_from_json(const std::string& text, const std::string& label);
CalibrationSet load_calibration_lock(const std::string& path);
void save_calibration_lock(const CalibrationSet& c, const std::string& path);  // atomic write

// Error if an index is outside [0, d.count) or the set was drawn from another split.
void check_indices(const CalibrationSet& c, const Dataset& d);

// Any DataSource: with labels, per_class samples of each class 0..num_classes()-1 drawn as above (Error naming
// the data when a class has too few); without labels the whole source is one class and per_class samples are
// drawn from it (all of them when it holds fewer). split is recorded as "train".
CalibrationSet sample_source(const DataSource& s, int per_class, uint64_t seed, const std::string& dataset);
// Error if an index is outside [0, s.count()).
void check_indices(const CalibrationSet& c, const DataSource& s);

}  // namespace tinyptq
