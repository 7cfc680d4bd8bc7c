#include "core/compress/lowrank/svd_decompose.h"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <cmath>
#include <numeric>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::Map<const RowMatrixF> asMatrix(const Tensor& w) {
    const int64_t rows = w.shape.empty() ? 1 : w.shape[0];
    return {w.data.data(), Eigen::Index(rows), Eigen::Index(rows ? w.numel() / rows : 0)};
}

bool outMajorLayout(const Node& node) {
    return node.opType == "Conv" || (node.opType == "Gemm" && node.attrInt("transB", 0) != 0);
}

double frobeniusSquared(const Tensor& w) {
    double s = 0;
    for (float v : w.data) s += double(v) * double(v);
    return s;
}

}  // namespace

std::vector<double> weightSingularValues(const Tensor& weight) {
    if (weight.numel() == 0) return {};
    RowMatrixD m = asMatrix(weight).cast<double>();
    Eigen::BDCSVD<RowMatrixD> svd(m);
    const auto& s = svd.singularValues();
    return {s.data(), s.data() + s.size()};
}

int64_t rankForEnergy(std::span<const double> singularValues, double energy) {
    double total = 0;
    for (double s : singularValues) total += s * s;
    double kept = 0;
    for (size_t r = 0; r < singularValues.size(); ++r) {
        kept += singularValues[r] * singularValues[r];
        if (kept >= energy * total * (1 - 1e-12)) return int64_t(r + 1);
    }
    return std::max<int64_t>(int64_t(singularValues.size()), 1);
}

double truncationError(std::span<const double> singularValues, int64_t rank) {
    double total = 0, tail = 0;
    for (size_t i = 0; i < singularValues.size(); ++i) {
        const double s2 = singularValues[i] * singularValues[i];
        total += s2;
        if (int64_t(i) >= rank) tail += s2;
    }
    return total > 0 ? std::sqrt(tail / total) : 0.0;
}

bool svdDecomposeApplies(const Graph& graph, int nodeIndex) {
    auto lw = layerWeight(graph, nodeIndex);
    if (!lw) return false;
    const Node& node = graph.nodes[size_t(nodeIndex)];
    if (node.opType == "Gemm" || node.opType == "MatMul") return true;
    return node.opType == "Conv" && node.attrInt("group", 1) == 1;
}

int64_t decompositionFullRank(const Graph& graph, int nodeIndex) {
    if (!svdDecomposeApplies(graph, nodeIndex)) return 0;
    const Tensor& w = graph.initializers.at(graph.nodes[size_t(nodeIndex)].inputs[1]);
    return std::min(w.shape[0], w.numel() / w.shape[0]);
}

Tensor recomposeFactors(const Tensor& first, const Tensor& second, bool outMajor, const std::vector<int64_t>& shape) {
    Tensor out;
    out.name = first.name;
    out.shape = shape;
    out.data.resize(size_t(shapeNumel(shape)));
    const int64_t rows = shape[0];
    Eigen::Map<RowMatrixF> result(out.data.data(), Eigen::Index(rows), Eigen::Index(out.data.size() / size_t(rows)));
    auto a = asMatrix(first);
    auto b = asMatrix(second);
    // outMajor: first [r, in], second [out, r]; else first [in, r], second [r, out].
    if (outMajor)
        result.noalias() = b * a;
    else
        result.noalias() = a * b;
    return out;
}

