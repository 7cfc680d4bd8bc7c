#pragma once

#include <QString>
#include <memory>

#include "core/model/graph.h"
#include "core/model/onnx_reader.h"
#include "widgets/dataset_panel.h"

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

// Fashion-MNIST's test split as the data set panel sets it: the first `limit` images, 2 folds.
inline EvaluationSettings fashionMnist(int64_t limit, int latencySamples = 0) {
    EvaluationSettings s;
    s.specText = "idx:/usr/share/datasets/fashion-mnist";
    s.spec = *parseDatasetSpec(s.specText.toStdString());
    s.dataset.split = Split::Test;
    s.eval.limit = limit;
    s.eval.latencySamples = latencySamples;
    s.eval.folds = 2;
    return s;
}

}  // namespace lathe::test
