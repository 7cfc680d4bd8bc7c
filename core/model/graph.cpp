#include "core/model/graph.h"

#include <set>
#include <sstream>

namespace lathe {

std::string ValueInfo::shapeString() const {
    if (!hasShape) return "?";
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) out << ", ";
        if (shape[i] >= 0) out << shape[i];
        else if (i < dimParams.size() && !dimParams[i].empty()) out << dimParams[i];
        else out << '?';
    }
    out << ']';
    return out.str();
}

namespace {
template <class T>
std::string joinList(const std::vector<T>& items) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out << ", ";
        out << items[i];
    }
    out << ']';
    return out.str();
}
}  // namespace

Attribute intAttribute(int64_t value) {
    Attribute a;
    a.kind = Attribute::Kind::Int;
    a.i = value;
    return a;
}

Attribute intsAttribute(std::vector<int64_t> values) {
    Attribute a;
    a.kind = Attribute::Kind::Ints;
    a.ints = std::move(values);
    return a;
}

Attribute floatAttribute(float value) {
    Attribute a;
    a.kind = Attribute::Kind::Float;
    a.f = value;
    return a;
}

Attribute stringAttribute(std::string value) {
    Attribute a;
    a.kind = Attribute::Kind::String;
    a.s = std::move(value);
    return a;
}

std::string Attribute::toString() const {
    switch (kind) {
        case Kind::Float: { std::ostringstream o; o << f; return o.str(); }
        case Kind::Int: return std::to_string(i);
        case Kind::String: return s;
        case Kind::Floats: return joinList(floats);
        case Kind::Ints: return joinList(ints);
        case Kind::Strings: return joinList(strings);
        case Kind::Tensor:
            if (!tensor) return "tensor";
            if (tensor->numel() == 1 && !tensor->data.empty()) {
                std::ostringstream o;
                o << std::string(dtypeName(tensor->dtype)) << ' ' << tensor->data[0];
                return o.str();
            }
            return std::string(dtypeName(tensor->dtype)) + ' ' + shapeToString(tensor->shape);
        case Kind::Graph: return "subgraph";
        case Kind::Other: break;
    }
    return "?";
}

const Attribute* Node::attribute(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::attrInt(const std::string& key, int64_t fallback) const {
    const Attribute* a = attribute(key);
    return a && a->kind == Attribute::Kind::Int ? a->i : fallback;
}

float Node::attrFloat(const std::string& key, float fallback) const {
    const Attribute* a = attribute(key);
    return a && a->kind == Attribute::Kind::Float ? a->f : fallback;
}

std::vector<int64_t> Node::attrInts(const std::string& key, std::vector<int64_t> fallback) const {
    const Attribute* a = attribute(key);
    return a && a->kind == Attribute::Kind::Ints ? a->ints : fallback;
}

std::string Node::attrString(const std::string& key, std::string fallback) const {
    const Attribute* a = attribute(key);
    return a && a->kind == Attribute::Kind::String ? a->s : fallback;
}

const ValueInfo* Graph::value(const std::string& valueName) const {
    auto it = values.find(valueName);
    return it == values.end() ? nullptr : &it->second;
}

const Tensor* Graph::initializer(const std::string& tensorName) const {
    auto it = initializers.find(tensorName);
    return it == initializers.end() ? nullptr : &it->second;
}

int Graph::producerOf(const std::string& valueName) const {
    for (size_t i = 0; i < nodes.size(); ++i)
        for (const auto& out : nodes[i].outputs)
            if (out == valueName) return int(i);
    return -1;
}

std::vector<int> Graph::consumersOf(const std::string& valueName) const {
    std::vector<int> result;
    for (size_t i = 0; i < nodes.size(); ++i)
        for (const auto& in : nodes[i].inputs)
            if (in == valueName) {
                result.push_back(int(i));
                break;
            }
    return result;
}

int Graph::nodeIndex(const std::string& nodeName) const {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].name == nodeName) return int(i);
    return -1;
}

std::vector<std::string> Graph::unknownOps() const {
    std::set<std::string> ops;
    for (const auto& n : nodes)
        if (!n.knownOp) ops.insert(n.domain.empty() ? n.opType : n.domain + "::" + n.opType);
    return {ops.begin(), ops.end()};
}

}  // namespace lathe
