#pragma once

#include <QWidget>
#include <memory>

#include "core/model/graph.h"
#include "core/model/model_summary.h"

class QLabel;
class QTreeWidget;
class QTreeWidgetItem;

namespace lathe {

// Property sheet of the selected node (name, op, attributes, typed inputs/outputs, weights) or, with no
// selection, of the model itself.
class PropertiesView : public QWidget {
    Q_OBJECT

public:
    explicit PropertiesView(QWidget* parent = nullptr);

    // Shows node `nodeIndex` of `graph`, or the model overview when nodeIndex is -1 (graph may be null: empty sheet).
    void showNode(std::shared_ptr<const Graph> graph, const ModelSummary& summary, int nodeIndex);

    // Text in the value column of row `key` under section `section` (e.g. "Attributes", "kernel_shape"), or a null
    // string when there is no such row.
    QString value(const QString& section, const QString& key) const;
    QTreeWidget* tree() const { return m_tree; }

private:
    void setHeading(const QString& title, const QString& kind, const QColor& kindColor);
    QTreeWidgetItem* addSection(const QString& title);
    void addRow(QTreeWidgetItem* section, const QString& key, const QString& value, const QString& toolTip = {});
    void showModel(const Graph& graph, const ModelSummary& summary);

    QLabel* m_title;
    QLabel* m_kind;
    QTreeWidget* m_tree;
};

}  // namespace lathe
