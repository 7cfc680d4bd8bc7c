// Knowledge distillation on the demo LeNet-5 (teacher) and the half-width student fixture, with real Fashion-MNIST
// images: the loss against hand-computed values, a hard-label run equal to a label run on the teacher's argmax, the
// teacher cache keyed by teacher and data content, mismatched shapes refused by name, seeded re-initialisation, and a
// distilled student that learns.
#include <QtTest>
#include <cmath>
#include <numeric>

#include "core/compress/compressible_layer.h"
#include "core/eval/evaluator.h"
#include "core/model/onnx_reader.h"
#include "core/train/distillation_loss.h"
#include "core/train/fine_tune.h"
#include "core/train/initialize_weights.h"
#include "core/train/teacher_logits.h"

using namespace lathe;

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";
const std::string kStudent = std::string(LATHE_FIXTURES_DIR) + "/lenet5_half_student.onnx";

Recipe recipeFrom(const std::string& json) {
    auto r = parseRecipe(json);
    if (!r) qFatal("%s", r.error().message.c_str());
    return *r;
}

// Another data set's images with labels given per sample (the teacher's argmax).
class RelabelledDataset : public Dataset {
public:
    RelabelledDataset(std::shared_ptr<const Dataset> parent, std::vector<int> labels)
        : m_parent(std::move(parent)), m_labels(std::move(labels)) {}
    int64_t size() const override { return m_parent->size(); }
    int numClasses() const override { return m_parent->numClasses(); }
    SampleShape sampleShape() const override { return m_parent->sampleShape(); }
    int label(int64_t index) const override { return m_labels[size_t(index)]; }
    Result<NDArray> batch(std::span<const int64_t> indices) const override { return m_parent->batch(indices); }
    std::string describeSample(int64_t index) const override { return m_parent->describeSample(index); }

private:
    std::shared_ptr<const Dataset> m_parent;
    std::vector<int> m_labels;
};

double maxAbsDiff(const Graph& a, const Graph& b, const std::string& name) {
    const auto& x = a.initializers.at(name).data;
    const auto& y = b.initializers.at(name).data;
    double d = 0;
    for (size_t i = 0; i < x.size(); ++i) d = std::max(d, double(std::fabs(x[i] - y[i])));
    return d;
}

}  // namespace

class TestDistillation : public QObject {
    Q_OBJECT

