// Incremental evaluation (only what a variant changed runs) equals a full run, on the demo LeNet-5 and on the
// residual ResNet-style net; the sensitivity scan's curves on real Fashion-MNIST images.
#include <QtTest>
#include <nlohmann/json.hpp>

#include "core/compress/apply_recipe.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/sensitivity_scan.h"
#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"
#include "core/eval/incremental_evaluator.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"

using namespace lathe;

namespace {
const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";
const std::string kResNet = std::string(LATHE_SOURCE_DIR) + "/resources/models/resnet_fashion.onnx";

template <class T>
const char* messageOf(const Result<T>& r) {
    return r.ok() ? "" : r.error().message.c_str();
}

Recipe recipeFor(const std::string& layer, const LayerEntry& entry) {
    Recipe r;
    r.layers[layer] = entry;
    return r;
}

LayerEntry sparsity(double s) {
    LayerEntry e;
    e.prune = PruneEntry{};
    e.prune->sparsity = s;
    return e;
}

LayerEntry bits(int b) {
    LayerEntry e;
    e.quant = QuantEntry{};
    e.quant->bits = b;
    return e;
}

LayerEntry rank(int64_t r) {
    LayerEntry e;
    e.lowrank = LowRankEntry{};
    e.lowrank->rank = r;
    return e;
}

// The variant's logits from a full run of every chunk of the evaluator's subset.
std::vector<NDArray> fullRun(const Graph& variant, const Dataset& data, const std::vector<int64_t>& indices,
                             int64_t chunk) {
    auto executor = Executor::compile(variant);
    if (!executor) return {};
    const bool flat = *takesFlatSamples(variant, data);
    std::vector<NDArray> out;
    for (size_t begin = 0; begin < indices.size(); begin += size_t(chunk)) {
        const size_t count = std::min(size_t(chunk), indices.size() - begin);
        auto batch = data.batch(std::span(indices).subspan(begin, count));
        if (flat) batch->shape = {batch->shape[0], batch->numel() / batch->shape[0]};
        auto result = executor->run({{variant.inputs.front(), *batch}});
        out.push_back(result->at(variant.outputs.front()));
    }
    return out;
}

bool identical(const std::vector<NDArray>& a, const std::vector<NDArray>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].shape != b[i].shape || a[i].data != b[i].data) return false;
    return true;
}
}  // namespace

