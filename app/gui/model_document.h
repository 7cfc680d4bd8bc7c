#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "core/model/graph.h"
#include "core/model/model_summary.h"

namespace lathe {

// The open model and the current selection: views read from it and ask it to change; it emits what changed.
// Loading runs off the UI thread; a failed load keeps the previous model.
class ModelDocument : public QObject {
    Q_OBJECT

public:
    explicit ModelDocument(QObject* parent = nullptr);
    ~ModelDocument() override;

    // Starts reading `path` off the UI thread; ends with modelChanged() or errorOccurred(). A newer open() wins.
    void open(const QString& path);
    bool isLoading() const { return !m_loadingPath.isEmpty(); }
    QString loadingPath() const { return m_loadingPath; }

    bool hasModel() const { return m_graph != nullptr; }
    std::shared_ptr<const Graph> graph() const { return m_graph; }
    const ModelSummary& summary() const { return m_summary; }
    // Absolute path of the open model (empty when none).
    QString path() const { return m_path; }

    int selectedNode() const { return m_selectedNode; }
    // Weighted-layer info of node `nodeIndex`, or null when it has no weights.
    const LayerInfo* layerOfNode(int nodeIndex) const;

public slots:
    // Selects node `nodeIndex` (-1 clears); emits selectionChanged when the selection changes.
    void selectNode(int nodeIndex);

signals:
    void loadingStarted(const QString& path);
    void modelChanged();
    void selectionChanged(int nodeIndex);
    // Loading `path` failed; `message` is core's error text (it names the file and the problem).
    void errorOccurred(const QString& path, const QString& message);
    // The model just opened has non-fatal problems (unknown ops, failed shape inference, ...).
    void warningsReported(const QStringList& warnings);

private:
    struct Loaded {
        QString path;
        std::shared_ptr<const Graph> graph;
        ModelSummary summary;
        QString error;
    };

    void onLoaded();

    QFutureWatcher<Loaded> m_watcher;
    QString m_loadingPath;
    QString m_path;
    std::shared_ptr<const Graph> m_graph;
    ModelSummary m_summary;
    std::vector<int> m_layerOfNode;  // node index -> index into m_summary.layers, or -1
    int m_selectedNode = -1;
};

}  // namespace lathe
