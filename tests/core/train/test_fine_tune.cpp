// Fine-tuning that keeps the compression, on the demo LeNet-5 and real Fashion-MNIST images (small subsets so the
// suite stays fast): masks stay exact, quantized weights end on their grid, k-means layers keep their codebook,
// structure survives, gradual pruning reaches its target, the same seed gives the same weights, Cancel keeps the
// last finished epoch, and training recovers accuracy that compression lost.
#include <QtTest>
#include <cmath>
#include <random>
#include <set>

#include "core/compress/apply_recipe.h"
#include "core/eval/evaluator.h"
#include "core/model/onnx_reader.h"
#include "core/train/fine_tune.h"

using namespace lathe;

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

Recipe recipeFrom(const std::string& json) {
    auto r = parseRecipe(json);
    if (!r) qFatal("%s", r.error().message.c_str());
    return *r;
}

const Tensor& weight(const CompressedModel& m, const std::string& name) { return m.graph.initializers.at(name); }

// Random images of any shape whose label is the argmax of a fixed random projection of the channel means: a task
// every model (global pooling ones included) can learn, for the fixtures that have no data set of their own.
class ProjectionDataset : public Dataset {
public:
    ProjectionDataset(SampleShape shape, int classes, int64_t n, uint32_t seed) : m_shape(shape), m_classes(classes) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> normal;
        const int64_t plane = shape.height * shape.width, d = shape.channels * plane;
        m_images.resize(size_t(n * d));
        std::vector<float> projection(size_t(shape.channels * classes));
        for (float& v : projection) v = normal(rng);
        for (int64_t i = 0; i < n; ++i) {
            std::vector<float> channelMean(size_t(shape.channels));
            for (int64_t c = 0; c < shape.channels; ++c) {
                const float offset = normal(rng);  // each channel's level carries the signal
                for (int64_t k = 0; k < plane; ++k) m_images[size_t(i * d + c * plane + k)] = offset + 0.5f * normal(rng);
                channelMean[size_t(c)] = offset;
            }
            int best = 0;
            float bestScore = -1e30f;
            for (int c = 0; c < classes; ++c) {
                float score = 0;
                for (int64_t k = 0; k < shape.channels; ++k) score += channelMean[size_t(k)] * projection[size_t(c * shape.channels + k)];
                if (score > bestScore) bestScore = score, best = c;
            }
            m_labels.push_back(best);
        }
    }
    int64_t size() const override { return int64_t(m_labels.size()); }
    int numClasses() const override { return m_classes; }
    SampleShape sampleShape() const override { return m_shape; }
    int label(int64_t index) const override { return m_labels[size_t(index)]; }
    Result<NDArray> batch(std::span<const int64_t> indices) const override {
        const int64_t d = m_shape.channels * m_shape.height * m_shape.width;
        NDArray out({int64_t(indices.size()), m_shape.channels, m_shape.height, m_shape.width});
        for (size_t i = 0; i < indices.size(); ++i)
            std::copy_n(m_images.begin() + indices[i] * d, d, out.data.begin() + int64_t(i) * d);
        return out;
    }
    std::string describeSample(int64_t index) const override { return "projection[" + std::to_string(index) + "]"; }

private:
    SampleShape m_shape;
    int m_classes;
    std::vector<float> m_images;
    std::vector<int> m_labels;
};

}  // namespace

class TestFineTune : public QObject {
    Q_OBJECT

    Graph m_graph;
    std::shared_ptr<const Dataset> m_train;  // 2,000 training images
    std::shared_ptr<const Dataset> m_eval;   // 1,000 test images

    TrainData data(bool withEval = false) const {
        TrainData d;
        d.train = m_train;
        d.trainName = "fashion-mnist train (2000)";
        if (withEval) d.evaluation = m_eval;
        d.threads = 2;
        return d;
    }