class TestSensitivityScan : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY2(graph.ok(), messageOf(graph));
        m_lenet = std::move(*graph);
        auto data = openDataset({DatasetKind::Idx, kFashionDir, ""}, {});
        if (!data.ok()) QSKIP("needs /usr/share/datasets/fashion-mnist");
        m_test = *data;
    }

    // Every layer changed alone, by each kind of setting: the incremental result is bit-identical to running the
    // whole variant, and a change to a later layer runs fewer nodes.
    void incrementalEqualsFullRun_data() {
        QTest::addColumn<QString>("model");
        QTest::newRow("lenet5") << QString(LATHE_DEMO_MODEL);
        QTest::newRow("resnet (residual Adds, BatchNormalization)") << QString::fromStdString(kResNet);
    }
    void incrementalEqualsFullRun() {
        QFETCH(QString, model);
        auto graph = readOnnxModel(model.toStdString());
        QVERIFY2(graph.ok(), messageOf(graph));
        IncrementalEvalOptions options;
        options.limit = 300;
        options.chunk = 128;  // the last chunk is partial
        options.seed = 7;
        auto evaluator = IncrementalEvaluator::create(*graph, m_test, options);
        QVERIFY2(evaluator.ok(), messageOf(evaluator));
        IncrementalEvaluator& eval = **evaluator;
        QCOMPARE(eval.subsetSize(), int64_t(300));
        QVERIFY(identical(*eval.outputs(*graph), fullRun(*graph, *m_test, eval.indices(), options.chunk)));

        // The baseline is the float model's top-1 on the same seeded subset as evaluate() takes.
        EvalOptions full;
        full.limit = 300;
        full.shuffle = true;
        full.seed = 7;
        full.latencySamples = 0;
        full.backend = BackendKind::Builtin;
        auto report = evaluate(*graph, *m_test, full);
        QVERIFY2(report.ok(), messageOf(report));
        QCOMPARE(eval.baseline().top1, report->top1);
        QCOMPARE(eval.baseline().predictions, report->predictions);

        const std::vector<LayerWeight> layers = compressibleLayers(*graph);
        QVERIFY(layers.size() >= 4);
        int64_t firstRun = -1, lastRun = -1;
        for (size_t l = 0; l < layers.size(); ++l) {
            for (const LayerEntry& entry : {sparsity(0.8), bits(3), rank(2)}) {
                auto compressed = applyRecipe(*graph, recipeFor(layers[l].nodeName, entry));
                if (!compressed) continue;  // e.g. a depthwise Conv has no channel SVD
                auto incremental = eval.outputs(compressed->graph);
                QVERIFY2(incremental.ok(), messageOf(incremental));
                QVERIFY2(identical(*incremental,
                                   fullRun(compressed->graph, *m_test, eval.indices(), options.chunk)),
                         layers[l].nodeName.c_str());
                auto acc = eval.evaluate(compressed->graph);
                QVERIFY(acc.ok());
                if (l == 0 && entry.prune) firstRun = acc->nodesRun;
                if (l + 1 == layers.size() && entry.prune) lastRun = acc->nodesRun;
            }
        }
        QVERIFY(firstRun > 0 && lastRun > 0);
        QVERIFY2(lastRun < firstRun, qPrintable(QString("last layer ran %1 nodes, first %2").arg(lastRun).arg(firstRun)));
    }

    // The demo model's curves on 500 seeded test images: real drops where they must be, none at 8 bits, and the JSON
    // the CLI prints reads back.
    void scanLenet() {
        IncrementalEvalOptions options;
        options.limit = 500;
        auto evaluator = IncrementalEvaluator::create(m_lenet, m_test, options);
        QVERIFY2(evaluator.ok(), messageOf(evaluator));
        SensitivityOptions scan;
        scan.sparsities = {0.5, 0.95};
        scan.bits = {8, 2};
        scan.rankFractions = {0.0625};
        int progressCalls = 0;
        auto result = scanSensitivity(m_lenet, **evaluator, scan, [&](float, std::string_view) {
            ++progressCalls;
            return true;
        });
        QVERIFY2(result.ok(), messageOf(result));
        QCOMPARE(int(result->layers.size()), int(compressibleLayers(m_lenet).size()));
        QVERIFY(progressCalls > 10);
        const double base = result->baselineTop1;
        QVERIFY(base > 85);
        double worst2Bit = 0;
        for (const LayerSensitivity& l : result->layers) {
            QCOMPARE(int(l.sparsity.size()), 3);  // 0 (baseline), 0.5, 0.95
            QCOMPARE(l.sparsity[0].second, base);
            QCOMPARE(int(l.bits.size()), 2);
            QVERIFY2(std::abs(l.bits[0].second - base) <= 0.6, l.name.c_str());  // 8 bits per channel: ~lossless
            QVERIFY(l.fullRank > 0);
            QCOMPARE(int(l.rank.size()), 1);
            worst2Bit = std::max(worst2Bit, base - l.bits[1].second);
            QVERIFY(l.sparsity[2].second <= l.sparsity[1].second + 1.0);
        }
        QVERIFY2(worst2Bit > 2.0, "2-bit weights should hurt at least one layer");
        QVERIFY(result->nodesRun < result->nodesTotal);

        auto back = sensitivityFromJson(sensitivityToJson(*result));
        QVERIFY2(back.ok(), messageOf(back));
        QCOMPARE(back->layers.size(), result->layers.size());
        QCOMPARE(back->layers[1].bits.size(), result->layers[1].bits.size());
        QCOMPARE(back->samples, int64_t(500));
    }

    void cancelStops() {
        IncrementalEvalOptions options;
        options.limit = 200;
        auto evaluator = IncrementalEvaluator::create(m_lenet, m_test, options);
        QVERIFY(evaluator.ok());
        int calls = 0;
        auto result = scanSensitivity(m_lenet, **evaluator, {}, [&](float, std::string_view) { return ++calls < 5; });
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, ErrorCode::Cancelled);
    }

    void badInputNamesIt() {
        IncrementalEvalOptions options;
        options.limit = 50;
        auto evaluator = IncrementalEvaluator::create(m_lenet, m_test, options);
        QVERIFY(evaluator.ok());
        SensitivityOptions scan;
        scan.layers = {"no_such_layer"};
        auto result = scanSensitivity(m_lenet, **evaluator, scan);
        QVERIFY(!result.ok());
        QVERIFY(result.error().message.find("no_such_layer") != std::string::npos);
        QVERIFY(!sensitivityFromJson(nlohmann::json::parse(R"({"baseline_top1": 1, "layers": [{"name": "a",
            "bits": [[8]]}]})")).ok());
    }

private:
    Graph m_lenet;
    std::shared_ptr<const Dataset> m_test;
};

QTEST_APPLESS_MAIN(TestSensitivityScan)
#include "test_sensitivity_scan.moc"
