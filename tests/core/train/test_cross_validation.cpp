// Cross-validation as the field means it: stratified folds of the training data, the compressed model trained per
// fold on the others and measured on the held-out one. Real Fashion-MNIST images and the demo LeNet-5.
#include <QtTest>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <set>

#include "core/eval/stratified_folds.h"
#include "core/model/onnx_reader.h"
#include "core/train/cross_validation.h"
#include "core/train/teacher_logits.h"

using namespace lathe;

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

Recipe recipeFrom(const std::string& json) {
    auto r = parseRecipe(json);
    if (!r) qFatal("%s", r.error().message.c_str());
    return *r;
}

// Labels only, as given: for the stratification checks.
class LabelDataset : public Dataset {
public:
    explicit LabelDataset(std::vector<int> labels) : m_labels(std::move(labels)) {}
    int64_t size() const override { return int64_t(m_labels.size()); }
    int numClasses() const override { return *std::max_element(m_labels.begin(), m_labels.end()) + 1; }
    SampleShape sampleShape() const override { return {1, 1, 1}; }
    int label(int64_t index) const override { return m_labels[size_t(index)]; }
    Result<NDArray> batch(std::span<const int64_t> indices) const override {
        return NDArray({int64_t(indices.size()), 1, 1, 1});
    }
    std::string describeSample(int64_t index) const override { return std::to_string(index); }

private:
    std::vector<int> m_labels;
};

// Another data set that records which of its samples are read while `phase` is "train" or "held-out".
class SpyDataset : public Dataset {
public:
    explicit SpyDataset(std::shared_ptr<const Dataset> parent) : m_parent(std::move(parent)) {}
    int64_t size() const override { return m_parent->size(); }
    int numClasses() const override { return m_parent->numClasses(); }
    SampleShape sampleShape() const override { return m_parent->sampleShape(); }
    int label(int64_t index) const override { return m_parent->label(index); }
    Result<NDArray> batch(std::span<const int64_t> indices) const override {
        std::lock_guard lock(mutex);
        for (int64_t i : indices) read[{fold, phase}].insert(i);
        return m_parent->batch(indices);
    }
    std::string describeSample(int64_t index) const override { return m_parent->describeSample(index); }

    mutable std::mutex mutex;
    mutable std::map<std::pair<int, std::string>, std::set<int64_t>> read;
    int fold = 0;
    std::string phase;

private:
    std::shared_ptr<const Dataset> m_parent;
};

}  // namespace

class TestCrossValidation : public QObject {
    Q_OBJECT

