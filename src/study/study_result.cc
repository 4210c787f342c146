#include "study/study_result.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace tinyptq {

nlohmann::ordered_json result_to_json(const ConfigResult& r, bool with_timing) {
  nlohmann::ordered_json j;
  j["name"] = r.name;
  j["group"] = r.group;
  j["label"] = r.label;
  j["variant"] = r.variant;
  j["layer"] = r.layer;
  j["preset"] = r.preset;
  j["recipe"] = r.recipe;
  j["wbits"] = r.wbits;
  j["abits"] = r.abits;
  j["act_type"] = r.act_type;
  j["weight_type"] = r.weight_type;
  j["weight_granularity"] = r.granularity;
  j["act_method"] = r.act_method;
  j["calibration"] = {{"images", r.calib_images}, {"seed", r.calib_seed}};
  j["correct"] = r.correct;
  j["total"] = r.total;
  j["accuracy"] = r.accuracy;
  j["delta_vs_fp32"] = r.delta;
  j["agreement_with_fp32"] = r.agreement;
  if (std::isfinite(r.sqnr_db))
    j["output_sqnr_db"] = r.sqnr_db;
  else
    j["output_sqnr_db"] = r.sqnr_db > 0 ? "inf" : "-inf";  // JSON has no infinity
  j["output_cosine"] = r.mean_cosine;
  j["per_class_accuracy"] = r.per_class_accuracy;
  j["per_class_delta"] = r.per_class_delta;
  j["flipped_images"] = r.flipped;
  j["flipped_predictions"] = r.flipped_predicted;
  j["model_bytes"] = r.model_bytes;
  j["size_reduction"] = r.size_reduction;
  j["packed_weight_bytes"] = r.packed_weight_bytes;
  auto layers = nlohmann::ordered_json::array();
  for (const auto& l : r.layers)
    layers.push_back({{"node", l.node}, {"op", l.op}, {"output", l.value}, {"wbits", l.wbits}, {"abits", l.abits},
                      {"weight_granularity", l.weight_granularity}, {"range", {l.min, l.max}}, {"scale", l.scale},
                      {"zero_point", l.zero_point}, {"sqnr_db", l.sqnr_db}});
  j["layers"] = layers;
  if (with_timing) j["timing"] = {{"quantize_seconds", r.quantize_seconds}, {"images_per_second", r.images_per_second}};
  return j;
}

ConfigResult result_from_json(const nlohmann::json& j) {
  try {
    ConfigResult r;
    r.name = j.at("name");
    r.group = j.at("group");
    r.label = j.at("label");
    r.variant = j.at("variant");
    r.layer = j.at("layer");
    r.preset = j.at("preset");
    r.recipe = j.at("recipe");
    r.wbits = j.at("wbits");
    r.abits = j.at("abits");
    r.act_type = j.at("act_type");
    r.weight_type = j.at("weight_type");
    r.granularity = j.at("weight_granularity");
    r.act_method = j.at("act_method");
    r.calib_images = j.at("calibration").at("images");
    r.calib_seed = j.at("calibration").at("seed");
    r.correct = j.at("correct");
    r.total = j.at("total");
    r.accuracy = j.at("accuracy");
    r.delta = j.at("delta_vs_fp32");
    r.agreement = j.at("agreement_with_fp32");
    const auto& sq = j.at("output_sqnr_db");
    r.sqnr_db = sq.is_string() ? (sq.get<std::string>() == "inf" ? 1.0 : -1.0) * std::numeric_limits<double>::infinity()
                               : sq.get<double>();
    r.mean_cosine = j.at("output_cosine");
    r.per_class_accuracy = j.at("per_class_accuracy").get<std::vector<double>>();
    r.per_class_delta = j.at("per_class_delta").get<std::vector<double>>();
    r.flipped = j.at("flipped_images").get<std::vector<int64_t>>();
    r.flipped_predicted = j.at("flipped_predictions").get<std::vector<int>>();
    if (r.flipped_predicted.size() != r.flipped.size()) throw Error("malformed study result: flipped_predictions size");
    r.model_bytes = j.at("model_bytes");
    r.size_reduction = j.at("size_reduction");
    r.packed_weight_bytes = j.at("packed_weight_bytes");
    for (const auto& l : j.at("layers")) {
      LayerReport lr;
      lr.node = l.at("node");
      lr.op = l.at("op");
      lr.value = l.at("output");
      lr.wbits = l.at("wbits");
      lr.abits = l.at("abits");
      lr.weight_granularity = l.at("weight_granularity");
      lr.min = l.at("range").at(0);
      lr.max = l.at("range").at(1);
      lr.scale = l.at("scale");
      lr.zero_point = l.at("zero_point");
      lr.sqnr_db = l.at("sqnr_db");
      r.layers.push_back(lr);
    }
    if (j.contains("timing")) {
      r.quantize_seconds = j["timing"].at("quantize_seconds");
      r.images_per_second = j["timing"].at("images_per_second");
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed study result: ") + e.what());
  }
}

}  // namespace tinyptq