    Graph m_teacher;
    Graph m_student;
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

private slots:
    void initTestCase() {
        auto t = readOnnxModel(LATHE_DEMO_MODEL);
        auto s = readOnnxModel(kStudent);
        QVERIFY(t && s);
        m_teacher = *t;
        m_student = *s;
        auto train = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Train, {}});
        auto test = openDataset({DatasetKind::Idx, kFashionDir, ""}, {Split::Test, {}});
        QVERIFY(train && test);
        m_train = calibrationSubset(*train, 2000, 1);
        m_eval = calibrationSubset(*test, 1000, 2);
    }

    // Student logits [0, 0], teacher [ln 3, 0], label 0. T = 1: p_t = (3/4, 1/4), p_s = (1/2, 1/2), KL = 3/4·ln(3/2) +
    // 1/4·ln(1/2) = 0.1308120; CE = ln 2. T = 2: p_t = (√3, 1)/(√3 + 1), T²·KL = 0.1453631.
    void lossMatchesHandComputedValues() {
        const std::vector<float> student = {0.f, 0.f}, teacher = {float(std::log(3.0)), 0.f};
        const std::vector<int64_t> labels = {0};
        DistillSettings s;
        s.temperature = 1;
        s.alpha = 0.5;
        auto l = distillationLoss(student, teacher, labels, 2, s);
        QVERIFY(l);
        QVERIFY(std::fabs(l->distillation - 0.1308120) < 1e-6);
        QVERIFY(std::fabs(l->labels - std::log(2.0)) < 1e-6);
        QVERIFY(std::fabs(l->total - 0.4119796) < 1e-6);
        s.temperature = 2;
        s.alpha = 0.7;
        l = distillationLoss(student, teacher, labels, 2, s);
        QVERIFY(l);
        QVERIFY(std::fabs(l->distillation - 0.1453631) < 1e-6);  // T² honoured
        QVERIFY(std::fabs(l->total - 0.3096983) < 1e-6);         // α honoured
        s.hard = true;  // the teacher's argmax is class 0: CE(student, 0) = ln 2
        l = distillationLoss(student, teacher, {std::vector<int64_t>{1}}, 2, s);
        QVERIFY(l);
        QVERIFY(std::fabs(l->distillation - std::log(2.0)) < 1e-6);
        QVERIFY(std::fabs(l->labels - std::log(2.0)) < 1e-6);
        // A confident teacher (probabilities that underflow to 0) still gives a finite loss.
        s.hard = false;
        s.temperature = 1;
        const std::vector<float> sharp = {300.f, -300.f, 0.f}, flat = {1.f, 2.f, 3.f};
        l = distillationLoss(flat, sharp, {std::vector<int64_t>{0}}, 3, s);
        QVERIFY(l);
        QVERIFY2(std::isfinite(l->total), std::to_string(l->total).c_str());
        QVERIFY(!distillationLoss(student, teacher, {std::vector<int64_t>{2}}, 2, s));  // label out of range
    }

    void teacherCacheFollowsTeacherAndData() {
        clearTeacherCache();
        auto a = teacherLogits(m_teacher, *m_train, 2);
        QVERIFY2(a, a ? "" : a.error().message.c_str());
        QCOMPARE((*a)->samples, int64_t(2000));
        QCOMPARE((*a)->classes, int64_t(10));
        auto again = teacherLogits(m_teacher, *m_train, 2);
        QVERIFY(again);
        QCOMPARE(again->get(), a->get());
        QCOMPARE(teacherCacheStats().hits, int64_t(1));
        QCOMPARE(teacherCacheStats().computed, int64_t(1));
        // The logits are the executor's: argmax agrees with an evaluation of the teacher on the same images.
        int64_t agree = 0;
        for (int64_t i = 0; i < 2000; ++i) {
            const float* r = (*a)->row(i);
            agree += int64_t(std::max_element(r, r + 10) - r) == m_train->label(i);
        }
        QVERIFY2(agree > 1700, std::to_string(agree).c_str());  // the demo model's ~91 % on its training images
        // One changed weight: computed again.
        Graph changed = m_teacher;
        changed.initializers.at("fc2.bias").data[3] += 1.f;
        auto b = teacherLogits(changed, *m_train, 2);
        QVERIFY(b);
        QVERIFY(b->get() != a->get());
        QCOMPARE(teacherCacheStats().computed, int64_t(2));
        QVERIFY(std::fabs((*b)->row(0)[3] - (*a)->row(0)[3] - 1.f) < 1e-4);
        // Most of the same images (a cross-validation fold's training folds): the cached rows, not computed again.
        auto most = calibrationSubset(m_train, 1999, 5);
        auto rows = teacherLogits(m_teacher, *most, 2);
        QVERIFY(rows);
        QCOMPARE((*rows)->samples, int64_t(1999));
        QCOMPARE(teacherCacheStats().computed, int64_t(2));
        const std::vector<int64_t>& picked = *subsetOf(*most)->indices;
        for (int64_t i : {int64_t(0), int64_t(1998)})
            QCOMPARE((*rows)->row(i)[7], (*a)->row(picked[size_t(i)])[7]);
        // A few of them: computed for themselves.
        auto other = calibrationSubset(m_train, 500, 5);
        auto c = teacherLogits(m_teacher, *other, 2);
        QVERIFY(c);
        QCOMPARE((*c)->samples, int64_t(500));
        QCOMPARE(teacherCacheStats().computed, int64_t(3));
        // The first pair is still cached.
        auto d = teacherLogits(m_teacher, *m_train, 2);
        QVERIFY(d);
        QCOMPARE(d->get(), a->get());
        QCOMPARE(teacherCacheStats().computed, int64_t(3));
    }

    // α = 1 hard distillation is training on the teacher's argmax labels: the same weights.
    void hardLabelRunEqualsALabelRunOnTheTeachersArgmax() {
        auto logits = teacherLogits(m_teacher, *m_train, 2);
        QVERIFY(logits);
        std::vector<int> argmax;
        for (int64_t i = 0; i < m_train->size(); ++i) {
            const float* r = (*logits)->row(i);
            argmax.push_back(int(std::max_element(r, r + 10) - r));
        }
        TrainData relabelled = data();
        relabelled.train = std::make_shared<RelabelledDataset>(m_train, argmax);
        const std::string common = R"("epochs": 1, "lr": 0.05, "batch": 50, "seed": 3)";
        auto hard = trainRecipe(m_student,
                                recipeFrom(R"({"train": {"mode": "distill", "distill": {"hard": true, "alpha": 1}, )" +
                                           common + "}}"),
                                [&] {
                                    TrainData d = data();
                                    d.teacher = std::make_shared<const Graph>(m_teacher);
                                    return d;
                                }(),
                                ApplyOptions{});
        auto labels = trainRecipe(m_student, recipeFrom(R"({"train": {)" + common + "}}"), relabelled, ApplyOptions{});
        QVERIFY2(hard, hard ? "" : hard.error().message.c_str());
        QVERIFY2(labels, labels ? "" : labels.error().message.c_str());
        for (const char* name : {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc2.bias"}) {
            const double d = maxAbsDiff(hard->model.graph, labels->model.graph, name);
            QVERIFY2(d < 1e-6, (std::string(name) + " differs by " + std::to_string(d)).c_str());
        }
        QVERIFY(maxAbsDiff(hard->model.graph, m_student, "fc1.weight") > 1e-3);  // it trained
        QVERIFY(hard->history[0].distillation.has_value());
        QVERIFY(!labels->history[0].distillation.has_value());
    }

    // Soft distillation of the untrained half-width student learns from the teacher's logits.
    void softDistillationTrainsTheStudent() {
        TrainData d = data(true);
        d.teacher = std::make_shared<const Graph>(m_teacher);
        auto r = trainRecipe(m_student,
                             recipeFrom(R"({"train": {"mode": "distill", "distill": {"temperature": 4, "alpha": 0.7},
                                 "epochs": 2, "lr": 0.01, "batch": 32, "schedule": "cosine", "seed": 1}})"),
                             d, ApplyOptions{});
        QVERIFY2(r, r ? "" : r.error().message.c_str());
        QCOMPARE(r->history.size(), size_t(2));
        for (const EpochRecord& e : r->history) {
            QCOMPARE(e.phase, std::string("distill"));
            QVERIFY(e.distillation && std::isfinite(*e.distillation) && *e.distillation > 0);
            QVERIFY(std::isfinite(e.loss));
        }
        QVERIFY(*r->history[1].distillation < *r->history[0].distillation);
        QVERIFY2(r->history[1].top1 > 70, std::to_string(r->history[1].top1).c_str());
        // Too large a learning rate: a clear error, not NaN weights.
        auto diverged = trainRecipe(m_student,
                                    recipeFrom(R"({"train": {"mode": "distill", "epochs": 1, "lr": 5, "seed": 1}})"), d,
                                    ApplyOptions{});
        QVERIFY(!diverged);
        QVERIFY2(diverged.error().message.find("training diverged") != std::string::npos &&
                     diverged.error().message.find("lower train.lr") != std::string::npos,
                 diverged.error().message.c_str());
    }

    // The baseline teacher is the model before compression: a 4-bit variant distilled from its own float weights.
    void baselineTeacherDistillsACompressedVariant() {
        auto r = trainRecipe(m_teacher,
                             recipeFrom(R"({"defaults": {"quant": {"bits": 4, "granularity": "per_channel"}},
                                 "train": {"mode": "distill", "epochs": 1, "lr": 0.005, "batch": 50}})"),
                             data(true), ApplyOptions{});
        QVERIFY2(r, r ? "" : r.error().message.c_str());
        QVERIFY(r->history[0].top1 > 80);
        QVERIFY(std::any_of(r->notes.begin(), r->notes.end(),
                            [](const std::string& n) { return n.find("the baseline (teacher)") != std::string::npos; }));
    }

    void mismatchedTeacherAndStudentAreRefusedByName() {
        // Another input shape: a teacher taking 3x28x28.
        Graph wide = m_teacher;
        wide.sourcePath = "wide.onnx";
        wide.values.at("input").shape = {-1, 3, 28, 28};
        TrainData d = data();
        d.teacher = std::make_shared<const Graph>(wide);
        const Recipe distill = recipeFrom(R"({"train": {"mode": "distill", "epochs": 1}})");
        auto r = trainRecipe(m_student, distill, d, ApplyOptions{});
        QVERIFY(!r);
        QVERIFY2(r.error().message.find("teacher and student inputs differ") != std::string::npos &&
                     r.error().message.find("wide.onnx") != std::string::npos &&
                     r.error().message.find("[?, 3, 28, 28]") != std::string::npos,
                 r.error().message.c_str());
        // Another class count: a student with 7 outputs.
        Graph seven = m_student;
        Tensor& w = seven.initializers.at("fc2.weight");
        w.shape = {7, 250};
        w.data.resize(7 * 250);
        Tensor& b = seven.initializers.at("fc2.bias");
        b.shape = {7};
        b.data.resize(7);
        d.teacher = std::make_shared<const Graph>(m_teacher);
        r = trainRecipe(seven, distill, d, ApplyOptions{});
        QVERIFY(!r);
        QVERIFY2(r.error().message.find("7 values per sample, the teacher's 10") != std::string::npos,
                 r.error().message.c_str());
        // A teacher file the caller did not open.
        r = trainRecipe(m_student, recipeFrom(R"({"train": {"mode": "distill", "distill": {"teacher": "t.onnx"}}})"),
                        data(), ApplyOptions{});
        QVERIFY(!r);
        QVERIFY2(r.error().message.find("'t.onnx'") != std::string::npos, r.error().message.c_str());
    }

    void seededReinitialisation() {
        Graph a = m_teacher, b = m_teacher, c = m_teacher;
        const auto names = initializeWeights(a, 7);
        initializeWeights(b, 7);
        initializeWeights(c, 8);
        QCOMPARE(names.size(), size_t(8));  // 4 weights + 4 biases
        QCOMPARE(maxAbsDiff(a, b, "conv2.weight"), 0.0);
        QVERIFY(maxAbsDiff(a, c, "conv2.weight") > 0.01);
        QVERIFY(maxAbsDiff(a, m_teacher, "fc1.weight") > 0.01);
        // Bounds ±1/sqrt(fan_in): conv2 sums 20·5·5 = 500 inputs, fc1 800.
        for (const auto& [name, fanIn] : {std::pair{"conv2.weight", 500.0}, {"fc1.bias", 800.0}}) {
            const auto& v = a.initializers.at(name).data;
            const double bound = 1.0 / std::sqrt(fanIn);
            const float mx = *std::max_element(v.begin(), v.end()), mn = *std::min_element(v.begin(), v.end());
            QVERIFY(mx <= bound && mn >= -bound);
            QVERIFY(mx > 0.9 * bound || v.size() < 600);  // spread over the interval
        }
    }
};

QTEST_GUILESS_MAIN(TestDistillation)
#include "test_distillation.moc"
