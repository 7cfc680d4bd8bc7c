// The built-in executor and OpenCV DNN (an independent ONNX runtime) agree on the fixtures and the demo model:
// same top-1 class per sample and max |difference| < 1e-4 on seeded random inputs.
#include <QtTest>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "core/model/onnx_reader.h"
#include "runtime_test_util.h"

using namespace lathe;
using namespace lathe::test;

class TestExecutorVsOpenCv : public QObject {
    Q_OBJECT
private slots:
    void agree_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("batch");
        const QString fixtures = LATHE_FIXTURES_DIR;
        for (int batch : {1, 5}) {
            QTest::addRow("demo model, batch %d", batch) << QString(LATHE_DEMO_MODEL) << batch;
            for (const char* name : {"bn_conv", "depthwise", "residual", "tf_nhwc"})
                QTest::addRow("%s, batch %d", name, batch) << fixtures + "/" + name + ".onnx" << batch;
        }
    }

    void agree() {
        QFETCH(QString, model);
        QFETCH(int, batch);
        const std::string path = model.toStdString();
        auto graph = readOnnxModel(path);
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        auto executor = Executor::compile(*graph);
        QVERIFY2(executor.ok(), executor.ok() ? "" : executor.error().message.c_str());
        const std::string input = executor->inputNames().front();
        std::vector<int64_t> shape = graph->value(input)->shape;
        shape[0] = batch;
        const NDArray x = randomArray(shape, 51, 0.f, 1.f);
        auto ours = executor->run({{input, x}});
        QVERIFY2(ours.ok(), ours.ok() ? "" : ours.error().message.c_str());
        const NDArray& y = ours->at(executor->outputNames().front());

        cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
        const std::vector<int> dims(shape.begin(), shape.end());
        net.setInput(cv::Mat(int(dims.size()), dims.data(), CV_32F, const_cast<float*>(x.data.data())));
        const cv::Mat reference = net.forward();
        QCOMPARE(int64_t(reference.total()), y.numel());

        const float* theirs = reference.ptr<float>();
        float maxDiff = 0.f;
        for (size_t i = 0; i < y.data.size(); ++i) maxDiff = std::max(maxDiff, std::abs(y.data[i] - theirs[i]));
        QVERIFY2(maxDiff < 1e-4f, qPrintable(QString("max |diff| %1").arg(maxDiff)));
        const int64_t perSample = y.numel() / batch;
        for (int64_t s = 0; s < batch; ++s) {
            const float* a = y.data.data() + s * perSample;
            const float* b = theirs + s * perSample;
            QCOMPARE(std::max_element(a, a + perSample) - a, std::max_element(b, b + perSample) - b);
        }
    }
};

QTEST_APPLESS_MAIN(TestExecutorVsOpenCv)
#include "test_executor_vs_opencv.moc"
