// torchvision's classification architectures (exported at test time by tools/export_torchvision.py with Debian's
// python3-torchvision: random weights, seed 0, opset 14, into the build tree) run in Lathe's executor and in ONNX
// Runtime on the same seeded random input; the logits agree to 1e-4 of their largest magnitude, and Lathe's MACs
// (shapes by execution where static inference gives up) are within 2 % of torchvision's published table (or half a
// unit of its last printed digit). LATHE_TORCHVISION_MODELS=resnet18,vit_b_16 limits the set.
#include <QProcess>
#include <QtTest>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"
#include "core/runtime/shape_probe.h"
#include "torchvision_fixtures.h"

using namespace lathe;

using namespace lathe::testing;

class TestTorchvisionModels : public QObject {
    Q_OBJECT
private:
    nlohmann::json m_manifest;
    QString m_skip;

private slots:
    void initTestCase() {
        m_skip = torchvisionMissing();
        if (!m_skip.isEmpty()) return;
        QString error;
        m_manifest = exportTorchvision(qEnvironmentVariable("LATHE_TORCHVISION_MODELS"), "manifest.json", error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    void model_data() {
        QTest::addColumn<int>("index");
        if (!m_manifest.contains("models")) {
            QTest::newRow("none") << -1;
            return;
        }
        for (size_t i = 0; i < m_manifest["models"].size(); ++i)
            QTest::newRow(m_manifest["models"][i]["name"].get<std::string>().c_str()) << int(i);
    }

    void model() {
        QFETCH(int, index);
        if (!m_skip.isEmpty()) QSKIP(qPrintable(m_skip));
        QVERIFY(index >= 0);
        const nlohmann::json& entry = m_manifest["models"][size_t(index)];
        const std::string name = entry["name"];
        const QString file = kTorchvisionDir + "/" + QString::fromStdString(entry["file"].get<std::string>());
        const std::vector<int64_t> shape = entry["input_shape"].get<std::vector<int64_t>>();
        const double published = entry["published_gmacs"];

        auto graph = readOnnxModel(file.toStdString());
        QVERIFY2(graph.ok(), graph ? "" : graph.error().message.c_str());
        const ShapeProbeReport report = completeShapesByExecution(*graph);
        QVERIFY2(report.problem.empty(), report.problem.c_str());
        const ModelSummary summary = summarizeModel(*graph);
        QVERIFY2(summary.unknownMacs.empty(),
                 summary.unknownMacs.empty() ? "" : ("MACs unknown for " + summary.unknownMacs.front()).c_str());
        const double gmacs = double(summary.totalMacs) / 1e9;
        const double tolerance = std::max(0.02 * published, 0.005);

        auto executor = Executor::compile(*graph, ExecutorOptions{2});
        QVERIFY2(executor.ok(), executor ? "" : executor.error().message.c_str());
        NDArray input(shape);
        std::mt19937 rng(1234 + unsigned(index));
        std::normal_distribution<float> normal(0.f, 1.f);
        for (float& v : input.data) v = normal(rng);
        const auto start = std::chrono::steady_clock::now();
        auto outputs = executor->run({{executor->inputNames().front(), input}});
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        QVERIFY2(outputs.ok(), outputs ? "" : outputs.error().message.c_str());
        const NDArray& lathe = outputs->at(executor->outputNames().front());

        QTemporaryDir dir;
        writeFloats(dir.filePath("input.bin"), input.data);
        const QString ortError = runOrt({file, dir.filePath("input.bin"), dir.filePath("output.bin")}, shape);
        QVERIFY2(ortError.isEmpty(), qPrintable(ortError));
        const std::vector<float> reference = readFloats(dir.filePath("output.bin"));
        QCOMPARE(reference.size(), lathe.data.size());
        double maxAbs = 0, maxDiff = 0, low = reference.front(), high = reference.front();
        for (size_t i = 0; i < reference.size(); ++i) {
            maxAbs = std::max(maxAbs, std::abs(double(reference[i])));
            maxDiff = std::max(maxDiff, std::abs(double(reference[i]) - double(lathe.data[i])));
            low = std::min(low, double(reference[i]));
            high = std::max(high, double(reference[i]));
        }
        const double relative = maxDiff / std::max(maxAbs, 1e-30);
        qInfo(
            "%-20s MACs %8.3f G (published %6.2f, %+5.1f %%)  shapes by execution: %s  Lathe %7.1f ms  "
            "max |Lathe - ORT| / max |ORT| = %.2e (logits span %.3g)",
            name.c_str(), gmacs, published, 100 * (gmacs / published - 1), report.ran ? "yes" : "no ", ms, relative,
            high - low);
        // Logits that do not vary (a zero-initialised head) would make the comparison say nothing.
        QVERIFY2(high - low > 1e-3 * maxAbs, qPrintable(QString("the logits span only [%1, %2]").arg(low).arg(high)));
        QVERIFY2(std::abs(gmacs - published) <= tolerance,
                 qPrintable(QString("MACs %1 G, published %2 G").arg(gmacs).arg(published)));
        QVERIFY2(relative <= 1e-4, qPrintable(QString("outputs differ from ONNX Runtime's by %1 of their largest "
                                                      "magnitude")
                                                  .arg(relative)));
    }
};

QTEST_GUILESS_MAIN(TestTorchvisionModels)
#include "test_torchvision_models.moc"
