#include "widgets/message_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QStyle>
#include <QToolButton>
#include <algorithm>

namespace lathe {

namespace {
constexpr int kShownMessages = 3;
}

MessageBanner::MessageBanner(QWidget* parent)
    : QFrame(parent),
      m_icon(new QLabel(this)),
      m_text(new QLabel(this)),
      m_details(new QToolButton(this)),
      m_close(new QToolButton(this)) {
    setObjectName(QStringLiteral("messageBanner"));
    setStyleSheet(
        QStringLiteral("#messageBanner { background:#fef7e0; border-bottom:1px solid #f9d67a; }"
                       "#messageBanner QLabel { color:#5f4b00; }"
                       "#messageBanner QToolButton { color:#5f4b00; border:none; padding:2px 6px; }"
                       "#messageBanner QToolButton:hover { background:#fbe7a8; border-radius:3px; }"));
    m_icon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxWarning).pixmap(18, 18));
    m_icon->setAlignment(Qt::AlignTop);
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::RichText);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details->setText(tr("Details…"));
    m_details->setToolTip(tr("Show every warning in a dialog"));
    m_close->setText(QStringLiteral("✕"));
    m_close->setToolTip(tr("Hide these warnings"));
    connect(m_details, &QToolButton::clicked, this, &MessageBanner::showDetails);
    connect(m_close, &QToolButton::clicked, this, &QWidget::hide);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 6, 6, 6);
    layout->setSpacing(8);
    layout->addWidget(m_icon);
    layout->addWidget(m_text, 1);
    layout->addWidget(m_details, 0, Qt::AlignTop);
    layout->addWidget(m_close, 0, Qt::AlignTop);
    hide();
}

void MessageBanner::showMessages(const QString& headline, const QStringList& messages) {
    m_headline = headline;
    m_messages = messages;
    if (messages.isEmpty()) {
        hide();
        return;
    }
    QStringList lines;
    for (int i = 0; i < std::min<int>(kShownMessages, int(messages.size())); ++i)
        lines << QStringLiteral("• ") + messages[i].toHtmlEscaped();
    if (messages.size() > kShownMessages) lines << tr("… and %1 more").arg(messages.size() - kShownMessages);
    m_text->setText(
        QStringLiteral("<b>%1</b><br>%2").arg(headline.toHtmlEscaped(), lines.join(QStringLiteral("<br>"))));
    show();
}

QString MessageBanner::text() const { return m_headline + '\n' + m_messages.join('\n'); }

void MessageBanner::showDetails() {
    auto* box = new QMessageBox(QMessageBox::Warning, m_headline, m_headline, QMessageBox::Close, window());
    box->setInformativeText(m_messages.join(QStringLiteral("\n\n")));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

}  // namespace lathe
