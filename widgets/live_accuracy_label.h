#pragma once

#include <QLabel>
#include <QString>

class QCheckBox;

namespace lathe {

// The strip above the Compress panel: accuracy of the settings being edited on a fixed subset, beside the float
// model's, labelled with the subset size and how much of the graph re-ran; the sensitivity scan's warnings for settings
// that hurt a layer; a check box that turns live evaluation off.
class LiveAccuracyLabel : public QWidget {
    Q_OBJECT

public:
    explicit LiveAccuracyLabel(QWidget* parent = nullptr);

    void setEvaluating();
    void setMeasured(double top1, double baselineTop1, qint64 samples, const QString& dataName, qint64 nodesRun,
                     qint64 nodesTotal, double milliseconds);
    void setUnavailable(const QString& reason);
    // The scan's warning for the current settings; empty hides it.
    void setWarning(const QString& warning);
    QString text() const;
    QString warning() const;
    bool liveEnabled() const;

signals:
    void liveToggled(bool enabled);

private:
    QLabel* m_text;
    QLabel* m_warning;
    QCheckBox* m_enabled;
    QString m_last;  // the last measured text, kept (greyed) while a newer edit evaluates
};

}  // namespace lathe
