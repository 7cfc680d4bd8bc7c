#include "widgets/eliding_status_bar.h"

#include <QHelpEvent>
#include <QPainter>
#include <QSizeGrip>
#include <QStyleOption>
#include <QToolTip>
#include <algorithm>

namespace lathe {

ElidingStatusBar::ElidingStatusBar(QWidget* parent) : QStatusBar(parent) {
    // The elision depends on the text; a repaint on every change is what QStatusBar does too.
    connect(this, &QStatusBar::messageChanged, this, [this] { update(); });
}

QRect ElidingStatusBar::messageArea() const {
    // While a message shows, QStatusBar hides its normal widgets: the visible children are the permanent ones.
    int right = width() - 12;
    for (QObject* child : children()) {
        auto* w = qobject_cast<QWidget*>(child);
        if (!w || w->isWindow() || !w->isVisible() || qobject_cast<QSizeGrip*>(w)) continue;
        right = std::min(right, w->x() - 8);
    }
    return QRect(6, 0, std::max(0, right - 6), height());
}

QString ElidingStatusBar::displayedMessage() const {
    return fontMetrics().elidedText(currentMessage(), Qt::ElideRight, messageArea().width());
}

QString ElidingStatusBar::messageToolTip() const {
    const QString message = currentMessage();
    return !message.isEmpty() && displayedMessage() != message ? message : QString();
}

void ElidingStatusBar::paintEvent(QPaintEvent* event) {
    const QString message = currentMessage();
    if (message.isEmpty()) {
        QStatusBar::paintEvent(event);
        return;
    }
    // QStatusBar draws the message unclipped across the permanent widgets: draw the panel and an elided message.
    QPainter p(this);
    QStyleOption opt;
    opt.initFrom(this);
    style()->drawPrimitive(QStyle::PE_PanelStatusBar, &opt, &p, this);
    for (QObject* child : children()) {
        auto* w = qobject_cast<QWidget*>(child);
        if (!w || w->isWindow() || !w->isVisible() || qobject_cast<QSizeGrip*>(w)) continue;
        QStyleOption frame(0);
        frame.rect = w->geometry().adjusted(-2, -1, 2, 1);
        frame.palette = palette();
        frame.state = QStyle::State_None;
        style()->drawPrimitive(QStyle::PE_FrameStatusBarItem, &frame, &p, w);
    }
    p.setPen(palette().windowText().color());
    p.drawText(messageArea(), Qt::AlignLeading | Qt::AlignVCenter | Qt::TextSingleLine, displayedMessage());
}

bool ElidingStatusBar::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QString tip = messageToolTip();
        if (!tip.isEmpty() && messageArea().contains(help->pos())) {
            QToolTip::showText(help->globalPos(), tip, this, messageArea());
            return true;
        }
    }
    return QStatusBar::event(event);
}

}  // namespace lathe
