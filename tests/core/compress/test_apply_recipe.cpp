#include <QtTest>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "compress_test_util.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/model/onnx_reader.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

Recipe recipe(const char* json) {
    auto r = parseRecipe(json);
    if (!r.ok()) qFatal("bad test recipe: %s", r.error().message.c_str());
    return *r;
}

const LayerReport& layer(const CompressedModel& m, const std::string& name) {
    for (const auto& l : m.layers)
        if (l.name == name) return l;
    qFatal("no report for %s", name.c_str());
}

// The demo model when it exists, else the same architecture with random weights.
Graph demoModel() {
    if (std::filesystem::exists(LATHE_DEMO_MODEL)) {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        if (g.ok()) return *g;
        qWarning("demo model unreadable (%s); using a random LeNet", g.error().message.c_str());
    } else {
        qWarning("%s not generated yet; using a random LeNet", LATHE_DEMO_MODEL);
    }
    return makeLeNet(7, 1);
}

}  // namespace

class TestApplyRecipe : public QObject {
    Q_OBJECT
private slots:
    void globalSparsityOverPrunableWeights() {
        const Graph g = demoModel();
        auto m = applyRecipe(g, recipe(R"({"global_prune": {"sparsity": 0.7}})"));
        QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
        int64_t zeros = 0, count = 0;
        for (const auto& l : m->layers) {
            const Tensor& w = m->graph.initializers.at(l.weights[0]);
            for (float v : w.data) zeros += v == 0.f ? 1 : 0;
            count += w.numel();
            QCOMPARE(l.threshold, m->globalThreshold);
            QCOMPARE(l.params, l.originalParams);
        }
        QCOMPARE(count, int64_t(500 + 25000 + 400000 + 5000));
        const double achieved = double(zeros) / double(count);
        QVERIFY2(std::fabs(achieved - 0.7) < 0.005, qPrintable(QString::number(achieved)));
        // Biases untouched.
        for (const char* b : {"conv1.bias", "conv2.bias", "fc1.bias", "fc2.bias"})
            QCOMPARE(m->graph.initializers.at(b).data, g.initializers.at(b).data);
        // The source graph is not modified.
        QCOMPARE(g.initializers.at("fc1.weight").data, demoModel().initializers.at("fc1.weight").data);
    }

    void fc1Rank64() {
        const Graph g = demoModel();
        auto m = applyRecipe(g, recipe(R"({"layers": {"fc1": {"lowrank": {"rank": 64}}}})"));
        QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
        const LayerReport& fc1 = layer(*m, "fc1");
        QCOMPARE(fc1.rank, int64_t(64));
        QCOMPARE(fc1.fullRank, int64_t(500));
        QCOMPARE(fc1.params, int64_t(64 * (800 + 500) + 500));
        QCOMPARE(fc1.bytes, int64_t(4 * (64 * (800 + 500) + 500)));
        QCOMPARE(fc1.originalParams, int64_t(500 * 800 + 500));
        QCOMPARE(fc1.nodes, (std::vector<std::string>{"fc1_lr1", "fc1_lr2"}));
        QCOMPARE(fc1.weights, (std::vector<std::string>{"fc1.weight_lr1", "fc1.weight_lr2"}));
        QCOMPARE(fc1.singularValues.size(), size_t(500));
        double tail = 0, norm = 0;
        for (size_t i = 64; i < 500; ++i) tail += fc1.singularValues[i] * fc1.singularValues[i];
        for (float v : g.initializers.at("fc1.weight").data) norm += double(v) * v;
        const double formula = std::sqrt(tail / norm);
        QVERIFY(std::fabs(fc1.lowRankError - formula) < 1e-9);
        QVERIFY2(std::fabs(fc1.relError - formula) < 1e-5,
                 qPrintable(QString("%1 vs %2").arg(fc1.relError).arg(formula)));
        QCOMPARE(fc1.sqnrDb, 10 * std::log10(1 / (fc1.relError * fc1.relError)));
        QCOMPARE(m->graph.nodes.size(), g.nodes.size() + 1);
        // Other layers are untouched and exact.
        QCOMPARE(layer(*m, "conv1").relError, 0.0);
        QVERIFY(std::isinf(layer(*m, "conv1").sqnrDb));
        QVERIFY(reportToJson(*m)["layers"][0]["sqnr_db"].is_null());
    }

