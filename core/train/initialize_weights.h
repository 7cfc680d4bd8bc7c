#pragma once
// Seeded re-initialisation of a model's trainable weights (a student trained from scratch).

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/graph.h"

namespace lathe {

// PyTorch's default initialisation, seeded: every compressible layer's weight and bias (Conv, ConvTranspose, Gemm,
// MatMul with a constant weight; the bias of MatMul is the constant operand of a following Add) uniform in
// ±1/sqrt(fan_in), where fan_in is the inputs one output sums over; BatchNormalization scale 1, shift 0, running mean 0,
// running variance 1. Returns the names of the tensors it re-initialised, in node order.
std::vector<std::string> initializeWeights(Graph& graph, uint64_t seed);

}  // namespace lathe
