#include "core/export/onnx_export.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/compress/compressible_layer.h"
#include "core/export/export_util.h"
#include "core/model/onnx_writer.h"

namespace lathe {

namespace {

// Replaces each uniformly quantized weight initializer by its codes + DequantizeLinear writing the original name.
Status weightsToQdq(Graph& g, const CompressedModel& model, std::vector<std::string>& notes) {
    std::vector<Node> dequantizers;
    for (const auto& [name, q] : model.quantized) {
        auto it = g.initializers.find(name);
        if (it == g.initializers.end() || useCount(g, name) == 0) continue;
        if (q.axis >= 0 && g.opset < 13)
            return makeError(ErrorCode::Unsupported,
                             "weight '" + name + "': per-channel DequantizeLinear (axis) needs ONNX opset 13; the "
                             "model has opset " + std::to_string(g.opset) +
                                 " — re-export it at opset 13 or quantize this layer per_tensor");
        QuantizedInitializers qi = quantizedInitializers(g, q);
        g.initializers.erase(it);
        putInitializer(g, std::move(qi.codes));
        putInitializer(g, std::move(qi.scale));
        putInitializer(g, std::move(qi.zeroPoint));
        Node dq = makeNode(g, name + "_DequantizeLinear", "DequantizeLinear",
                           {qi.codesName, qi.scaleName, qi.zeroPointName}, {name});
        if (q.axis >= 0) dq.attributes["axis"] = intAttribute(q.axis);
        g.values[name].dtype = DType::Float;
        dequantizers.push_back(std::move(dq));
    }
    for (const auto& [name, c] : model.codebooks)
        if (g.initializers.count(name))
            notes.push_back("weight '" + name + "' (k-means, " + std::to_string(c.bits) +
                            " bits) is written as its shared float values: ONNX has no codebook lookup that every "
                            "runtime folds; zlib compresses the " + std::to_string(c.codebook.size()) +
                            " distinct values");
    g.nodes.insert(g.nodes.begin(), std::make_move_iterator(dequantizers.begin()),
                   std::make_move_iterator(dequantizers.end()));
    return Ok{};
}

bool holdsQuantization(const Graph& g) {
    return std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
        return n.opType == "DequantizeLinear" || n.opType == "QuantizeLinear" || n.opType == "DynamicQuantizeLinear";
    });
}

bool isWeightConsumer(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

}  // namespace

std::string_view toString(ExportFormat format) {
    switch (format) {
        case ExportFormat::Float: return "float";
        case ExportFormat::Qdq: return "qdq";
        case ExportFormat::QOperator: return "qop";
    }
    return "float";
}

std::optional<ExportFormat> parseExportFormat(std::string_view text) {
    for (ExportFormat f : {ExportFormat::Float, ExportFormat::Qdq, ExportFormat::QOperator})
        if (text == toString(f)) return f;
    return std::nullopt;
}

Result<ExportGraph> buildExportGraph(const CompressedModel& model, const ActivationRanges& activations,
                                     ExportFormat format) {
    if (format == ExportFormat::QOperator) return buildQOperatorGraph(model, activations);
    ExportGraph out;
    if (format == ExportFormat::Float) {
        out.graph = model.graph;
        if (activations.mode != ActivationMode::None)
            out.notes.push_back("activations stay float in the float format (" +
                                std::string(toString(activations.mode)) +
                                " activation quantization is kept by --format qdq or qop)");
        return out;
    }
    if (!model.quantized.empty() && model.graph.opset < 10)
        return makeError(ErrorCode::Unsupported, "the QDQ format needs ONNX opset 10 (DequantizeLinear); the model has "
                                                 "opset " + std::to_string(model.graph.opset));
    auto withActivations = withActivationFakeQuant(model.graph, activations, model.quantized);
    if (!withActivations) return withActivations.error();
    out.graph = std::move(withActivations.value());
    if (auto st = weightsToQdq(out.graph, model, out.notes); !st) return st.error();
    if (activations.mode == ActivationMode::Dynamic)
        out.notes.push_back("dynamic activations are written as DynamicQuantizeLinear → DequantizeLinear in front of "
                            "each Conv/Gemm/MatMul (ONNX Runtime runs them; not ConvInteger/MatMulInteger)");
    if (!holdsQuantization(out.graph))
        out.notes.push_back("nothing is quantized: no layer has integer weights (quant bits 2-8, nearest or "
                            "stochastic rounding) and activations are float, so the QDQ file is a float model; set "
                            "\"defaults\": {\"quant\": {\"bits\": 8}} or \"activations\" in the recipe");
    return out;
}

int64_t weightBytes(const Graph& graph) {
    std::set<std::string> counted;
    int64_t bytes = 0;
    auto add = [&](const std::string& name) {
        const Tensor* t = graph.initializer(name);
        if (t && counted.insert(name).second) bytes += t->byteSize();
    };
    for (const Node& n : graph.nodes) {
        if (n.opType == "QLinearConv" || n.opType == "QLinearMatMul") {
            for (size_t i = 3; i <= 5 && i < n.inputs.size(); ++i) add(n.inputs[i]);
            continue;
        }
        if (!isWeightConsumer(n.opType) || n.inputs.size() < 2) continue;
        const std::string& w = n.inputs[1];
        if (graph.initializer(w)) {
            add(w);
            continue;
        }
        const int producer = graph.producerOf(w);
        if (producer < 0) continue;
        const Node& p = graph.nodes[size_t(producer)];
        if (p.opType == "DequantizeLinear")
            for (const auto& in : p.inputs) add(in);
    }
    return bytes;
}

Result<ExportResult> exportModel(const CompressedModel& model, const ActivationRanges& activations,
                                 ExportFormat format, const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const std::string& source = model.graph.sourcePath;
    if (!source.empty() && fs::exists(path, ec) && fs::equivalent(path, source, ec))
        return makeError(ErrorCode::InvalidArgument,
                         path + ": refusing to overwrite the original model; choose another output file");
    auto built = buildExportGraph(model, activations, format);
    if (!built) return makeError(built.error().code, path + ": " + built.error().message);
    auto bytes = serializeOnnxModel(built->graph);
    if (!bytes) return makeError(bytes.error().code, path + ": " + bytes.error().message);
    if (auto st = writeFileAtomically(path, bytes.value()); !st) return st.error();
    ExportResult result;
    result.path = path;
    result.format = format;
    result.size = measureBytes(bytes.value());
    result.weightBytes = weightBytes(built->graph);
    result.notes = std::move(built->notes);
    return result;
}

}  // namespace lathe
