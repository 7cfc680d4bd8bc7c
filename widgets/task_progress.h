#pragma once

#include <QWidget>

class QLabel;
class QProgressBar;
class QToolButton;

namespace lathe {

// Status-bar strip for one background task: "<title> — <stage>", a progress bar and a Cancel button.
class TaskProgress : public QWidget {
    Q_OBJECT

public:
    explicit TaskProgress(QWidget* parent = nullptr);

    // Shows the strip for a task called `title` at 0 %.
    void begin(const QString& title);
    // fraction in [0,1]; the stage is shown after the title.
    void setProgress(float fraction, const QString& stage);
    // Hides the strip.
    void end();

    QString text() const;
    int percent() const;
    QToolButton* cancelButton() const { return m_cancel; }

signals:
    void cancelRequested();

private:
    QLabel* m_label;
    QProgressBar* m_bar;
    QToolButton* m_cancel;
    QString m_title;
};

}  // namespace lathe
