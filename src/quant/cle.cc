#include "quant/cle.h"

#include "core/error.h"

namespace tinyptq {

int equalize_cross_layer(Graph& g) { throw Error("cross-layer equalization is not available yet"); }

}  // namespace tinyptq
