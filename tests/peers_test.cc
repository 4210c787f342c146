// The `ort-*` presets against the models ONNX Runtime's own quantize_static made of the same ResNet8
// (../shared/peers): quantization parameters compared layer by layer.
//  * Weights do not depend on calibration data: every scale within 1e-5 (relative), zero points equal.
//  * Activations depend on the calibration images. The peers drew their 1,000 images (100 per class) with
//    another RNG, so the test calibrates with kSeeds seeds of ours and asks the peer's scale and zero point
//    to lie inside the range ours span (widened by kActScaleMargin / kActZpMargin): the peer is then one
//    more draw of the same procedure. Which activations share parameters (pooling, Flatten) must match.
// The table of differences is printed, so the test output is the layer-by-layer comparison.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "data/calibration.h"
#include "eval/evaluate.h"
#include "eval/model_io.h"
#include "onnx/onnx_reader.h"
#include "quant/quantizer.h"
#include "test_util.h"

namespace tinyptq {
namespace {

constexpr double kWeightScaleTol = 1e-5;
constexpr int kSeeds = 5;
// Measured (docs/presets.md, "Against the peer files"): every peer activation scale lies within 1.5 % of
// the span of ours over 5 seeds (activation_1 is the one outside it, 1.5 % below). Zero points match on
// every ReLU output; on the three pre-Add convolution outputs (batch_normalization_2/4/6) the peer's sit
// 1, 4 and 9 codes below our span, always on the same side: a systematic shift of those ranges we have not
// explained. The margins cover that and nothing more.
constexpr double kActScaleMargin = 0.02;
constexpr int kActZpMargin = 10;

struct QP {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  std::string param_name;  // the scale initializer's name: equal names = shared parameters
};

struct Conv {
  Shape shape;                // weight shape
  std::vector<float> weight;  // dequantized
  QP w;
};

struct Params {
  std::map<std::string, QP> acts;  // quantized value name → its parameters
  std::vector<Conv> weights;       // Conv/Gemm weights, graph order
};

QP qparams_of(const Graph& g, const Node& qdq) {
  QP p;
  p.scale = g.initializer(qdq.inputs[1])->f;
  p.zero_point = g.initializer(qdq.inputs[2])->i;
  p.param_name = qdq.inputs[1];
  return p;
}

// Names differ between the converters only at the ends of the graph.
std::string canonical(const std::string& v) {
  if (v == "input_1/nchw") return "input_1";
  if (v == "dense/Gemm") return "dense_logits";
  return v;
}

Params params_of(const Graph& g) {
  Params out;
  for (const Node& n : g.nodes) {
    if (n.op == Op::kQuantizeLinear) out.acts[canonical(n.inputs[0])] = qparams_of(g, n);
    if (n.op != Op::kConv && n.op != Op::kGemm) continue;
    const int dq = g.producer(n.inputs[1]);
    if (dq < 0 || g.nodes[dq].op != Op::kDequantizeLinear) continue;
    const Node& d = g.nodes[dq];
    const Tensor& q = *g.initializer(d.inputs[0]);
    Conv c;
    c.w = qparams_of(g, d);
    c.shape = q.shape;
    const int64_t channels = int64_t(c.w.scale.size());
    const int64_t inner = q.size() / (channels ? channels : 1);
    c.weight.resize(q.i.size());
    for (size_t k = 0; k < q.i.size(); ++k) {
      const int64_t ch = channels == 1 ? 0 : int64_t(k) / inner;
      c.weight[k] = float(q.i[k] - c.w.zero_point[ch]) * c.w.scale[ch];
    }
    if (n.op == Op::kGemm && !n.attrs.trans_b) {  // store Gemm weights as [out, in] like transB=1
      std::vector<float> t(c.weight.size());
      for (int64_t i = 0; i < c.shape[0]; ++i)
        for (int64_t o = 0; o < c.shape[1]; ++o) t[o * c.shape[0] + i] = c.weight[i * c.shape[1] + o];
      c.weight = t;
      std::swap(c.shape[0], c.shape[1]);
    }
    out.weights.push_back(c);
  }
  return out;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(a), std::abs(b)); }

// The peer's weight closest to ours (same shape, least max |difference| of the dequantized values).
const Conv* match(const Conv& ours, const std::vector<Conv>& peers) {
  const Conv* best = nullptr;
  double best_d = INFINITY;
  for (const Conv& p : peers) {
    if (p.shape != ours.shape) continue;
    double d = 0;
    for (size_t k = 0; k < p.weight.size(); ++k) d = std::max(d, double(std::abs(p.weight[k] - ours.weight[k])));
    if (d < best_d) best_d = d, best = &p;
  }
  return best;
}

struct Case {
  const char* peer_file;
  const char* preset;
  bool per_channel_s8_weights;  // ort-uint8 --per-channel --weight-type int8
};

// One preset, calibrated on 100 images per class drawn with `seed`.
Graph quantize_preset(const Case& c, uint64_t seed) {
  static Graph model = load_model(testing::resnet8_h5());
  static Dataset train = load_cifar10(testing::cifar_dir(), Split::kTrain);
  Calibration calib(model, image_batch(train, stratified_sample(train, 100, seed).indices, Layout::kNHWC, {}));
  QuantRecipe r = preset_recipe(c.preset);
  if (c.per_channel_s8_weights) {
    r.per_channel = true;
    r.weight_type = Container::kInt8;
    r.weight_symmetric = true;
  }
  QuantizeOptions qo;
  qo.sqnr_images = 0;
  return quantize(calib, r, qo).model.graph;
}

bool same_params(const QP& a, const QP& b) { return a.scale == b.scale && a.zero_point == b.zero_point; }

class PeerParams : public ::testing::TestWithParam<Case> {};

TEST_P(PeerParams, MatchOnnxRuntimeLayerByLayer) {
  const Case& c = GetParam();
  const Params peer = params_of(load_onnx(testing::shared_dir() + "/peers/" + c.peer_file));
  std::vector<Params> ours;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) ours.push_back(params_of(quantize_preset(c, seed)));

