#include "app/gui/model_document.h"

#include <QFileInfo>
#include <QtConcurrent/QtConcurrentRun>

#include "core/model/onnx_reader.h"

namespace lathe {

ModelDocument::ModelDocument(QObject* parent) : QObject(parent) {
    connect(&m_watcher, &QFutureWatcher<Loaded>::finished, this, &ModelDocument::onLoaded);
}

ModelDocument::~ModelDocument() = default;

void ModelDocument::open(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    m_loadingPath = absolute;
    emit loadingStarted(absolute);
    m_watcher.setFuture(QtConcurrent::run([absolute] {
        Loaded loaded;
        loaded.path = absolute;
        Result<Graph> graph = readOnnxModel(absolute.toStdString());
        if (!graph) {
            loaded.error = QString::fromStdString(graph.error().message);
            return loaded;
        }
        loaded.summary = summarizeModel(*graph);
        loaded.graph = std::make_shared<const Graph>(std::move(graph).value());
        return loaded;
    }));
}

void ModelDocument::onLoaded() {
    if (m_watcher.future().resultCount() == 0) return;
    Loaded loaded = m_watcher.result();
    m_loadingPath.clear();
    if (!loaded.graph) {
        emit errorOccurred(loaded.path, loaded.error);
        return;
    }
    m_path = loaded.path;
    m_graph = std::move(loaded.graph);
    m_summary = std::move(loaded.summary);
    m_layerOfNode.assign(m_graph->nodes.size(), -1);
    for (size_t i = 0; i < m_summary.layers.size(); ++i) m_layerOfNode[size_t(m_summary.layers[i].nodeIndex)] = int(i);
    m_selectedNode = -1;
    emit modelChanged();
    emit selectionChanged(-1);
    if (!m_graph->warnings.empty()) {
        QStringList warnings;
        for (const auto& w : m_graph->warnings) warnings << QString::fromStdString(w);
        emit warningsReported(warnings);
    }
}

const LayerInfo* ModelDocument::layerOfNode(int nodeIndex) const {
    if (nodeIndex < 0 || size_t(nodeIndex) >= m_layerOfNode.size() || m_layerOfNode[size_t(nodeIndex)] < 0)
        return nullptr;
    return &m_summary.layers[size_t(m_layerOfNode[size_t(nodeIndex)])];
}

void ModelDocument::selectNode(int nodeIndex) {
    if (!m_graph || nodeIndex < 0 || size_t(nodeIndex) >= m_graph->nodes.size()) nodeIndex = -1;
    if (nodeIndex == m_selectedNode) return;
    m_selectedNode = nodeIndex;
    emit selectionChanged(nodeIndex);
}

}  // namespace lathe
