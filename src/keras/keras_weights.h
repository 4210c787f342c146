// The weights of a Keras HDF5 model. model_weights carries the attribute layer_names; each listed layer's
// group carries weight_names ("conv2d/kernel:0", ...), and each name is a dataset path under that group:
//   model_weights/<layer>/<weight_name>   e.g. model_weights/conv2d/conv2d/kernel:0
// Variables are addressed by their short name ("kernel", "bias", "gamma", "moving_mean", ...). Large name
// lists split by Keras into <attr>0, <attr>1, ... are joined.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "keras/h5_file.h"
#include "keras/model_config.h"

namespace tinyptq {

class KerasWeights {
 public:
  // Reads model_weights/layer_names; throws Error naming the file if the group or attribute is missing.
  explicit KerasWeights(const H5File& file);

  // Short names of the weights the file stores for a layer ({} for a layer without a weight group).
  std::vector<std::string> names(const KerasLayer& layer) const;
  bool has(const KerasLayer& layer, const std::string& var) const;
  // Reads one variable. Throws Error naming the layer if it is missing or its shape is not expected_shape
  // (`meaning` says where the expected shape comes from, e.g. "kernel_size, input channels, filters").
  Tensor read(const KerasLayer& layer, const std::string& var, const Shape& expected_shape,
              const std::string& meaning) const;
  // Throws Error naming the layer if it stores weights that were never read (config/weights disagree).
  void check_all_read(const KerasLayer& layer) const;

 private:
  const std::map<std::string, std::string>& layer_vars(const KerasLayer& layer) const;  // var → dataset
  const H5File& file_;
  std::set<std::string> layer_names_;
  mutable std::map<std::string, std::map<std::string, std::string>> vars_;  // cache per layer
  mutable std::map<std::string, std::set<std::string>> read_;
};

}  // namespace tinyptq
