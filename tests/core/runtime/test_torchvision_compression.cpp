// Compression on torchvision's architectures (issue 15 item 5; random weights, exported at test time like
// test_torchvision_models): global magnitude pruning, channel SVD of every MatMul/Gemm weight, and int8 weights with
// static int8 activations exported as QDQ and as QOperator. Each export is read back and run by Lathe's executor and
// by ONNX Runtime on the same seeded input, and the outputs are compared:
// - float exports (pruned, decomposed): the same float graph in both runtimes, so they agree like the uncompressed
//   models do (1e-4 of the largest logit);
// - int8 exports: the logits are codes of the output's activation grid, so differences are counted in its steps.
//   ONNX Runtime fuses the QDQ file into integer kernels (int32 accumulation, requantization) while Lathe computes in
//   float on dequantized values; an activation at a rounding boundary can land one code apart, and that step travels
//   through the later layers. ONNX Runtime's own two paths on the same QDQ file (all optimizations against none,
//   printed) differ by as much: 1-6 steps here, out of 110-140 steps of the largest logit. The bound is 8 steps, for
//   the QDQ and QOperator files at all optimizations and the QDQ file op by op.
// Random weights have no accuracy to measure; the test checks real reductions instead: the pruned weights are 50 %
// zeros, the decomposed layers store fewer weights, the int8 files are at most 30 % of the float file.
// LATHE_TORCHVISION_COMPRESSION_MODELS=resnet18,vit_b_16 limits the set.
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <memory>
#include <random>

#include "core/compress/apply_recipe.h"
#include "core/compress/calibrate/calibrate_activations.h"
#include "core/compress/compressible_layer.h"
#include "core/eval/in_memory_dataset.h"
#include "core/export/onnx_export.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"
#include "core/runtime/shape_probe.h"
#include "torchvision_fixtures.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

constexpr double kFloatTolerance = 1e-4;
constexpr double kInt8Steps = 8;
constexpr int kCalibrationSamples = 4;
const QString kDefaultModels = QStringLiteral("resnet18,mobilenet_v2,efficientnet_b0,convnext_tiny,vit_b_16");

Result<std::vector<float>> runLathe(const Graph& graph, const NDArray& input) {
    auto executor = Executor::compile(graph, ExecutorOptions{2});
    if (!executor) return executor.error();
    auto outputs = executor->run({{executor->inputNames().front(), input}});
    if (!outputs) return outputs.error();
    return values(outputs->at(executor->outputNames().front()));
}

double elapsed(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Zeros among the weights of the graph's compressible layers.
double weightSparsity(const Graph& graph) {
    int64_t zeros = 0, total = 0;
    for (const LayerWeight& layer : compressibleLayers(graph)) {
        const Tensor& w = graph.initializers.at(layer.weight);
        for (float v : w.data) zeros += v == 0.f;
        total += int64_t(w.data.size());
    }
    return total ? double(zeros) / double(total) : 0;
}

}  // namespace

class TestTorchvisionCompression : public QObject {
    Q_OBJECT
private:
    nlohmann::json m_manifest;
    QString m_skip;
    QTemporaryDir m_dir;
    // The model of the previous row, read once for its three rows.
    std::string m_loadedName;
    std::unique_ptr<Graph> m_graph;
    NDArray m_input;
    std::vector<float> m_floatOutput;
    double m_loadSeconds = 0;

    const nlohmann::json* entry(const std::string& name) const {
        for (const nlohmann::json& e : m_manifest["models"])
            if (e["name"] == name) return &e;
        return nullptr;
    }

