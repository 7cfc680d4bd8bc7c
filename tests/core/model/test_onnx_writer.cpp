#include <QtTest>

#include <filesystem>

#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/model/onnx_writer.h"

using namespace lathe;

class TestOnnxWriter : public QObject {
    Q_OBJECT
private slots:
    void roundTrip_data() {
        QTest::addColumn<QString>("path");
        QTest::newRow("demo") << QString(LATHE_DEMO_MODEL);
        QTest::newRow("batchnorm") << QString(LATHE_FIXTURES_DIR "/bn_conv.onnx");
        QTest::newRow("tensorflow") << QString(LATHE_FIXTURES_DIR "/tf_nhwc.onnx");
        QTest::newRow("opset 7") << QString(LATHE_FIXTURES_DIR "/matmul_opset7.onnx");
    }

    // Read → write → read gives the same nodes, attributes, weights and accounting.
    void roundTrip() {
        QFETCH(QString, path);
        auto original = readOnnxModel(path.toStdString());
        QVERIFY(original.ok());
        QTemporaryDir dir;
        std::string out = dir.filePath("copy.onnx").toStdString();
        auto st = writeOnnxModel(*original, out);
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());
        auto copy = readOnnxModel(out);
        QVERIFY2(copy.ok(), copy.ok() ? "" : copy.error().message.c_str());
        QCOMPARE(copy->nodes.size(), original->nodes.size());
        for (size_t i = 0; i < copy->nodes.size(); ++i) {
            QCOMPARE(copy->nodes[i].name, original->nodes[i].name);
            QCOMPARE(copy->nodes[i].opType, original->nodes[i].opType);
            QCOMPARE(copy->nodes[i].inputs, original->nodes[i].inputs);
            QCOMPARE(copy->nodes[i].attributes.size(), original->nodes[i].attributes.size());
            for (const auto& [key, a] : original->nodes[i].attributes)
                QCOMPARE(copy->nodes[i].attributes.at(key).toString(), a.toString());
        }
        QCOMPARE(copy->initializers.size(), original->initializers.size());
        for (const auto& [name, t] : original->initializers) {
            const Tensor* c = copy->initializer(name);
            QVERIFY(c);
            QCOMPARE(c->shape, t.shape);
            QCOMPARE(c->dtype, t.dtype);
            QVERIFY(c->data == t.data);
            QVERIFY(c->ints == t.ints);
        }
        QCOMPARE(copy->inputs, original->inputs);
        QCOMPARE(copy->outputs, original->outputs);
        QCOMPARE(copy->opset, original->opset);
        QCOMPARE(copy->producerName, std::string("lathe"));
        QCOMPARE(summarizeModel(*copy).totalMacs, summarizeModel(*original).totalMacs);
    }

    void int8TensorsKeepTheirCodes() {
        auto g = readOnnxModel(LATHE_FIXTURES_DIR "/matmul_opset7.onnx");
        QVERIFY(g.ok());
        Tensor q;
        q.name = "codes";
        q.dtype = DType::Int8;
        q.shape = {4};
        q.ints = {-128, -1, 0, 127};
        g->initializers["codes"] = q;
        auto bytes = serializeOnnxModel(*g);
        QVERIFY2(bytes.ok(), bytes.ok() ? "" : bytes.error().message.c_str());
        QTemporaryDir dir;
        std::string out = dir.filePath("q.onnx").toStdString();
        QVERIFY(writeFileAtomically(out, *bytes).ok());
        auto back = readOnnxModel(out);
        QVERIFY(back.ok());
        QCOMPARE(back->initializer("codes")->ints, q.ints);
        QCOMPARE(back->initializer("codes")->byteSize(), int64_t(4));
    }

    void refusesToOverwriteTheOriginal() {
        QTemporaryDir dir;
        std::string path = dir.filePath("model.onnx").toStdString();
        std::filesystem::copy_file(LATHE_DEMO_MODEL, path);
        auto g = readOnnxModel(path);
        QVERIFY(g.ok());
        auto before = std::filesystem::file_size(path);
        g->nodes.pop_back();
        auto st = writeOnnxModel(*g, path);
        QVERIFY(!st.ok());
        QVERIFY2(st.error().message.find("original") != std::string::npos, st.error().message.c_str());
        QCOMPARE(std::filesystem::file_size(path), before);
    }

    void checkerRejectsBrokenGraph() {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(g.ok());
        g->nodes[2].inputs[0] = "no_such_value";
        QTemporaryDir dir;
        std::string out = dir.filePath("broken.onnx").toStdString();
        auto st = writeOnnxModel(*g, out);
        QVERIFY(!st.ok());
        QVERIFY2(st.error().message.find("checker") != std::string::npos, st.error().message.c_str());
        QVERIFY(!std::filesystem::exists(out));
    }

    void missingFolderIsAnError() {
        auto g = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(g.ok());
        auto st = writeOnnxModel(*g, "/nonexistent_dir_lathe/out.onnx");
        QVERIFY(!st.ok());
        QVERIFY2(st.error().message.find("/nonexistent_dir_lathe") != std::string::npos, st.error().message.c_str());
    }
};

QTEST_APPLESS_MAIN(TestOnnxWriter)
#include "test_onnx_writer.moc"
