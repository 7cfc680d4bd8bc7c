#pragma once

#include <QColor>
#include <QGraphicsItem>
#include <QPainterPath>
#include <QPolygonF>
#include <QString>
#include <utility>
#include <vector>

#include "widgets/graph_layout.h"

namespace lathe {

// What a node box shows; built from the graph by GraphView.
struct NodeBoxContent {
    QString title;                                  // op type
    QString subtitle;                               // node name
    std::vector<std::pair<QString, QString>> rows;  // (label, value), e.g. ("weight", "50×20×5×5")
    QColor color;                                   // op category colour
    bool unknownOp = false;                         // drawn with a red dashed outline
    QString toolTip;
};

// Box for one ONNX node: coloured header with the op type, then the node name and its constant inputs.
class NodeItem : public QGraphicsItem {
public:
    enum { Type = UserType + 1 };

    NodeItem(int nodeIndex, NodeBoxContent content);
    // Size the box needs for `content` (used for the layout request before the item exists).
    static QSizeF measure(const NodeBoxContent& content);

    int nodeIndex() const { return m_nodeIndex; }
    const NodeBoxContent& content() const { return m_content; }
    bool isUnknownOp() const { return m_content.unknownOp; }
    bool isHighlighted() const { return m_highlighted; }
    void setHighlighted(bool highlighted);
    // Drawn with a dashed outline: a member of the selected layer's channel group.
    bool isGrouped() const { return m_grouped; }
    void setGrouped(bool grouped);

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

private:
    int m_nodeIndex;
    NodeBoxContent m_content;
    QSizeF m_size;
    QPainterPath m_headerPath;
    QPainterPath m_bodyPath;
    bool m_highlighted = false;
    bool m_grouped = false;
};

// Small pill for a graph input or output.
class TerminalItem : public QGraphicsItem {
public:
    enum { Type = UserType + 2 };

    TerminalItem(QString name, bool isInput, const QString& toolTip);
    static QSizeF measure(const QString& name);

    const QString& name() const { return m_name; }
    bool isInput() const { return m_isInput; }

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

private:
    QString m_name;
    bool m_isInput;
    QSizeF m_size;
};

// A routed edge: Bezier chain, arrowhead and an optional tensor-shape label.
class EdgeItem : public QGraphicsItem {
public:
    enum { Type = UserType + 3 };

    EdgeItem(const GraphLayout::EdgeRoute& route, QString label);
    // Size of the label box for `label` (empty size for an empty label).
    static QSizeF measureLabel(const QString& label);

    const QString& label() const { return m_label; }
    void setHighlighted(bool highlighted);

    int type() const override { return Type; }
    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

private:
    QPainterPath m_path;
    QPolygonF m_arrow;
    QString m_label;
    QRectF m_labelRect;
    QRectF m_bounds;
    bool m_highlighted = false;
};

}  // namespace lathe
