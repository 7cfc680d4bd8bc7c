#include "core/model/onnx_writer.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace lathe {

namespace fs = std::filesystem;

namespace {

template <class T>
void appendRaw(std::string& raw, T v) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    raw.append(bytes, sizeof(T));
}

Status fillTensorProto(const Tensor& t, onnx::TensorProto& proto) {
    proto.set_name(t.name);
    proto.set_data_type(int(t.dtype));
    for (int64_t d : t.shape) proto.add_dims(d);
    const auto n = size_t(t.numel());
    if (t.dtype == DType::String) {
        for (const auto& s : t.strings) proto.add_string_data(s);
        return Ok{};
    }
    const bool fromInts = isIntegerType(t.dtype);
    if (fromInts ? t.ints.size() != n : t.data.size() != n)
        return makeError(ErrorCode::InvalidModel, "tensor '" + t.name + "' has shape " + shapeToString(t.shape) +
                                                      " but " + std::to_string(fromInts ? t.ints.size() : t.data.size()) +
                                                      " values");
    std::string raw;
    if (isFourBitType(t.dtype)) {
        const bool isSigned = t.dtype == DType::Int4;
        raw.assign(size_t(storedBytes(t.dtype, int64_t(n))), '\0');
        for (size_t i = 0; i < n; ++i) {
            const int64_t v = t.ints[i];
            if (isSigned ? v < -8 || v > 7 : v < 0 || v > 15)
                return makeError(ErrorCode::InvalidModel, "tensor '" + t.name + "': value " + std::to_string(v) +
                                                              " does not fit " + std::string(dtypeName(t.dtype)));
            raw[i / 2] = char(uint8_t(raw[i / 2]) | ((uint8_t(v) & 0x0F) << (4 * (i % 2))));
        }
        proto.set_raw_data(std::move(raw));
        return Ok{};
    }
    raw.reserve(n * size_t(dtypeSize(t.dtype)));
    for (size_t i = 0; i < n; ++i) {
        switch (t.dtype) {
            case DType::Float: appendRaw(raw, t.data[i]); break;
            case DType::Double: appendRaw(raw, double(t.data[i])); break;
            case DType::Int8: appendRaw(raw, int8_t(t.ints[i])); break;
            case DType::UInt8: appendRaw(raw, uint8_t(t.ints[i])); break;
            case DType::Bool: appendRaw(raw, uint8_t(t.ints[i] != 0)); break;
            case DType::Int16: appendRaw(raw, int16_t(t.ints[i])); break;
            case DType::UInt16: appendRaw(raw, uint16_t(t.ints[i])); break;
            case DType::Int32: appendRaw(raw, int32_t(t.ints[i])); break;
            case DType::UInt32: appendRaw(raw, uint32_t(t.ints[i])); break;
            case DType::Int64: appendRaw(raw, int64_t(t.ints[i])); break;
            case DType::UInt64: appendRaw(raw, uint64_t(t.ints[i])); break;
            default:
                return makeError(ErrorCode::Unsupported, "tensor '" + t.name + "': cannot write element type " +
                                                             std::string(dtypeName(t.dtype)));
        }
    }
    proto.set_raw_data(std::move(raw));
    return Ok{};
}

void fillValueInfoProto(const ValueInfo& v, onnx::ValueInfoProto& proto) {
    proto.set_name(v.name);
    if (v.dtype == DType::Undefined) return;
    auto* tt = proto.mutable_type()->mutable_tensor_type();
    tt->set_elem_type(int(v.dtype));
    if (!v.hasShape) return;
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < v.shape.size(); ++i) {
        auto* dim = shape->add_dim();
        if (v.shape[i] >= 0) dim->set_dim_value(v.shape[i]);
        else if (i < v.dimParams.size() && !v.dimParams[i].empty()) dim->set_dim_param(v.dimParams[i]);
    }
}

Status fillAttribute(const std::string& name, const Attribute& a, onnx::AttributeProto& proto) {
    using AP = onnx::AttributeProto;
    proto.set_name(name);
    switch (a.kind) {
        case Attribute::Kind::Float: proto.set_type(AP::FLOAT); proto.set_f(a.f); break;
        case Attribute::Kind::Int: proto.set_type(AP::INT); proto.set_i(a.i); break;
        case Attribute::Kind::String: proto.set_type(AP::STRING); proto.set_s(a.s); break;
        case Attribute::Kind::Floats:
            proto.set_type(AP::FLOATS);
            for (float f : a.floats) proto.add_floats(f);
            break;
        case Attribute::Kind::Ints:
            proto.set_type(AP::INTS);
            for (int64_t i : a.ints) proto.add_ints(i);
            break;
        case Attribute::Kind::Strings:
            proto.set_type(AP::STRINGS);
            for (const auto& s : a.strings) proto.add_strings(s);
            break;
        case Attribute::Kind::Tensor:
            proto.set_type(AP::TENSOR);
            if (a.tensor)
                if (auto st = fillTensorProto(*a.tensor, *proto.mutable_t()); !st) return st;
            break;
        case Attribute::Kind::Graph:
        case Attribute::Kind::Other:
            return makeError(ErrorCode::Unsupported, "attribute '" + name + "' holds a subgraph, which Lathe cannot write");
    }
    return Ok{};
}

}  // namespace

