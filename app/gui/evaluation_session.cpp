#include "app/gui/evaluation_session.h"

#include <QFileInfo>
#include <algorithm>
#include <numeric>

#include "app/gui/model_document.h"

namespace lathe {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// The cached data set when `cached` matches, else a freshly opened one.
Result<std::shared_ptr<const Dataset>> openOrReuse(std::shared_ptr<const Dataset> cached,
                                                   const EvaluationSettings& settings, const ProgressFn& progress) {
    if (cached) return cached;
    if (!progress(0.f, "opening data set")) return makeError(ErrorCode::Cancelled, "cancelled");
    return openDataset(settings.spec, settings.dataset);
}

}  // namespace

struct EvaluationSession::Evaluated {
    std::optional<EvalReport> report;
    QString error;
    std::shared_ptr<const Dataset> dataset;
};

struct EvaluationSession::Captured {
    std::shared_ptr<std::vector<float>> values;
    std::vector<int64_t> shape;
    QString error;
    std::shared_ptr<const Dataset> dataset;
    std::shared_ptr<const Executor> executor;
};

EvaluationSession::EvaluationSession(ModelDocument* document, QObject* parent) : QObject(parent), m_document(document) {
    connect(m_document, &ModelDocument::modelChanged, this, &EvaluationSession::onModelChanged);
}

void EvaluationSession::onModelChanged() {
    cancelEvaluation();
    cancelCapture();
    m_report.reset();
    m_classNames.clear();
    m_executor.reset();
    m_executorGraph.reset();
}

void EvaluationSession::rememberDataset(const QString& key, std::shared_ptr<const Dataset> dataset) {
    if (!dataset) return;
    m_datasetKey = key;
    m_dataset = std::move(dataset);
}

void EvaluationSession::evaluate(const EvaluationSettings& settings) {
    const std::shared_ptr<const Graph> graph = m_document->graph();
    if (!graph) {
        emit evaluationFailed(tr("Open a model before evaluating it."));
        return;
    }
    m_report.reset();
    const QString key = settings.datasetKey();
    std::shared_ptr<const Dataset> cached = key == m_datasetKey ? m_dataset : nullptr;
    m_evalJob.start<Evaluated>(
        tr("Evaluating on %1").arg(settings.displayName()),
        [graph, settings, cached](const ProgressFn& progress) {
            Evaluated out;
            auto dataset = openOrReuse(cached, settings, progress);
            if (!dataset) {
                out.error = qs(dataset.error().message);
                return out;
            }
            out.dataset = *dataset;
            auto report = ::lathe::evaluate(*graph, **dataset, settings.eval, progress);
            if (!report) {
                out.error = qs(report.error().message);
                return out;
            }
            std::vector<std::string> notes = scaleWarnings(**dataset, settings.dataset.preprocessing);
            notes.insert(notes.end(), report->notes.begin(), report->notes.end());
            report->notes = std::move(notes);
            out.report = std::move(*report);
            return out;
        },
        [this, settings, key](Evaluated out) {
            rememberDataset(key, out.dataset);
            if (!out.report) {
                emit evaluationFailed(out.error);
                return;
            }
            m_report = std::move(out.report);
            m_reportSettings = settings;
            m_classNames = classNamesOf(*out.dataset, settings);
            emit evaluationFinished();
        });
    emit evaluationStarted();
}

void EvaluationSession::cancelEvaluation() {
    if (!m_evalJob.isRunning()) return;
    m_evalJob.cancel();
    emit evaluationCancelled();
}

