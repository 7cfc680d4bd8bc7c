#include "core/compress/lowrank/tucker2_decompose.h"

#include <Eigen/Dense>
#include <Eigen/SVD>
#include <cmath>

#include "core/compress/compressible_layer.h"
#include "core/compress/lowrank/svd_decompose.h"

namespace lathe {

namespace {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Left singular vectors and singular values of a mode unfolding.
struct ModeBasis {
    RowMatrixD u;  // rows × min(rows, cols)
    std::vector<double> s;
};

ModeBasis modeBasis(const RowMatrixD& unfolding) {
    Eigen::BDCSVD<RowMatrixD> svd(unfolding, Eigen::ComputeThinU);
    const auto& s = svd.singularValues();
    return {svd.matrixU(), {s.data(), s.data() + s.size()}};
}

Status checkRank(std::optional<int64_t> rank, int64_t full, const char* field, const char* mode,
                 const std::string& layer) {
    if (rank && (*rank < 1 || *rank > full))
        return makeError(ErrorCode::InvalidArgument, std::string("lowrank.") + field + ": " + std::to_string(*rank) +
                                                         " is outside 1.." + std::to_string(full) + ", the full rank of " +
                                                         mode + " of " + layer);
    return Ok{};
}

}  // namespace

bool tucker2Applies(const Graph& graph, int nodeIndex) {
    if (!layerWeight(graph, nodeIndex)) return false;
    const Node& node = graph.nodes[size_t(nodeIndex)];
    if (node.opType != "Conv" || node.attrInt("group", 1) != 1) return false;
    return graph.initializers.at(node.inputs[1]).shape.size() >= 3;
}

std::pair<int64_t, int64_t> tucker2FullRanks(const Graph& graph, int nodeIndex) {
    if (!tucker2Applies(graph, nodeIndex)) return {0, 0};
    const Tensor& w = graph.initializers.at(graph.nodes[size_t(nodeIndex)].inputs[1]);
    const int64_t cout = w.shape[0], cin = w.shape[1], spatial = w.numel() / std::max<int64_t>(cout * cin, 1);
    return {std::min(cout, cin * spatial), std::min(cin, cout * spatial)};
}

Result<Tucker2Result> tucker2Decompose(Graph& graph, int nodeIndex, const Tucker2Settings& settings) {
    Tucker2Result result;
    if (!tucker2Applies(graph, nodeIndex)) return result;
    const Node node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    const int64_t cout = w.shape[0], cin = w.shape[1], spatial = w.numel() / (cout * cin);
    std::tie(result.fullRankOut, result.fullRankIn) = tucker2FullRanks(graph, nodeIndex);
    const std::string layer = node.name + " (" + shapeToString(w.shape) + ")";
    if (settings.rankOut || settings.rankIn) {
        if (!settings.rankOut || !settings.rankIn)
            return makeError(ErrorCode::InvalidArgument,
                             std::string("lowrank.") + (settings.rankOut ? "rank_in" : "rank_out") +
                                 ": Tucker-2 of " + layer + " needs both rank_out and rank_in (or energy)");
        if (auto st = checkRank(settings.rankOut, result.fullRankOut, "rank_out", "mode 0 (output channels)", layer);
            !st)
            return st.error();
        if (auto st = checkRank(settings.rankIn, result.fullRankIn, "rank_in", "mode 1 (input channels)", layer); !st)
            return st.error();
    } else if (!settings.energy || !(*settings.energy > 0 && *settings.energy <= 1)) {
        return makeError(ErrorCode::InvalidArgument,
                         "lowrank.energy: must be in (0, 1] for " + layer + " (or set rank_out and rank_in)");
    }

    // Mode-0 unfolding [Cout, Cin·S] is the weight itself; mode-1 [Cin, Cout·S] permutes the two channel axes.
    const RowMatrixD w0 =
        Eigen::Map<const RowMatrixF>(w.data.data(), Eigen::Index(cout), Eigen::Index(cin * spatial)).cast<double>();
    RowMatrixD w1(cin, cout * spatial);
    for (int64_t o = 0; o < cout; ++o)
        for (int64_t i = 0; i < cin; ++i) w1.block(i, o * spatial, 1, spatial) = w0.block(o, i * spatial, 1, spatial);
    const ModeBasis out = modeBasis(w0), in = modeBasis(w1);
    result.singularValuesOut = out.s;
    result.singularValuesIn = in.s;
    const int64_t ro = settings.rankOut ? *settings.rankOut : rankForEnergy(out.s, *settings.energy);
    const int64_t ri = settings.rankIn ? *settings.rankIn : rankForEnergy(in.s, *settings.energy);
    result.rankOut = ro;
    result.rankIn = ri;
    const RowMatrixD uOut = out.u.leftCols(ro);  // Cout × r_out
    const RowMatrixD uIn = in.u.leftCols(ri);    // Cin × r_in

    // G = W ×0 U_outᵀ ×1 U_inᵀ: first T = U_outᵀ·W_(0) [r_out, Cin·S], then per output slice U_inᵀ·T[a] [r_in, S].
    const RowMatrixD t = uOut.transpose() * w0;
    RowMatrixD g(ro, ri * spatial);
    for (int64_t a = 0; a < ro; ++a) {
        const Eigen::Map<const RowMatrixD> slice(t.row(a).data(), Eigen::Index(cin), Eigen::Index(spatial));
        RowMatrixD ga = uIn.transpose() * slice;
        g.row(a) = Eigen::Map<const Eigen::RowVectorXd>(ga.data(), ga.size());
    }
    const double norm2 = w0.squaredNorm();
    result.relError = norm2 > 0 ? std::sqrt(std::max(0.0, norm2 - g.squaredNorm()) / norm2) : 0.0;

    auto tensor = [&](const std::string& suffix, const RowMatrixD& m, std::vector<int64_t> shape) {
        Tensor x;
        x.name = uniqueName(graph, node.inputs[1] + suffix);
        x.shape = std::move(shape);
        x.data.resize(size_t(m.size()));
        Eigen::Map<RowMatrixF>(x.data.data(), m.rows(), m.cols()) = m.cast<float>();
        return x;
    };
    const std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
    std::vector<int64_t> pointIn(w.shape.size(), 1), pointOut(w.shape.size(), 1), coreShape = w.shape;
    pointIn[0] = ri;
    pointIn[1] = cin;
    coreShape[0] = ro;
    coreShape[1] = ri;
    pointOut[0] = cout;
    pointOut[1] = ro;
    std::vector<Tensor> weights;
    weights.push_back(tensor("_tk1", uIn.transpose(), pointIn));
    weights.push_back(tensor("_tk2", g, coreShape));
    weights.push_back(tensor("_tk3", uOut, pointOut));

    const auto pointwise = std::vector<int64_t>(kernel.size(), 1);
    Node n1, n2 = node, n3;
    n1.opType = n3.opType = "Conv";
    n1.domain = n3.domain = node.domain;
    n1.name = uniqueName(graph, node.name + "_tk1");
    n2.name = uniqueName(graph, node.name + "_tk2");
    n3.name = uniqueName(graph, node.name + "_tk3");
    n1.attributes["kernel_shape"] = intsAttribute(pointwise);
    n3.attributes["kernel_shape"] = intsAttribute(pointwise);
    n1.inputs = {std::string(), weights[0].name};
    n2.inputs = {std::string(), weights[1].name};
    n3.inputs = {std::string(), weights[2].name};
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) n3.inputs.push_back(node.inputs[2]);

