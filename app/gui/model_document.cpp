#include "app/gui/model_document.h"

#include <QFileInfo>
#include <QtConcurrent>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>

#include "core/model/onnx_reader.h"
#include "core/runtime/shape_probe.h"
#include "widgets/background_pool.h"

namespace lathe {

namespace {
// Share of the progress bar taken by reading when a preparer (graph layout) follows.
constexpr float kReadShare = 0.8f;
}  // namespace

ModelDocument::ModelDocument(QObject* parent) : QObject(parent) {
    connect(&m_loadJob, &Job::failed, this, [this](const QString&, const QString& message) {
        const QString path = m_loadingPath;
        m_loadingPath.clear();
        emit errorOccurred(path, tr("%1: %2").arg(QFileInfo(path).fileName(), message));
    });
}

ModelDocument::~ModelDocument() = default;

// A read started by prefetch(): it reports its progress and watches for cancel through `state`, which the job that
// takes it over forwards and sets.
struct ModelDocument::Prefetched {
    struct State {
        std::atomic<bool> cancel = false;
        std::mutex mutex;
        std::condition_variable changed;  // a new progress report, or the read is over
        float fraction = 0;
        std::string stage;
        int reports = 0;
        bool done = false;
    };
    QString path;
    std::shared_ptr<State> state = std::make_shared<State>();
    std::future<Loaded> result;
};

std::unique_ptr<ModelDocument::Prefetched>& ModelDocument::pendingPrefetch() {
    static std::unique_ptr<Prefetched> pending;
    return pending;
}

bool ModelDocument::prefetchFinished() {
    const std::unique_ptr<Prefetched>& pending = pendingPrefetch();
    return pending && pending->result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

void ModelDocument::prefetch(const QString& path) {
    auto prefetched = std::make_unique<Prefetched>();
    prefetched->path = QFileInfo(path).absoluteFilePath();
    // The share of a possible graph layout is not known yet: the read reports on the whole bar's read share.
    prefetched->result = std::async(std::launch::async, [path = prefetched->path, state = prefetched->state] {
        Loaded loaded = read(path, kReadShare, [state](float fraction, std::string_view stage) {
            {
                std::lock_guard lock(state->mutex);
                state->fraction = fraction;
                state->stage.assign(stage);
                ++state->reports;
            }
            state->changed.notify_all();
            return !state->cancel.load();
        });
        {
            std::lock_guard lock(state->mutex);
            state->done = true;
        }
        state->changed.notify_all();
        return loaded;
    });
    pendingPrefetch() = std::move(prefetched);
}

ModelDocument::Loaded ModelDocument::read(const QString& path, float readShare, const ProgressFn& progress) {
    Loaded loaded;
    loaded.path = path;
    Result<Graph> graph = readOnnxModel(path.toStdString(), [&](float fraction, std::string_view stage) {
        return progress(fraction * readShare, stage);
    });
    if (!graph) {
        loaded.error = QString::fromStdString(graph.error().message);
        return loaded;
    }
    completeShapesByExecution(*graph);  // shapes static inference left unknown, from one run on zeros
    loaded.summary = summarizeModel(*graph);
    loaded.channelGroups = std::make_shared<const ChannelGroups>(findChannelGroups(*graph));
    loaded.graph = std::make_shared<const Graph>(std::move(graph).value());
    return loaded;
}

void ModelDocument::open(const QString& path) {
    const QString absolute = QFileInfo(path).absoluteFilePath();
    m_loadingPath = absolute;
    // A prefetch of another file is not needed any more: it stops at its next progress report.
    std::shared_ptr<Prefetched> prefetched(std::move(pendingPrefetch()));
    if (prefetched && prefetched->path != absolute) {
        prefetched->state->cancel = true;
        // Its future's destructor waits for the read to stop: a pool thread does that wait, not the window.
        static_cast<void>(QtConcurrent::run(backgroundPool(), [abandoned = std::move(prefetched)] {}));
    }
    m_loadJob.start<Loaded>(
        tr("Opening %1").arg(QFileInfo(absolute).fileName()),
        [absolute, preparer = m_preparer, prefetched](const ProgressFn& progress) {
            const float readShare = preparer ? kReadShare : 1.f;
            Loaded loaded;
            if (prefetched) {
                // Forwards each progress report of the prefetched read, and its cancel, until the read is over.
                Prefetched::State& state = *prefetched->state;
                for (int seen = -1;;) {
                    std::unique_lock lock(state.mutex);
                    state.changed.wait(lock, [&] { return state.reports != seen || state.done; });
                    if (state.done) break;
                    seen = state.reports;
                    const float fraction = state.fraction;
                    const std::string stage = state.stage;
                    lock.unlock();
                    if (!progress(fraction, stage)) state.cancel = true;
                }
                loaded = prefetched->result.get();
            } else {
                loaded = read(absolute, readShare, progress);
            }
            if (!loaded.graph) return loaded;
            if (preparer && progress(readShare, "laying out graph")) loaded.preparedView = preparer(*loaded.graph);
            progress(1.f, "done");
            return loaded;
        },
        [this](Loaded loaded) { onLoaded(std::move(loaded)); });
    emit loadingStarted(absolute);
}

void ModelDocument::cancelLoading() {
    if (!isLoading()) return;
    const QString path = m_loadingPath;
    m_loadingPath.clear();
    m_loadJob.cancel();
    emit loadingCancelled(path);
}

void ModelDocument::onLoaded(Loaded loaded) {
    m_loadingPath.clear();
    if (!loaded.graph) {
        emit errorOccurred(loaded.path, loaded.error);
        return;
    }
    m_path = loaded.path;
    m_graph = std::move(loaded.graph);
    m_preparedView = std::move(loaded.preparedView);
    m_summary = std::move(loaded.summary);
    m_channelGroups = std::move(loaded.channelGroups);
    m_layerOfNode.assign(m_graph->nodes.size(), -1);
    for (size_t i = 0; i < m_summary.layers.size(); ++i) m_layerOfNode[size_t(m_summary.layers[i].nodeIndex)] = int(i);
    m_selectedNode = -1;
    emit modelChanged();
    // A listener may already have selected a node of the new model (the screenshot task does).
    if (m_selectedNode == -1) emit selectionChanged(-1);
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

namespace lathe {

std::vector<int> ModelDocument::channelGroupNodes(int nodeIndex) const {
    if (!m_graph || !m_channelGroups || nodeIndex < 0 || nodeIndex >= int(m_graph->nodes.size())) return {};
    const std::string& name = m_graph->nodes[size_t(nodeIndex)].name;
    const LayerChannels channels = channelsOfLayer(*m_graph, *m_channelGroups, name);
    std::vector<int> nodes;
    if (channels.group < 0) return nodes;
    for (const auto& layer : channels.layers)
        if (const int i = m_graph->nodeIndex(layer); i >= 0) nodes.push_back(i);
    return nodes;
}

}  // namespace lathe
