#pragma once

#include <QStatusBar>
#include <QString>

namespace lathe {

// A status bar whose temporary message (showMessage) never runs under the permanent widgets: it is elided at the
// first visible permanent widget, and the full text is the tooltip over the message.
class ElidingStatusBar : public QStatusBar {
    Q_OBJECT

public:
    explicit ElidingStatusBar(QWidget* parent = nullptr);

    // Where the message is drawn: from the left margin to just before the leftmost visible permanent widget.
    QRect messageArea() const;
    // The message as drawn (elided with "…" when it does not fit messageArea()).
    QString displayedMessage() const;
    // The full message when it is elided, else empty: the tooltip over the message.
    QString messageToolTip() const;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;
};

}  // namespace lathe