    // Reads the model (shapes by execution included) and runs it once on the seeded input.
    bool load(const std::string& name) {
        if (m_loadedName == name) return true;
        const auto start = std::chrono::steady_clock::now();
        m_graph.reset();
        m_loadedName.clear();
        const nlohmann::json* e = entry(name);
        if (!e) return false;
        auto graph = readOnnxModel((kTorchvisionDir + "/" + QString::fromStdString((*e)["file"])).toStdString());
        if (!graph) {
            qWarning("%s", graph.error().message.c_str());
            return false;
        }
        completeShapesByExecution(*graph);
        m_graph = std::make_unique<Graph>(std::move(*graph));
        m_input = NDArray((*e)["input_shape"].get<std::vector<int64_t>>());
        std::mt19937 rng(4321);
        std::normal_distribution<float> normal(0.f, 1.f);
        for (float& v : m_input.data) v = normal(rng);
        auto output = runLathe(*m_graph, m_input);
        if (!output) {
            qWarning("%s", output.error().message.c_str());
            return false;
        }
        m_floatOutput = std::move(*output);
        m_loadedName = name;
        m_loadSeconds = elapsed(start);
        return true;
    }

    // Runs each file in Lathe and in ONNX Runtime at the given graph optimization level; returns
    // max |Lathe - ORT| per run (negative when either runtime failed) and ORT's outputs.
    std::vector<double> compareWithOrt(const std::vector<std::pair<QString, QString>>& runs,
                                       std::vector<std::vector<float>>& ortOutputs) {
        const QString input = m_dir.filePath("input.bin");
        writeFloats(input, m_input.data);
        QStringList jobs;
        for (size_t i = 0; i < runs.size(); ++i)
            jobs << "--optimization" << runs[i].second << runs[i].first << input
                 << m_dir.filePath(QString("ort%1.bin").arg(i));
        const auto start = std::chrono::steady_clock::now();
        const QString error = runOrt(jobs, m_input.shape);
        qInfo("  ONNX Runtime %.1f s", elapsed(start));
        if (!error.isEmpty()) {
            qWarning("ONNX Runtime: %s", qPrintable(error));
            return std::vector<double>(runs.size(), -1);
        }
        std::vector<double> result;
        std::map<QString, std::vector<float>> lathe;
        for (size_t i = 0; i < runs.size(); ++i) {
            ortOutputs.push_back(readFloats(m_dir.filePath(QString("ort%1.bin").arg(i))));
            const QString& file = runs[i].first;
            if (!lathe.count(file)) {
                auto graph = readOnnxModel(file.toStdString());
                auto output = graph ? runLathe(*graph, m_input) : Result<std::vector<float>>(graph.error());
                if (!output) qWarning("Lathe on %s: %s", qPrintable(file), output.error().message.c_str());
                lathe[file] = output ? std::move(*output) : std::vector<float>{};
            }
            const std::vector<float>& ours = lathe[file];
            result.push_back(
                ours.size() == ortOutputs.back().size() && !ours.empty() ? maxDifference(ours, ortOutputs.back()) : -1);
        }
        qInfo("  ONNX Runtime and Lathe %.1f s", elapsed(start));
        return result;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_skip = torchvisionMissing();
        if (!m_skip.isEmpty()) return;
        const QString only = qEnvironmentVariable("LATHE_TORCHVISION_COMPRESSION_MODELS", kDefaultModels);
        QString error;
        m_manifest = exportTorchvision(only, "manifest_compression.json", error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    void compress_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("technique");
        const QStringList models =
            qEnvironmentVariable("LATHE_TORCHVISION_COMPRESSION_MODELS", kDefaultModels).split(',', Qt::SkipEmptyParts);
        for (const QString& model : models)
            for (const char* technique : {"prune", "svd", "int8"})
                QTest::newRow(qPrintable(model + "/" + technique)) << model << QString(technique);
    }

    void compress() {
        QFETCH(QString, model);
        QFETCH(QString, technique);
        if (!m_skip.isEmpty()) QSKIP(qPrintable(m_skip));
        const auto start = std::chrono::steady_clock::now();
        QVERIFY2(load(model.toStdString()), "the model could not be read or run");
        const Graph& graph = *m_graph;
        const std::vector<LayerWeight> layers = compressibleLayers(graph);
        QVERIFY(!layers.empty());

        nlohmann::json recipe;
        if (technique == "prune") {
            recipe = {{"global_prune", {{"sparsity", 0.5}, {"correction", "none"}}}};
        } else if (technique == "svd") {
            // Every MatMul/Gemm weight at a quarter of its full rank (attention and MLP projections in the
            // transformers, the classifier in the CNNs).
            recipe["layers"] = nlohmann::json::object();
            for (const LayerWeight& layer : layers) {
                if (layer.opType != "MatMul" && layer.opType != "Gemm") continue;
                const auto& shape = graph.initializers.at(layer.weight).shape;
                recipe["layers"][layer.nodeName] = {
                    {"lowrank", {{"rank", std::max<int64_t>(1, std::min(shape[0], shape[1]) / 4)}}}};
            }
            QVERIFY2(!recipe["layers"].empty(), "no MatMul or Gemm layer with a constant weight");
        } else {
            recipe = {
                {"defaults", {{"quant", {{"bits", 8}, {"granularity", "per_channel"}}}}},
                {"activations", {{"mode", "static"}, {"calibration", "minmax"}, {"samples", kCalibrationSamples}}}};
        }
        auto parsed = recipeFromJson(recipe);
        QVERIFY2(parsed.ok(), parsed ? "" : parsed.error().message.c_str());
        auto compressed = applyRecipe(graph, *parsed);
        QVERIFY2(compressed.ok(), compressed ? "" : compressed.error().message.c_str());
        qInfo("  read and run %.1f s, applied %.1f s", m_loadSeconds, elapsed(start));

        ActivationRanges ranges;
        if (parsed->activations) {
            // Calibration on seeded normal images (the models were exported with random weights, so any input is
            // as representative as another).
            const std::vector<int64_t>& shape = m_input.shape;
            const SampleShape sample{shape[1], shape[2], shape[3]};
            std::vector<float> pixels(size_t(kCalibrationSamples * sample.channels * sample.height * sample.width));
            std::mt19937 rng(99);
            std::normal_distribution<float> normal(0.f, 1.f);
            for (float& v : pixels) v = normal(rng);
            Preprocessing identity;
            identity.scale = 1.f;
            auto dataset = InMemoryDataset::make(sample, std::move(pixels), std::vector<int>(kCalibrationSamples, 0),
                                                 "calibration images", identity);
            QVERIFY2(dataset.ok(), dataset ? "" : dataset.error().message.c_str());
            CalibrationOptions options;
            options.batchSize = 2;
            options.threads = 2;
            auto calibrated = calibrateActivations(compressed->graph, *dataset, *parsed->activations, options);
            QVERIFY2(calibrated.ok(), calibrated ? "" : calibrated.error().message.c_str());
            ranges = std::move(*calibrated);
            qInfo("  calibrated %.1f s", elapsed(start));
        }

        const std::string base = m_dir.filePath(model + "_" + technique).toStdString();
        std::vector<ExportFormat> formats;
        if (technique == "int8")
            formats = {ExportFormat::Qdq, ExportFormat::QOperator};
        else
            formats = {ExportFormat::Float};
        QStringList files;
        std::vector<ExportResult> exports;
        for (ExportFormat format : formats) {
            const std::string path = base + "_" + std::string(toString(format)) + ".onnx";
            auto written = exportModel(*compressed, ranges, format, path);
            QVERIFY2(written.ok(), written ? "" : written.error().message.c_str());
            files << QString::fromStdString(path);
            exports.push_back(*written);
        }
        qInfo("  exported %.1f s", elapsed(start));
        // Every export as ONNX Runtime deploys it (all optimizations: QDQ fused into integer kernels); the QDQ file
        // also op by op (optimizations disabled), which is the float math of Lathe's executor.
        std::vector<std::pair<QString, QString>> runs;
        for (const QString& file : files) runs.emplace_back(file, "all");
        if (technique == "int8") runs.emplace_back(files.front(), "disabled");
        std::vector<std::vector<float>> ortOutputs;
        const std::vector<double> differences = compareWithOrt(runs, ortOutputs);
        const QFileInfo original(kTorchvisionDir + "/" + QString::fromStdString((*entry(model.toStdString()))["file"]));

        // The int8 logits are codes of the output's activation grid: their differences are counted in its steps.
        double step = 0;
        if (technique == "int8") {
            const auto range = ranges.tensors.find(graph.outputs.front());
            QVERIFY2(range != ranges.tensors.end(), "the output of the int8 model is not a quantized tensor");
            step = range->second.scale;
        }
        QStringList failures;
        for (size_t i = 0; i < runs.size(); ++i) {
            const ExportResult& written = exports[runs[i].first == files.front() ? 0 : 1];
            double maxOrt = 0;
            for (float v : ortOutputs[i]) maxOrt = std::max(maxOrt, std::abs(double(v)));
            const double relative = differences[i] / std::max(maxOrt, 1e-30);
            const double fromFloat = relativeDifference(ortOutputs[i], m_floatOutput);
            const QString measure =
                step > 0 ? QString("%1 output steps (bound %2; step %3, max |ORT| %4 steps)")
                               .arg(differences[i] / step, 0, 'f', 2)
                               .arg(kInt8Steps)
                               .arg(step, 0, 'g', 3)
                               .arg(maxOrt / step, 0, 'f', 0)
                         : QString("%1 of max |ORT| (bound %2)").arg(relative, 0, 'e', 2).arg(kFloatTolerance);
            qInfo(
                "%-16s %-6s %-5s file %7.2f MB (float model %7.2f MB, %.3f)  ORT %-8s |Lathe - ORT| %s  "
                "|ORT - float model| %.2e of max  %.1f s",
                qPrintable(model), qPrintable(technique), toString(written.format).data(),
                double(written.size.onnxBytes) / 1e6, double(original.size()) / 1e6,
                double(written.size.onnxBytes) / double(original.size()), qPrintable(runs[i].second),
                qPrintable(measure), fromFloat, elapsed(start));
            if (differences[i] < 0) failures << runs[i].first + ": did not run in both runtimes";
            const bool within = step > 0 ? differences[i] <= kInt8Steps * step : relative <= kFloatTolerance;
            if (differences[i] >= 0 && !within)
                failures << QString("%1 (ONNX Runtime optimizations: %2): Lathe and ONNX Runtime differ by %3")
                                .arg(runs[i].first, runs[i].second, measure);
            // Not a no-op: the compressed model computes something else than the float model.
            if (fromFloat <= 1e-4) failures << runs[i].first + ": the output equals the float model's";
        }
        if (technique == "int8")
            qInfo("  ONNX Runtime on the QDQ file, fused against op by op: %.2f output steps",
                  maxDifference(ortOutputs.front(), ortOutputs.back()) / step);
        QVERIFY2(failures.isEmpty(), qPrintable(failures.join("; ")));

        if (technique == "prune") {
            auto written = readOnnxModel(files.front().toStdString());
            QVERIFY(written.ok());
            const double sparsity = weightSparsity(*written);
            qInfo("%-16s prune  weight sparsity %.4f of the compressible layers", qPrintable(model), sparsity);
            QVERIFY2(std::abs(sparsity - 0.5) < 0.01, qPrintable(QString("weight sparsity %1").arg(sparsity)));
        } else if (technique == "svd") {
            int decomposed = 0;
            for (const LayerReport& layer : compressed->layers) {
                if (layer.opType != "MatMul" && layer.opType != "Gemm") continue;
                QVERIFY2(layer.rank > 0, qPrintable(QString::fromStdString(layer.name) + " was not decomposed"));
                QVERIFY2(layer.params < layer.originalParams,
                         qPrintable(QString::fromStdString(layer.name) + " stores no fewer weights"));
                ++decomposed;
            }
            qInfo("%-16s svd    %d MatMul/Gemm layers at a quarter rank; params %lld -> %lld", qPrintable(model),
                  decomposed, (long long)compressed->originalParams, (long long)compressed->params);
            QVERIFY(decomposed > 0);
        } else {
            for (const ExportResult& e : exports)
                QVERIFY2(
                    double(e.size.onnxBytes) <= 0.3 * double(original.size()),
                    qPrintable(
                        QString("%1 bytes against %2 for the float model").arg(e.size.onnxBytes).arg(original.size())));
        }
    }
};

QTEST_GUILESS_MAIN(TestTorchvisionCompression)
#include "test_torchvision_compression.moc"
