// The study's low-bit ablation (study/ablation.h): each step adds exactly one method to the previous
// one, and the results come back as the table, results.json "ablation", REPORT.md and the chart.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "study/ablation.h"
#include "study/study_output.h"

namespace tinyptq {
namespace {

// What a step may change relative to the previous one.
int changes(const QuantRecipe& a, const QuantRecipe& b) {
  return int(a.per_channel != b.per_channel) + int(a.weight_method != b.weight_method) +
         int(a.cross_layer_equalization != b.cross_layer_equalization) + int(a.bias_correction != b.bias_correction) +
         int(a.adaround != b.adaround);
}

TEST(Ablation, EachStepAddsOneMethodAndKeepsTheActivations) {
  for (const auto& [w, a] : {std::pair{8, 8}, std::pair{6, 8}, std::pair{4, 8}, std::pair{4, 4}}) {
    const QuantRecipe naive = ablation_recipe(0, w, a, false);
    EXPECT_FALSE(naive.per_channel);
    EXPECT_EQ(naive.weight_method, Method::kMinMax);
    EXPECT_FALSE(naive.adaround || naive.bias_correction || naive.cross_layer_equalization);
    QuantRecipe prev = naive;
    for (size_t s = 1; s < ablation_steps().size(); ++s) {
      const QuantRecipe r = ablation_recipe(s, w, a, false);
      EXPECT_EQ(changes(prev, r), 1) << ablation_steps()[s].key << " W" << w << "A" << a;
      EXPECT_EQ(r.wbits, w);
      EXPECT_EQ(r.abits, a);
      EXPECT_EQ(r.act_method, naive.act_method);
      EXPECT_EQ(r.act_ranges, naive.act_ranges);
      EXPECT_EQ(r.output_abits, naive.output_abits);
      prev = r;
    }
    EXPECT_TRUE(prev.adaround && prev.bias_correction && prev.cross_layer_equalization && prev.per_channel);
    // The activations are those of `best` at this width (8-bit logits at A4).
    EXPECT_EQ(naive.output_abits, preset_recipe("best", w, a).output_abits);
    EXPECT_EQ(naive.act_ranges, preset_recipe("best", w, a).act_ranges);
  }
  EXPECT_EQ(ablation_recipe(4, 4, 4, false).output_abits, 8);
  EXPECT_LT(ablation_recipe(5, 4, 8, true).adaround_iterations, ablation_recipe(5, 4, 8, false).adaround_iterations);
}

TEST(Ablation, ConfigsCoverEveryStepAndWidthWithUniqueNames) {
  const auto configs = ablation_configs(StudyOptions{});
  EXPECT_EQ(configs.size(), 4 * ablation_steps().size());
  std::set<std::string> names;
  for (const auto& c : configs) {
    EXPECT_EQ(c.group, "ablation");
    EXPECT_EQ(c.recipe.wbits, c.wbits);
    EXPECT_EQ(c.recipe.abits, c.abits);
    names.insert(c.name);
  }
  EXPECT_EQ(names.size(), configs.size());
  StudyOptions quick;
  quick.quick = true;
  const auto fast = ablation_configs(quick);
  EXPECT_EQ(fast.size(), 2 * ablation_steps().size());
  for (const auto& c : fast) {
    EXPECT_EQ(c.wbits, 4);
    EXPECT_EQ(c.calib_per_class, 25);
    EXPECT_NE(c.recipe.act_ranges, ActRanges::kOutputAware);
  }
}

StudyResults fake_results() {
  StudyResults r;
  r.fp32.accuracy = 88.1;
  double acc = 50;
  for (const auto& c : ablation_configs(StudyOptions{})) {
    if (c.wbits == 6) continue;  // a width the study did not run
    ConfigResult res;
    res.name = c.name;
    res.group = c.group;
    res.variant = c.variant;
    res.wbits = c.wbits;
    res.abits = c.abits;
    res.accuracy = acc;
    res.agreement = acc + 1;
    acc += 1.25;
    r.configs.push_back(res);
  }
  ConfigResult other;
  other.group = "bits";
  other.variant = "naive";
  r.configs.push_back(other);
  return r;
}

TEST(Ablation, RowsJsonMarkdownAndChart) {
  const StudyResults r = fake_results();
  const auto rows = ablation_rows(r);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].wbits, 8);
  EXPECT_EQ(rows[2].abits, 4);
  EXPECT_DOUBLE_EQ(rows[0].accuracy[0], 50.0);
  EXPECT_DOUBLE_EQ(rows[0].accuracy[5], 56.25);
  EXPECT_DOUBLE_EQ(rows[1].agreement[1], 59.75);  // W4A8 per-channel: 58.75 + 1

  const auto j = ablation_json(r);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[1]["wbits"], 4);
  EXPECT_EQ(j[1]["steps"].size(), ablation_steps().size());
  EXPECT_EQ(j[1]["steps"][0]["step"], "naive");
  EXPECT_DOUBLE_EQ(j[1]["steps"][0]["accuracy"].get<double>(), 57.5);

  const std::string md = ablation_markdown(r);
  EXPECT_NE(md.find("## Ablation"), std::string::npos);
  EXPECT_NE(md.find("| W4A4"), std::string::npos);
  EXPECT_NE(md.find("56.25 / 57.25"), std::string::npos);
  EXPECT_EQ(md.find("W6A8"), std::string::npos);

  const std::string svg = ablation_svg(r);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t bars = 0;
  for (size_t p = svg.find("class=\"bar\""); p != std::string::npos; p = svg.find("class=\"bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 3 * ablation_steps().size());

  // Wired into the study outputs.
  EXPECT_NE(study_json(r).find("\"ablation\""), std::string::npos);
  EXPECT_NE(study_markdown(r).find("## Ablation"), std::string::npos);
  EXPECT_NE(study_html(r).find("Ablation: accuracy"), std::string::npos);
}

TEST(Ablation, NoAblationNoSection) {
  StudyResults r;
  EXPECT_TRUE(ablation_rows(r).empty());
  EXPECT_TRUE(ablation_json(r).empty());
  EXPECT_EQ(ablation_markdown(r), "");
  EXPECT_EQ(ablation_svg(r), "");
}

}  // namespace
}  // namespace tinyptq
