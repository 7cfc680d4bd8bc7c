// Evaluation of the demo model on the real Fashion-MNIST test split with both backends, and the bad inputs.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"
#include "core/eval/in_memory_dataset.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

namespace {
const std::string kFashionDir = "/usr/share/datasets/fashion-mnist";

double expectedTop1() {
    QFile f(QString(LATHE_SOURCE_DIR) + "/resources/models/lenet5_fashion.json");
    if (!f.open(QIODevice::ReadOnly)) return -1;
    return QJsonDocument::fromJson(f.readAll()).object()["test_top1"].toDouble(-1);
}

// n zero samples of `shape` with the given labels.
std::shared_ptr<const Dataset> syntheticDataset(SampleShape shape, std::vector<int> labels) {
    std::vector<uint8_t> pixels(size_t(shape.channels * shape.height * shape.width) * labels.size(), 0);
    return *InMemoryDataset::make(shape, std::move(pixels), std::move(labels), "labels.npy", {});
}

template <class T>
QString messageOf(const Result<T>& r) {
    return r.ok() ? QString() : QString::fromStdString(r.error().message);
}
}  // namespace

class TestEvaluator : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        m_graph = std::move(*graph);
        auto test = openDataset({DatasetKind::Idx, kFashionDir, ""}, {});
        QVERIFY(test.ok());
        m_test = *test;
    }

    // The full 10,000-image test split: both backends agree with each other and with the accuracy recorded when the
    // model was trained (computed by a numpy interpreter of the exported file).
    void fullTestSplitBothBackends() {
        EvalOptions options;
        options.latencySamples = 20;
        options.backend = BackendKind::Builtin;
        auto builtin = evaluate(m_graph, *m_test, options);
        QVERIFY2(builtin.ok(), qPrintable(messageOf(builtin)));
        options.backend = BackendKind::OpenCv;
        auto opencv = evaluate(m_graph, *m_test, options);
        QVERIFY2(opencv.ok(), qPrintable(messageOf(opencv)));

        QCOMPARE(builtin->backend, std::string("builtin"));
        QCOMPARE(opencv->backend, std::string("opencv"));
        QCOMPARE(builtin->n, 10000);
        QCOMPARE(opencv->n, 10000);
        int64_t same = 0;
        for (size_t i = 0; i < builtin->predictions.size(); ++i)
            same += builtin->predictions[i] == opencv->predictions[i] ? 1 : 0;
        const double agreement = 100.0 * double(same) / 10000.0;
        qInfo(
            "top-1 builtin %.2f%%, opencv %.2f%%, argmax agreement %.2f%%; %.0f vs %.0f images/s; latency %.3f vs "
            "%.3f ms",
            builtin->top1, opencv->top1, agreement, builtin->imagesPerSecond, opencv->imagesPerSecond,
            builtin->latencyMs, opencv->latencyMs);
        QVERIFY(agreement >= 99.9);
        QVERIFY(std::abs(builtin->top1 - opencv->top1) <= 0.1);
        const double expected = expectedTop1();
        QVERIFY(expected > 0);
        QVERIFY2(std::abs(builtin->top1 - expected) <= 0.01 + 1e-9, qPrintable(QString::number(builtin->top1)));
        QVERIFY2(std::abs(opencv->top1 - expected) <= 0.01 + 1e-9, qPrintable(QString::number(opencv->top1)));

        // The report is self-consistent.
        const EvalReport& r = *builtin;
        QCOMPARE(r.confusion.numClasses(), 10);
        QCOMPARE(r.confusion.total(), 10000);
        QCOMPARE(100.0 * double(r.confusion.correct()) / 10000.0, r.top1);
        QVERIFY(r.top5 >= r.top1 && r.top5 <= 100.0);
        QVERIFY(r.macroF1 > 80.0 && r.macroF1 <= 100.0);
        QCOMPARE(int(r.perClass.size()), 10);
        for (const auto& c : r.perClass) QCOMPARE(c.support, 1000);  // Fashion-MNIST's test split is balanced
        QCOMPARE(r.folds.k, 5);
        QVERIFY(std::abs(r.folds.mean - r.top1) < 1e-9);  // equal folds of 2000: the mean is the overall accuracy
        QVERIFY(r.folds.stddev > 0 && r.folds.stddev < 2.0);
        QVERIFY(r.seconds > 0 && r.imagesPerSecond > 0 && r.latencyMs > 0);
        QCOMPARE(r.predictions.size(), size_t(10000));
        QCOMPARE(r.indices.front(), 0);
        QCOMPARE(r.indices.back(), 9999);
    }

    void limitShuffleAndSeed() {
        EvalOptions options;
        options.limit = 500;
        options.latencySamples = 0;
        options.shuffle = true;
        options.seed = 11;
        auto a = evaluate(m_graph, *m_test, options);
        auto b = evaluate(m_graph, *m_test, options);
        QVERIFY2(a.ok(), qPrintable(messageOf(a)));
        QCOMPARE(a->n, 500);
        std::vector<int64_t> sample = shuffledIndices(10000, 11);
        sample.resize(500);
        QCOMPARE(a->indices, sample);
        QCOMPARE(a->indices, b->indices);
        QCOMPARE(a->folds.accuracies, b->folds.accuracies);
        QCOMPARE(a->latencyMs, 0.0);
        options.shuffle = false;
        auto first = evaluate(m_graph, *m_test, options);
        QCOMPARE(first->indices.back(), 499);
    }

    // Auto falls back to OpenCV when an op has no built-in kernel; a forced builtin names the op.
    void fallbackToOpenCv() {
        Graph graph = m_graph;
        graph.nodes[1].opType = "FancyPool";
        EvalOptions options;
        options.limit = 200;
        options.latencySamples = 0;
        auto fallback = evaluate(graph, *m_test, options);
        QVERIFY2(fallback.ok(), qPrintable(messageOf(fallback)));
        QCOMPARE(fallback->backend, std::string("opencv"));
        options.backend = BackendKind::Builtin;
        auto forced = evaluate(graph, *m_test, options);
        QVERIFY(!forced.ok());
        QCOMPARE(forced.error().code, ErrorCode::UnsupportedOp);
        QVERIFY2(messageOf(forced).contains("FancyPool"), qPrintable(messageOf(forced)));
    }

    // Neither backend can run it: the error lists the missing op and what OpenCV said.
    void neitherBackend() {
        QTemporaryDir dir;
        Graph graph = m_graph;
        graph.nodes[1].opType = "FancyPool";
        graph.sourcePath = dir.filePath("broken.onnx").toStdString();
        QFile f(QString::fromStdString(graph.sourcePath));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not an onnx file");
        f.close();
        EvalOptions options;
        options.limit = 10;
        auto r = evaluate(graph, *m_test, options);
        QVERIFY(!r.ok());
        QString message = messageOf(r);
        QVERIFY2(message.contains("FancyPool") && message.contains("OpenCV") && message.contains("broken.onnx"),
                 qPrintable(message));
    }

    void shapeMismatch_data() {
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("size");
        QTest::newRow("size") << 1 << 32;
        QTest::newRow("channels") << 3 << 28;
    }

    // Named: the input, the model's shape and the data set's sample shape.
    void shapeMismatch() {
        QFETCH(int, channels);
        QFETCH(int, size);
        auto data = syntheticDataset({channels, size, size}, {0, 1});
        Status status = checkCompatibility(m_graph, *data);
        QVERIFY(!status.ok());
        QString message = QString::fromStdString(status.error().message);
        QString sampleShape = QString("%1x%2x%2").arg(channels).arg(size);
        QVERIFY2(message.contains("'input'") && message.contains("[N, 1, 28, 28]") && message.contains(sampleShape),
                 qPrintable(message));
        QCOMPARE(messageOf(evaluate(m_graph, *data, {})), message);
    }

    void labelOutsideModelClasses() {
        auto data = syntheticDataset({1, 28, 28}, {0, 3, 12, 1});
        auto r = evaluate(m_graph, *data, {.folds = 1});
        QVERIFY(!r.ok());
        QString message = messageOf(r);
        QVERIFY2(message.contains("label 12") && message.contains("labels.npy[2]") && message.contains("10 outputs"),
                 qPrintable(message));
    }

    void badOptions() {
        EvalOptions options;
        options.batchSize = 0;
        QVERIFY(messageOf(evaluate(m_graph, *m_test, options)).contains("batch size"));
        options = {};
        options.folds = 0;
        QVERIFY(messageOf(evaluate(m_graph, *m_test, options)).contains("k = 0"));
        // More folds than samples: one fold per sample, and a note that says so.
        options = {};
        options.limit = 3;
        options.folds = 5;
        options.latencySamples = 0;
        auto clamped = evaluate(m_graph, *m_test, options);
        QVERIFY2(clamped.ok(), qPrintable(messageOf(clamped)));
        QCOMPARE(clamped->folds.k, 3);
        QCOMPARE(clamped->notes.size(), size_t(1));
        QVERIFY2(clamped->notes[0].find("uses 3 parts") != std::string::npos, clamped->notes[0].c_str());
    }

    // checkEvaluation finds what evaluate() would refuse without evaluating: here a label beyond the outputs,
    // found by running one sample; a good data set passes.
    void checkEvaluationBeforeWork() {
        EvalOptions options;
        options.limit = 50;
        QVERIFY(checkEvaluation(m_graph, *m_test, options).ok());
        Graph narrow = m_graph;
        ValueInfo& input = narrow.values.at(narrow.inputs.front());
        input.shape = {-1, 1, 32, 32};
        const Status wrongShape = checkEvaluation(narrow, *m_test, options);
        QVERIFY(!wrongShape.ok());
        QVERIFY2(messageOf(wrongShape).contains("1x28x28"), qPrintable(messageOf(wrongShape)));
    }

    void progressAndCancel() {
        EvalOptions options;
        options.limit = 1000;
        options.latencySamples = 5;
        std::vector<std::string> stages;
        float last = -1;
        bool monotonic = true;
        auto r = evaluate(m_graph, *m_test, options, [&](float fraction, std::string_view stage) {
            if (stages.empty() || stages.back() != stage) stages.emplace_back(stage);
            monotonic = monotonic && fraction >= last;
            last = fraction;
            return true;
        });
        QVERIFY(r.ok());
        QVERIFY(monotonic);
        QCOMPARE(last, 1.f);
        QCOMPARE(stages, (std::vector<std::string>{"loading model", "evaluating", "measuring latency"}));

        int calls = 0;
        auto cancelled = evaluate(m_graph, *m_test, options, [&](float, std::string_view) { return ++calls < 3; });
        QVERIFY(!cancelled.ok());
        QCOMPARE(cancelled.error().code, ErrorCode::Cancelled);
        QCOMPARE(calls, 3);
    }

private:
    Graph m_graph;
    std::shared_ptr<const Dataset> m_test;
};

QTEST_GUILESS_MAIN(TestEvaluator)
#include "test_evaluator.moc"
