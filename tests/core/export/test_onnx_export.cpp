// The three export formats on the demo model: every file passes onnx::checker (exportModel serializes with it),
// reloads in Lathe and gives the predictions Lathe evaluated; the QDQ file holds the codes; the QOperator file
// follows OpenCV's naming and runs in OpenCV DNN; writes are atomic and never replace the source model.
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/export/onnx_export.h"
#include "core/model/onnx_writer.h"
#include "export_test_util.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

constexpr int64_t kLimit = 1000;  // the full split runs in test_export_done_when

const char* kInt8Static = R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel", "symmetric": true}},
                              "activations": {"mode": "static", "calibration": "minmax", "samples": 256}})";

bool endsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base(const std::string& quantizedName) { return quantizedName.substr(0, quantizedName.size() - 10); }

}  // namespace

class TestOnnxExport : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_graph = demoModel();
        m_test = fashionTest();
        m_model = compress(m_graph, kInt8Static);
        m_ranges = calibrate(m_model, m_test, *recipe(kInt8Static).activations);
        auto fq = withActivationFakeQuant(m_model.graph, m_ranges, m_model.quantized);
        QVERIFY(fq.ok());
        m_fakeQuant = evaluateOn(*fq, *m_test, BackendKind::Builtin, kLimit);
    }

    void formats_data() {
        QTest::addColumn<QString>("format");
        QTest::newRow("float") << "float";
        QTest::newRow("qdq") << "qdq";
        QTest::newRow("qop") << "qop";
    }

    // Written, checked, reloaded: the QDQ file computes exactly the fake-quantized graph; the QOperator file differs
    // only by integer rounding inside QLinearConv; the float file is the compressed graph without activation
    // quantization.
    void formats() {
        QFETCH(QString, format);
        const ExportFormat f = *parseExportFormat(format.toStdString());
        const std::string path = m_dir.filePath("lenet_" + format + ".onnx").toStdString();
        auto written = exportModel(m_model, m_ranges, f, path);
        QVERIFY2(written.ok(), written.ok() ? "" : written.error().message.c_str());
        QCOMPARE(written->size.onnxBytes, int64_t(std::filesystem::file_size(path)));
        auto measured = measureFile(path);
        QVERIFY(measured.ok());
        QCOMPARE(measured->zlibBytes, written->size.zlibBytes);
        QVERIFY(written->size.zlibBytes > 0 && written->size.zlibBytes < written->size.onnxBytes);
        auto reloaded = readOnnxModel(path);
        QVERIFY2(reloaded.ok(), reloaded.ok() ? "" : reloaded.error().message.c_str());
        QVERIFY(reloaded->warnings.empty());
        const EvalReport fromFile = evaluateOn(*reloaded, *m_test, BackendKind::Builtin, kLimit);
        if (f == ExportFormat::Float) {
            const EvalReport inMemory = evaluateOn(m_model.graph, *m_test, BackendKind::Builtin, kLimit);
            QCOMPARE(fromFile.predictions, inMemory.predictions);
            QCOMPARE(written->notes.size(), size_t(1));  // activations stay float
        } else if (f == ExportFormat::Qdq) {
            QCOMPARE(fromFile.predictions, m_fakeQuant.predictions);
        } else {
            QVERIFY2(agreement(fromFile, m_fakeQuant) >= 0.999, qPrintable(QString::number(agreement(fromFile, m_fakeQuant))));
            QVERIFY(std::fabs(fromFile.top1 - m_fakeQuant.top1) <= 0.05);
        }
        // Quantized weights take a quarter of the float bytes (plus per-channel scales and zero points).
        if (f != ExportFormat::Float) {
            const double ratio = double(written->weightBytes) / double(weightBytes(m_graph));
            QVERIFY2(ratio > 0.25 && ratio < 0.26, qPrintable(QString::number(ratio)));
        }
    }

    // The QDQ file's int8 weights are the codes applyRecipe produced, with their scales and channel axis.
    void qdqWeightsEqualTheCodes() {
        const std::string path = m_dir.filePath("codes_qdq.onnx").toStdString();
        QVERIFY(exportModel(m_model, m_ranges, ExportFormat::Qdq, path).ok());
        auto g = readOnnxModel(path);
        QVERIFY(g.ok());
        QCOMPARE(m_model.quantized.size(), size_t(4));
        for (const auto& [name, q] : m_model.quantized) {
            const Tensor* codes = g->initializer(name + "_quantized");
            QVERIFY2(codes, name.c_str());
            QCOMPARE(codes->dtype, DType::Int8);
            QCOMPARE(codes->shape, q.shape);
            QCOMPARE(codes->ints, std::vector<int64_t>(q.codes.begin(), q.codes.end()));
            QCOMPARE(g->initializer(name + "_scale")->data, q.scales);
            const Tensor* zero = g->initializer(name + "_zero_point");
            QCOMPARE(zero->dtype, DType::Int8);
            QCOMPARE(zero->ints, std::vector<int64_t>(q.scales.size(), 0));
            QVERIFY(!g->initializer(name));
            const Node& dq = g->nodes[size_t(g->producerOf(name))];
            QCOMPARE(dq.opType, std::string("DequantizeLinear"));
            QCOMPARE(dq.attrInt("axis", -1), int64_t(q.axis));
        }
        // Biases stay float; activations get Q/DQ pairs with uint8 zero points.
        QCOMPARE(g->initializer("fc1.bias")->dtype, DType::Float);
        QCOMPARE(g->initializer("input_zero_point")->dtype, DType::UInt8);
    }

    // OpenCV DNN 4.6 finds a quantized tensor's parameters only as X_scale / X_zero_point next to X_quantized.
    void qopNamesFollowOpenCv() {
        const std::string path = m_dir.filePath("names_qop.onnx").toStdString();
        auto written = exportModel(m_model, m_ranges, ExportFormat::QOperator, path);
        QVERIFY(written.ok());
        QVERIFY(written->notes.empty());
        auto g = readOnnxModel(path);
        QVERIFY(g.ok());
        std::multiset<std::string> ops;
        for (const Node& n : g->nodes) {
            ops.insert(n.opType);
            for (const auto& out : n.outputs) {
                if (n.opType == "DequantizeLinear") {
                    QVERIFY(!endsWith(out, "_quantized"));
                    continue;
                }
                QVERIFY2(endsWith(out, "_quantized"), out.c_str());
                const Tensor* scale = g->initializer(base(out) + "_scale");
                const Tensor* zero = g->initializer(base(out) + "_zero_point");
                QVERIFY2(scale && zero, out.c_str());
                QCOMPARE(scale->dtype, DType::Float);
                QCOMPARE(zero->dtype, DType::UInt8);
                QCOMPARE(scale->numel(), int64_t(1));
            }
            if (n.opType == "QLinearConv" || n.opType == "QLinearMatMul") {
                QVERIFY(endsWith(n.inputs[0], "_quantized"));
                QCOMPARE(n.inputs[1], base(n.inputs[0]) + "_scale");
                QCOMPARE(n.inputs[2], base(n.inputs[0]) + "_zero_point");
                QVERIFY(endsWith(n.inputs[3], "_quantized"));
                QCOMPARE(g->initializer(n.inputs[3])->dtype, DType::Int8);
                QCOMPARE(n.inputs[4], base(n.inputs[3]) + "_scale");
                QCOMPARE(n.inputs[5], base(n.inputs[3]) + "_zero_point");
                QCOMPARE(n.inputs[6], base(n.outputs[0]) + "_scale");
                if (n.inputs.size() > 8) QCOMPARE(g->initializer(n.inputs[8])->dtype, DType::Int32);
            }
        }
        QCOMPARE(ops, (std::multiset<std::string>{"QuantizeLinear", "QLinearConv", "MaxPool", "QLinearConv", "MaxPool",
                                                  "Flatten", "Reshape", "QLinearConv", "Reshape", "Reshape",
                                                  "QLinearConv", "Reshape", "DequantizeLinear"}));
        QCOMPARE(g->nodes.back().outputs[0], std::string("logits"));
        QCOMPARE(g->initializer("fc1.weight_quantized")->shape, (std::vector<int64_t>{500, 800, 1, 1}));
    }

    // OpenCV DNN runs the float and QOperator files with the accuracy Lathe reports (and refuses QDQ).
    void opencvRunsFloatAndQop() {
        const std::string floatPath = m_dir.filePath("cv_float.onnx").toStdString();
        const std::string qopPath = m_dir.filePath("cv_qop.onnx").toStdString();
        QVERIFY(exportModel(m_model, m_ranges, ExportFormat::Float, floatPath).ok());
        QVERIFY(exportModel(m_model, m_ranges, ExportFormat::QOperator, qopPath).ok());
        auto floatFile = readOnnxModel(floatPath);
        auto qopFile = readOnnxModel(qopPath);
        QVERIFY(floatFile.ok() && qopFile.ok());
        const EvalReport builtinFloat = evaluateOn(*floatFile, *m_test, BackendKind::Builtin, kLimit);
        const EvalReport cvFloat = evaluateOn(*floatFile, *m_test, BackendKind::OpenCv, kLimit);
        QCOMPARE(cvFloat.backend, std::string("opencv"));
        QVERIFY(std::fabs(cvFloat.top1 - builtinFloat.top1) <= 0.05);
        const EvalReport cvQop = evaluateOn(*qopFile, *m_test, BackendKind::OpenCv, kLimit);
        QVERIFY2(std::fabs(cvQop.top1 - m_fakeQuant.top1) <= 0.05,
                 qPrintable(QString("%1 vs %2").arg(cvQop.top1).arg(m_fakeQuant.top1)));
        QVERIFY(agreement(cvQop, m_fakeQuant) >= 0.999);

        const std::string qdqPath = m_dir.filePath("cv_qdq.onnx").toStdString();
        QVERIFY(exportModel(m_model, m_ranges, ExportFormat::Qdq, qdqPath).ok());
        auto qdqFile = readOnnxModel(qdqPath);
        EvalOptions options;
        options.backend = BackendKind::OpenCv;
        options.limit = 10;
        options.latencySamples = 0;
        QVERIFY(!evaluate(*qdqFile, *m_test, options).ok());
    }

    void dynamicQdqReloads() {
        const char* json = R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}},
                               "activations": {"mode": "dynamic"}})";
        CompressedModel m = compress(m_graph, json);
        ActivationRanges ranges;
        ranges.mode = ActivationMode::Dynamic;
        const std::string path = m_dir.filePath("dynamic_qdq.onnx").toStdString();
        auto written = exportModel(m, ranges, ExportFormat::Qdq, path);
        QVERIFY2(written.ok(), written.ok() ? "" : written.error().message.c_str());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        auto fq = withActivationFakeQuant(m.graph, ranges, m.quantized);
        QVERIFY(fq.ok());
        QCOMPARE(evaluateOn(*reloaded, *m_test, BackendKind::Builtin, 500).predictions,
                 evaluateOn(*fq, *m_test, BackendKind::Builtin, 500).predictions);
        auto qop = exportModel(m, ranges, ExportFormat::QOperator, m_dir.filePath("dyn_qop.onnx").toStdString());
        QVERIFY(!qop.ok());
        QVERIFY2(qop.error().message.find("activations.mode") != std::string::npos, qop.error().message.c_str());
    }

    // Float and asymmetric layers run in float inside the QOperator file, with a note; the result still matches.
    void qopKeepsUnsupportedLayersInFloat() {
        const char* json = R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}},
                               "layers": {"conv2": {"quant": {"bits": 32}}, "fc2": {"quant": {"symmetric": false}}},
                               "activations": {"mode": "static", "samples": 128}})";
        CompressedModel m = compress(m_graph, json);
        ActivationRanges ranges = calibrate(m, m_test, *recipe(json).activations);
        auto built = buildQOperatorGraph(m, ranges);
        QVERIFY2(built.ok(), built.ok() ? "" : built.error().message.c_str());
        QCOMPARE(built->notes.size(), size_t(2));
        QVERIFY(built->notes[0].find("conv2") != std::string::npos);
        QVERIFY(built->notes[1].find("fc2") != std::string::npos);
        const std::string path = m_dir.filePath("mixed_qop.onnx").toStdString();
        QVERIFY(exportModel(m, ranges, ExportFormat::QOperator, path).ok());
        auto reloaded = readOnnxModel(path);
        QVERIFY(reloaded.ok());
        auto fq = withActivationFakeQuant(m.graph, ranges, m.quantized);
        const EvalReport expected = evaluateOn(*fq, *m_test, BackendKind::Builtin, 1000);
        QVERIFY(agreement(evaluateOn(*reloaded, *m_test, BackendKind::Builtin, 1000), expected) >= 0.998);
        QVERIFY(agreement(evaluateOn(*reloaded, *m_test, BackendKind::OpenCv, 1000), expected) >= 0.998);
    }

    void refusesToOverwriteTheSource() {
        QTemporaryDir dir;
        const std::string source = dir.filePath("model.onnx").toStdString();
        std::filesystem::copy_file(LATHE_DEMO_MODEL, source);
        auto graph = readOnnxModel(source);
        QVERIFY(graph.ok());
        CompressedModel m = compress(*graph, R"({"defaults": {"quant": {"bits": 8}}})");
        const auto before = std::filesystem::file_size(source);
        auto r = exportModel(m, ActivationRanges{}, ExportFormat::Qdq, source);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("refusing to overwrite") != std::string::npos, r.error().message.c_str());
        QCOMPARE(std::filesystem::file_size(source), before);
        // No temporary file is left behind by a failed or a successful write.
        QVERIFY(exportModel(m, ActivationRanges{}, ExportFormat::Qdq, dir.filePath("out.onnx").toStdString()).ok());
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 2);
    }

    void perChannelQdqNeedsOpset13() {
        Graph old = m_graph;
        old.opset = 11;
        old.opsetImports[""] = 11;
        CompressedModel m = compress(old, R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}}})");
        auto r = buildExportGraph(m, ActivationRanges{}, ExportFormat::Qdq);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("opset 13") != std::string::npos, r.error().message.c_str());
        CompressedModel perTensor = compress(old, R"({"defaults": {"quant": {"bits": 8}}})");
        auto ok = buildExportGraph(perTensor, ActivationRanges{}, ExportFormat::Qdq);
        QVERIFY(ok.ok());
        QVERIFY(serializeOnnxModel(ok->graph).ok());
    }

    // k-means weights have no integer form: QDQ writes them as floats, with a note.
    void kmeansStaysFloatInQdq() {
        CompressedModel m = compress(m_graph, R"({"layers": {"fc1": {"quant": {"bits": 4, "rounding": "kmeans"}}}})");
        auto built = buildExportGraph(m, ActivationRanges{}, ExportFormat::Qdq);
        QVERIFY(built.ok());
        QCOMPARE(built->notes.size(), size_t(2));  // and nothing else is quantized
        QVERIFY(built->notes[0].find("fc1.weight") != std::string::npos);
        QCOMPARE(built->graph.initializer("fc1.weight")->dtype, DType::Float);
    }

    void qdqWithNothingQuantizedSaysSo_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<bool>("floatModel");
        QTest::newRow("pruning only") << R"({"global_prune": {"sparsity": 0.5, "correction": "none"}})" << true;
        QTest::newRow("bits 32") << R"({"defaults": {"quant": {"bits": 32}}})" << true;
        QTest::newRow("low rank only") << R"({"layers": {"fc1": {"lowrank": {"rank": 32}}}})" << true;
        QTest::newRow("one int8 layer") << R"({"layers": {"fc2": {"quant": {"bits": 8}}}})" << false;
        QTest::newRow("dynamic activations only") << R"({"activations": {"mode": "dynamic"}})" << false;
    }

    // `--format qdq` on a recipe that quantizes nothing writes a float model and says so, instead of silently.
    void qdqWithNothingQuantizedSaysSo() {
        QFETCH(QString, json);
        QFETCH(bool, floatModel);
        const Recipe r = recipe(json.toStdString());
        CompressedModel m = compress(m_graph, json.toStdString());
        const ActivationRanges ranges = calibrate(m, m_test, r.activations.value_or(ActivationSettings{}));
        auto built = buildExportGraph(m, ranges, ExportFormat::Qdq);
        QVERIFY(built.ok());
        const auto note = std::find_if(built->notes.begin(), built->notes.end(), [](const std::string& n) {
            return n.find("nothing is quantized") != std::string::npos;
        });
        QCOMPARE(note != built->notes.end(), floatModel);
        const bool hasQdq = std::any_of(built->graph.nodes.begin(), built->graph.nodes.end(), [](const Node& n) {
            return n.opType == "DequantizeLinear" || n.opType == "DynamicQuantizeLinear";
        });
        QCOMPARE(hasQdq, !floatModel);
        if (floatModel) {
            QVERIFY2(note->find("float model") != std::string::npos && note->find("bits") != std::string::npos,
                     note->c_str());
            // exportModel passes the note on (lathe-cli prints ExportResult::notes).
            auto written = exportModel(m, ranges, ExportFormat::Qdq, m_dir.filePath("float_qdq.onnx").toStdString());
            QVERIFY(written.ok());
            QCOMPARE(written->notes, built->notes);
        }
    }

    void zlibSizes() {
        const std::string zeros(1 << 20, '\0');
        auto z = zlibCompressedSize(zeros);
        QVERIFY(z.ok());
        QVERIFY(*z < 2000);
        QCOMPARE(measureBytes(zeros).onnxBytes, int64_t(1 << 20));
        QVERIFY(!measureFile(m_dir.filePath("missing.onnx").toStdString()).ok());
    }

    void formatNames() {
        QVERIFY(parseExportFormat("qop") == ExportFormat::QOperator);
        QVERIFY(!parseExportFormat("int8"));
        QVERIFY(toString(ExportFormat::Qdq) == "qdq");
    }

private:
    QTemporaryDir m_dir;
    Graph m_graph;
    std::shared_ptr<const Dataset> m_test;
    CompressedModel m_model;
    ActivationRanges m_ranges;
    EvalReport m_fakeQuant;
};

QTEST_APPLESS_MAIN(TestOnnxExport)
#include "test_onnx_export.moc"
