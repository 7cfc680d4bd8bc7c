#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/compress/compressible_layer.h"
#include "core/compress/quantize/uniform_quantize.h"
#include "core/model/graph.h"

// Graph-building helpers shared by the exporters.
namespace lathe {

// A node with a name not yet used in `graph`.
Node makeNode(const Graph& graph, const std::string& name, const std::string& op, std::vector<std::string> inputs,
              std::vector<std::string> outputs);
// A tensor of `dtype` (integer types also filled in `ints`); shape {} for a scalar.
Tensor makeTensor(const std::string& name, DType dtype, std::vector<int64_t> shape, const std::vector<float>& values);

// A quantized weight as ONNX initializers: <W>_quantized (int8 when symmetric, else uint8), <W>_scale (float) and
// <W>_zero_point (code type); scalars per tensor, 1-D along q.axis per channel.
struct QuantizedInitializers {
    std::string codesName, scaleName, zeroPointName;
    Tensor codes, scale, zeroPoint;
};
// The codes, scale and zero point of a quantized weight: int8/uint8 codes, or int4/uint4 (two per byte in the file)
// when `fourBit` and the weight has at most 4 bits.
QuantizedInitializers quantizedInitializers(const Graph& graph, const QuantizedTensor& q, bool fourBit = false);

}  // namespace lathe
