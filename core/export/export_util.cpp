#include "core/export/export_util.h"

namespace lathe {

Node makeNode(const Graph& graph, const std::string& name, const std::string& op, std::vector<std::string> inputs,
              std::vector<std::string> outputs) {
    Node n;
    n.name = graph.nodeIndex(name) < 0 ? name : uniqueValueName(graph, name);
    n.opType = op;
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    return n;
}

Tensor makeTensor(const std::string& name, DType dtype, std::vector<int64_t> shape, const std::vector<float>& values) {
    Tensor t;
    t.name = name;
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.data.assign(values.begin(), values.end());
    if (isIntegerType(dtype))
        for (float v : values) t.ints.push_back(int64_t(v));
    return t;
}

QuantizedInitializers quantizedInitializers(const Graph& graph, const QuantizedTensor& q, bool fourBit) {
    QuantizedInitializers out;
    const bool packed = fourBit && q.bits <= 4;
    const DType codeType = packed ? (q.symmetric ? DType::Int4 : DType::UInt4) : q.symmetric ? DType::Int8 : DType::UInt8;
    out.codesName = uniqueValueName(graph, q.name + "_quantized");
    out.scaleName = uniqueValueName(graph, q.name + "_scale");
    out.zeroPointName = uniqueValueName(graph, q.name + "_zero_point");
    out.codes.name = out.codesName;
    out.codes.dtype = codeType;
    out.codes.shape = q.shape;
    out.codes.ints.assign(q.codes.begin(), q.codes.end());
    out.codes.data.assign(q.codes.begin(), q.codes.end());
    const std::vector<int64_t> paramShape =
        q.axis >= 0 ? std::vector<int64_t>{int64_t(q.scales.size())} : std::vector<int64_t>{};
    out.scale = makeTensor(out.scaleName, DType::Float, paramShape, q.scales);
    out.zeroPoint = makeTensor(out.zeroPointName, codeType, paramShape,
                               std::vector<float>(q.zeroPoints.begin(), q.zeroPoints.end()));
    return out;
}

}  // namespace lathe