Result<std::string> serializeOnnxModel(const Graph& graph, const OnnxWriteOptions& options) {
    onnx::ModelProto model;
    model.set_ir_version(graph.irVersion > 0 ? graph.irVersion : 7);
    model.set_producer_name(options.producerName);
    model.set_producer_version(options.producerVersion);
    for (const auto& [domain, version] : graph.opsetImports) {
        auto* op = model.add_opset_import();
        op->set_domain(domain);
        op->set_version(version);
    }
    if (graph.opsetImports.empty()) model.add_opset_import()->set_version(graph.opset > 0 ? graph.opset : 13);
    auto* gp = model.mutable_graph();
    gp->set_name(graph.name.empty() ? "lathe" : graph.name);
    for (const auto& name : graph.inputs) {
        const ValueInfo* v = graph.value(name);
        if (!v) return makeError(ErrorCode::InvalidModel, "graph input '" + name + "' has no type information");
        fillValueInfoProto(*v, *gp->add_input());
    }
    if (model.ir_version() < 4)  // before IR 4 every initializer must also be listed as a graph input
        for (const auto& [name, t] : graph.initializers) {
            ValueInfo v{name, t.dtype, true, t.shape, std::vector<std::string>(t.shape.size())};
            fillValueInfoProto(v, *gp->add_input());
        }
    for (const auto& name : graph.outputs) {
        const ValueInfo* v = graph.value(name);
        ValueInfo fallback;
        fallback.name = name;
        fillValueInfoProto(v ? *v : fallback, *gp->add_output());
    }
    for (const auto& [name, t] : graph.initializers)
        if (auto st = fillTensorProto(t, *gp->add_initializer()); !st) return st.error();
    for (const Node& n : graph.nodes) {
        auto* np = gp->add_node();
        np->set_name(n.name);
        np->set_op_type(n.opType);
        if (!n.domain.empty()) np->set_domain(n.domain);
        for (const auto& in : n.inputs) np->add_input(in);
        for (const auto& out : n.outputs) np->add_output(out);
        for (const auto& [key, a] : n.attributes)
            if (auto st = fillAttribute(key, a, *np->add_attribute()); !st)
                return makeError(st.error().code, "node '" + n.name + "': " + st.error().message);
    }
    // libonnx 1.12 predates int4 (ONNX 1.16): its checker refuses those files, so they skip it.
    const bool fourBit = std::any_of(graph.initializers.begin(), graph.initializers.end(),
                                     [](const auto& entry) { return isFourBitType(entry.second.dtype); });
    if (options.runChecker && !fourBit) {
        try {
            onnx::checker::check_model(model);
        } catch (const std::exception& e) {
            return makeError(ErrorCode::InvalidModel, std::string("the written model fails onnx::checker: ") + e.what());
        }
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes))
        return makeError(ErrorCode::Internal, "protobuf could not serialize the model (over 2 GB?)");
    return bytes;
}

Status writeFileAtomically(const std::string& path, const std::string& bytes) {
    fs::path target(path);
    fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    std::error_code ec;
    if (fs::is_directory(target, ec))
        return makeError(ErrorCode::InvalidArgument, path + ": is a folder; give the output a file name");
    if (!fs::is_directory(dir, ec))
        return makeError(ErrorCode::FileNotFound, path + ": the folder " + dir.string() + " does not exist");
    std::random_device rd;
    fs::path temp = dir / (target.filename().string() + ".tmp" + std::to_string(rd()));
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) return makeError(ErrorCode::Io, path + ": cannot create a file in " + dir.string());
        out.write(bytes.data(), std::streamsize(bytes.size()));
        out.flush();
        if (!out) {
            out.close();
            fs::remove(temp, ec);
            return makeError(ErrorCode::Io, path + ": write failed (disk full?)");
        }
    }
    fs::rename(temp, target, ec);
    if (ec) {
        const std::string why = ec.message();
        fs::remove(temp, ec);
        return makeError(ErrorCode::Io, path + ": cannot replace the file: " + why);
    }
    return Ok{};
}

Status writeOnnxModel(const Graph& graph, const std::string& path, const OnnxWriteOptions& options) {
    std::error_code ec;
    if (!graph.sourcePath.empty() && fs::exists(path, ec) && fs::equivalent(path, graph.sourcePath, ec))
        return makeError(ErrorCode::InvalidArgument,
                         path + ": refusing to overwrite the original model; choose another output file");
    auto bytes = serializeOnnxModel(graph, options);
    if (!bytes) return makeError(bytes.error().code, path + ": " + bytes.error().message);
    return writeFileAtomically(path, bytes.value());
}

}  // namespace lathe
