#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>
#include <vector>

#include "app/gui/job.h"
#include "core/compress/prune/channel_groups.h"
#include "core/model/graph.h"
#include "core/model/model_summary.h"

namespace lathe {

// The open model and the current selection: views read from it and ask it to change; it emits what changed.
// Loading runs off the UI thread with progress and cancel; a failed or cancelled load keeps the previous model.
class ModelDocument : public QObject {
    Q_OBJECT

public:
    // Extra work done off the UI thread on a freshly read graph before it becomes current (the graph layout); its
    // result is handed back through preparedView(). Must be thread-safe.
    using ViewPreparer = std::function<std::shared_ptr<const void>(const Graph&)>;

    explicit ModelDocument(QObject* parent = nullptr);
    ~ModelDocument() override;

    void setViewPreparer(ViewPreparer preparer) { m_preparer = std::move(preparer); }
    // What the preparer made for the current graph (null without a preparer).
    std::shared_ptr<const void> preparedView() const { return m_preparedView; }

    // Starts reading `path` off the UI thread; ends with modelChanged(), errorOccurred() or (after cancelLoading())
    // loadingCancelled(). A newer open() wins. A read prefetch() started for the same file is taken over.
    void open(const QString& path);
    // Starts reading the model named on the command line at once, on a thread of its own, while the window is still
    // being built; the first open() of that file takes the read over (its progress, cancel and result). Call from the
    // UI thread before any ModelDocument opens.
    static void prefetch(const QString& path);
    // Whether a prefetch is waiting to be taken over and its read is over.
    static bool prefetchFinished();
    // Stops the running open at once: the previous model stays, loadingCancelled() fires.
    void cancelLoading();
    bool isLoading() const { return m_loadJob.isRunning(); }
    QString loadingPath() const { return m_loadingPath; }
    // The job that reads (and prepares) a model: progress for the status bar.
    Job* loadJob() { return &m_loadJob; }

    bool hasModel() const { return m_graph != nullptr; }
    std::shared_ptr<const Graph> graph() const { return m_graph; }
    const ModelSummary& summary() const { return m_summary; }
    // Absolute path of the open model (empty when none).
    QString path() const { return m_path; }

    int selectedNode() const { return m_selectedNode; }
    // Weighted-layer info of node `nodeIndex`, or null when it has no weights.
    const LayerInfo* layerOfNode(int nodeIndex) const;
    // The nodes that lose channels together with node `nodeIndex` when its channels are pruned (itself first; the
    // makers, normalizations and readers of its channel group), or empty when it makes no channel group.
    std::vector<int> channelGroupNodes(int nodeIndex) const;
    // The model's channel groups (null without a model).
    std::shared_ptr<const ChannelGroups> channelGroups() const { return m_channelGroups; }

public slots:
    // Selects node `nodeIndex` (-1 clears); emits selectionChanged when the selection changes.
    void selectNode(int nodeIndex);

signals:
    void loadingStarted(const QString& path);
    void loadingCancelled(const QString& path);
    void modelChanged();
    void selectionChanged(int nodeIndex);
    // Loading `path` failed; `message` is core's error text (it names the file and the problem).
    void errorOccurred(const QString& path, const QString& message);
    // The model just opened has non-fatal problems (unknown ops, failed shape inference, ...).
    void warningsReported(const QStringList& warnings);

private:
    struct Prefetched;
    struct Loaded {
        QString path;
        std::shared_ptr<const Graph> graph;
        ModelSummary summary;
        std::shared_ptr<const ChannelGroups> channelGroups;
        std::shared_ptr<const void> preparedView;
        QString error;
    };

    void onLoaded(Loaded loaded);
    // Reads, probes shapes, sums up and finds the channel groups of `path` (the part of loading a prefetch does).
    static Loaded read(const QString& path, float readShare, const ProgressFn& progress);
    static std::unique_ptr<Prefetched>& pendingPrefetch();

    Job m_loadJob;
    ViewPreparer m_preparer;
    QString m_loadingPath;
    QString m_path;
    std::shared_ptr<const Graph> m_graph;
    std::shared_ptr<const void> m_preparedView;
    ModelSummary m_summary;
    std::shared_ptr<const ChannelGroups> m_channelGroups;  // found while loading, off the UI thread
    std::vector<int> m_layerOfNode;  // node index -> index into m_summary.layers, or -1
    int m_selectedNode = -1;
};

}  // namespace lathe
