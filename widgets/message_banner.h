#pragma once

#include <QFrame>
#include <QStringList>

class QLabel;
class QToolButton;

namespace lathe {

// Non-blocking warning strip (shown above a view): a headline, the first few messages, "Details…" for all of them,
// and a close button.
class MessageBanner : public QFrame {
    Q_OBJECT

public:
    explicit MessageBanner(QWidget* parent = nullptr);

    // Shows the banner with `headline` and `messages`; an empty list hides it.
    void showMessages(const QString& headline, const QStringList& messages);
    const QStringList& messages() const { return m_messages; }
    QString text() const;

private:
    void showDetails();

    QLabel* m_icon;
    QLabel* m_text;
    QToolButton* m_details;
    QToolButton* m_close;
    QString m_headline;
    QStringList m_messages;
};

}  // namespace lathe
