#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/calibrate/activation_quant.h"
#include "core/export/model_size.h"
#include "core/model/graph.h"

namespace lathe {

// Float: the compressed graph as evaluated without activation quantization (pruned zeros, decomposed layers, removed
// channels, fake-quantized float weights). Qdq: integer weights + DequantizeLinear, activations as
// withActivationFakeQuant (ONNX Runtime, TensorRT). QOperator: QuantizeLinear, QLinearConv, QLinearMatMul,
// DequantizeLinear with OpenCV's X_quantized / X_scale / X_zero_point naming (OpenCV DNN; static activations only).
enum class ExportFormat { Float, Qdq, QOperator };

std::string_view toString(ExportFormat format);  // "float", "qdq", "qop"
std::optional<ExportFormat> parseExportFormat(std::string_view text);

struct ExportGraph {
    Graph graph;
    std::vector<std::string> notes;  // what the format could not keep, per layer
};

// The graph the format writes. Qdq: each uniformly quantized weight W becomes W_quantized (int8 when symmetric, else
// uint8) with W_scale / W_zero_point (per channel: 1-D, DequantizeLinear axis = the channel axis, opset 13);
// k-means shared weights stay float (ONNX has no codebook dequantization); biases stay float. Errors name what
// does not fit: opset too old for QuantizeLinear / per-axis DequantizeLinear, QOperator without static
// activations. A Qdq graph with nothing quantized (float weights and activations) is the float graph with a note.
Result<ExportGraph> buildExportGraph(const CompressedModel& model, const ActivationRanges& activations,
                                     ExportFormat format);
// The QOperator graph (see ExportFormat). Anchors (ActivationPlan) with symmetric integer weights become
// QLinearConv (Conv; Gemm as a 1×1 QLinearConv between Reshapes, so its bias stays int32 at x_scale·w_scale) or
// QLinearMatMul (MatMul with a constant 2-D weight); MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze and
// Identity run on codes; other ops run in float between DequantizeLinear and QuantizeLinear. Anchors that cannot be
// integer (float, k-means or asymmetric weights; Gemm with transA, alpha or beta ≠ 1) run in float with a note.
Result<ExportGraph> buildQOperatorGraph(const CompressedModel& model, const ActivationRanges& activations);

// Bytes of every Conv/Gemm/MatMul/QLinear weight initializer (with the scales and zero points of its
// DequantizeLinear or QLinear op); biases excluded.
int64_t weightBytes(const Graph& graph);

struct ExportResult {
    std::string path;
    ExportFormat format = ExportFormat::Float;
    FileSize size;  // of the bytes written
    int64_t weightBytes = 0;
    std::vector<std::string> notes;
};

// Builds the format's graph, serializes it (onnx::checker must pass), and writes those bytes atomically; refuses to
// write over the model the graph was read from. The sizes are those of the bytes written.
Result<ExportResult> exportModel(const CompressedModel& model, const ActivationRanges& activations,
                                 ExportFormat format, const std::string& path);

}  // namespace lathe
