#include "core/export/onnx_export.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/compress/compressible_layer.h"
#include "core/export/export_util.h"
#include "core/model/onnx_writer.h"

namespace lathe {

namespace {

// The opset a graph with int4/uint4 DequantizeLinear inputs is written at (ONNX 1.16, IR 10).
constexpr int64_t kInt4Opset = 21;
constexpr int64_t kInt4IrVersion = 10;

// Reduce ops whose axes became an input at opset 18.
bool axesBecameInput(const std::string& op) {
    return op == "ReduceMean" || op == "ReduceMax" || op == "ReduceMin" || op == "ReduceProd" || op == "ReduceL1" ||
           op == "ReduceL2" || op == "ReduceLogSum" || op == "ReduceLogSumExp" || op == "ReduceSumSquare";
}

// Raises a graph of opset 13..20 to kInt4Opset: the Reduce ops' axes attributes become constant inputs; every other op
// the exporters write reads the same at both opsets.
void raiseToInt4Opset(Graph& g) {
    for (Node& n : g.nodes) {
        if (n.domain.empty() && axesBecameInput(n.opType) && n.attributes.count("axes") && g.opset < 18) {
            const std::vector<int64_t> axes = n.attrInts("axes");
            Tensor t;
            t.name = uniqueValueName(g, n.name + "_axes");
            t.dtype = DType::Int64;
            t.shape = {int64_t(axes.size())};
            t.ints = axes;
            t.data.assign(axes.begin(), axes.end());
            n.attributes.erase("axes");
            n.inputs.resize(1);
            n.inputs.push_back(t.name);
            putInitializer(g, std::move(t));
        }
    }
    g.opset = kInt4Opset;
    g.opsetImports[""] = kInt4Opset;
    g.irVersion = std::max(g.irVersion, kInt4IrVersion);
}

// Replaces each uniformly quantized weight initializer by its codes + DequantizeLinear writing the original name;
// weights of at most 4 bits get int4/uint4 codes (opset 21) when the model's opset allows raising it.
Status weightsToQdq(Graph& g, const CompressedModel& model, std::vector<std::string>& notes) {
    std::vector<Node> dequantizers;
    const bool anyFourBit = std::any_of(model.quantized.begin(), model.quantized.end(),
                                        [&](const auto& entry) { return entry.second.bits <= 4 && useCount(g, entry.first); });
    const bool fourBit = anyFourBit && g.opset >= 13;
    if (anyFourBit && !fourBit)
        notes.push_back("weights of 4 bits or fewer are stored as int8 codes: int4 DequantizeLinear needs opset " +
                        std::to_string(kInt4Opset) + " and the model is opset " + std::to_string(g.opset) +
                        " (below 13, whose ops differ); re-export the model at opset 13 or later for int4");
    for (const auto& [name, q] : model.quantized) {
        auto it = g.initializers.find(name);
        if (it == g.initializers.end() || useCount(g, name) == 0) continue;
        if (q.axis >= 0 && g.opset < 13)
            return makeError(ErrorCode::Unsupported,
                             "weight '" + name + "': per-channel DequantizeLinear (axis) needs ONNX opset 13; the "
                             "model has opset " + std::to_string(g.opset) +
                                 " — re-export it at opset 13 or quantize this layer per_tensor");
        QuantizedInitializers qi = quantizedInitializers(g, q, fourBit);
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
    if (fourBit) {
        raiseToInt4Opset(g);
        notes.push_back("weights of 4 bits or fewer are int4 (two per byte) with DequantizeLinear at opset " +
                        std::to_string(kInt4Opset) + ": ONNX Runtime 1.18 and later load it; OpenCV DNN 4.6 does not");
    }
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