void EvaluationSession::captureActivations(int nodeIndex, const EvaluationSettings& settings, int samples) {
    const std::shared_ptr<const Graph> graph = m_document->graph();
    if (!graph || nodeIndex < 0 || size_t(nodeIndex) >= graph->nodes.size() ||
        graph->nodes[size_t(nodeIndex)].outputs.empty()) {
        emit activationsFailed(nodeIndex, tr("Select a node of the open model first."));
        return;
    }
    const std::string tensor = graph->nodes[size_t(nodeIndex)].outputs.front();
    const QString key = settings.datasetKey();
    std::shared_ptr<const Dataset> cached = key == m_datasetKey ? m_dataset : nullptr;
    std::shared_ptr<const Executor> executor = m_executorGraph == graph ? m_executor : nullptr;
    m_captureJob.start<Captured>(
        tr("Capturing %1").arg(qs(graph->nodes[size_t(nodeIndex)].name)),
        [graph, settings, cached, executor, tensor, samples](const ProgressFn& progress) {
            Captured out;
            // The executor first: a model it cannot run needs no data set to say so.
            out.executor = executor;
            if (!out.executor) {
                if (!progress(0.f, "compiling model")) return out;
                auto compiled = Executor::compile(*graph);
                if (!compiled) {
                    out.error = QObject::tr(
                                    "Activations come from the built-in executor, which cannot run this model: "
                                    "%1. The model stays viewable; Evaluate can still use OpenCV DNN.")
                                    .arg(qs(compiled.error().message));
                    return out;
                }
                out.executor = std::make_shared<const Executor>(std::move(*compiled));
            }
            auto dataset = openOrReuse(cached, settings, progress);
            if (!dataset) {
                out.error = qs(dataset.error().message);
                return out;
            }
            out.dataset = *dataset;
            if (auto fits = checkCompatibility(*graph, **dataset); !fits) {
                out.error = qs(fits.error().message);
                return out;
            }
            const std::string& input = graph->inputs.front();
            const ValueInfo* inputInfo = graph->value(input);
            const bool flat = inputInfo && inputInfo->hasShape && inputInfo->shape.size() == 2;
            const std::shared_ptr<const Dataset> subset = calibrationSubset(*dataset, samples, 0);
            const int64_t n = subset->size();
            const int64_t batchSize = std::max(1, settings.eval.batchSize);
            auto values = std::make_shared<std::vector<float>>();
            int64_t used = 0;
            for (int64_t begin = 0; begin < n; begin += batchSize) {
                if (!progress(0.1f + 0.9f * float(begin) / float(n), "running model")) return out;
                std::vector<int64_t> indices(size_t(std::min(batchSize, n - begin)));
                std::iota(indices.begin(), indices.end(), begin);
                auto batch = subset->batch(indices);
                if (!batch) {
                    out.error = qs(batch.error().message);
                    return out;
                }
                if (flat) batch->shape = {batch->shape[0], batch->numel() / std::max<int64_t>(batch->shape[0], 1)};
                auto outputs = out.executor->run({{input, std::move(*batch)}}, {tensor});
                if (!outputs) {
                    out.error = qs(outputs.error().message);
                    return out;
                }
                auto it = outputs->find(tensor);
                if (it == outputs->end()) {
                    out.error = QObject::tr("the executor returned no value for %1").arg(qs(tensor));
                    return out;
                }
                values->insert(values->end(), it->second.data.begin(), it->second.data.end());
                out.shape = it->second.shape;
                used += int64_t(indices.size());
                if (int64_t(values->size()) >= kMaxActivationValues) break;
            }
            if (!out.shape.empty()) out.shape[0] = used;
            out.values = std::move(values);
            progress(1.f, "done");
            return out;
        },
        [this, nodeIndex, key, graph](Captured out) {
            rememberDataset(key, out.dataset);
            if (out.executor) {
                m_executor = out.executor;
                m_executorGraph = graph;
            }
            if (!out.values) {
                emit activationsFailed(nodeIndex, out.error);
                return;
            }
            emit activationsCaptured(nodeIndex, std::move(out.values), out.shape);
        });
}

void EvaluationSession::cancelCapture() {
    if (m_captureJob.isRunning()) m_captureJob.cancel();
}

}  // namespace lathe
