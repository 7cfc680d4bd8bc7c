#include <QElapsedTimer>
#include <QtTest>
#include <cmath>
#include <filesystem>
#include <random>

#include "compress_test_util.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/prune/magnitude_prune.h"
#include "core/compress/prune/prune_reconstruction.h"
#include "core/eval/evaluator.h"
#include "core/eval/in_memory_dataset.h"
#include "core/export/model_size.h"
#include "core/export/onnx_export.h"
#include "core/model/onnx_reader.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

std::shared_ptr<const Dataset> floatData(SampleShape shape, std::vector<float> pixels) {
    const int64_t n = int64_t(pixels.size()) / (shape.channels * shape.height * shape.width);
    auto d = InMemoryDataset::make(shape, std::move(pixels), std::vector<int>(size_t(n), 0), "memory", {});
    if (!d) qFatal("dataset: %s", d.error().message.c_str());
    return *d;
}

// Samples of three features (x1, x2, x3) for a Gemm [N,3] -> [N,1]; `third` makes x3 from x1 and x2.
template <class F>
std::shared_ptr<const Dataset> threeFeatures(int n, F third) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> pixels;
    for (int i = 0; i < n; ++i) {
        const float x1 = normal(rng), x2 = normal(rng);
        pixels.insert(pixels.end(), {x1, x2, third(x1, x2)});
    }
    return floatData({3, 1, 1}, std::move(pixels));
}

// y = 0.5 x1 + 0.3 x2 + 0.1 x3 + 0.2; pruning the smallest weight (x3's) leaves [0.5, 0.3, 0].
Graph threeFeatureGemm() {
    GraphBuilder b;
    const std::string x = b.input("x", {-1, 3});
    b.output(b.gemm("fc", x, 1));
    b.graph.initializers.at("fc.weight").data = {0.5f, 0.3f, 0.1f};
    b.graph.initializers.at("fc.bias").data = {0.2f};
    return b.graph;
}

double sumSquaredDiff(const Array& a, const Array& b) {
    double s = 0;
    for (size_t i = 0; i < a.data.size(); ++i) s += (double(a.data[i]) - b.data[i]) * (double(a.data[i]) - b.data[i]);
    return s;
}

int64_t zerosIn(const Graph& g, const std::vector<std::string>& weights) {
    int64_t z = 0;
    for (const auto& w : weights) z += countZeros(g.initializers.at(w).data);
    return z;
}

// Top-1 of `graph` on all of `data` in the built-in executor (fails the test run on an error).
double top1On(const Graph& graph, const Dataset& data) {
    EvalOptions eval;
    eval.backend = BackendKind::Builtin;
    eval.latencySamples = 0;
    eval.folds = 1;
    auto r = evaluate(graph, data, eval);
    if (!r) qFatal("evaluate: %s", r.error().message.c_str());
    return r->top1;
}

}  // namespace

