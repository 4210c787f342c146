#include "quant/adaround.h"

#include "core/error.h"

namespace tinyptq {

QuantizedWeight adaround_weight(const Calibration&, const QuantLayer&, const std::map<std::string, QParams>&,
                                const QParams&, int, const QuantRecipe&) {
  throw Error("AdaRound is not available yet");
}

}  // namespace tinyptq
