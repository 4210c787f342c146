// AdaRound's learned rounding (Nagel et al. 2020) for a block of weight rows (row = output channel r,
// k weights per row, per-row scale s_r and zero point z_r, codes [lo, hi]):
//   w̃ = s_r·clamp(⌊w/s_r⌋ + h(V), lo − z_r, hi − z_r),   h(V) = clamp(σ(V)(ζ − γ) + γ, 0, 1),
//   ζ = 1.1, γ = −0.1. V starts where h(V) = w/s − ⌊w/s⌋ (so w̃ starts at w, inside the code range), and
//   the rounding regulariser  f_reg = Σ (1 − |2h(V) − 1|^β)  pushes every h to 0 or 1.
// Each step takes dL/dw̃ of the reconstruction loss, adds λ·df_reg/dh, chains through h and the clamp,
// and applies Adam (β1 = 0.9, β2 = 0.999, ε = 1e-8) to V. The final codes are
//   q = clamp(⌊w/s⌋ + [V ≥ 0] + z, lo, hi)    (h(V) ≥ ½ ⇔ V ≥ 0).
// Every operation is elementwise, so rows can be optimised in independent blocks.
#pragma once
#include <cstdint>
#include <vector>

namespace tinyptq::adaround {

// The schedule of one AdaRound run.
struct RoundingSchedule {
  int iterations = 1000;
  double lr = 1e-3;          // Adam step size on V
  double reg = 0.01;         // λ
  double warmup = 0.2;       // fraction of the iterations without the regulariser
  double beta_start = 20.0;  // β decays linearly from beta_start to beta_end after the warm-up
  double beta_end = 2.0;
  // λ at iteration t (0 during the warm-up) and β at t.
  double reg_at(int t) const;
  double beta_at(int t) const;
};

class RoundingBlock {
 public:
  // w: rows×k row-major; scale/zero_point: one per row (pointers to the block's first row).
  RoundingBlock(const float* w, int64_t rows, int64_t k, const float* scale, const int32_t* zero_point,
                int32_t lo, int32_t hi);
  int64_t rows() const { return rows_; }
  int64_t k() const { return k_; }
  // w̃ (rows×k) for the current V. Also keeps σ(V) for the next step (the same values step would compute).
  void soft_weights(float* out);
  // Dequantized hard-rounded weights s·(q − z) (rows×k).
  void hard_weights(float* out) const;
  // Integer codes q (rows×k).
  std::vector<int64_t> codes() const;
  // One Adam step (t = 0, 1, …) given dL/dw̃ (rows×k) of the reconstruction loss.
  void step(const float* grad_w, const RoundingSchedule& schedule, int t);
  // f_reg = Σ(1 − |2h − 1|^β) at β, and the share of h(V) already within 0.01 of 0 or 1.
  double regularizer(double beta) const;
  double settled_fraction() const;
  // The learned V (rows×k), for tests and diagnostics.
  const std::vector<float>& v() const { return v_; }

 private:
  int64_t rows_, k_;
  std::vector<float> scale_, floor_, lo_, hi_;  // per row: s, clamp bounds lo − z and hi − z
  std::vector<int32_t> zero_point_;
  int32_t qlo_, qhi_;
  std::vector<float> v_, m_, s_;  // V and the Adam moments
  std::vector<float> sigmoid_, grad_;  // σ(V) (valid while sigmoid_fresh_), step's dL/dV
  bool sigmoid_fresh_ = false;
};

// h(V) and the V that gives h(V) = f for f in [0, 1).
float rectified_sigmoid(float v);
float rectified_sigmoid_inverse(float f);

}  // namespace tinyptq::adaround