Result<LowRankResult> svdDecompose(Graph& graph, int nodeIndex, const LowRankSettings& settings) {
    LowRankResult result;
    if (!svdDecomposeApplies(graph, nodeIndex)) return result;
    const Node node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    const int64_t rows = w.shape[0], cols = w.numel() / rows;
    result.fullRank = std::min(rows, cols);
    result.outMajor = outMajorLayout(node);

    if (settings.rank) {
        if (*settings.rank < 1 || *settings.rank > result.fullRank)
            return makeError(ErrorCode::InvalidArgument, "lowrank.rank: " + std::to_string(*settings.rank) +
                                                             " is outside 1.." + std::to_string(result.fullRank) +
                                                             ", the full rank of " + node.name + " (" +
                                                             shapeToString(w.shape) + ")");
    } else if (!settings.energy || !(*settings.energy > 0 && *settings.energy <= 1)) {
        return makeError(ErrorCode::InvalidArgument,
                         "lowrank.energy: must be in (0, 1] for " + node.name + " (or set lowrank.rank)");
    }

    RowMatrixD m = asMatrix(w).cast<double>();
    Eigen::BDCSVD<RowMatrixD> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const auto& s = svd.singularValues();
    result.singularValues.assign(s.data(), s.data() + s.size());
    const int64_t r = settings.rank ? *settings.rank : rankForEnergy(result.singularValues, *settings.energy);
    result.rank = r;
    double tail = 0;
    for (int64_t i = r; i < int64_t(s.size()); ++i) tail += s[i] * s[i];
    const double norm2 = frobeniusSquared(w);
    result.relError = norm2 > 0 ? std::sqrt(tail / norm2) : 0.0;

    // Stored matrix S (rows × cols) = U Σ Vᵀ; each factor carries sqrt(Σ).
    const Eigen::VectorXd root = s.head(r).cwiseSqrt();
    const RowMatrixD left = svd.matrixU().leftCols(r) * root.asDiagonal();               // rows × r
    const RowMatrixD right = root.asDiagonal() * svd.matrixV().leftCols(r).transpose();  // r × cols

    Tensor first, second;
    first.name = uniqueName(graph, node.inputs[1] + "_lr1");
    second.name = uniqueName(graph, node.inputs[1] + "_lr2");
    auto fill = [](Tensor& t, const RowMatrixD& mat, std::vector<int64_t> shape) {
        t.shape = std::move(shape);
        t.data.resize(size_t(mat.size()));
        Eigen::Map<RowMatrixF>(t.data.data(), mat.rows(), mat.cols()) = mat.cast<float>();
    };
    if (result.outMajor) {
        // S = [out, in]: y = S·x = left·(right·x); first = right [r, in...], second = left [out, r...].
        std::vector<int64_t> firstShape = w.shape, secondShape = w.shape;
        firstShape[0] = r;
        if (node.opType == "Conv") {
            secondShape.assign(w.shape.size(), 1);
            secondShape[0] = rows;
            secondShape[1] = r;
        } else {
            secondShape = {rows, r};
        }
        fill(first, right, firstShape);
        fill(second, left, secondShape);
    } else {
        // S = [in, out]: y = x·S = (x·left)·right; first = left [in, r], second = right [r, out].
        fill(first, left, {rows, r});
        fill(second, right, {r, cols});
    }

    Node n1 = node, n2 = node;
    n1.name = uniqueName(graph, node.name + "_lr1");
    n2.name = uniqueName(graph, node.name + "_lr2");
    const std::string hidden = uniqueName(graph, n1.name + "_out");
    n1.inputs = {node.inputs[0], first.name};
    n1.outputs = {hidden};
    n2.inputs = {hidden, second.name};
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) n2.inputs.push_back(node.inputs[2]);
    if (node.opType == "Gemm" && graph.opset > 0 && graph.opset < 11) {
        // Gemm's C became optional in opset 11; older models get an explicit zero bias.
        Tensor zero;
        zero.name = uniqueName(graph, first.name + "_bias");
        zero.shape = {r};
        zero.data.assign(size_t(r), 0.f);
        n1.inputs.push_back(zero.name);
        putInitializer(graph, std::move(zero));
    }
    if (node.opType == "Gemm") {
        n1.attributes.erase("beta");
        n2.attributes.erase("transA");
        n2.attributes.erase("alpha");
    } else if (node.opType == "Conv") {
        n2.attributes.clear();
        n2.attributes["kernel_shape"] = intsAttribute(std::vector<int64_t>(w.shape.size() - 2, 1));
    }

    ValueInfo hv;
    hv.name = hidden;
    hv.dtype = DType::Float;
    if (const ValueInfo* y = graph.value(node.outputs[0]); y && y->hasShape && !y->shape.empty()) {
        hv.hasShape = true;
        hv.shape = y->shape;
        hv.dimParams = y->dimParams;
        const size_t channel = node.opType == "Conv" ? 1 : y->shape.size() - 1;
        if (channel < hv.shape.size()) {
            hv.shape[channel] = r;
            if (channel < hv.dimParams.size()) hv.dimParams[channel].clear();
        }
    }
    graph.values[hidden] = hv;

    result.firstNode = n1.name;
    result.secondNode = n2.name;
    result.firstWeight = first.name;
    result.secondWeight = second.name;
    putInitializer(graph, std::move(first));
    putInitializer(graph, std::move(second));
    graph.nodes[size_t(nodeIndex)] = std::move(n1);
    graph.nodes.insert(graph.nodes.begin() + nodeIndex + 1, std::move(n2));
    eraseInitializerIfUnused(graph, node.inputs[1]);
    result.applied = true;
    return result;
}

}  // namespace lathe
