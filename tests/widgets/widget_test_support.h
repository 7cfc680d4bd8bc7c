#pragma once

#include <QString>
#include <memory>

#include "core/model/graph.h"
#include "core/model/onnx_reader.h"

namespace lathe::test {

inline QString fixturePath(const QString& name) { return QStringLiteral(LATHE_FIXTURES_DIR "/") + name; }

inline QString demoModelPath() { return QStringLiteral(LATHE_DEMO_MODEL); }

// Reads `path` with core's reader; null (and `error` set) when that fails.
inline std::shared_ptr<const Graph> loadGraph(const QString& path, QString* error = nullptr) {
    Result<Graph> graph = readOnnxModel(path.toStdString());
    if (!graph) {
        if (error) *error = QString::fromStdString(graph.error().message);
        return nullptr;
    }
    return std::make_shared<const Graph>(std::move(graph).value());
}

}  // namespace lathe::test
