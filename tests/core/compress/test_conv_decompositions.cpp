// Tucker-2 and spatial SVD of convolutions: factor shapes, the error each method's formula gives (and that the
// recomposed weight has), full ranks reproducing the layer, and the recipe's "lowrank.method".
#include <QtTest>
#include <cmath>
#include <nlohmann/json.hpp>

#include "compress_test_util.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/layer_preview.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/lowrank/spatial_svd_decompose.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/lowrank/tucker2_decompose.h"
#include "core/compress/recipe.h"
#include "core/model/model_summary.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

double squaredNorm(const Tensor& t) {
    double s = 0;
    for (float v : t.data) s += double(v) * v;
    return s;
}

double relativeDifference(const Tensor& a, const Tensor& b) {
    double err = 0;
    for (size_t i = 0; i < a.data.size(); ++i) err += double(a.data[i] - b.data[i]) * double(a.data[i] - b.data[i]);
    return std::sqrt(err / squaredNorm(a));
}

// x [2, 6, 11, 9] → conv [10, 6, 3, 5] (stride 2×1, pads 1,2,0,1) → Relu
Graph makeConv() {
    GraphBuilder b(11);
    std::string x = b.input("x", {2, 6, 11, 9});
    b.tensor("conv.weight", {10, 6, 3, 5});
    b.tensor("conv.bias", {10}, 0.1f);
    Node n = b.node("conv", "Conv", {x, "conv.weight", "conv.bias"});
    n.attributes["kernel_shape"] = intsAttribute({3, 5});
    n.attributes["strides"] = intsAttribute({2, 1});
    n.attributes["pads"] = intsAttribute({1, 2, 0, 1});
    // H: (11 + 1 + 0 − 3) / 2 + 1 = 5; W: 9 + 2 + 1 − 5 + 1 = 8.
    x = b.add(n, {2, 10, 5, 8});
    x = b.unary("Relu", "relu", x);
    b.output(x);
    return b.graph;
}

Recipe recipe(const char* json) {
    auto r = parseRecipe(json);
    if (!r) qFatal("%s", r.error().message.c_str());
    return *r;
}

const Array& outputOf(const Graph& g, const std::map<std::string, Array>& env) { return env.at(g.outputs[0]); }

}  // namespace

class TestConvDecompositions : public QObject {
    Q_OBJECT
private slots:
    void tucker2FactorsAndTheirError() {
        Graph g = makeConv();
        const Tensor w = g.initializers.at("conv.weight");
        QCOMPARE(tucker2FullRanks(g, 0), (std::pair<int64_t, int64_t>{10, 6}));  // min(10, 90), min(6, 150)
        auto r = tucker2Decompose(g, 0, Tucker2Settings{4, 3, std::nullopt});
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(r->applied);
        QCOMPARE(r->rankOut, int64_t(4));
        QCOMPARE(r->rankIn, int64_t(3));
        QCOMPARE(g.nodes.size(), size_t(4));
        const Tensor& first = g.initializers.at(r->weights[0]);
        const Tensor& core = g.initializers.at(r->weights[1]);
        const Tensor& last = g.initializers.at(r->weights[2]);
        QCOMPARE(first.shape, (std::vector<int64_t>{3, 6, 1, 1}));
        QCOMPARE(core.shape, (std::vector<int64_t>{4, 3, 3, 5}));
        QCOMPARE(last.shape, (std::vector<int64_t>{10, 4, 1, 1}));
        // The core conv keeps the layer's strides and pads; the 1×1s have none; the bias moves to the last.
        QCOMPARE(g.nodes[1].attrInts("strides"), (std::vector<int64_t>{2, 1}));
        QCOMPARE(g.nodes[1].attrInts("pads"), (std::vector<int64_t>{1, 2, 0, 1}));
        QVERIFY(g.nodes[0].attrInts("pads").empty());
        QCOMPARE(g.nodes[2].inputs.size(), size_t(3));
        QCOMPARE(g.nodes[2].inputs[2], std::string("conv.bias"));
        QCOMPARE(g.value(g.nodes[0].outputs[0])->shape, (std::vector<int64_t>{2, 3, 11, 9}));
        QCOMPARE(g.value(g.nodes[1].outputs[0])->shape, (std::vector<int64_t>{2, 4, 5, 8}));

        // HOSVD with orthonormal factors: ||W − Ŵ||² = ||W||² − ||G||²; the recomposed weight has that error.
        const double formula = std::sqrt((squaredNorm(w) - squaredNorm(core)) / squaredNorm(w));
        QVERIFY2(std::fabs(r->relError - formula) < 1e-6, qPrintable(QString("%1 vs %2").arg(r->relError).arg(formula)));
        const double actual = relativeDifference(w, recomposeTucker2(first, core, last));
        QVERIFY2(std::fabs(actual - formula) < 1e-5, qPrintable(QString("%1 vs %2").arg(actual).arg(formula)));
        QVERIFY(formula > 0.05);  // random weights: a real truncation
        // The mode spectra are those of the two unfoldings.
        QCOMPARE(r->singularValuesOut.size(), size_t(10));
        QCOMPARE(r->singularValuesIn.size(), size_t(6));
        QVERIFY(std::fabs(r->singularValuesOut.front() - weightSingularValues(w).front()) < 1e-9);
    }

