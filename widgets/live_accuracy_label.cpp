#include "widgets/live_accuracy_label.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLocale>
#include <QVBoxLayout>

namespace lathe {

LiveAccuracyLabel::LiveAccuracyLabel(QWidget* parent)
    : QWidget(parent),
      m_text(new QLabel(this)),
      m_warning(new QLabel(this)),
      m_enabled(new QCheckBox(tr("Live"), this)) {
    m_enabled->setChecked(true);
    m_enabled->setToolTip(
        tr("Re-evaluate the settings on a fixed subset of the evaluation data after every edit "
           "(only the layers from the first changed one run)"));
    m_text->setTextFormat(Qt::RichText);
    m_text->setToolTip(
        tr("Weights compressed as set, activations in float, before any training; the same seeded "
           "images every time, so differences between edits are the settings' effect"));
    m_warning->setWordWrap(true);
    m_warning->setStyleSheet(QStringLiteral("color:#b3261e;"));
    m_warning->hide();
    auto* row = new QHBoxLayout;
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(m_enabled);
    row->addWidget(m_text, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 2, 6, 2);
    layout->setSpacing(1);
    layout->addLayout(row);
    layout->addWidget(m_warning);
    connect(m_enabled, &QCheckBox::toggled, this, &LiveAccuracyLabel::liveToggled);
    setUnavailable(tr("Choose a data set to see accuracy while editing."));
}

void LiveAccuracyLabel::setEvaluating() {
    m_text->setText(m_last.isEmpty()
                        ? tr("<span style='color:#80868b'>Evaluating…</span>")
                        : QStringLiteral("<span style='color:#80868b'>%1 · evaluating…</span>").arg(m_last));
}

void LiveAccuracyLabel::setMeasured(double top1, double baselineTop1, qint64 samples, const QString& dataName,
                                    qint64 nodesRun, qint64 nodesTotal, double milliseconds) {
    const double delta = top1 - baselineTop1;
    const QString color = delta < -2     ? QStringLiteral("#b3261e")
                          : delta < -0.5 ? QStringLiteral("#b06000")
                                         : QStringLiteral("#188038");
    const QLocale locale;
    m_last = tr("Top-1 <b>%1 %</b> <span style='color:%2'>(%3%4 vs float %5 %)</span> on %6 %7 images")
                 .arg(top1, 0, 'f', 1)
                 .arg(color)
                 .arg(delta >= 0 ? QStringLiteral("+") : QString())
                 .arg(delta, 0, 'f', 1)
                 .arg(baselineTop1, 0, 'f', 1)
                 .arg(locale.toString(samples))
                 .arg(dataName);
    m_text->setText(m_last + QStringLiteral(" <span style='color:#80868b'>· %1 of %2 nodes re-ran, %3 ms</span>")
                                 .arg(nodesRun)
                                 .arg(nodesTotal)
                                 .arg(qRound(milliseconds)));
}

void LiveAccuracyLabel::setUnavailable(const QString& reason) {
    m_last.clear();
    m_text->setText(QStringLiteral("<span style='color:#80868b'>%1</span>").arg(reason.toHtmlEscaped()));
}

void LiveAccuracyLabel::setWarning(const QString& warning) {
    m_warning->setText(warning.isEmpty() ? QString() : tr("⚠ %1").arg(warning));
    m_warning->setVisible(!warning.isEmpty());
}

QString LiveAccuracyLabel::text() const { return m_text->text(); }

QString LiveAccuracyLabel::warning() const { return m_warning->text(); }

bool LiveAccuracyLabel::liveEnabled() const { return m_enabled->isChecked(); }

}  // namespace lathe