  std::printf("%s vs %s; ours over calibration seeds 0..%d\n%-24s %11s %23s %9s %9s\n", c.preset, c.peer_file,
              kSeeds - 1, "activation", "peer scale", "our scales (min..max)", "peer zp", "our zps");
  for (const auto& [name, p] : peer.acts) {
    if (name == "output_QuantizeLinear_Input") continue;  // ORT also quantizes the Softmax output; we keep it float
    double lo = INFINITY, hi = 0;
    int64_t zlo = INT64_MAX, zhi = INT64_MIN;
    for (const Params& o : ours) {
      auto it = o.acts.find(name);
      ASSERT_NE(it, o.acts.end()) << "peer quantizes '" << name << "', we do not";
      ASSERT_EQ(it->second.scale.size(), 1u);
      lo = std::min(lo, double(it->second.scale[0])), hi = std::max(hi, double(it->second.scale[0]));
      zlo = std::min(zlo, it->second.zero_point[0]), zhi = std::max(zhi, it->second.zero_point[0]);
    }
    ASSERT_EQ(p.scale.size(), 1u);
    std::printf("%-24s %11.6g %11.6g..%-11.6g %9lld %4lld..%-4lld\n", name.c_str(), p.scale[0], lo, hi,
                (long long)p.zero_point[0], (long long)zlo, (long long)zhi);
    EXPECT_GE(p.scale[0], lo * (1 - kActScaleMargin)) << name;
    EXPECT_LE(p.scale[0], hi * (1 + kActScaleMargin)) << name;
    EXPECT_GE(p.zero_point[0], zlo - kActZpMargin) << name;
    EXPECT_LE(p.zero_point[0], zhi + kActZpMargin) << name;
  }
  // Sharing: two values with one parameter set in the peer have one here too, and vice versa.
  for (const auto& [a, pa] : peer.acts)
    for (const auto& [b, pb] : peer.acts) {
      if (a >= b || !ours[0].acts.count(a) || !ours[0].acts.count(b)) continue;
      EXPECT_EQ(same_params(pa, pb), same_params(ours[0].acts.at(a), ours[0].acts.at(b)))
          << a << " and " << b << (same_params(pa, pb) ? " share" : " do not share") << " parameters in the peer";
    }

  ASSERT_EQ(ours[0].weights.size(), peer.weights.size());
  for (const Conv& o : ours[0].weights) {
    const Conv* p = match(o, peer.weights);
    ASSERT_NE(p, nullptr) << "no peer weight of shape " << shape_str(o.shape);
    ASSERT_EQ(p->w.scale.size(), o.w.scale.size()) << shape_str(o.shape);
    for (size_t k = 0; k < o.w.scale.size(); ++k) {
      EXPECT_LE(rel(p->w.scale[k], o.w.scale[k]), kWeightScaleTol) << shape_str(o.shape) << " channel " << k;
      EXPECT_EQ(p->w.zero_point[k], o.w.zero_point[k]) << shape_str(o.shape) << " channel " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Peers, PeerParams,
                         ::testing::Values(Case{"ort_int8_minmax_pt.onnx", "ort-int8", false},
                                           Case{"ort_uint8_minmax_pt.onnx", "ort-uint8", false},
                                           Case{"ort_u8s8_minmax_pc.onnx", "ort-uint8", true}),
                         [](const auto& info) { return std::string(info.param.preset == std::string("ort-int8") ? "OrtInt8" : info.param.per_channel_s8_weights ? "OrtU8S8PerChannel" : "OrtUint8"); });

}  // namespace
}  // namespace tinyptq
