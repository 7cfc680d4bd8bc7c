#include "widgets/graph_items.h"

#include <QFontMetricsF>
#include <QPainter>
#include <QStyleOptionGraphicsItem>
#include <algorithm>
#include <cmath>

namespace lathe {

namespace {

constexpr double kPadX = 9;
constexpr double kHeaderHeight = 21;
constexpr double kRowHeight = 15;
constexpr double kPadBottom = 5;
constexpr double kCornerRadius = 5;
constexpr double kMinNodeWidth = 104;
constexpr double kMaxSubtitleWidth = 240;
constexpr double kHaloMargin = 5;
// Below this zoom level boxes are drawn without text.
constexpr double kTextLevelOfDetail = 0.35;

const QColor kBorder(0xb8bec6);
const QColor kBodyFill(0xffffff);
const QColor kSubtitleText(0x3c4043);
const QColor kRowLabelText(0x80868b);
const QColor kRowValueText(0x202124);
const QColor kHighlight(0xf29900);
const QColor kUnknownOutline(0xd93025);
const QColor kGroupOutline(0x0b8a7a);  // members of the selected layer's channel group
const QColor kEdge(0x9aa3ad);
const QColor kEdgeLabel(0x5f6368);
const QColor kInputFill(0xe9edf1);
const QColor kOutputFill(0xdde3ea);
const QColor kTerminalBorder(0x8d99a6);
const QColor kTerminalText(0x37474f);

QFont fontOf(double pointSize, bool bold = false) {
    QFont font;
    font.setPointSizeF(pointSize);
    font.setBold(bold);
    return font;
}
const QFont& titleFont() {
    static const QFont font = fontOf(9, true);
    return font;
}
const QFont& subtitleFont() {
    static const QFont font = fontOf(8.5);
    return font;
}
const QFont& rowFont() {
    static const QFont font = fontOf(8);
    return font;
}
const QFont& edgeLabelFont() {
    static const QFont font = fontOf(7.5);
    return font;
}
const QFont& terminalFont() {
    static const QFont font = fontOf(8, true);
    return font;
}

struct NodeGeometry {
    QSizeF size;
    double labelColumn = 0;  // width of the row-label column
};

NodeGeometry nodeGeometry(const NodeBoxContent& content) {
    const QFontMetricsF title(titleFont()), subtitle(subtitleFont()), row(rowFont());
    NodeGeometry g;
    double valueColumn = 0;
    for (const auto& [label, value] : content.rows) {
        g.labelColumn = std::max(g.labelColumn, row.horizontalAdvance(label));
        valueColumn = std::max(valueColumn, row.horizontalAdvance(value));
    }
    double width = std::max({kMinNodeWidth, title.horizontalAdvance(content.title) + 2 * kPadX,
                             std::min(subtitle.horizontalAdvance(content.subtitle), kMaxSubtitleWidth) + 2 * kPadX});
    if (!content.rows.empty()) width = std::max(width, g.labelColumn + 8 + valueColumn + 2 * kPadX);
    const double height = kHeaderHeight + 3 + double(1 + content.rows.size()) * kRowHeight + kPadBottom;
    g.size = QSizeF(std::ceil(width), std::ceil(height));
    return g;
}

bool showsText(const QStyleOptionGraphicsItem* option, const QPainter* painter) {
    return option->levelOfDetailFromTransform(painter->worldTransform()) >= kTextLevelOfDetail;
}

}  // namespace

NodeItem::NodeItem(int nodeIndex, NodeBoxContent content)
    : m_nodeIndex(nodeIndex), m_content(std::move(content)), m_size(measure(m_content)) {
    const QRectF r(QPointF(0, 0), m_size);
    QPainterPath outline;
    outline.addRoundedRect(r, kCornerRadius, kCornerRadius);
    QPainterPath headerBand;
    headerBand.addRect(QRectF(0, 0, r.width(), kHeaderHeight));
    m_headerPath = outline.intersected(headerBand);
    m_bodyPath = outline.subtracted(headerBand);
    setToolTip(m_content.toolTip);
    setCursor(Qt::PointingHandCursor);
    setZValue(1);
}

QSizeF NodeItem::measure(const NodeBoxContent& content) { return nodeGeometry(content).size; }

void NodeItem::setHighlighted(bool highlighted) {
    if (m_highlighted == highlighted) return;
    m_highlighted = highlighted;
    setZValue(highlighted ? 2 : 1);
    update();
}

void NodeItem::setGrouped(bool grouped) {
    if (m_grouped == grouped) return;
    m_grouped = grouped;
    update();
}

QRectF NodeItem::boundingRect() const {
    return QRectF(QPointF(0, 0), m_size).adjusted(-kHaloMargin, -kHaloMargin, kHaloMargin, kHaloMargin);
}

void NodeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) {
    const QRectF r(QPointF(0, 0), m_size);
    painter->setRenderHint(QPainter::Antialiasing);
    if (m_highlighted) {
        painter->setPen(Qt::NoPen);
        QColor halo = kHighlight;
        halo.setAlpha(70);
        painter->setBrush(halo);
        painter->drawRoundedRect(r.adjusted(-kHaloMargin, -kHaloMargin, kHaloMargin, kHaloMargin), kCornerRadius + 3,
                                 kCornerRadius + 3);
    }
    painter->setPen(Qt::NoPen);
    painter->setBrush(m_content.color);
    painter->drawPath(m_headerPath);
    painter->setBrush(kBodyFill);
    painter->drawPath(m_bodyPath);

    QPen outline(kBorder, 1);
    if (m_content.unknownOp) outline = QPen(kUnknownOutline, 1.8, Qt::DashLine);
    if (m_grouped) outline = QPen(kGroupOutline, 2.2, Qt::DashLine);
    if (m_highlighted) outline = QPen(kHighlight, 2.2, m_content.unknownOp ? Qt::DashLine : Qt::SolidLine);
    painter->setPen(outline);
    painter->setBrush(Qt::NoBrush);
    painter->drawRoundedRect(r, kCornerRadius, kCornerRadius);

    if (!showsText(option, painter)) return;
    const NodeGeometry g = nodeGeometry(m_content);
    painter->setFont(titleFont());
    painter->setPen(Qt::white);
    painter->drawText(QRectF(kPadX, 0, r.width() - 2 * kPadX, kHeaderHeight), Qt::AlignVCenter | Qt::AlignLeft,
                      m_content.title);

    double y = kHeaderHeight + 3;
    painter->setFont(subtitleFont());
    painter->setPen(kSubtitleText);
    const QString subtitle =
        QFontMetricsF(subtitleFont()).elidedText(m_content.subtitle, Qt::ElideMiddle, r.width() - 2 * kPadX);
    painter->drawText(QRectF(kPadX, y, r.width() - 2 * kPadX, kRowHeight), Qt::AlignVCenter | Qt::AlignLeft, subtitle);
    painter->setFont(rowFont());
    for (const auto& [label, value] : m_content.rows) {
        y += kRowHeight;
        painter->setPen(kRowLabelText);
        painter->drawText(QRectF(kPadX, y, g.labelColumn, kRowHeight), Qt::AlignVCenter | Qt::AlignLeft, label);
        painter->setPen(kRowValueText);
        painter->drawText(QRectF(kPadX + g.labelColumn + 8, y, r.width() - 2 * kPadX - g.labelColumn - 8, kRowHeight),
                          Qt::AlignVCenter | Qt::AlignLeft, value);
    }
}