    void stagesRunInOrder() {
        // conv2 loses half its filters, fc1 is decomposed from the narrower weight, the factors are pruned and
        // then quantized.
        const Graph g = makeLeNet(9, 1);
        auto m = applyRecipe(g, recipe(R"({
            "defaults": {"quant": {"bits": 8}},
            "layers": {"conv2": {"prune": {"structured": {"keep": 25}}},
                       "fc1": {"lowrank": {"rank": 32}, "prune": {"sparsity": 0.5},
                               "quant": {"bits": 4, "granularity": "per_channel", "symmetric": false}},
                       "fc2": {"quant": {"bits": 3, "rounding": "kmeans"}},
                       "conv1": {"quant": {"bits": 32}}}})"));
        QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
        const Graph& c = m->graph;
        QCOMPARE(c.initializers.at("conv2.weight").shape, (std::vector<int64_t>{25, 20, 5, 5}));
        QCOMPARE(c.initializers.at("fc1.weight_lr1").shape, (std::vector<int64_t>{32, 400}));
        QCOMPARE(c.initializers.at("fc1.weight_lr2").shape, (std::vector<int64_t>{500, 32}));

        const LayerReport& conv2 = layer(*m, "conv2");
        QCOMPARE(conv2.channels, int64_t(50));
        QCOMPARE(conv2.keptChannels, int64_t(25));
        QCOMPARE(conv2.params, int64_t(25 * 20 * 25 + 25));
        QCOMPARE(conv2.bits, 8);
        QCOMPARE(conv2.bytes, int64_t(25 * 20 * 25 + 4 + 25 * 4));
        QVERIFY(conv2.relError > 0.3 && conv2.relError < 1);  // half the filters are gone

        const LayerReport& fc1 = layer(*m, "fc1");
        QCOMPARE(fc1.fullRank, int64_t(400));
        QCOMPARE(fc1.params, int64_t(32 * (400 + 500) + 500));
        QCOMPARE(fc1.bits, 4);
        QVERIFY(fc1.sparsity >= 0.5);  // quantization may round more small weights to the exact zero
        QCOMPARE(fc1.bytes, int64_t((32 * 400 + 500 * 32) / 2 + 32 * 5 + 500 * 5 + 500 * 4));
        for (const char* w : {"fc1.weight_lr1", "fc1.weight_lr2"}) {
            QVERIFY(m->quantized.count(w));
            const QuantizedTensor& q = m->quantized.at(w);
            QCOMPARE(q.bits, 4);
            QVERIFY(!q.symmetric);
            QCOMPARE(q.axis, 0);
            // Pruned zeros survived quantization.
            int64_t zeros = 0;
            for (float v : c.initializers.at(w).data) zeros += v == 0.f ? 1 : 0;
            QVERIFY(zeros >= int64_t(std::llround(0.5 * double(c.initializers.at(w).numel()))));
        }
        // fc1's error is against the original [500, 800] weight, columns removed by conv2 counted as lost.
        QVERIFY(fc1.relError > 0.5 && fc1.relError < 1);

        const LayerReport& fc2 = layer(*m, "fc2");
        QVERIFY(m->codebooks.count("fc2.weight"));
        QVERIFY(fc2.rounding == Rounding::KMeans);
        std::set<float> distinct(c.initializers.at("fc2.weight").data.begin(),
                                 c.initializers.at("fc2.weight").data.end());
        QVERIFY(distinct.size() <= 8);
        QCOMPARE(fc2.bytes,
                 int64_t((5000 * 3 + 7) / 8 + 4 * int64_t(m->codebooks.at("fc2.weight").codebook.size()) + 40));

        const LayerReport& conv1 = layer(*m, "conv1");
        QCOMPARE(conv1.bits, 32);
        QCOMPARE(c.initializers.at("conv1.weight").data, g.initializers.at("conv1.weight").data);
        QVERIFY(std::isinf(conv1.sqnrDb));
        QVERIFY(!m->quantized.count("conv1.weight"));

        QVERIFY(m->bytes < m->originalBytes / 4);
        // The compressed graph runs and its declared shapes match.
        auto env = evaluate(c, {{"input", randomInput({1, 1, 28, 28})}});
        QCOMPARE(QString::fromStdString(checkShapes(c, env)), QString());
        QCOMPARE(env.at("fc2_out").shape, (std::vector<int64_t>{1, 10}));
    }