class TestPruneReconstruction : public QObject {
    Q_OBJECT
private slots:
    // x3 = x1 + x2: the pruned 0.1·x3 is exactly 0.1·x1 + 0.1·x2, so the refit kept weights are 0.6 and 0.4.
    void refitAbsorbsAPrunedDependentInput() {
        Graph g = threeFeatureGemm();
        const Graph reference = g;
        pruneToSparsity(g.initializers.at("fc.weight").data, 1.0 / 3.0);
        QCOMPARE(g.initializers.at("fc.weight").data[2], 0.f);
        ReconstructionOptions options;
        options.damping = 0;
        options.samples = 200;
        const std::vector<std::string> nodes = {"fc"};
        auto r = reconstructPrunedLayers(g, reference, nodes, threeFeatures(200, [](float a, float b) { return a + b; }),
                                         options);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->samples, int64_t(200));
        QVERIFY(r->layers.at(0).applied);
        const auto& w = g.initializers.at("fc.weight").data;
        QVERIFY2(std::fabs(w[0] - 0.6f) < 1e-4f && std::fabs(w[1] - 0.4f) < 1e-4f, qPrintable(QString("%1 %2").arg(w[0]).arg(w[1])));
        QCOMPARE(w[2], 0.f);
        QVERIFY(std::fabs(g.initializers.at("fc.bias").data[0] - 0.2f) < 1e-4f);
        QVERIFY(r->layers[0].relErrorBefore > 0.05);
        QVERIFY(r->layers[0].relErrorAfter < 1e-3);
    }

    // x3 constant: the refit is the bias correction b + w3·E[x3] = 0.2 + 0.1·1.5 = 0.35, the kept weights unchanged.
    void refitOfAConstantInputIsTheBiasCorrection() {
        Graph g = threeFeatureGemm();
        const Graph reference = g;
        g.initializers.at("fc.weight").data[2] = 0.f;
        ReconstructionOptions options;
        options.damping = 0;
        const std::vector<std::string> nodes = {"fc"};
        auto r = reconstructPrunedLayers(g, reference, nodes, threeFeatures(100, [](float, float) { return 1.5f; }),
                                         options);
        QVERIFY(r.ok());
        const auto& w = g.initializers.at("fc.weight").data;
        QVERIFY(std::fabs(w[0] - 0.5f) < 1e-4f && std::fabs(w[1] - 0.3f) < 1e-4f);
        QCOMPARE(w[2], 0.f);
        QVERIFY2(std::fabs(g.initializers.at("fc.bias").data[0] - 0.35f) < 1e-4f,
                 qPrintable(QString::number(g.initializers.at("fc.bias").data[0])));
    }

    // Normal equations given by hand: H = AᵀA of rows (1,0,1), (0,1,1), (1,1,1) with the bias column, T = (1, 2, 4):
    // the pruned weight w1 = 0 stays 0, so w0 and b solve [[2,2],[2,3]]·(w0, b) = (5, 7): w0 = 0.5, b = 2.
    void refitSolvesTheKeptCoordinatesOnly() {
        LayerNormalEquations eq;
        eq.fanIn = 2;
        eq.outputs = 1;
        eq.bias = true;
        eq.rows = 3;
        eq.h = {2, 1, 2, 1, 2, 2, 2, 2, 3};
        eq.g = {1 + 4, 2 + 4, 1 + 2 + 4};
        eq.tt = {1 + 4 + 16};
        std::vector<float> weight = {0.7f, 0.f}, bias = {0.1f};
        const RefitResult r = refitKeptWeights(eq, weight, {2, 1}, bias, 0.0);
        QVERIFY(std::fabs(weight[0] - 0.5f) < 1e-6f);
        QCOMPARE(weight[1], 0.f);
        QVERIFY(std::fabs(bias[0] - 2.f) < 1e-6f);
        // The rows predict 2.5, 2, 2.5 against 1, 2, 4 (before: 0.8, 0.1, 0.8).
        QVERIFY(std::fabs(r.errorAfter - 4.5) < 1e-9);
        QVERIFY(std::fabs(r.errorBefore - (0.04 + 3.61 + 10.24)) < 1e-6);
        QCOMPARE(r.targetEnergy, 21.0);
    }

    // A padded, grouped Conv: after the refit the gradient of the calibration loss over every kept weight vanishes
    // (checked with the naive evaluator, independent of the pass's im2col), and the zeros are where they were.
    void convRefitIsTheLeastSquaresOptimum() {
        GraphBuilder b(11);
        const std::string x = b.input("x", {-1, 4, 6, 6});
        b.output(b.conv("c", x, 6, 3, /*group*/ 2, /*pad*/ 1));
        const Graph reference = b.graph;
        Graph g = b.graph;
        pruneToSparsity(g.initializers.at("c.weight").data, 0.5);
        const FloatBuffer masked = g.initializers.at("c.weight").data;
        const Array input = randomInput({48, 4, 6, 6}, 9);
        ReconstructionOptions options;
        options.damping = 0;
        options.samples = 48;
        options.batchSize = 20;  // three batches
        const std::vector<std::string> nodes = {"c"};
        auto r = reconstructPrunedLayers(g, reference, nodes, floatData({4, 6, 6}, input.data), options);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        const auto& w = g.initializers.at("c.weight").data;
        for (size_t i = 0; i < w.size(); ++i) QCOMPARE(w[i] == 0.f, masked[i] == 0.f);

        const std::string out = reference.outputs[0];
        const Array target = evaluate(reference, {{"x", input}}).at(out);
        auto loss = [&](Graph& graph, const std::string& tensor, size_t i, float delta) {
            float& v = graph.initializers.at(tensor).data[i];
            const float saved = v;
            v += delta;
            const double l = sumSquaredDiff(evaluate(graph, {{"x", input}}).at(out), target);
            v = saved;
            return l;
        };
        Graph before = g;
        before.initializers.at("c.weight").data = masked;
        before.initializers.at("c.bias").data = reference.initializers.at("c.bias").data;
        // Independent random inputs: the pruned part is mostly not representable by the kept one, so the loss drops
        // only by what the kept weights and the bias can absorb.
        QVERIFY(loss(g, "c.weight", 0, 0.f) < loss(before, "c.weight", 0, 0.f));
        const float eps = 1e-2f;
        for (size_t i = 0; i < w.size(); ++i) {
            if (w[i] == 0.f) continue;
            const double gradAfter = (loss(g, "c.weight", i, eps) - loss(g, "c.weight", i, -eps)) / (2 * eps);
            const double gradBefore =
                (loss(before, "c.weight", i, eps) - loss(before, "c.weight", i, -eps)) / (2 * eps);
            QVERIFY2(std::fabs(gradAfter) < 1e-3 * std::max(1.0, std::fabs(gradBefore)) + 1e-2,
                     qPrintable(QString("weight %1: gradient %2 (pruned: %3)").arg(i).arg(gradAfter).arg(gradBefore)));
        }
        for (size_t o = 0; o < 6; ++o) {
            const double grad = (loss(g, "c.bias", o, eps) - loss(g, "c.bias", o, -eps)) / (2 * eps);
            QVERIFY2(std::fabs(grad) < 1e-2, qPrintable(QString("bias %1: gradient %2").arg(o).arg(grad)));
        }
    }

    void notApplicableNodesAreReportedAndLeftAlone() {
        GraphBuilder b;
        const std::string x = b.input("x", {-1, 3});
        b.output(b.gemm("fc", x, 2));
        Node& n = b.graph.nodes.back();
        n.attributes["transA"] = n.attributes["transB"];
        n.attributes["transA"].i = 1;
        QVERIFY(!reconstructionApplies(b.graph, 0));
        b.graph.nodes.back().attributes.erase("transA");
        QVERIFY(reconstructionApplies(b.graph, 0));
    }

    void missingDataOrNodeFails() {
        Graph g = threeFeatureGemm();
        const std::vector<std::string> nodes = {"nope"};
        auto r = reconstructPrunedLayers(g, g, nodes, threeFeatures(10, [](float a, float) { return a; }));
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("'nope'") != std::string::npos);
        const std::vector<std::string> fc = {"fc"};
        QVERIFY(!reconstructPrunedLayers(g, g, fc, nullptr).ok());
    }

    void cancels() {
        Graph g = threeFeatureGemm();
        const std::vector<std::string> nodes = {"fc"};
        auto r = reconstructPrunedLayers(g, g, nodes, threeFeatures(10, [](float a, float) { return a; }), {},
                                         [](float, std::string_view) { return false; });
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Cancelled);
    }

    // Issue 12's target, 50 % sparsity without training within a point or so of float, on the MobileNet-style net
    // (depthwise + residual): every layer cut to 50 % by its own setting loses most of its accuracy; prune_correction
    // refits the kept weights (same mask) and brings it back. Full 10,000-image test split, 512 training images.
    void perLayerPruningRefitOnMobileNet() {
        const std::string model = LATHE_SOURCE_DIR "/resources/models/mobilenet_fashion.onnx";
        if (!std::filesystem::exists(model) || !std::filesystem::exists(kFashionDir))
            QSKIP("needs the MobileNet-style model and /usr/share/datasets/fashion-mnist");
        auto graph = readOnnxModel(model);
        QVERIFY(graph.ok());
        auto train = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Train, {}});
        auto test = openDataset({DatasetKind::Idx, kFashionDir, ""}, {});
        QVERIFY(train.ok() && test.ok());
        auto plainRecipe = parseRecipe(R"({"defaults": {"prune": {"sparsity": 0.5}}})");
        auto refitRecipe =
            parseRecipe(R"({"defaults": {"prune": {"sparsity": 0.5}}, "prune_correction": {"method": "least_squares"}})");
        QVERIFY(plainRecipe.ok() && refitRecipe.ok());
        ApplyOptions options;
        options.calibration = *train;
        options.calibrationName = "fashion-mnist train";
        auto refit = applyRecipe(*graph, *refitRecipe, options);
        QVERIFY2(refit.ok(), refit.ok() ? "" : refit.error().message.c_str());
        auto plain = applyRecipe(*graph, *plainRecipe, options);  // data given, but no prune_correction: as cut
        QVERIFY(plain.ok());
        QVERIFY(refit->correction.method == PruneCorrection::LeastSquares);
        QVERIFY(plain->correction.method == PruneCorrection::None);
        int refitLayers = 0;
        for (const auto& l : refit->layers) {
            if (l.threshold <= 0) continue;
            QVERIFY2(l.corrected, l.name.c_str());
            QVERIFY2(l.correctedOutputError < l.prunedOutputError,
                     qPrintable(QString("%1: %2 -> %3").arg(l.name.c_str()).arg(l.prunedOutputError).arg(l.correctedOutputError)));
            ++refitLayers;
        }
        QCOMPARE(refitLayers, 12);
        for (const auto& [name, t] : plain->graph.initializers) {
            const auto& a = refit->graph.initializers.at(name).data;
            for (size_t i = 0; i < a.size(); ++i)
                if ((a[i] == 0.f) != (t.data[i] == 0.f)) QFAIL(qPrintable(QString("%1[%2]: mask differs").arg(name.c_str()).arg(i)));
        }
        auto top1 = [&](const Graph& g) { return top1On(g, **test); };
        const double floatTop1 = top1(*graph), plainTop1 = top1(plain->graph), refitTop1 = top1(refit->graph);
        qInfo("MobileNet-style, 50%% per layer on 10000 test images: float %.2f%%, as cut %.2f%%, refit %.2f%%", floatTop1,
              plainTop1, refitTop1);
        QVERIFY2(plainTop1 < floatTop1 - 30, qPrintable(QString::number(plainTop1)));
        QVERIFY2(refitTop1 > floatTop1 - 2.0, qPrintable(QString::number(refitTop1)));
    }

    // Issue 4's figure: 70% global magnitude sparsity on the demo LeNet-5, calibrated on 512 training images (the default),
    // evaluated on the full 10,000-image test split: within 1.5 points of float (91.53%), the mask and the sparsity
    // exactly those of plain magnitude pruning, zlib size at most 45% of the baseline's.
    void demoModelWithinOneAndAHalfPoints() {
        if (!std::filesystem::exists(LATHE_DEMO_MODEL) || !std::filesystem::exists(kFashionDir))
            QSKIP("needs the demo model and /usr/share/datasets/fashion-mnist");
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(graph.ok());
        auto train = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Train, {}});
        auto test = openDataset({DatasetKind::Idx, kFashionDir, ""}, {});
        QVERIFY(train.ok() && test.ok());
        auto recipe = parseRecipe(R"({"global_prune": {"sparsity": 0.7}})");
        QVERIFY(recipe.ok());

        ApplyOptions options;
        options.calibration = *train;
        options.calibrationName = "fashion-mnist train";
        QElapsedTimer timer;
        timer.start();
        auto corrected = applyRecipe(*graph, *recipe, options);
        QVERIFY2(corrected.ok(), corrected.ok() ? "" : corrected.error().message.c_str());
        const qint64 applyMs = timer.elapsed();
        auto plain = applyRecipe(*graph, *recipe);
        QVERIFY(plain.ok());
        QVERIFY(corrected->correction.method == PruneCorrection::LeastSquares);
        QCOMPARE(corrected->correction.samples, int64_t(512));
        QVERIFY(plain->correction.method == PruneCorrection::None);

        const std::vector<std::string> weights = {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"};
        const int64_t total = 500 + 25000 + 400000 + 5000;
        QCOMPARE(zerosIn(corrected->graph, weights), std::llround(0.7 * double(total)));
        for (const auto& w : weights) {
            const auto& a = corrected->graph.initializers.at(w).data;
            const auto& p = plain->graph.initializers.at(w).data;
            for (size_t i = 0; i < a.size(); ++i)
                if ((a[i] == 0.f) != (p[i] == 0.f)) QFAIL(qPrintable(QString("%1[%2]: mask differs").arg(w.c_str()).arg(i)));
        }
        for (const auto& l : corrected->layers) {
            QVERIFY(l.corrected);
            QVERIFY2(l.correctedOutputError < 0.5 * l.prunedOutputError,
                     qPrintable(QString("%1: %2 -> %3").arg(l.name.c_str()).arg(l.prunedOutputError).arg(l.correctedOutputError)));
        }

        QTemporaryDir dir;
        const std::string path = dir.filePath("sparse_ls.onnx").toStdString();
        auto written = exportModel(*corrected, ActivationRanges{}, ExportFormat::Float, path);
        QVERIFY(written.ok());
        auto baseline = measureFile(LATHE_DEMO_MODEL);
        QVERIFY(baseline.ok());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        auto top1 = [&](const Graph& g) { return top1On(g, **test); };
        const double correctedTop1 = top1(*reloaded), plainTop1 = top1(plain->graph), floatTop1 = top1(*graph);
        const double zlibRatio = double(written->size.zlibBytes) / double(baseline->zlibBytes);
        qInfo("70%% global sparsity on 10000 test images: float %.2f%%, magnitude only %.2f%%, least-squares "
              "corrected %.2f%% (correction + apply %lld ms); zlib %lld / %lld = %.3f",
              floatTop1, plainTop1, correctedTop1, (long long)applyMs, (long long)written->size.zlibBytes,
              (long long)baseline->zlibBytes, zlibRatio);
        QVERIFY(std::fabs(floatTop1 - 91.53) < 0.01);
        QVERIFY(floatTop1 - correctedTop1 <= 1.5);
        QVERIFY(correctedTop1 > plainTop1);
        QVERIFY(zlibRatio <= 0.45);
    }
};

QTEST_GUILESS_MAIN(TestPruneReconstruction)
#include "test_prune_reconstruction.moc"
