// OpenCV DNN runs in a worker process (core/eval/opencv_backend.h): its results equal the built-in executor's, and
// an abort, a crash or a log line inside it comes back as an error in Lathe's words while this process goes on.
#include <QtTest>

#include <numeric>

#include "core/eval/builtin_backend.h"
#include "core/eval/dataset.h"
#include "core/eval/opencv_backend.h"
#include "core/model/onnx_reader.h"

using namespace lathe;

namespace {

QString messageOf(const Error& e) { return QString::fromStdString(e.message); }

// A stand-in worker: a shell script in `dir` running `body`.
QString fakeWorker(const QTemporaryDir& dir, const QString& body) {
    const QString path = dir.filePath("fake-worker.sh");
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(("#!/bin/sh\n" + body + "\n").toUtf8());
    f.close();
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    return path;
}

// Sets LATHE_DNN_WORKER for one scope.
class WorkerOverride {
public:
    explicit WorkerOverride(const QString& path) : m_old(qgetenv("LATHE_DNN_WORKER")) {
        qputenv("LATHE_DNN_WORKER", path.toUtf8());
    }
    ~WorkerOverride() { qputenv("LATHE_DNN_WORKER", m_old); }

private:
    QByteArray m_old;
};

}  // namespace

class TestOpenCvBackend : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(graph.ok());
        m_graph = *graph;
        auto data = openDataset({DatasetKind::Idx, "/usr/share/datasets/fashion-mnist", ""}, {});
        QVERIFY2(data.ok(), data.ok() ? "" : data.error().message.c_str());
        std::vector<int64_t> indices(16);
        std::iota(indices.begin(), indices.end(), int64_t(100));
        auto batch = (*data)->batch(indices);
        QVERIFY(batch.ok());
        m_batch = *batch;
    }

    // Real images through the worker give the built-in executor's logits; the worker serves many requests.
    void workerAgreesWithTheBuiltinExecutor() {
        auto opencv = OpenCvBackend::create(m_graph, 1);
        QVERIFY2(opencv.ok(), opencv.ok() ? "" : opencv.error().message.c_str());
        auto builtin = BuiltinBackend::create(m_graph, 1);
        QVERIFY(builtin.ok());
        const auto expected = (*builtin)->run(m_batch);
        QVERIFY(expected.ok());
        for (int round = 0; round < 3; ++round) {
            auto got = (*opencv)->run(m_batch);
            QVERIFY2(got.ok(), got.ok() ? "" : got.error().message.c_str());
            QCOMPARE(got->shape, (std::vector<int64_t>{16, 10}));
            float worst = 0;
            for (size_t i = 0; i < got->data.size(); ++i)
                worst = std::max(worst, std::fabs(got->data[i] - expected->data[i]));
            QVERIFY2(worst < 1e-3f, qPrintable(QString::number(worst)));
        }
    }

    // OpenCV refuses a model: its reason comes back, without OpenCV's raw "[ERROR:…] global …" log prefix.
    void importFailureIsReportedInLathesWords() {
        auto graph = readOnnxModel(std::string(LATHE_FIXTURES_DIR) + "/unknown_op.onnx");
        QVERIFY(graph.ok());
        auto opencv = OpenCvBackend::create(*graph, 1);
        QVERIFY(!opencv.ok());
        const QString message = messageOf(opencv.error());
        QVERIFY2(message.startsWith("OpenCV DNN cannot load") && message.contains("unknown_op.onnx"),
                 qPrintable(message));
        QVERIFY2(!message.contains("[ERROR") && !message.contains("\n") && !message.contains("OpenCV(4"), qPrintable(message));
    }

    // The worker aborts while loading (as OpenCV 4.6 does on some graphs): an error naming the signal and OpenCV's
    // last log line, stripped of its prefix.
    void abortWhileLoadingIsAnError() {
        QTemporaryDir dir;
        WorkerOverride worker(fakeWorker(
            dir, "echo '[ERROR:0@0.249] global ./modules/dnn/src/onnx/onnx_importer.cpp (1021) handleNode bad node' >&2\n"
                 "kill -ABRT $$"));
        auto opencv = OpenCvBackend::create(m_graph, 1);
        QVERIFY(!opencv.ok());
        const QString message = messageOf(opencv.error());
        QVERIFY2(message.contains("while loading") && message.contains("signal 6") &&
                     message.contains("lenet5_fashion.onnx") && message.contains("OpenCV's last message: bad node"),
                 qPrintable(message));
        QVERIFY2(!message.contains("[ERROR"), qPrintable(message));
    }

    // The worker loads, then dies on the first batch: run() fails (also when called again) instead of hanging.
    void crashWhileRunningIsAnError() {
        QTemporaryDir dir;
        WorkerOverride worker(fakeWorker(dir, "printf '\\001'\nhead -c 4 > /dev/null\nkill -SEGV $$"));
        auto opencv = OpenCvBackend::create(m_graph, 1);
        QVERIFY2(opencv.ok(), opencv.ok() ? "" : opencv.error().message.c_str());
        auto first = (*opencv)->run(m_batch);
        QVERIFY(!first.ok());
        QVERIFY2(messageOf(first.error()).contains("while running") &&
                     messageOf(first.error()).contains("signal 11"),
                 qPrintable(messageOf(first.error())));
        auto second = (*opencv)->run(m_batch);
        QVERIFY(!second.ok());
        QCOMPARE(messageOf(second.error()), messageOf(first.error()));
    }

    void missingWorkerIsNamed() {
        WorkerOverride worker("/nonexistent/lathe-dnn-worker");
        auto opencv = OpenCvBackend::create(m_graph, 1);
        QVERIFY(!opencv.ok());
        QVERIFY2(messageOf(opencv.error()).contains("/nonexistent/lathe-dnn-worker") &&
                     messageOf(opencv.error()).contains("LATHE_DNN_WORKER"),
                 qPrintable(messageOf(opencv.error())));
    }

private:
    Graph m_graph;
    NDArray m_batch;
};

QTEST_APPLESS_MAIN(TestOpenCvBackend)
#include "test_opencv_backend.moc"
