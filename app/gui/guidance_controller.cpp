#include "app/gui/guidance_controller.h"

#include <QAction>
#include <QTimer>
#include <QVBoxLayout>
#include <cmath>
#include <optional>

#include "app/gui/live_accuracy.h"
#include "app/gui/model_document.h"
#include "app/gui/sensitivity_session.h"
#include "app/gui/workbench_document.h"
#include "widgets/dataset_panel.h"
#include "widgets/layer_inspector.h"
#include "widgets/live_accuracy_label.h"
#include "widgets/sensitivity_view.h"

namespace lathe {

GuidanceController::GuidanceController(WorkbenchDocument* document, ModelDocument* model, LayerInspector* inspector,
                                       DatasetPanel* datasetPanel, QWidget* window)
    : QObject(window),
      m_doc(document),
      m_model(model),
      m_datasetPanel(datasetPanel),
      m_session(new SensitivitySession(document, this)),
      m_live(new LiveAccuracy(document, this)),
      m_view(new SensitivityView),
      m_label(new LiveAccuracyLabel),
      m_compressPanel(new QWidget),
      m_scan(new QAction(tr("Sensitivity Scan…"), this)) {
    auto* layout = new QVBoxLayout(m_compressPanel);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_label);
    layout->addWidget(inspector, 1);

    m_scan->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_S));
    m_scan->setStatusTip(
        tr("Measure how much each layer can take: sparsity, bits and rank of one layer at a time on a "
           "subset of the evaluation data"));
    connect(m_scan, &QAction::triggered, this, [this] { scan(m_view->subsetSize()); });

    connect(m_view, &SensitivityView::scanRequested, this, &GuidanceController::scan);
    connect(m_view, &SensitivityView::cancelRequested, m_session, &SensitivitySession::cancel);
    connect(m_view, &SensitivityView::budgetChanged, this, [this](const QString& target, double fraction) {
        m_view->setBudgetPreview(m_session->preview(target, fraction));
    });
    connect(m_view, &SensitivityView::addPlansRequested, this, [this](const QString& target, double fraction) {
        const QStringList ids = m_session->addPlans(target, fraction);
        if (!ids.isEmpty())
            emit statusMessage(
                tr("Added %1 allocated variants; evaluating them on the evaluation data").arg(ids.size()), 8000);
    });
    connect(m_view, &SensitivityView::layerClicked, this, [this](const QString& layer) {
        const int node = m_doc->nodeOfLayer(layer);
        if (node >= 0) m_model->selectNode(node);
    });

    connect(m_session, &SensitivitySession::started, this, [this] { m_view->setScanning(true); });
    connect(m_session, &SensitivitySession::finished, this, [this] {
        m_view->setScanning(false);
        const SensitivityResult* r = m_session->result();
        if (r)
            emit statusMessage(
                tr("Sensitivity scan: %1 layers in %2 s").arg(r->layers.size()).arg(r->seconds, 0, 'f', 1), 8000);
    });
    connect(m_session, &SensitivitySession::failed, this, [this](const QString& message) {
        m_view->setScanning(false);
        emit statusMessage(tr("Sensitivity scan failed: %1").arg(message), 20000);
    });
    connect(m_session, &SensitivitySession::cancelled, this, [this] {
        m_view->setScanning(false);
        emit statusMessage(tr("Sensitivity scan cancelled"), 5000);
    });
    connect(m_session, &SensitivitySession::resultChanged, this, &GuidanceController::showResult);

    connect(m_live, &LiveAccuracy::evaluating, m_label, &LiveAccuracyLabel::setEvaluating);
    connect(m_live, &LiveAccuracy::measured, this, [this](const LiveAccuracyFigure& f) {
        m_label->setMeasured(f.top1, f.baselineTop1, f.samples, m_doc->evaluationSettings().displayName(), f.nodesRun,
                             f.nodesTotal, f.milliseconds);
    });
    connect(m_live, &LiveAccuracy::unavailable, m_label, &LiveAccuracyLabel::setUnavailable);
    connect(m_label, &LiveAccuracyLabel::liveToggled, m_live, &LiveAccuracy::setEnabled);

    connect(m_doc, &WorkbenchDocument::recipeChanged, this, &GuidanceController::updateWarning);
    connect(m_doc, &WorkbenchDocument::modelChanged, this, [this] {
        // The window sets the evaluation data after the model; both are read once they are in place.
        QTimer::singleShot(0, this, [this] {
            pushEvaluationSettings();
            showResult();
        });
    });
    connect(m_model, &ModelDocument::selectionChanged, this,
            [this](int node) { m_view->setCurrentLayer(m_doc->layerOfNode(node)); });
    connect(m_datasetPanel, &DatasetPanel::settingsChanged, this, &GuidanceController::pushEvaluationSettings);
}

