#pragma once

#include <QMap>
#include <QObject>
#include <QString>

#include "widgets/layer_table_model.h"

class QAction;
class QWidget;

namespace lathe {

class DatasetPanel;
class LayerInspector;
class LiveAccuracy;
class LiveAccuracyLabel;
class ModelDocument;
class SensitivitySession;
struct SensitivityFigure;
class SensitivityView;
class WorkbenchDocument;

// Guidance while compressing: the sensitivity scan and budget allocation (SensitivitySession, shown by a
// SensitivityView) and accuracy while editing (LiveAccuracy, shown by a LiveAccuracyLabel above the layer inspector,
// with the scan's warnings for the current settings). The WorkbenchController creates it; the main window places
// compressPanel() and sensitivityView() and binds job() to a progress bar.
class GuidanceController : public QObject {
    Q_OBJECT

public:
    GuidanceController(WorkbenchDocument* document, ModelDocument* model, LayerInspector* inspector,
                       DatasetPanel* datasetPanel, QWidget* window);

    // The live accuracy strip above the inspector, in one widget for the Compress dock.
    QWidget* compressPanel() const { return m_compressPanel; }
    SensitivityView* sensitivityView() const { return m_view; }
    SensitivitySession* sensitivitySession() const { return m_session; }
    LiveAccuracy* liveAccuracy() const { return m_live; }
    LiveAccuracyLabel* liveAccuracyLabel() const { return m_label; }
    // Sensitivity Scan (Ctrl+Alt+S): shows the view and starts a scan on its subset size.
    QAction* scanAction() const { return m_scan; }
    void scan(int samples);

signals:
    void statusMessage(const QString& text, int timeoutMs);
    // The sensitivity view should be shown (its dock raised).
    void sensitivityShown();
    // The layer table's Sensitivity column per node index (empty: no scan of this model and data).
    void layerSensitivityChanged(const QMap<int, LayerSensitivityCell>& cellByNode);

private:
    void showResult();
    QMap<int, LayerSensitivityCell> sensitivityCells(const SensitivityFigure& figure) const;
    void updateWarning();
    void pushEvaluationSettings();

    WorkbenchDocument* m_doc;
    ModelDocument* m_model;
    DatasetPanel* m_datasetPanel;
    SensitivitySession* m_session;
    LiveAccuracy* m_live;
    SensitivityView* m_view;
    LiveAccuracyLabel* m_label;
    QWidget* m_compressPanel;
    QAction* m_scan;
};

}  // namespace lathe
