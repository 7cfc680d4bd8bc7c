#pragma once

#include <QList>
#include <QMap>
#include <QWidget>

#include "core/model/model_summary.h"

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace lathe {

class LayerTableModel;
struct LayerSensitivityCell;

// Sortable, filterable table of the weighted layers with a totals footer.
class LayerTable : public QWidget {
    Q_OBJECT

public:
    explicit LayerTable(QWidget* parent = nullptr);

    void setSummary(ModelSummary summary);

    LayerTableModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    QLineEdit* filterEdit() const { return m_filter; }
    QString footerText() const;
    // Node index of the current selected row (the one the other views show), or -1.
    int selectedNode() const;
    // Node indices of every selected row (Ctrl/Shift-click selects several), ascending.
    QList<int> selectedNodes() const;
    // Fills the Compression column: the recipe's summary per node index (absent: float, unchanged).
    void setCompressionText(const QMap<int, QString>& textByNode);
    // Fills the Sensitivity column from the last scan (empty: no scan).
    void setSensitivity(const QMap<int, LayerSensitivityCell>& cellByNode);

public slots:
    // Selects the row of node `nodeIndex` (clears the selection when it is not a listed layer); does not emit
    // layerSelected.
    void selectNode(int nodeIndex);

signals:
    // The user selected the row of the layer whose node index is `nodeIndex`.
    void layerSelected(int nodeIndex);
    // The set of selected rows changed (node indices, ascending).
    void selectionNodesChanged(const QList<int>& nodeIndices);

private:
    void updateFooter();
    void onSelectionChanged();

    LayerTableModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_view;
    QLineEdit* m_filter;
    QLabel* m_footer;
    bool m_syncing = false;
};

}  // namespace lathe