void GuidanceController::pushEvaluationSettings() {
    const std::optional<EvaluationSettings> settings = m_datasetPanel->validate();
    if (settings && settings->datasetKey() != m_doc->evaluationSettings().datasetKey()) {
        m_doc->setEvaluationSettings(*settings);
        showResult();
    }
    m_live->refresh();
}

void GuidanceController::scan(int samples) {
    emit sensitivityShown();
    if (const std::optional<EvaluationSettings> settings = m_datasetPanel->validate())
        m_doc->setEvaluationSettings(*settings);
    m_view->setSubsetSize(samples);
    QString why;
    if (!m_session->start(samples, &why)) emit statusMessage(why, 10000);
}

namespace {

// Top-1 of the curve's point at x, if the scan measured it.
std::optional<double> top1At(const QVector<QPointF>& curve, double x) {
    for (const QPointF& p : curve)
        if (std::abs(p.x() - x) < 1e-6) return p.y();
    return std::nullopt;
}

}  // namespace

QMap<int, LayerSensitivityCell> GuidanceController::sensitivityCells(const SensitivityFigure& figure) const {
    QMap<int, LayerSensitivityCell> cells;
    for (const SensitivityCurves& c : figure.layers) {
        const int node = m_doc->nodeOfLayer(c.layer);
        if (node < 0) continue;
        LayerSensitivityCell cell;
        cell.drop = c.score;
        QStringList lines{tr("%1: largest top-1 drop %2 points up to 50 % sparsity or down to 4 bits")
                              .arg(c.layer)
                              .arg(c.score, 0, 'f', 2)};
        if (const auto half = top1At(c.sparsity, 0.5)) lines << tr("50 % sparsity: %1 %").arg(*half, 0, 'f', 2);
        if (const auto four = top1At(c.bits, 4)) lines << tr("4 bits: %1 %").arg(*four, 0, 'f', 2);
        if (const auto two = top1At(c.bits, 2)) lines << tr("2 bits: %1 %").arg(*two, 0, 'f', 2);
        lines << tr("float %1 %, this layer alone changed, %2 images of %3")
                     .arg(figure.baselineTop1, 0, 'f', 2)
                     .arg(figure.samples)
                     .arg(figure.dataName);
        cell.toolTip = lines.join('\n');
        cells.insert(node, cell);
    }
    return cells;
}

void GuidanceController::showResult() {
    if (m_session->result()) {
        const SensitivityFigure figure = m_session->figure();
        m_view->setFigure(figure);
        emit layerSensitivityChanged(sensitivityCells(figure));
        m_view->setBudgetPreview(m_session->preview(m_view->target(), m_view->budgetFraction()));
    } else {
        m_view->clearFigure(m_doc->graph() ? tr("No scan of this model on %1 yet: Scan measures how much each "
                                                "layer can take.")
                                                 .arg(m_doc->evaluationSettings().displayName())
                                           : tr("Open a model."));
        emit layerSensitivityChanged({});
    }
    updateWarning();
}

void GuidanceController::updateWarning() { m_label->setWarning(m_session->warnings(m_doc->recipe())); }

}  // namespace lathe