    void fullRankAfterStructuredPruningIsChecked() {
        const Graph g = makeLeNet();
        auto m = applyRecipe(g, recipe(R"({"layers": {"conv2": {"prune": {"structured": {"keep": 5}}},
                                                    "fc1": {"lowrank": {"rank": 300}}}})"));
        QVERIFY(!m.ok());
        QVERIFY2(m.error().message.find("layers.fc1.lowrank.rank: 300 is above the full rank of fc1 (80 for weight "
                                        "[500, 80]) after structured pruning") != std::string::npos,
                 m.error().message.c_str());
    }

    void defaultsThatDoNotFitAreSkipped() {
        const Graph g = makeResidual();
        auto m = applyRecipe(g, recipe(R"({"defaults": {"prune": {"structured": {"keep_fraction": 0.5}},
                                                      "lowrank": {"rank": 8}}})"));
        QVERIFY2(m.ok(), m.ok() ? "" : m.error().message.c_str());
        QCOMPARE(layer(*m, "conv1").keptChannels, int64_t(2));
        QCOMPARE(layer(*m, "conv2").keptChannels, int64_t(0));
        QVERIFY(!layer(*m, "conv2").notes.empty());
        // conv2's channels are added to the graph input: its group cannot change.
        QVERIFY2(layer(*m, "conv2").notes[0].find("graph input 'input'") != std::string::npos,
                 layer(*m, "conv2").notes[0].c_str());
        QCOMPARE(m->warnings.size(), size_t(1));
        QCOMPARE(layer(*m, "conv2").rank, int64_t(0));  // rank 8 > full rank 4: skipped with a note
        // Asked for explicitly, the same pruning fails naming the input its channels are joined to.
        auto explicitRun = applyRecipe(g, recipe(R"({"layers": {"conv2": {"prune": {"structured": {"keep": 2}}}}})"));
        QVERIFY(!explicitRun.ok());
        QVERIFY(explicitRun.error().message.find("graph input 'input'") != std::string::npos);
    }

    void progressCanCancel() {
        const Graph g = makeLeNet();
        int calls = 0;
        auto m =
            applyRecipe(g, recipe(R"({"defaults": {"quant": {"bits": 8}}})"), [&](float fraction, std::string_view) {
                ++calls;
                return fraction < 0.5f;
            });
        QVERIFY(!m.ok());
        QCOMPARE(m.error().code, ErrorCode::Cancelled);
        QVERIFY(calls > 1);
        std::vector<float> seen;
        auto done = applyRecipe(g, recipe(R"({"defaults": {"quant": {"bits": 8}}})"), [&](float f, std::string_view) {
            seen.push_back(f);
            return true;
        });
        QVERIFY(done.ok());
        QVERIFY(std::is_sorted(seen.begin(), seen.end()));
        QCOMPARE(seen.back(), 1.f);
    }

    void refusesNaNWeights() {
        Graph g = makeLeNet();
        g.initializers.at("fc2.weight").data[17] = NAN;
        auto m = applyRecipe(g, recipe(R"({"defaults": {"quant": {"bits": 8}}})"));
        QVERIFY(!m.ok());
        QVERIFY(m.error().message.find("fc2.weight") != std::string::npos);
    }

    void invalidRecipesFailBeforeAnyWork() {
        auto m = applyRecipe(makeLeNet(), recipe(R"({"layers": {"fc1": {"lowrank": {"rank": 501}}}})"));
        QVERIFY(!m.ok());
        QVERIFY(m.error().message.find("layers.fc1.lowrank.rank: 501") != std::string::npos);
    }

    void reportJson() {
        auto m = applyRecipe(makeLeNet(), recipe(R"({"defaults": {"prune": {"sparsity": 0.5}, "quant": {"bits": 6}},
                                                   "layers": {"fc1": {"lowrank": {"energy": 0.5}}}})"));
        QVERIFY(m.ok());
        const auto j = reportToJson(*m);
        QCOMPARE(j["layers"].size(), size_t(4));
        const auto& fc1 = j["layers"][2];
        QCOMPARE(fc1["name"].get<std::string>(), std::string("fc1"));
        QVERIFY(fc1["rank"].get<int64_t>() > 0);
        QVERIFY(fc1.contains("singular_values"));
        QCOMPARE(fc1["bits"].get<int>(), 6);
        QVERIFY(fc1["sqnr_db"].is_number());
        QCOMPARE(j["params"].get<int64_t>(), m->params);
    }
};

QTEST_APPLESS_MAIN(TestApplyRecipe)
#include "test_apply_recipe.moc"
