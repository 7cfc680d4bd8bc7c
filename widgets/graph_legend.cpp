#include "widgets/graph_legend.h"

#include <QFontMetrics>
#include <QPainter>
#include <algorithm>

namespace lathe {

namespace {
constexpr int kPad = 8;
constexpr int kSwatch = 10;
constexpr int kRowGap = 4;
}  // namespace

GraphLegend::GraphLegend(QWidget* parent) : QWidget(parent) {
    setAttribute(Qt::WA_TransparentForMouseEvents);
    QFont small = font();
    small.setPointSizeF(8);
    setFont(small);
}

void GraphLegend::setCategories(std::vector<OpCategory> categories) {
    m_categories = std::move(categories);
    resize(sizeHint());
    setVisible(!m_categories.empty());
    update();
}

QSize GraphLegend::sizeHint() const {
    const QFontMetrics fm(font());
    int width = 0;
    for (const auto& c : m_categories) width = std::max(width, fm.horizontalAdvance(c.name));
    const int rows = int(m_categories.size());
    const int rowHeight = std::max(fm.height(), kSwatch);
    return QSize(2 * kPad + kSwatch + 6 + width, 2 * kPad + rows * rowHeight + std::max(0, rows - 1) * kRowGap);
}

void GraphLegend::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QColor(0xd5d9de));
    painter.setBrush(QColor(255, 255, 255, 225));
    painter.drawRoundedRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5);
    const QFontMetrics fm(font());
    const int rowHeight = std::max(fm.height(), kSwatch);
    int y = kPad;
    for (const auto& c : m_categories) {
        painter.setPen(Qt::NoPen);
        painter.setBrush(c.color);
        painter.drawRoundedRect(QRectF(kPad, y + (rowHeight - kSwatch) / 2.0, kSwatch, kSwatch), 2, 2);
        painter.setPen(QColor(0x3c4043));
        painter.drawText(QRect(kPad + kSwatch + 6, y, width(), rowHeight), Qt::AlignVCenter | Qt::AlignLeft, c.name);
        y += rowHeight + kRowGap;
    }
}

}  // namespace lathe
