#include "quant/adaround/rounding.h"

#include <algorithm>
#include <cmath>

namespace tinyptq::adaround {

namespace {

constexpr float kZeta = 1.1f, kGamma = -0.1f;
constexpr double kAdamBeta1 = 0.9, kAdamBeta2 = 0.999, kAdamEps = 1e-8;

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

double RoundingSchedule::reg_at(int t) const {
  return t < int(warmup * iterations) ? 0.0 : reg;
}

double RoundingSchedule::beta_at(int t) const {
  const int start = int(warmup * iterations);
  if (t < start || iterations <= start) return beta_start;
  const double rel = double(t - start) / double(iterations - start);
  return beta_end + (beta_start - beta_end) * std::max(0.0, 1.0 - rel);
}

float rectified_sigmoid(float v) { return std::clamp(sigmoid(v) * (kZeta - kGamma) + kGamma, 0.0f, 1.0f); }

float rectified_sigmoid_inverse(float f) {
  const float p = (std::clamp(f, 0.0f, 1.0f) - kGamma) / (kZeta - kGamma);  // in [1/12, 11/12]
  return std::log(p / (1.0f - p));
}

RoundingBlock::RoundingBlock(const float* w, int64_t rows, int64_t k, const float* scale,
                             const int32_t* zero_point, int32_t lo, int32_t hi)
    : rows_(rows), k_(k), scale_(scale, scale + rows), zero_point_(zero_point, zero_point + rows), qlo_(lo),
      qhi_(hi) {
  const size_t n = size_t(rows * k);
  floor_.resize(n);
  v_.resize(n);
  m_.assign(n, 0.0f);
  s_.assign(n, 0.0f);
  lo_.resize(size_t(rows));
  hi_.resize(size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    lo_[r] = float(lo - zero_point_[r]);
    hi_[r] = float(hi - zero_point_[r]);
    for (int64_t j = 0; j < k; ++j) {
      const size_t i = size_t(r * k + j);
      // Clamp first so that saturated weights start (and stay) at the edge code.
      const float x = std::clamp(w[i] / scale_[r], lo_[r], hi_[r]);
      const float f = std::floor(x);
      floor_[i] = f;
      v_[i] = rectified_sigmoid_inverse(x - f);
    }
  }
}

void RoundingBlock::soft_weights(float* out) {
  sigmoid_.resize(v_.size());
  for (int64_t r = 0; r < rows_; ++r) {
    const float s = scale_[r], lo = lo_[r], hi = hi_[r];
    for (int64_t j = 0; j < k_; ++j) {
      const size_t i = size_t(r * k_ + j);
      const float sg = sigmoid(v_[i]);
      sigmoid_[i] = sg;
      out[i] = s * std::clamp(floor_[i] + std::clamp(sg * (kZeta - kGamma) + kGamma, 0.0f, 1.0f), lo, hi);
    }
  }
  sigmoid_fresh_ = true;
}

std::vector<int64_t> RoundingBlock::codes() const {
  std::vector<int64_t> q(floor_.size());
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t j = 0; j < k_; ++j) {
      const size_t i = size_t(r * k_ + j);
      const int64_t up = v_[i] >= 0.0f ? 1 : 0;
      q[i] = std::clamp<int64_t>(int64_t(floor_[i]) + up + zero_point_[r], qlo_, qhi_);
    }
  return q;
}

void RoundingBlock::hard_weights(float* out) const {
  const std::vector<int64_t> q = codes();
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t j = 0; j < k_; ++j) {
      const size_t i = size_t(r * k_ + j);
      out[i] = float(q[i] - zero_point_[r]) * scale_[r];
    }
}

void RoundingBlock::step(const float* grad_w, const RoundingSchedule& schedule, int t) {
  const float reg = float(schedule.reg_at(t)), beta = float(schedule.beta_at(t));
  const double step = schedule.lr * std::sqrt(1.0 - std::pow(kAdamBeta2, t + 1)) / (1.0 - std::pow(kAdamBeta1, t + 1));
  const float lr_t = float(step), b1 = float(kAdamBeta1), b2 = float(kAdamBeta2), eps = float(kAdamEps);
  if (!sigmoid_fresh_) {
    sigmoid_.resize(v_.size());
    for (size_t i = 0; i < v_.size(); ++i) sigmoid_[i] = sigmoid(v_[i]);
  }
  sigmoid_fresh_ = false;
  // g = dL/dV, then Adam in a second, branch-free pass over all elements.
  grad_.resize(v_.size());
  for (int64_t r = 0; r < rows_; ++r) {
    const float s = scale_[r], lo = lo_[r], hi = hi_[r];
    for (int64_t j = 0; j < k_; ++j) {
      const size_t i = size_t(r * k_ + j);
      const float sg = sigmoid_[i];
      const float h_raw = sg * (kZeta - kGamma) + kGamma;
      // dh/dV: zero where the rectifier clamps. There g·dh is ±0 for any finite g, and Adam's m, s and V
      // come out the same for +0 and −0 (m starts at +0 and, as b1·m ≠ −0 for m ≠ 0, is never −0): skip g.
      if (!(h_raw > 0.0f && h_raw < 1.0f)) {
        grad_[i] = 0.0f;
        continue;
      }
      const float dh = (kZeta - kGamma) * sg * (1.0f - sg);
      const float h = h_raw;
      const float x = floor_[i] + h;
      // dL_rec/dh: zero where the code range clamps.
      float g = (x > lo && x < hi) ? grad_w[i] * s : 0.0f;
      if (reg > 0.0f) {  // d/dh (1 − |2h − 1|^β) = −2β·|2h − 1|^(β−1)·sign(2h − 1)
        const float u = 2.0f * h - 1.0f, a = std::fabs(u);
        if (a > 0.0f) g += reg * (-2.0f * beta * std::pow(a, beta - 1.0f) * (u > 0.0f ? 1.0f : -1.0f));
      }
      grad_[i] = g * dh;
    }
  }
  float* m = m_.data();
  float* sq = s_.data();
  float* v = v_.data();
  const float* g = grad_.data();
  for (size_t i = 0; i < v_.size(); ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    sq[i] = b2 * sq[i] + (1.0f - b2) * g[i] * g[i];
    v[i] -= lr_t * m[i] / (std::sqrt(sq[i]) + eps);
  }
}

double RoundingBlock::regularizer(double beta) const {
  double sum = 0.0;
  for (float v : v_) sum += 1.0 - std::pow(std::fabs(2.0 * rectified_sigmoid(v) - 1.0), beta);
  return sum;
}

double RoundingBlock::settled_fraction() const {
  if (v_.empty()) return 1.0;
  int64_t settled = 0;
  for (float v : v_) {
    const float h = rectified_sigmoid(v);
    settled += (h < 0.01f || h > 0.99f);
  }
  return double(settled) / double(v_.size());
}

}  // namespace tinyptq::adaround