    void tucker2AtFullRanksIsTheLayer() {
        Graph g = makeConv();
        const Graph original = g;
        auto r = tucker2Decompose(g, 0, Tucker2Settings{10, 6, std::nullopt});
        QVERIFY(r.ok());
        QVERIFY(r->relError < 1e-6);
        const auto inputs = std::map<std::string, Array>{{"x", randomInput({2, 6, 11, 9})}};
        const Array expected = outputOf(original, evaluate(original, inputs));
        auto env = evaluate(g, inputs);
        QCOMPARE(QString::fromStdString(checkShapes(g, env)), QString());
        QVERIFY(maxAbsDiff(outputOf(g, env), expected) < 1e-4f * std::max(1.f, maxAbs(expected)));
    }

    void tucker2ByEnergyPicksEachModesRank() {
        Graph g = makeConv();
        auto r = tucker2Decompose(g, 0, Tucker2Settings{std::nullopt, std::nullopt, 0.8});
        QVERIFY(r.ok());
        QCOMPARE(r->rankOut, rankForEnergy(r->singularValuesOut, 0.8));
        QCOMPARE(r->rankIn, rankForEnergy(r->singularValuesIn, 0.8));
        QVERIFY(r->rankOut < 10 && r->rankIn < 6);
    }

    void tucker2RefusesBadRanks() {
        Graph g = makeConv();
        auto above = tucker2Decompose(g, 0, Tucker2Settings{11, 3, std::nullopt});
        QVERIFY(!above.ok());
        QVERIFY2(above.error().message.find("rank_out") != std::string::npos &&
                     above.error().message.find("conv") != std::string::npos,
                 above.error().message.c_str());
        auto one = tucker2Decompose(g, 0, Tucker2Settings{4, std::nullopt, std::nullopt});
        QVERIFY(!one.ok());
        QVERIFY2(one.error().message.find("rank_in") != std::string::npos, one.error().message.c_str());
        QCOMPARE(g.nodes.size(), size_t(2));  // unchanged
    }

