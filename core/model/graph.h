#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/tensor.h"

namespace lathe {

// Static type of an edge. shape[i] == -1 means unknown or symbolic (then dimParams[i] holds the symbol, if any).
struct ValueInfo {
    std::string name;
    DType dtype = DType::Undefined;
    bool hasShape = false;
    std::vector<int64_t> shape;
    std::vector<std::string> dimParams;

    std::string shapeString() const;
};

struct Attribute {
    enum class Kind { Float, Int, String, Tensor, Graph, Floats, Ints, Strings, Other };
    Kind kind = Kind::Other;
    float f = 0.f;
    int64_t i = 0;
    std::string s;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    std::shared_ptr<Tensor> tensor;

    // Human-readable value, e.g. "[1, 1]" or "SAME_UPPER"; tensors are summarised by dtype and shape.
    std::string toString() const;
};

// Attributes of one kind, for code that builds nodes.
Attribute intAttribute(int64_t value);
Attribute intsAttribute(std::vector<int64_t> values);
Attribute floatAttribute(float value);
Attribute stringAttribute(std::string value);

struct Node {
    std::string name;  // ONNX node name; "<op>_<index>" when the file leaves it empty
    std::string opType;
    std::string domain;  // "" is the default ONNX domain
    std::vector<std::string> inputs;  // "" marks an omitted optional input
    std::vector<std::string> outputs;
    std::map<std::string, Attribute> attributes;
    bool knownOp = true;  // false when no ONNX schema exists for this op/domain/opset

    const Attribute* attribute(const std::string& key) const;
    int64_t attrInt(const std::string& key, int64_t fallback) const;
    float attrFloat(const std::string& key, float fallback) const;
    std::vector<int64_t> attrInts(const std::string& key, std::vector<int64_t> fallback = {}) const;
    std::string attrString(const std::string& key, std::string fallback = {}) const;
};

struct Graph {
    std::string sourcePath;
    std::vector<std::string> externalDataFiles;  // files the initializers' external data was read from
    std::string name;
    std::string producerName;
    std::string producerVersion;
    int64_t irVersion = 0;
    int64_t opset = 0;  // default-domain opset
    std::map<std::string, int64_t> opsetImports;

    std::vector<Node> nodes;  // topological order as stored in the file
    std::map<std::string, ValueInfo> values;  // every named edge, with inferred shapes where known
    std::map<std::string, Tensor> initializers;
    std::vector<std::string> inputs;  // graph inputs that are not initializers
    std::vector<std::string> outputs;
    std::vector<std::string> warnings;  // non-fatal problems found while reading (unknown ops, failed inference)

    const ValueInfo* value(const std::string& name) const;
    const Tensor* initializer(const std::string& name) const;
    // Index of the node producing `valueName`, or -1 for graph inputs/initializers.
    int producerOf(const std::string& valueName) const;
    std::vector<int> consumersOf(const std::string& valueName) const;
    int nodeIndex(const std::string& nodeName) const;
    std::vector<std::string> unknownOps() const;
};

}  // namespace lathe
