#pragma once

#include <QWidget>
#include <memory>
#include <vector>

class QLabel;
class QSpinBox;
class QToolButton;

namespace lathe {

class HistogramView;

// Histogram of the selected node's output over a few images of the data set (the activations), with the same
// statistics as the weight histogram. The capture itself is run by the owner on captureRequested().
class ActivationView : public QWidget {
    Q_OBJECT

public:
    explicit ActivationView(QWidget* parent = nullptr);

    // The node whose output is captured: its name and output tensor (empty: nothing selected).
    void setNode(const QString& nodeName, const QString& tensorName);
    QString nodeName() const { return m_nodeName; }
    QString tensorName() const { return m_tensorName; }
    // Shows captured values of the current node; `shapeText` is e.g. "256×50×8×8".
    void setValues(std::shared_ptr<const std::vector<float>> values, const QString& shapeText);
    // Replaces the histogram with `message` (why nothing can be captured); an empty message clears it.
    void showMessage(const QString& message, bool isError);
    QString message() const;
    // While a capture runs the Capture button is disabled.
    void setBusy(bool busy);

    int sampleCount() const;
    void setSampleCount(int samples);
    // The node of the shown values (may differ from nodeName() until the next capture).
    QString capturedNode() const { return m_capturedNode; }
    HistogramView* histogramView() const { return m_histogram; }
    QToolButton* captureButton() const { return m_capture; }

signals:
    void captureRequested();

private:
    QLabel* m_node;
    QSpinBox* m_samples;
    QToolButton* m_capture;
    QLabel* m_message;
    HistogramView* m_histogram;
    QString m_nodeName;
    QString m_tensorName;
    QString m_capturedNode;
    bool m_busy = false;
};

}  // namespace lathe