    void spatialFactorsAndTheirError() {
        Graph g = makeConv();
        const Tensor w = g.initializers.at("conv.weight");
        QCOMPARE(spatialSvdFullRank(g, 0), int64_t(18));  // min(6·3, 10·5)
        auto r = spatialSvdDecompose(g, 0, LowRankSettings{5, std::nullopt});
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->rank, int64_t(5));
        const Tensor& vertical = g.initializers.at(r->weights[0]);
        const Tensor& horizontal = g.initializers.at(r->weights[1]);
        QCOMPARE(vertical.shape, (std::vector<int64_t>{5, 6, 3, 1}));
        QCOMPARE(horizontal.shape, (std::vector<int64_t>{10, 5, 1, 5}));
        // The height's stride and pads go to the k×1 conv, the width's to the 1×k one.
        QCOMPARE(g.nodes[0].attrInts("strides"), (std::vector<int64_t>{2, 1}));
        QCOMPARE(g.nodes[0].attrInts("pads"), (std::vector<int64_t>{1, 0, 0, 0}));
        QCOMPARE(g.nodes[1].attrInts("strides"), (std::vector<int64_t>{1, 1}));
        QCOMPARE(g.nodes[1].attrInts("pads"), (std::vector<int64_t>{0, 2, 0, 1}));
        QCOMPARE(g.value(g.nodes[0].outputs[0])->shape, (std::vector<int64_t>{2, 5, 5, 9}));
        // The error is the singular-value tail of W unfolded as [Cin·kh, Cout·kw].
        double tail = 0;
        for (size_t i = 5; i < r->singularValues.size(); ++i) tail += r->singularValues[i] * r->singularValues[i];
        const double formula = std::sqrt(tail / squaredNorm(w));
        QCOMPARE(r->singularValues.size(), size_t(18));
        QVERIFY(std::fabs(r->relError - formula) < 1e-9);
        const double actual = relativeDifference(w, recomposeSpatial(vertical, horizontal));
        QVERIFY2(std::fabs(actual - formula) < 1e-5, qPrintable(QString("%1 vs %2").arg(actual).arg(formula)));
        QVERIFY(formula > 0.05);
    }

    void spatialAtFullRankIsTheLayer() {
        Graph g = makeConv();
        const Graph original = g;
        QVERIFY(spatialSvdDecompose(g, 0, LowRankSettings{18, std::nullopt}).ok());
        const auto inputs = std::map<std::string, Array>{{"x", randomInput({2, 6, 11, 9})}};
        const Array expected = outputOf(original, evaluate(original, inputs));
        auto env = evaluate(g, inputs);
        QCOMPARE(QString::fromStdString(checkShapes(g, env)), QString());
        QVERIFY(maxAbsDiff(outputOf(g, env), expected) < 1e-4f * std::max(1.f, maxAbs(expected)));
    }

    void spatialDoesNotApplyToPointwiseOrDepthwise() {
        GraphBuilder b;
        std::string x = b.input("x", {1, 4, 6, 6});
        x = b.conv("dw", x, 4, 3, 4);
        x = b.conv("pw", x, 8, 1);
        b.output(x);
        QVERIFY(!spatialSvdApplies(b.graph, 0));
        QVERIFY(!spatialSvdApplies(b.graph, 1));
        QVERIFY(!tucker2Applies(b.graph, 0));
        QVERIFY(tucker2Applies(b.graph, 1));
        QVERIFY(decompositionRefusal(b.graph, 1, LowRankMethod::Spatial).find("pw (Conv)") != std::string::npos);
    }

    void recipePicksTheMethod() {
        const Graph g = makeLeNet();
        auto tucker = applyRecipe(
            g, recipe(R"({"layers": {"conv2": {"lowrank": {"method": "tucker2", "rank_out": 10, "rank_in": 12}}}})"));
        QVERIFY2(tucker.ok(), tucker.ok() ? "" : tucker.error().message.c_str());
        const LayerReport* conv2 = nullptr;
        for (const auto& l : tucker->layers)
            if (l.name == "conv2") conv2 = &l;
        QVERIFY(conv2);
        QVERIFY(conv2->lowRankMethod == LowRankMethod::Tucker2);
        QCOMPARE(conv2->rank, int64_t(10));
        QCOMPARE(conv2->rankIn, int64_t(12));
        QCOMPARE(conv2->fullRank, int64_t(50));
        QCOMPARE(conv2->fullRankIn, int64_t(20));
        QCOMPARE(conv2->nodes.size(), size_t(3));
        QCOMPARE(conv2->params, int64_t(12 * 20 + 10 * 12 * 25 + 50 * 10 + 50));
        QCOMPARE(decomposedParams(LowRankMethod::Tucker2, {50, 20, 5, 5}, 10, 12), int64_t(12 * 20 + 10 * 12 * 25 + 50 * 10));
        // No pruning or quantization: the layer's error is the decomposition's.
        QVERIFY(std::fabs(conv2->relError - conv2->lowRankError) < 1e-5);
        QVERIFY(conv2->relError > 0.05);
        const auto json = reportToJson(*tucker);
        QCOMPARE(QString::fromStdString(json["layers"][1]["lowrank_method"].get<std::string>()), QString("tucker2"));

        auto spatial =
            applyRecipe(g, recipe(R"({"layers": {"conv2": {"lowrank": {"method": "spatial", "energy": 0.9}}}})"));
        QVERIFY(spatial.ok());
        for (const auto& l : spatial->layers)
            if (l.name == "conv2") {
                QVERIFY(l.lowRankMethod == LowRankMethod::Spatial);
                QCOMPARE(l.fullRank, int64_t(100));  // min(20·5, 50·5)
                QVERIFY(l.rank > 0 && l.rank < 100);
                QCOMPARE(l.rank, rankForEnergy(l.singularValues, 0.9));
                QVERIFY(std::fabs(l.relError - l.lowRankError) < 1e-5);
            }

        // A default Tucker-2 skips the Gemm layers with a note and factors both convs.
        auto defaults = applyRecipe(g, recipe(R"({"defaults": {"lowrank": {"method": "tucker2", "energy": 0.95}}})"));
        QVERIFY(defaults.ok());
        for (const auto& l : defaults->layers) {
            if (l.opType == "Conv") {
                QVERIFY(l.lowRankMethod == LowRankMethod::Tucker2);
                QVERIFY(l.rank > 0);
            } else {
                QCOMPARE(l.rank, int64_t(0));
                QVERIFY(!l.notes.empty() && l.notes.front().find("Tucker-2") != std::string::npos);
            }
        }
    }

    // The window's preview runs the same decomposition: its error and weight count are the recipe's.
    void previewMatchesTheRecipe() {
        const Graph g = makeLeNet();
        const Recipe r = recipe(R"({"layers": {"conv2": {"lowrank": {"method": "tucker2", "rank_out": 25, "rank_in": 10}},
                                              "conv1": {"lowrank": {"method": "spatial", "rank": 3}}}})");
        auto m = applyRecipe(g, r);
        QVERIFY(m.ok());
        for (const char* name : {"conv1", "conv2"}) {
            const LayerSettings s = resolveLayerSettings(r, name, std::string(name) + ".weight");
            const LayerPreview p = previewLayer(g.initializers.at(std::string(name) + ".weight"), s);
            const LayerReport* report = nullptr;
            for (const auto& l : m->layers)
                if (l.name == name) report = &l;
            QCOMPARE(p.rank, report->rank);
            QCOMPARE(p.rankIn, report->rankIn);
            QVERIFY2(std::fabs(p.lowRankError - report->lowRankError) < 1e-9, name);
            const Tensor& bias = g.initializers.at(std::string(name) + ".bias");
            QCOMPARE(p.params + bias.numel(), report->params);
        }
    }

    // The MACs the window shows for a setting are those of the decomposed graph (strided, padded conv).
    void macsOfTheFactorsMatchTheGraph() {
        const Graph original = makeConv();
        const std::vector<int64_t> shape = original.initializers.at("conv.weight").shape;
        const std::vector<int64_t> in = {11, 9}, out = {5, 8};
        for (LowRankMethod method : {LowRankMethod::Channel, LowRankMethod::Tucker2, LowRankMethod::Spatial}) {
            Graph g = original;
            LayerSettings s;
            s.lowRankMethod = method;
            if (method == LowRankMethod::Tucker2) {
                s.rankOut = 4;
                s.rankIn = 3;
            } else {
                s.rank = 5;
            }
            auto d = decomposeLayer(g, 0, s);
            QVERIFY(d.ok() && d->applied);
            int64_t macs = 0;
            for (const Node& n : g.nodes) macs += nodeMacs(g, n).value_or(-1000000);
            QCOMPARE(decomposedMacs(method, shape, d->rank, d->rankIn, in, out), macs);  // per sample
        }
    }

    void recipeRefusesWhatAMethodCannotDo() {
        const Graph g = makeLeNet();
        auto check = [&](const char* json, const char* expected) {
            auto r = parseRecipe(json);
            std::string message;
            if (!r)
                message = r.error().message;
            else if (auto st = validateRecipe(*r, g); !st)
                message = st.error().message;
            QVERIFY2(message.find(expected) != std::string::npos,
                     qPrintable(QString("%1 → '%2'").arg(json, QString::fromStdString(message))));
        };
        check(R"({"layers": {"fc1": {"lowrank": {"method": "tucker2", "energy": 0.9}}}})",
              "layers.fc1.lowrank: fc1 (Gemm) cannot take Tucker-2");
        check(R"({"layers": {"conv2": {"lowrank": {"method": "tucker2", "rank": 4}}}})",
              "layers.conv2.lowrank.rank: tucker2 has a rank per mode");
        check(R"({"layers": {"conv2": {"lowrank": {"method": "tucker2", "rank_out": 4}}}})",
              "layers.conv2.lowrank.rank_in: tucker2 needs both");
        check(R"({"layers": {"conv2": {"lowrank": {"method": "tucker2", "rank_out": 51, "rank_in": 4}}}})",
              "layers.conv2.lowrank.rank_out: 51 is above the full rank of the output-channel mode of conv2 (50");
        check(R"({"layers": {"conv2": {"lowrank": {"method": "spatial", "rank": 101}}}})",
              "layers.conv2.lowrank.rank: 101 is above the full rank of the spatial unfolding of conv2 (100");
        check(R"({"layers": {"conv2": {"lowrank": {"rank_in": 3}}}})",
              "layers.conv2.lowrank.rank_in: per-mode ranks belong to \"method\": \"tucker2\"");
        check(R"({"layers": {"conv2": {"lowrank": {"method": "cp", "rank": 3}}}})", "layers.conv2.lowrank.method");
    }

    void methodSurvivesTheRecipesJson() {
        const Recipe r = recipe(R"({"layers": {"conv2": {"lowrank": {"method": "tucker2", "rank_out": 10, "rank_in": 25}}},
                                   "defaults": {"lowrank": {"method": "spatial", "rank": 3}}})");
        auto again = recipeFromJson(recipeToJson(r));
        QVERIFY(again.ok());
        const LayerSettings s = resolveLayerSettings(*again, "conv2", "conv2.weight");
        QVERIFY(s.lowRankMethod == LowRankMethod::Tucker2);
        QCOMPARE(s.rankOut, std::optional<int64_t>(10));
        QCOMPARE(s.rankIn, std::optional<int64_t>(25));
        QVERIFY(s.explicitLowRank);
        const LayerSettings d = resolveLayerSettings(*again, "conv1", "conv1.weight");
        QVERIFY(d.lowRankMethod == LowRankMethod::Spatial);
        QCOMPARE(d.rank, std::optional<int64_t>(3));
        QVERIFY(!d.explicitLowRank);
    }
};

QTEST_APPLESS_MAIN(TestConvDecompositions)
#include "test_conv_decompositions.moc"