    double top1(const Graph& g) const {
        EvalOptions o;
        o.backend = BackendKind::Builtin;
        o.latencySamples = 0;
        o.folds = 1;
        auto r = evaluate(g, *m_eval, o);
        if (!r) qFatal("%s", r.error().message.c_str());
        return r->top1;
    }

private slots:
    void initTestCase() {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(g);
        m_graph = *g;
        auto train = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Train, {}});
        auto test = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Test, {}});
        QVERIFY(train && test);
        m_train = calibrationSubset(*train, 2000, 1);
        m_eval = calibrationSubset(*test, 1000, 2);
    }

    void prunedWeightsStayExactlyZero() {
        const Recipe recipe = recipeFrom(R"({"defaults": {"prune": {"sparsity": 0.8}},
            "train": {"epochs": 1, "lr": 0.02, "batch": 50}})");
        auto before = applyRecipe(m_graph, recipe);
        auto after = trainRecipe(m_graph, recipe, data(), ApplyOptions{});
        QVERIFY2(after, after ? "" : after.error().message.c_str());
        QCOMPARE(after->history.size(), size_t(1));
        for (const char* name : {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}) {
            const auto& w0 = weight(*before, name).data;
            const auto& w1 = weight(after->model, name).data;
            int64_t zeros = 0, changed = 0;
            for (size_t i = 0; i < w0.size(); ++i) {
                if (w0[i] == 0.f) {
                    QCOMPARE(w1[i], 0.f);
                    ++zeros;
                }
                changed += w0[i] != w1[i];
            }
            QVERIFY(zeros >= int64_t(0.79 * double(w0.size())));
            QVERIFY2(changed > 0, name);  // the kept weights trained
        }
        QVERIFY(std::fabs(after->history[0].sparsity - before->layers[0].sparsity) < 0.05);
    }

    void quantizationAwareWeightsEndOnTheirGrid() {
        const Recipe recipe = recipeFrom(R"({"defaults": {"quant": {"bits": 4, "granularity": "per_channel"}},
            "train": {"epochs": 1, "lr": 0.005, "batch": 50}})");
        auto before = applyRecipe(m_graph, recipe);
        auto after = trainRecipe(m_graph, recipe, data(), ApplyOptions{});
        QVERIFY2(after, after ? "" : after.error().message.c_str());
        for (const char* name : {"conv1.weight", "fc1.weight"}) {
            const QuantizedTensor& q = after->model.quantized.at(name);
            QCOMPARE(q.bits, 4);
            const Tensor& w = weight(after->model, name);
            const int64_t inner = w.numel() / int64_t(q.scales.size());
            bool moved = false;
            for (int64_t i = 0; i < w.numel(); ++i) {
                const size_t c = size_t(i / inner);
                const float level = float(q.codes[size_t(i)] - q.zeroPoints[c]) * q.scales[c];
                QCOMPARE(w.data[size_t(i)], level);
                QVERIFY(std::abs(q.codes[size_t(i)]) <= 7);
                moved |= w.data[size_t(i)] != weight(*before, name).data[size_t(i)];
            }
            QVERIFY2(moved, name);
        }
    }

    void kmeansLayersTrainTheirCentroids() {
        const Recipe recipe = recipeFrom(R"({"layers": {"fc1": {"prune": {"sparsity": 0.6}, "quant": {"bits": 4,
            "rounding": "kmeans"}}}, "train": {"epochs": 1, "lr": 0.01, "batch": 50}})");
        auto before = applyRecipe(m_graph, recipe);
        auto after = trainRecipe(m_graph, recipe, data(), ApplyOptions{});
        QVERIFY2(after, after ? "" : after.error().message.c_str());
        const CodebookTensor& c = after->model.codebooks.at("fc1.weight");
        const CodebookTensor& c0 = before->codebooks.at("fc1.weight");
        QVERIFY(c.zeroReserved);
        QCOMPARE(c.codebook.size(), c0.codebook.size());
        QCOMPARE(c.codebook[0], 0.f);
        QVERIFY(c.codebook != c0.codebook);  // the centroids trained
        for (size_t i = 2; i < c.codebook.size(); ++i) QVERIFY(c.codebook[i - 1] <= c.codebook[i]);
        const Tensor& w = weight(after->model, "fc1.weight");
        std::set<float> distinct(w.data.begin(), w.data.end());
        QVERIFY(distinct.size() <= 16);
        for (size_t i = 0; i < w.data.size(); ++i) {
            QCOMPARE(w.data[i], c.codebook[c.indices[i]]);
            if (weight(*before, "fc1.weight").data[i] == 0.f) QCOMPARE(w.data[i], 0.f);
        }
    }

    void structureSurvivesTraining() {
        const Recipe recipe = recipeFrom(R"({"layers": {"conv2": {"prune": {"structured": {"keep": 30}}},
            "fc1": {"lowrank": {"rank": 40}}}, "train": {"epochs": 1, "lr": 0.01, "batch": 50}})");
        auto before = applyRecipe(m_graph, recipe);
        auto after = trainRecipe(m_graph, recipe, data(), ApplyOptions{});
        QVERIFY2(after, after ? "" : after.error().message.c_str());
        for (const auto& [name, t] : before->graph.initializers)
            QCOMPARE(after->model.graph.initializers.at(name).shape, t.shape);
        const LayerReport& fc1 = after->model.layers[2];
        QCOMPARE(fc1.rank, int64_t(40));
        QCOMPARE(fc1.weights.size(), size_t(2));
        for (const std::string& factor : fc1.weights)
            QVERIFY(weight(after->model, factor).data != weight(*before, factor).data);  // both factors trained
        QCOMPARE(after->model.layers[1].keptChannels, int64_t(30));
    }

    void gradualPruningRampsToItsTarget() {
        const Recipe recipe = recipeFrom(R"({"global_prune": {"sparsity": 0.85}, "train": {"epochs": 2,
            "lr": 0.01, "batch": 50, "prune_schedule": {"from": 0.3, "epochs": 2}}})");
        auto trained = trainRecipe(m_graph, recipe, data(), ApplyOptions{});
        QVERIFY2(trained, trained ? "" : trained.error().message.c_str());
        QCOMPARE(trained->history.size(), size_t(2));
        QVERIFY(trained->history[0].sparsity > 0.3 && trained->history[0].sparsity < 0.85);
        int64_t zeros = 0, count = 0;
        for (const LayerReport& r : trained->model.layers) {
            const auto& w = weight(trained->model, r.weights[0]).data;
            for (float v : w) zeros += v == 0.f;
            count += int64_t(w.size());
        }
        QVERIFY2(std::fabs(double(zeros) / double(count) - 0.85) < 1e-3, std::to_string(double(zeros) / count).c_str());
        QCOMPARE(cubicSparsity(0.3, 0.85, 0.0), 0.3);
        QCOMPARE(cubicSparsity(0.3, 0.85, 1.0), 0.85);
        QVERIFY(std::fabs(cubicSparsity(0.3, 0.85, 0.5) - (0.85 - 0.55 * 0.125)) < 1e-12);
    }

    void sameSeedSameWeights() {
        const std::string json = R"({"defaults": {"prune": {"sparsity": 0.5}}, "train": {"epochs": 1, "lr": 0.01,
            "batch": 64, "samples": 600, "seed": SEED}})";
        auto run = [&](int seed) {
            std::string j = json;
            j.replace(j.find("SEED"), 4, std::to_string(seed));
            auto r = trainRecipe(m_graph, recipeFrom(j), data(), ApplyOptions{});
            if (!r) qFatal("%s", r.error().message.c_str());
            return weight(r->model, "fc1.weight").data;
        };
        const auto a = run(4), b = run(4), c = run(5);
        QVERIFY(a == b);
        QVERIFY(a != c);
    }

    void cancelKeepsTheLastFinishedEpoch() {
        const Recipe recipe = recipeFrom(R"({"defaults": {"prune": {"sparsity": 0.5}}, "train": {"epochs": 3,
            "lr": 0.01, "batch": 100, "samples": 500}})");
        int epochs = 0;
        // Cancelled in the second epoch: the result holds the first.
        auto kept = trainRecipe(m_graph, recipe, data(), ApplyOptions{},
                                [&](float, std::string_view) { return epochs < 1; },
                                [&](const EpochRecord&) { ++epochs; });
        QVERIFY2(kept, kept ? "" : kept.error().message.c_str());
        QVERIFY(kept->cancelled);
        QCOMPARE(kept->history.size(), size_t(1));
        // Cancelled before any epoch finished: nothing to keep.
        auto none = trainRecipe(m_graph, recipe, data(), ApplyOptions{}, [](float, std::string_view) { return false; });
        QVERIFY(!none);
        QCOMPARE(none.error().code, ErrorCode::Cancelled);
    }

    // 90 % global sparsity loses accuracy in one shot; two epochs on 2,000 images win much of it back.
    void trainingRecoversAccuracy() {
        const Recipe oneShot = recipeFrom(R"({"global_prune": {"sparsity": 0.9, "correction": "none"}})");
        auto pruned = applyRecipe(m_graph, oneShot);
        QVERIFY(pruned);
        const double before = top1(pruned->graph);
        Recipe recipe = oneShot;
        recipe.train = TrainSettings{};
        recipe.train->epochs = 2;
        recipe.train->lr = 0.01;
        recipe.train->batch = 32;
        auto trained = trainRecipe(m_graph, recipe, data(true), ApplyOptions{});
        QVERIFY2(trained, trained ? "" : trained.error().message.c_str());
        const double after = top1(trained->model.graph);
        QCOMPARE(trained->history.back().top1, after);  // the per-epoch figure is the exported model's
        qInfo("90%% global sparsity on 1,000 test images: one-shot %.1f%%, after 2 epochs on 2,000 images %.1f%%",
              before, after);
        QVERIFY2(after > before + 3.0, (std::to_string(before) + " -> " + std::to_string(after)).c_str());
    }

    // Models other than the demo (BatchNorm, depthwise, residual Add, an NHWC tf2onnx graph with Transpose and
    // MatMul + Add): pruned 30 % and trained on a learnable synthetic task, the loss falls and the zeros stay.
    void trainsOtherArchitectures_data() {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QString>("batchnorm");
        QTest::newRow("bn_conv, BatchNorm frozen") << "bn_conv.onnx" << "frozen";
        QTest::newRow("bn_conv, BatchNorm batch statistics") << "bn_conv.onnx" << "train";
        QTest::newRow("depthwise") << "depthwise.onnx" << "frozen";
        QTest::newRow("residual") << "residual.onnx" << "frozen";
        QTest::newRow("tf_nhwc (tf2onnx)") << "tf_nhwc.onnx" << "frozen";
    }

    void trainsOtherArchitectures() {
        QFETCH(QString, fixture);
        QFETCH(QString, batchnorm);
        auto g = readOnnxModel(std::string(LATHE_FIXTURES_DIR) + "/" + fixture.toStdString());
        QVERIFY(g);
        const auto& in = g->values.at(g->inputs[0]).shape;
        QCOMPARE(in.size(), size_t(4));
        int64_t outputs = 1;
        for (size_t i = 1; i < g->values.at(g->outputs[0]).shape.size(); ++i) outputs *= g->values.at(g->outputs[0]).shape[i];
        auto data = std::make_shared<ProjectionDataset>(SampleShape{in[1], in[2], in[3]}, int(std::min<int64_t>(outputs, 4)),
                                                        256, 5);
        const Recipe recipe = recipeFrom(R"({"defaults": {"prune": {"sparsity": 0.3}}, "train": {"epochs": 12, "lr": 0.01,
            "optimizer": "adam", "batch": 16, "batchnorm": ")" + batchnorm.toStdString() + R"("}})");
        auto before = applyRecipe(*g, recipe);
        QVERIFY(before);
        TrainData d;
        d.train = data;
        d.threads = 1;
        auto trained = trainRecipe(*g, recipe, d, ApplyOptions{});
        QVERIFY2(trained, trained ? "" : trained.error().message.c_str());
        const auto& h = trained->history;
        QCOMPARE(h.size(), size_t(12));
        qInfo("%s: loss %.3f -> %.3f", qPrintable(fixture), h.front().loss, h.back().loss);
        QVERIFY2(h.back().loss < 0.6 * h.front().loss, (std::to_string(h.front().loss) + " -> " + std::to_string(h.back().loss)).c_str());
        for (const LayerReport& r : before->layers)
            for (const std::string& w : r.weights) {
                const auto& w0 = weight(*before, w).data;
                const auto& w1 = weight(trained->model, w).data;
                for (size_t i = 0; i < w0.size(); ++i)
                    if (w0[i] == 0.f) QCOMPARE(w1[i], 0.f);
            }
    }

    // L1 with the proximal step: exact zeros appear while training, λ per layer (fc2 left alone), and the final cut
    // reaches the target over the regularised layers.
    void l1SparsificationReachesItsTarget() {
        const Recipe recipe = recipeFrom(R"({"train": {"mode": "l1", "l1": {"lambda": 0.02, "layers": {"fc2": 0},
            "target_sparsity": 0.85}, "epochs": 2, "lr": 0.01, "batch": 32}})");
        auto trained = trainRecipe(m_graph, recipe, data(true), ApplyOptions{});
        QVERIFY2(trained, trained ? "" : trained.error().message.c_str());
        const auto& h = trained->history;
        QCOMPARE(h.size(), size_t(2));
        qInfo("L1: sparsity after epoch 1 %.3f (proximal zeros), after the cut %.3f, top-1 %.1f %%", h[0].sparsity,
              h[1].sparsity, h[1].top1);
        QVERIFY2(h[0].sparsity > 0.05, std::to_string(h[0].sparsity).c_str());
        QVERIFY(h[0].penalty > h[1].penalty && h[1].penalty > 0);
        QCOMPARE(h[1].layerSparsity.size(), size_t(4));
        QCOMPARE(h[1].layerSparsity[3].first, std::string("fc2"));
        QCOMPARE(h[1].layerSparsity[3].second, 0.0);
        int64_t zeros = 0, count = 0;
        for (const char* name : {"conv1.weight", "conv2.weight", "fc1.weight"})
            for (float v : weight(trained->model, name).data) {
                zeros += v == 0.f;
                ++count;
            }
        QVERIFY2(std::fabs(double(zeros) / double(count) - 0.85) < 1e-3, std::to_string(double(zeros) / count).c_str());
        QVERIFY(h[1].top1 > 70);
        QVERIFY(!trained->notes.empty());
        // A layer name the model does not have is refused before training.
        auto bad = trainRecipe(m_graph, recipeFrom(R"({"train": {"mode": "l1", "l1": {"layers": {"fc9": 0.1}}}})"), data(),
                               ApplyOptions{});
        QVERIFY(!bad);
        QVERIFY(QString::fromStdString(bad.error().message).contains("train.l1.layers.fc9: no layer named 'fc9'"));
    }

    // final_epochs: the cut comes after the first epoch, the second fine-tunes with the cut weights held at zero.
    void l1FinalEpochsKeepTheCut() {
        const Recipe recipe = recipeFrom(R"({"train": {"mode": "l1", "l1": {"lambda": 0.02, "target_sparsity": 0.8,
            "final_epochs": 1}, "epochs": 2, "lr": 0.01, "batch": 32}})");
        auto trained = trainRecipe(m_graph, recipe, data(true), ApplyOptions{});
        QVERIFY2(trained, trained ? "" : trained.error().message.c_str());
        const auto& h = trained->history;
        QCOMPARE(h.size(), size_t(2));
        qInfo("L1 cut after epoch 1: top-1 %.1f %% -> %.1f %% after a masked epoch", h[0].top1, h[1].top1);
        QVERIFY(std::fabs(h[0].sparsity - 0.8) < 1e-3);
        QCOMPARE(h[1].sparsity, h[0].sparsity);  // no new zeros from the penalty, none lost
        QVERIFY(h[1].top1 > h[0].top1);
    }

    void otherOptimizersAndSchedules() {
        const Recipe recipe = recipeFrom(R"({"train": {"epochs": 3, "lr": 0.001, "optimizer": "adam",
            "weight_decay": 0.0001, "schedule": "step", "step_epochs": 1, "gamma": 0.5, "batch": 100, "samples": 300}})");
        auto trained = trainRecipe(m_graph, recipe, data(), ApplyOptions{});
        QVERIFY2(trained, trained ? "" : trained.error().message.c_str());
        QCOMPARE(trained->history.size(), size_t(3));
        QCOMPARE(trained->history[0].lr, 0.001);
        QCOMPARE(trained->history[1].lr, 0.0005);
        QCOMPARE(trained->history[2].lr, 0.00025);
        QVERIFY(weight(trained->model, "fc1.weight").data != m_graph.initializers.at("fc1.weight").data);
    }

    void refusesWhatItCannotTrain() {
        Graph g = m_graph;
        g.nodes[3].opType = "Erf";  // pool2 as an op without a translation
        g.nodes[3].name = "pool2_erf";
        auto r = trainRecipe(g, recipeFrom(R"({"train": {"epochs": 1}})"), data(), ApplyOptions{});
        QVERIFY(!r);
        QVERIFY(QString::fromStdString(r.error().message).contains("node pool2_erf: op Erf cannot be trained"));
        TrainData same = data();
        same.evaluation = same.train;
        auto overlap = trainRecipe(m_graph, recipeFrom(R"({"train": {"epochs": 1}})"), same, ApplyOptions{});
        QVERIFY(!overlap);
        QVERIFY(QString::fromStdString(overlap.error().message).contains("evaluation data"));
    }
};

QTEST_GUILESS_MAIN(TestFineTune)
#include "test_fine_tune.moc"
