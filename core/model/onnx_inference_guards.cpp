#include "core/model/onnx_inference_guards.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <mutex>
#include <set>
#include <string>

namespace lathe {

namespace {

constexpr const char* kSpatialConvPoolOps[] = {"Conv",        "ConvTranspose", "ConvInteger", "QLinearConv",
                                               "MaxPool",     "AveragePool",   "LpPool",      "MaxUnpool",
                                               "DeformConv",  "GlobalLpPool",  "MaxRoiPool"};

int64_t rankOf(onnx::InferenceContext& ctx, size_t input) {
    return onnx::hasInputShape(ctx, input) ? ctx.getInputType(input)->tensor_type().shape().dim_size() : -1;
}

void checkSpatialRanks(onnx::InferenceContext& ctx, const std::string& op) {
    const int64_t rank = rankOf(ctx, 0);
    if (rank < 0) return;
    if (rank < 2) fail_shape_inference(op, ": the input has rank ", rank, "; it needs [N, C, spatial...]");
    const int64_t spatial = rank - 2;
    for (const char* name : {"kernel_shape", "strides", "dilations", "output_padding", "output_shape"})
        if (const onnx::AttributeProto* a = ctx.getAttribute(name); a && a->ints_size() != spatial)
            fail_shape_inference(op, ": attribute '", name, "' has ", a->ints_size(), " values for ", spatial,
                                 " spatial axes");
    if (const onnx::AttributeProto* a = ctx.getAttribute("pads"); a && a->ints_size() != 2 * spatial)
        fail_shape_inference(op, ": attribute 'pads' has ", a->ints_size(), " values for ", spatial, " spatial axes");
    if (const int w = convWeightInput(op); w >= 0)
        if (const int64_t weightRank = rankOf(ctx, size_t(w)); weightRank >= 0 && weightRank != rank)
            fail_shape_inference(op, ": the weight has rank ", weightRank, ", the input ", rank);
}

}  // namespace

bool isSpatialConvOrPool(std::string_view op) {
    for (const char* known : kSpatialConvPoolOps)
        if (op == known) return true;
    return false;
}

int convWeightInput(std::string_view op) {
    if (op == "Conv" || op == "ConvTranspose" || op == "ConvInteger" || op == "DeformConv") return 1;
    if (op == "QLinearConv") return 3;
    return -1;
}

void guardShapeInference() {
    static std::once_flag once;
    std::call_once(once, [] {
        for (const char* op : kSpatialConvPoolOps) {
            std::set<const onnx::OpSchema*> versions;
            for (int version = 1; version <= 30; ++version)
                if (const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(op, version)) versions.insert(schema);
            for (const onnx::OpSchema* schema : versions) {
                // The registry's schemas are not const objects; it only hands them out as const.
                auto* editable = const_cast<onnx::OpSchema*>(schema);
                onnx::InferenceFunction original = editable->GetTypeAndShapeInferenceFunction();
                editable->TypeAndShapeInferenceFunction([original, name = std::string(op)](onnx::InferenceContext& ctx) {
                    checkSpatialRanks(ctx, name);
                    original(ctx);
                });
            }
        }
    });
}

}  // namespace lathe
