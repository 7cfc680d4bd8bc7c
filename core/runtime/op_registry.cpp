#include "core/runtime/op_registry.h"

#include <algorithm>
#include <utility>

namespace lathe {

// One line per op: ONNX op type and the factory (defined in kernels/<family>.cpp) that builds its kernel.
#define LATHE_KERNELS(X)                          \
    X(Conv, makeConvKernel)                       \
    X(Gemm, makeGemmKernel)                       \
    X(MatMul, makeMatMulKernel)                   \
    X(Add, makeBinaryKernel)                      \
    X(Sub, makeBinaryKernel)                      \
    X(Mul, makeBinaryKernel)                      \
    X(Div, makeBinaryKernel)                      \
    X(Relu, makeUnaryKernel)                      \
    X(LeakyRelu, makeUnaryKernel)                 \
    X(Clip, makeClipKernel)                       \
    X(Sigmoid, makeUnaryKernel)                   \
    X(Tanh, makeUnaryKernel)                      \
    X(HardSigmoid, makeUnaryKernel)               \
    X(HardSwish, makeUnaryKernel)                 \
    X(Softmax, makeSoftmaxKernel)                 \
    X(LogSoftmax, makeSoftmaxKernel)              \
    X(MaxPool, makePoolKernel)                    \
    X(AveragePool, makePoolKernel)                \
    X(GlobalAveragePool, makeGlobalPoolKernel)    \
    X(GlobalMaxPool, makeGlobalPoolKernel)        \
    X(BatchNormalization, makeBatchNormKernel)    \
    X(Flatten, makeFlattenKernel)                 \
    X(Reshape, makeReshapeKernel)                 \
    X(Transpose, makeTransposeKernel)             \
    X(Concat, makeConcatKernel)                   \
    X(Squeeze, makeSqueezeKernel)                 \
    X(Unsqueeze, makeUnsqueezeKernel)             \
    X(Identity, makeIdentityKernel)               \
    X(Dropout, makeIdentityKernel)                \
    X(Constant, makeConstantKernel)               \
    X(Shape, makeShapeKernel)                     \
    X(Size, makeSizeKernel)                       \
    X(Gather, makeGatherKernel)                   \
    X(Slice, makeSliceKernel)                     \
    X(Pad, makePadKernel)                         \
    X(QuantizeLinear, makeQuantizeLinearKernel)   \
    X(DequantizeLinear, makeDequantizeLinearKernel) \
    X(DynamicQuantizeLinear, makeDynamicQuantizeLinearKernel) \
    X(QLinearConv, makeQLinearConvKernel)         \
    X(QLinearMatMul, makeQLinearMatMulKernel)     \
    X(ReduceMean, makeReduceKernel)               \
    X(ReduceSum, makeReduceKernel)                \
    X(ReduceMax, makeReduceKernel)                \
    X(ReduceMin, makeReduceKernel)                \
    X(ReduceProd, makeReduceKernel)               \
    X(ReduceSumSquare, makeReduceKernel)          \
    X(ReduceL1, makeReduceKernel)                 \
    X(ReduceL2, makeReduceKernel)                 \
    X(ReduceLogSum, makeReduceKernel)             \
    X(ReduceLogSumExp, makeReduceKernel)          \
    X(ArgMax, makeArgKernel)                      \
    X(ArgMin, makeArgKernel)                      \
    X(Pow, makeBinaryKernel)                      \
    X(Mod, makeBinaryKernel)                      \
    X(ScatterND, makeScatterNDKernel)             \
    X(PRelu, makeBinaryKernel)                    \
    X(Equal, makeBinaryKernel)                    \
    X(Less, makeBinaryKernel)                     \
    X(Greater, makeBinaryKernel)                  \
    X(LessOrEqual, makeBinaryKernel)              \
    X(GreaterOrEqual, makeBinaryKernel)           \
    X(And, makeBinaryKernel)                      \
    X(Or, makeBinaryKernel)                       \
    X(Xor, makeBinaryKernel)                      \
    X(Min, makeVariadicKernel)                    \
    X(Max, makeVariadicKernel)                    \
    X(Sum, makeVariadicKernel)                    \
    X(Mean, makeVariadicKernel)                   \
    X(Where, makeWhereKernel)                     \
    X(Erf, makeUnaryKernel)                       \
    X(Gelu, makeUnaryKernel)                      \
    X(Elu, makeUnaryKernel)                       \
    X(Selu, makeUnaryKernel)                      \
    X(ThresholdedRelu, makeUnaryKernel)           \
    X(Softplus, makeUnaryKernel)                  \
    X(Sqrt, makeUnaryKernel)                      \
    X(Exp, makeUnaryKernel)                       \
    X(Log, makeUnaryKernel)                       \
    X(Neg, makeUnaryKernel)                       \
    X(Abs, makeUnaryKernel)                       \
    X(Sin, makeUnaryKernel)                       \
    X(Cos, makeUnaryKernel)                       \
    X(Reciprocal, makeUnaryKernel)                \
    X(Floor, makeUnaryKernel)                     \
    X(Ceil, makeUnaryKernel)                      \
    X(Round, makeUnaryKernel)                     \
    X(Sign, makeUnaryKernel)                      \
    X(Not, makeUnaryKernel)                       \
    X(Cast, makeCastKernel)                       \
    X(CastLike, makeCastKernel)                   \
    X(LayerNormalization, makeLayerNormKernel)    \
    X(Expand, makeExpandKernel)                   \
    X(Tile, makeTileKernel)                       \
    X(Split, makeSplitKernel)                     \
    X(ConstantOfShape, makeConstantOfShapeKernel) \
    X(Range, makeRangeKernel)                     \
    X(Resize, makeResizeKernel)                   \
    X(Upsample, makeResizeKernel)                 \
    X(ConvTranspose, makeConvTransposeKernel)     \
    X(Einsum, makeEinsumKernel)

#define LATHE_DECLARE_FACTORY(op, factory) Result<std::unique_ptr<Kernel>> factory(const KernelContext& context);
LATHE_KERNELS(LATHE_DECLARE_FACTORY)
#undef LATHE_DECLARE_FACTORY

namespace {

#define LATHE_TABLE_ENTRY(op, factory) {#op, &factory},
const std::pair<std::string_view, KernelFactory> kKernelTable[] = {LATHE_KERNELS(LATHE_TABLE_ENTRY)};
#undef LATHE_TABLE_ENTRY

}  // namespace

KernelFactory findKernelFactory(std::string_view opType) {
    for (const auto& [op, factory] : kKernelTable)
        if (op == opType) return factory;
    return nullptr;
}

std::vector<std::string> supportedOps() {
    std::vector<std::string> ops;
    for (const auto& entry : kKernelTable) ops.emplace_back(entry.first);
    std::sort(ops.begin(), ops.end());
    return ops;
}

}  // namespace lathe