    Graph m_graph;
    std::shared_ptr<const Dataset> m_train;  // 1,500 training images

private slots:
    void initTestCase() {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(g);
        m_graph = *g;
        auto train = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Train, {}});
        QVERIFY(train);
        m_train = calibrationSubset(*train, 1500, 4);
    }

    // Each fold holds ⌊n_c/k⌋ or ⌈n_c/k⌉ of every class c, fold sizes differ by at most one, every sample in one fold.
    void foldsKeepClassProportions_data() {
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("skewed");
        QTest::newRow("fashion 5 folds") << 5 << false;
        QTest::newRow("fashion 3 folds") << 3 << false;
        QTest::newRow("skewed 4 folds") << 4 << true;
    }
    void foldsKeepClassProportions() {
        QFETCH(int, k);
        QFETCH(bool, skewed);
        std::vector<int> labels;
        if (skewed)
            for (int c = 0; c < 4; ++c) labels.insert(labels.end(), size_t(c == 0 ? 401 : 13 * c + 1), c);
        std::shared_ptr<const Dataset> data =
            skewed ? std::shared_ptr<const Dataset>(std::make_shared<LabelDataset>(labels)) : m_train;
        auto folds = stratifiedFolds(*data, k, 9);
        QVERIFY(folds);
        QCOMPARE(int(folds->folds.size()), k);
        std::map<int, int64_t> total;
        for (int64_t i = 0; i < data->size(); ++i) ++total[data->label(i)];
        std::set<int64_t> seen;
        size_t smallest = SIZE_MAX, largest = 0;
        for (const auto& fold : folds->folds) {
            smallest = std::min(smallest, fold.size());
            largest = std::max(largest, fold.size());
            std::map<int, int64_t> count;
            for (int64_t i : fold) {
                QVERIFY(seen.insert(i).second);
                ++count[data->label(i)];
            }
            for (const auto& [c, n] : total) {
                const int64_t lo = n / k, hi = (n + k - 1) / k;
                QVERIFY2(count[c] >= lo && count[c] <= hi,
                         qPrintable(QString("class %1: %2 in a fold, expected %3..%4").arg(c).arg(count[c]).arg(lo).arg(hi)));
            }
        }
        QCOMPARE(int64_t(seen.size()), data->size());
        QVERIFY(largest - smallest <= 1);
        QVERIFY(folds->notes.empty());
        // The complement is every other sample.
        QCOMPARE(int64_t(folds->complement(0).size() + folds->folds[0].size()), data->size());
        // Seeded: the same seed, the same folds; another seed, others.
        QCOMPARE(stratifiedFolds(*data, k, 9)->folds, folds->folds);
        QVERIFY(stratifiedFolds(*data, k, 10)->folds != folds->folds);
    }

    void rareClassesAreReportedNotCrashedOn() {
        const LabelDataset data({0, 0, 0, 0, 0, 0, 1, 1, 2});
        auto folds = stratifiedFolds(data, 3, 0);
        QVERIFY(folds);
        QCOMPARE(folds->notes.size(), size_t(2));
        QVERIFY2(folds->notes[0].find("class 1 has 2 sample(s) for 3 folds") != std::string::npos, folds->notes[0].c_str());
        QVERIFY(!stratifiedFolds(data, 1, 0));
        QVERIFY(!stratifiedFolds(data, 10, 0));
    }

    void meanAndSampleStd() {
        const auto [mean, std] = meanAndStd({90.0, 92.0, 94.0});
        QCOMPARE(mean, 92.0);
        QCOMPARE(std, 2.0);  // sqrt((4 + 0 + 4) / 2)
        QCOMPARE(meanAndStd({91.5}).second, 0.0);
    }

    // Each fold trains on the other folds only and is measured on exactly its own images; the figures are real.
    void foldsNeverTrainOnTheirOwnImages() {
        auto spy = std::make_shared<SpyDataset>(m_train);
        TrainData data;
        data.train = spy;
        data.trainName = "fashion-mnist train (1500)";
        data.threads = 2;
        CrossValidationSettings cv;
        cv.folds = 3;
        cv.epochs = 1;
        cv.seed = 2;
        const Recipe recipe = recipeFrom(R"({"defaults": {"quant": {"bits": 4, "granularity": "per_channel"}},
            "train": {"epochs": 4, "lr": 0.005, "batch": 50, "seed": 1}})");
        const ProgressFn progress = [&](float, std::string_view stage) {
            std::lock_guard lock(spy->mutex);
            spy->fold = std::atoi(std::string(stage.substr(5, 2)).c_str());  // "fold F of K: …"
            spy->phase = stage.find("held-out") != std::string_view::npos ? "held-out" : "train";
            return true;
        };
        std::vector<FoldResult> seen;
        auto report = crossValidate(m_graph, recipe, cv, data, ApplyOptions{}, progress,
                                    [&](const FoldResult& f) { seen.push_back(f); });
        QVERIFY2(report, report ? "" : report.error().message.c_str());
        QCOMPARE(report->k, 3);
        QCOMPARE(report->epochs, 1);  // cv.epochs overrides the train section
        QCOMPARE(seen.size(), size_t(3));
        auto folds = stratifiedFolds(*m_train, 3, 2);
        for (int f = 1; f <= 3; ++f) {
            const std::set<int64_t>& trained = spy->read[{f, "train"}];
            const std::set<int64_t>& measured = spy->read[{f, "held-out"}];
            const std::set<int64_t> own(folds->folds[size_t(f - 1)].begin(), folds->folds[size_t(f - 1)].end());
            QCOMPARE(measured, own);
            for (int64_t i : own) QVERIFY2(!trained.count(i), qPrintable(QString("fold %1 trained on %2").arg(f).arg(i)));
            QCOMPARE(int64_t(trained.size()), m_train->size() - int64_t(own.size()));
            const FoldResult& r = report->folds[size_t(f - 1)];
            QCOMPARE(r.heldOut, int64_t(own.size()));
            QVERIFY2(r.top1 > 80 && r.top1 < 100, std::to_string(r.top1).c_str());
            QVERIFY(r.macroF1 > 70);
        }
        std::vector<double> top1;
        for (const FoldResult& r : report->folds) top1.push_back(r.top1);
        QCOMPARE(report->meanTop1, meanAndStd(top1).first);
        QCOMPARE(report->stdTop1, meanAndStd(top1).second);
        QVERIFY(report->stdTop1 > 0 && report->stdTop1 < 5);
    }

    // Distilled folds read the teacher's logits of the whole training set, computed once: each fold's training folds
    // are a subset of it, and their rows equal the logits computed for that subset directly.
    void distilledFoldsShareOneTeacherComputation() {
        clearTeacherCache();
        TrainData data;
        data.train = m_train;
        data.threads = 2;
        CrossValidationSettings cv;
        cv.folds = 3;
        cv.epochs = 1;
        const Recipe recipe = recipeFrom(R"({"defaults": {"prune": {"sparsity": 0.5}},
            "train": {"mode": "distill", "distill": {"teacher": "baseline"}, "lr": 0.005, "batch": 50}})");
        auto report = crossValidate(m_graph, recipe, cv, data, ApplyOptions{});
        QVERIFY2(report, report ? "" : report.error().message.c_str());
        QCOMPARE(report->folds.size(), size_t(3));
        for (const FoldResult& r : report->folds) QVERIFY2(r.top1 > 80, std::to_string(r.top1).c_str());
        QCOMPARE(teacherCacheStats().computed, int64_t(1));
        QCOMPARE(teacherCacheStats().hits, int64_t(2));

        std::vector<int64_t> half(800), fewer(300);
        std::iota(half.begin(), half.end(), 100);
        std::iota(fewer.begin(), fewer.end(), 300);
        auto gathered = teacherLogits(m_graph, *subsetDataset(m_train, half), 2);
        auto direct = teacherLogits(m_graph, *subsetDataset(m_train, fewer), 2);  // under half: computed for itself
        QVERIFY(gathered && direct);
        QCOMPARE(teacherCacheStats().computed, int64_t(2));
        QCOMPARE((*direct)->samples, int64_t(300));
        for (int64_t i = 0; i < 300; ++i)
            for (int64_t c = 0; c < 10; ++c)
                QVERIFY(std::abs((*gathered)->row(i + 200)[c] - (*direct)->row(i)[c]) < 1e-4f);
    }

    void cancelMidFold() {
        TrainData data;
        data.train = m_train;
        data.threads = 2;
        CrossValidationSettings cv;
        cv.folds = 3;
        int calls = 0;
        const ProgressFn progress = [&](float, std::string_view stage) {
            ++calls;
            return stage.rfind("fold 2 of 3", 0) != 0 || calls < 40;  // stop inside the second fold's training
        };
        std::vector<FoldResult> seen;
        auto report = crossValidate(m_graph, recipeFrom(R"({"train": {"epochs": 2, "lr": 0.005, "batch": 20}})"), cv,
                                    data, ApplyOptions{}, progress, [&](const FoldResult& f) { seen.push_back(f); });
        QVERIFY(!report);
        QCOMPARE(report.error().code, ErrorCode::Cancelled);
        QVERIFY2(report.error().message.find("fold 2 of 3") != std::string::npos, report.error().message.c_str());
        QCOMPARE(seen.size(), size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestCrossValidation)
#include "test_cross_validation.moc"