TerminalItem::TerminalItem(QString name, bool isInput, const QString& toolTip)
    : m_name(std::move(name)), m_isInput(isInput), m_size(measure(m_name)) {
    setToolTip(toolTip);
}

QSizeF TerminalItem::measure(const QString& name) {
    const QFontMetricsF fm(terminalFont());
    return QSizeF(std::ceil(std::max(56.0, fm.horizontalAdvance(name) + 24)), 22);
}

QRectF TerminalItem::boundingRect() const { return QRectF(QPointF(0, 0), m_size).adjusted(-1, -1, 1, 1); }

void TerminalItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) {
    const QRectF r(QPointF(0, 0), m_size);
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(QPen(kTerminalBorder, 1));
    painter->setBrush(m_isInput ? kInputFill : kOutputFill);
    painter->drawRoundedRect(r, r.height() / 2, r.height() / 2);
    if (!showsText(option, painter)) return;
    painter->setFont(terminalFont());
    painter->setPen(kTerminalText);
    painter->drawText(r, Qt::AlignCenter, m_name);
}

EdgeItem::EdgeItem(const GraphLayout::EdgeRoute& route, QString label) : m_label(std::move(label)) {
    const auto& pts = route.bezier;
    if (!pts.empty()) {
        m_path.moveTo(pts.front());
        for (size_t i = 1; i + 2 < pts.size(); i += 3) m_path.cubicTo(pts[i], pts[i + 1], pts[i + 2]);
    }
    if (pts.size() >= 2) {
        // Arrowhead from the end of the curve to the tip Graphviz reserved (or along the last tangent).
        const QPointF base = pts.back();
        QPointF tip = route.arrowTip.value_or(base);
        QPointF direction = tip - base;
        if (QLineF(base, tip).length() < 1) {
            direction = base - pts[pts.size() - 2];
            tip = base;
        }
        const double length = std::hypot(direction.x(), direction.y());
        if (length > 0) {
            const QPointF unit = direction / length;
            const QPointF normal(-unit.y(), unit.x());
            const double arrowLength = 7, halfWidth = 3.5;
            const QPointF back = tip - unit * arrowLength;
            m_arrow << tip << back + normal * halfWidth << back - normal * halfWidth;
        }
    }
    if (!m_label.isEmpty() && route.labelCenter) {
        const QSizeF size = measureLabel(m_label);
        m_labelRect = QRectF(*route.labelCenter - QPointF(size.width() / 2, size.height() / 2), size);
    }
    m_bounds = m_path.boundingRect().united(m_arrow.boundingRect()).united(m_labelRect).adjusted(-2, -2, 2, 2);
    setZValue(0);
}

QSizeF EdgeItem::measureLabel(const QString& label) {
    if (label.isEmpty()) return {};
    const QFontMetricsF fm(edgeLabelFont());
    return QSizeF(std::ceil(fm.horizontalAdvance(label) + 4), std::ceil(fm.height()));
}

void EdgeItem::setHighlighted(bool highlighted) {
    if (m_highlighted == highlighted) return;
    m_highlighted = highlighted;
    update();
}

QRectF EdgeItem::boundingRect() const { return m_bounds; }

QPainterPath EdgeItem::shape() const {
    QPainterPathStroker stroker;
    stroker.setWidth(6);
    return stroker.createStroke(m_path);
}

void EdgeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) {
    const QColor color = m_highlighted ? kHighlight : kEdge;
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(QPen(color, m_highlighted ? 2.0 : 1.3));
    painter->setBrush(Qt::NoBrush);
    painter->drawPath(m_path);
    painter->setPen(Qt::NoPen);
    painter->setBrush(color);
    painter->drawPolygon(m_arrow);
    if (m_labelRect.isEmpty() || !showsText(option, painter)) return;
    painter->setFont(edgeLabelFont());
    painter->setPen(m_highlighted ? kRowValueText : kEdgeLabel);
    painter->drawText(m_labelRect, Qt::AlignCenter, m_label);
}

}  // namespace lathe
