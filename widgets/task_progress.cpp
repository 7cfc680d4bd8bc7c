#include "widgets/task_progress.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QToolButton>
#include <algorithm>

namespace lathe {

TaskProgress::TaskProgress(QWidget* parent)
    : QWidget(parent), m_label(new QLabel(this)), m_bar(new QProgressBar(this)), m_cancel(new QToolButton(this)) {
    m_bar->setRange(0, 1000);
    m_bar->setFixedWidth(140);
    m_bar->setMaximumHeight(14);
    m_bar->setTextVisible(false);
    m_label->setStyleSheet(QStringLiteral("color:#3c4043;"));
    m_cancel->setText(tr("Cancel"));
    m_cancel->setAutoRaise(true);
    m_cancel->setToolTip(tr("Stop this task; nothing it has done so far is kept"));
    m_cancel->setStyleSheet(QStringLiteral("QToolButton { padding:0px 6px; color:#a50e0e; }"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 4, 0);
    layout->setSpacing(6);
    layout->addWidget(m_label);
    layout->addWidget(m_bar);
    layout->addWidget(m_cancel);
    connect(m_cancel, &QToolButton::clicked, this, &TaskProgress::cancelRequested);
    hide();
}

void TaskProgress::begin(const QString& title) {
    m_title = title;
    m_label->setText(title + QStringLiteral("…"));
    m_bar->setValue(0);
    show();
}

void TaskProgress::setProgress(float fraction, const QString& stage) {
    m_label->setText(stage.isEmpty() ? m_title + QStringLiteral("…") : QStringLiteral("%1 — %2…").arg(m_title, stage));
    m_bar->setValue(std::clamp(int(fraction * 1000.f), 0, 1000));
}

void TaskProgress::end() { hide(); }

QString TaskProgress::text() const { return m_label->text(); }

int TaskProgress::percent() const { return m_bar->value() / 10; }

}  // namespace lathe
