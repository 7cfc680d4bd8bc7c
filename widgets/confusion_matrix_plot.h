#pragma once

#include <qcustomplot.h>

#include <QStringList>
#include <cstdint>
#include <vector>

#include "core/eval/metrics.h"

namespace lathe {

// Heat map of a confusion matrix drawn with QCustomPlot: rows are true classes (top to bottom), columns predicted
// classes, counts written in the cells, axes labelled with class names, and a colour scale. Hovering a cell explains
// it in a tooltip.
class ConfusionMatrixPlot : public QCustomPlot {
    Q_OBJECT

public:
    explicit ConfusionMatrixPlot(QWidget* parent = nullptr);

    // Shows `confusion`; class i is labelled classNames[i] when there is one, else its number.
    void setMatrix(const ConfusionMatrix& confusion, const QStringList& classNames);
    void clearMatrix();

    int classCount() const { return m_classes; }
    QCPColorMap* colorMap() const { return m_map; }
    QCPColorScale* colorScale() const { return m_scale; }
    // Sum over the heat map's cells (the number of evaluated samples).
    int64_t cellSum() const;
    // The count written in cell (truth, predicted); empty outside the matrix.
    QString cellText(int truth, int predicted) const;
    QString className(int index) const;

protected:
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    // After each layout: pads the plot so the cells are square, and sizes the cell text to the cells.
    void onLayout();
    void updateCellFonts();

    QCPColorMap* m_map;
    QCPColorScale* m_scale;
    QCPMarginGroup* m_margins;
    std::vector<QCPItemText*> m_cellTexts;  // row-major: truth * classes + predicted
    std::vector<int64_t> m_counts;
    std::vector<int64_t> m_rowTotals;
    QStringList m_names;
    int m_classes = 0;
};

}  // namespace lathe
