#pragma once

#include <QWidget>
#include <vector>

#include "widgets/op_metadata.h"

namespace lathe {

// Small translucent key of the op categories present in the shown graph (overlaid on GraphView).
class GraphLegend : public QWidget {
    Q_OBJECT

public:
    explicit GraphLegend(QWidget* parent = nullptr);

    void setCategories(std::vector<OpCategory> categories);
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<OpCategory> m_categories;
};

}  // namespace lathe