    std::vector<std::vector<int64_t>> hidden(2);
    if (const ValueInfo* x = graph.value(node.inputs[0]); x && x->hasShape && x->shape.size() == w.shape.size()) {
        hidden[0] = x->shape;
        hidden[0][1] = ri;
    }
    if (const ValueInfo* y = graph.value(node.outputs[0]); y && y->hasShape && y->shape.size() == w.shape.size()) {
        hidden[1] = y->shape;
        hidden[1][1] = ro;
    }
    result.nodes = {n1.name, n2.name, n3.name};
    for (const Tensor& x : weights) result.weights.push_back(x.name);
    replaceNodeByChain(graph, nodeIndex, {std::move(n1), std::move(n2), std::move(n3)}, std::move(weights), hidden);
    result.applied = true;
    return result;
}

Tensor recomposeTucker2(const Tensor& inFactor, const Tensor& core, const Tensor& outFactor) {
    const int64_t ri = inFactor.shape[0], cin = inFactor.shape[1];
    const int64_t cout = outFactor.shape[0], ro = outFactor.shape[1];
    const int64_t spatial = core.numel() / (ro * ri);
    const Eigen::Map<const RowMatrixF> uInT(inFactor.data.data(), ri, cin);
    const Eigen::Map<const RowMatrixF> uOut(outFactor.data.data(), cout, ro);
    const Eigen::Map<const RowMatrixF> g(core.data.data(), ro, ri * spatial);
    // T[a] = U_in·G[a] [Cin, S]; W_(0) = U_out·T.
    RowMatrixD t(ro, cin * spatial);
    for (int64_t a = 0; a < ro; ++a) {
        const Eigen::Map<const RowMatrixF> ga(g.row(a).data(), ri, spatial);
        RowMatrixD ta = uInT.transpose().cast<double>() * ga.cast<double>();
        t.row(a) = Eigen::Map<const Eigen::RowVectorXd>(ta.data(), ta.size());
    }
    Tensor out;
    out.name = core.name;
    out.shape = core.shape;
    out.shape[0] = cout;
    out.shape[1] = cin;
    out.data.resize(size_t(cout * cin * spatial));
    Eigen::Map<RowMatrixF>(out.data.data(), cout, cin * spatial) = (uOut.cast<double>() * t).cast<float>();
    return out;
}

}  // namespace lathe
