// The figures issue 4 is done on: the demo LeNet-5 on the full 10,000-image Fashion-MNIST test split, no
// retraining, each measured on the file Lathe writes and reads back.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include "core/compress/lowrank/svd_decompose.h"
#include "core/export/onnx_export.h"
#include "export_test_util.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

int64_t initializerParams(const Graph& g) {
    int64_t n = 0;
    for (const auto& [name, t] : g.initializers) n += t.numel();
    return n;
}

double zeroFraction(const Graph& g) {
    int64_t zeros = 0, total = 0;
    for (const char* w : {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}) {
        const Tensor& t = g.initializers.at(w);
        total += t.numel();
        for (float v : t.data) zeros += v == 0.f;
    }
    return double(zeros) / double(total);
}

}  // namespace

class TestExportDoneWhen : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_graph = demoModel();
        m_test = fashionTest();
        QCOMPARE(m_test->size(), int64_t(10000));
        // The float accuracy recorded when the model was made (test_evaluator checks Lathe reproduces it).
        QFile record(QString(LATHE_SOURCE_DIR) + "/resources/models/lenet5_fashion.json");
        QVERIFY(record.open(QIODevice::ReadOnly));
        m_float = QJsonDocument::fromJson(record.readAll()).object()["test_top1"].toDouble(-1);
        QCOMPARE(m_float, 91.53);
        auto baseline = measureFile(LATHE_DEMO_MODEL);
        QVERIFY(baseline.ok());
        m_baseline = *baseline;
    }

    // int8 per-channel symmetric weights: within 0.3 points; the QDQ file's weights are a quarter of float's.
    void int8PerChannel() {
        CompressedModel m = compress(m_graph, R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel",
                                                                        "symmetric": true}}})");
        const std::string path = m_dir.filePath("int8_qdq.onnx").toStdString();
        auto written = exportModel(m, ActivationRanges{}, ExportFormat::Qdq, path);
        QVERIFY(written.ok());
        const double top1 = evaluateOn(*readOnnxModel(path), *m_test).top1;
        qInfo("int8 per-channel QDQ: top-1 %.2f%% (float %.2f%%), weights %lld of %lld bytes, file %lld bytes",
              top1, m_float, (long long)written->weightBytes, (long long)weightBytes(m_graph),
              (long long)written->size.onnxBytes);
        QVERIFY(std::fabs(top1 - m_float) <= 0.3);
        const double ratio = double(written->weightBytes) / double(weightBytes(m_graph));
        QVERIFY2(std::fabs(ratio - 0.25) < 0.0025, qPrintable(QString::number(ratio)));  // + 580 scales, zero points
    }

    void fourBitPerChannel() {
        CompressedModel m = compress(m_graph, R"({"defaults": {"quant": {"bits": 4, "granularity": "per_channel"}}})");
        const std::string path = m_dir.filePath("int4_qdq.onnx").toStdString();
        QVERIFY(exportModel(m, ActivationRanges{}, ExportFormat::Qdq, path).ok());
        const double top1 = evaluateOn(*readOnnxModel(path), *m_test).top1;
        qInfo("4-bit per-channel QDQ: top-1 %.2f%%", top1);
        QVERIFY(std::fabs(top1 - m_float) <= 1.0);
    }

    // 70% global magnitude sparsity, kept weights refit by least squares on 512 training images (no retraining):
    // sparsity met, zlib ≤ 45% of the baseline's, within 1.5 points.
    void seventyPercentGlobalSparsity() {
        auto train = openDataset({DatasetKind::Idx, kFashionDir, ""}, {.split = Split::Train, .preprocessing = {}});
        QVERIFY(train.ok());
        ApplyOptions options;
        options.calibration = *train;
        auto applied = applyRecipe(m_graph, recipe(R"({"global_prune": {"sparsity": 0.7}})"), options);
        QVERIFY2(applied.ok(), applied.ok() ? "" : applied.error().message.c_str());
        const CompressedModel& m = *applied;
        QVERIFY(m.correction.method == PruneCorrection::LeastSquares);
        const std::string path = m_dir.filePath("sparse.onnx").toStdString();
        auto written = exportModel(m, ActivationRanges{}, ExportFormat::Float, path);
        QVERIFY(written.ok());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        const double sparsity = zeroFraction(*reloaded);
        const double zlibRatio = double(written->size.zlibBytes) / double(m_baseline.zlibBytes);
        const double top1 = evaluateOn(*reloaded, *m_test).top1;
        qInfo("70%% global sparsity: sparsity %.4f, zlib %lld / %lld = %.3f, top-1 %.2f%%", sparsity,
              (long long)written->size.zlibBytes, (long long)m_baseline.zlibBytes, zlibRatio, top1);
        QVERIFY(std::fabs(sparsity - 0.7) <= 0.005);
        QVERIFY(zlibRatio <= 0.45);
        QVERIFY(std::fabs(top1 - m_float) <= 1.5);
    }

    // fc1 at rank 64: the reported error is the singular value tail; the file loses 800·500 − 64·(800+500) params.
    void fc1RankSixtyFour() {
        CompressedModel m = compress(m_graph, R"({"layers": {"fc1": {"lowrank": {"rank": 64}}}})");
        const LayerReport& fc1 = m.layers[2];
        QCOMPARE(fc1.name, std::string("fc1"));
        const auto sv = weightSingularValues(m_graph.initializers.at("fc1.weight"));
        double tail = 0, all = 0;
        for (size_t i = 0; i < sv.size(); ++i) {
            all += sv[i] * sv[i];
            if (i >= 64) tail += sv[i] * sv[i];
        }
        QVERIFY2(std::fabs(fc1.relError - std::sqrt(tail / all)) < 1e-6, qPrintable(QString::number(fc1.relError)));
        const std::string path = m_dir.filePath("lowrank.onnx").toStdString();
        auto written = exportModel(m, ActivationRanges{}, ExportFormat::Float, path);
        QVERIFY(written.ok());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        QCOMPARE(initializerParams(m_graph) - initializerParams(*reloaded), int64_t(800 * 500 - 64 * (800 + 500)));
        const double top1 = evaluateOn(*reloaded, *m_test, BackendKind::Builtin, 2000).top1;
        qInfo("fc1 rank 64: rel. error %.6f, file %lld bytes (baseline %lld), top-1 %.2f%% (first 2000)", fc1.relError,
              (long long)written->size.onnxBytes, (long long)m_baseline.onnxBytes, top1);
        QVERIFY(written->size.onnxBytes < m_baseline.onnxBytes - 4 * 316800 + 4096);
    }

    // Half of conv2's filters removed: conv2 [25,20,5,5], fc1 reads 25·4·4 = 400 features; the file runs.
    void halfOfConv2Filters() {
        CompressedModel m = compress(m_graph, R"({"layers": {"conv2": {"prune": {"structured": {"keep": 25}}}}})");
        const std::string path = m_dir.filePath("filters.onnx").toStdString();
        auto written = exportModel(m, ActivationRanges{}, ExportFormat::Float, path);
        QVERIFY(written.ok());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        QCOMPARE(reloaded->initializer("conv2.weight")->shape, (std::vector<int64_t>{25, 20, 5, 5}));
        QCOMPARE(reloaded->initializer("conv2.bias")->shape, (std::vector<int64_t>{25}));
        QCOMPARE(reloaded->initializer("fc1.weight")->shape, (std::vector<int64_t>{500, 400}));
        QCOMPARE(reloaded->value("conv2_out")->shape, (std::vector<int64_t>{-1, 25, 8, 8}));
        QCOMPARE(initializerParams(*reloaded), int64_t(520 + (25 * 20 * 25 + 25) + (500 * 400 + 500) + 5010));
        QVERIFY(written->size.onnxBytes < m_baseline.onnxBytes * 51 / 100);
        const double top1 = evaluateOn(*reloaded, *m_test, BackendKind::Builtin, 2000).top1;
        qInfo("conv2 half filters: file %lld bytes, top-1 %.2f%% (first 2000)", (long long)written->size.onnxBytes, top1);
        QVERIFY(top1 > 50.0);
    }

    // Static int8 activations (min-max): the QOperator file runs in OpenCV within 1 point of float and within 0.05
    // of Lathe's fake-quantized evaluation.
    void staticInt8QOperatorInOpenCv() {
        const char* json = R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel", "symmetric": true}},
                               "activations": {"mode": "static", "calibration": "minmax", "samples": 512}})";
        CompressedModel m = compress(m_graph, json);
        ActivationRanges ranges = calibrate(m, m_test, *recipe(json).activations);
        auto fq = withActivationFakeQuant(m.graph, ranges, m.quantized);
        QVERIFY(fq.ok());
        const EvalReport lathe = evaluateOn(*fq, *m_test);
        const std::string path = m_dir.filePath("static_qop.onnx").toStdString();
        QVERIFY(exportModel(m, ranges, ExportFormat::QOperator, path).ok());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        const EvalReport opencv = evaluateOn(*reloaded, *m_test, BackendKind::OpenCv);
        qInfo("static int8 (minmax): Lathe's fake-quantized evaluation %.2f%%, the QOperator file in OpenCV %.2f%%, "
              "float %.2f%%", lathe.top1, opencv.top1, m_float);
        QCOMPARE(opencv.backend, std::string("opencv"));
        QVERIFY(std::fabs(opencv.top1 - m_float) <= 1.0);
        QVERIFY(std::fabs(opencv.top1 - lathe.top1) <= 0.05);
    }

private:
    QTemporaryDir m_dir;
    Graph m_graph;
    std::shared_ptr<const Dataset> m_test;
    double m_float = 0;
    FileSize m_baseline;
};

QTEST_APPLESS_MAIN(TestExportDoneWhen)
#include "test_export_done_when.moc"
