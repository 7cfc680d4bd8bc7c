// Shared by the torchvision tests: exporting the architectures into the build tree (tools/export_torchvision.py with
// Debian's python3-torchvision), raw float files for ort_run.js, and running ONNX Runtime on them.
#pragma once

#include <QFileInfo>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <span>
#include <nlohmann/json.hpp>
#include <vector>

namespace lathe::testing {

inline const QString kTorchvisionDir = QStringLiteral(LATHE_TORCHVISION_DIR);

inline QString ortModules() {
    const QString env = qEnvironmentVariable("LATHE_ORT_MODULES");
    if (!env.isEmpty()) return env;
    for (const QString& candidate :
         {QStringLiteral(LATHE_BUILD_ORT_MODULES), QStringLiteral(LATHE_RELEASE_ORT_MODULES)})
        if (QFileInfo::exists(candidate + "/onnxruntime-node/package.json")) return candidate;
    return QStringLiteral(LATHE_BUILD_ORT_MODULES);
}

inline void writeFloats(const QString& path, std::span<const float> data) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
}

inline std::vector<float> readFloats(const QString& path) {
    std::ifstream in(path.toStdString(), std::ios::binary | std::ios::ate);
    const std::streamsize bytes = in.tellg();
    std::vector<float> data(size_t(std::max<std::streamsize>(bytes, 0)) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
    return data;
}

// Why the architectures cannot be exported here ("" when they can).
inline QString torchvisionMissing() {
    QProcess probe;
    probe.start(LATHE_PYTHON, {"-c", "import torch, torchvision"});
    if (!probe.waitForFinished(120000) || probe.exitCode() != 0)
        return "Debian's python3-torchvision is not installed (apt-get install python3-torchvision); the torchvision "
               "architectures cannot be exported";
    return {};
}

// Exports `models` (comma-separated torchvision names; empty: all) into kTorchvisionDir (files already there are kept)
// and returns the manifest, written as kTorchvisionDir/`manifest` (one name per test: tests may run at once); on
// failure the exporter's last output in `error`.
inline nlohmann::json exportTorchvision(const QString& models, const QString& manifest, QString& error) {
    QStringList args{LATHE_SOURCE_DIR "/tools/export_torchvision.py", "--out", kTorchvisionDir, "--manifest", manifest};
    if (!models.isEmpty()) args << "--models" << models;
    QProcess exporter;
    exporter.setProcessChannelMode(QProcess::MergedChannels);
    exporter.start(LATHE_PYTHON, args);
    if (!exporter.waitForFinished(30 * 60 * 1000) || exporter.exitCode() != 0) {
        error = "export_torchvision.py failed: " + QString::fromUtf8(exporter.readAll().right(2000));
        return {};
    }
    std::ifstream in((kTorchvisionDir + "/" + manifest).toStdString());
    return nlohmann::json::parse(in);
}

// Runs ort_run.js on `jobs` (model, input, output file triples) with the input `shape`; "" or ONNX Runtime's error.
inline QString runOrt(const QStringList& jobs, const std::vector<int64_t>& shape) {
    QStringList shapeText;
    for (int64_t d : shape) shapeText << QString::number(d);
    QProcess ort;
    ort.setProcessChannelMode(QProcess::MergedChannels);
    ort.start(LATHE_NODE, QStringList{LATHE_ORT_RUN, "--modules", ortModules(), "--shape", shapeText.join(',')} + jobs);
    if (!ort.waitForFinished(10 * 60 * 1000)) return "ONNX Runtime did not finish in 10 minutes";
    if (ort.exitCode() != 0) return QString::fromUtf8(ort.readAll());
    return {};
}

// max |a - reference|.
inline double maxDifference(const std::vector<float>& a, const std::vector<float>& reference) {
    double maxDiff = 0;
    for (size_t i = 0; i < reference.size() && i < a.size(); ++i)
        maxDiff = std::max(maxDiff, std::abs(double(reference[i]) - double(a[i])));
    return maxDiff;
}

// max |a - reference| / max |reference|.
inline double relativeDifference(const std::vector<float>& a, const std::vector<float>& reference) {
    double maxAbs = 0;
    for (float v : reference) maxAbs = std::max(maxAbs, std::abs(double(v)));
    return maxDifference(a, reference) / std::max(maxAbs, 1e-30);
}

}  // namespace lathe::testing
