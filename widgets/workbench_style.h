#pragma once

#include <qcustomplot.h>

#include <QColor>
#include <QFont>
#include <QLabel>
#include <QString>
#include <QWidget>

// Colours and plot styling shared by the workbench views (inspector, trade-off plot, variants, compare), matching the
// histogram and confusion-matrix views.
namespace lathe::style {

inline const QColor kText(0x202124);
inline const QColor kAxisText(0x3c4043);
inline const QColor kTickText(0x5f6368);
inline const QColor kMutedText(0x80868b);
inline const QColor kAxisLine(0xb0b6bd);
inline const QColor kGrid(0xeceef1);
inline const QColor kBlue(0x2f5f9e);
inline const QColor kLightBlue(0x8ab4f8);
inline const QColor kRed(0xd93025);
inline const QColor kOrange(0xe8710a);
inline const QColor kGreen(0x188038);
inline const QColor kGrey(0x9aa0a6);
inline const QColor kHighlight(0xfff4ce);  // cells that differ between variants
inline const QColor kPanel(0xf6f7f9);
inline const QColor kPanelBorder(0xe0e3e7);

// Distinct series colours (variants in overlays), colour-blind friendly order (Tableau 10).
inline QColor seriesColor(int index) {
    static const QColor colors[] = {QColor(0x4e79a7), QColor(0xf28e2b), QColor(0x59a14f), QColor(0xe15759),
                                    QColor(0x76b7b2), QColor(0xb07aa1), QColor(0xedc948), QColor(0xff9da7),
                                    QColor(0x9c755f), QColor(0xbab0ac)};
    return colors[index % 10];
}

inline QColor withAlpha(QColor color, int alpha) {
    color.setAlpha(alpha);
    return color;
}

// Light axes with grey tick labels and a faint grid, 8 pt ticks and labels.
inline void styleAxis(QCPAxis* axis, const QFont& base) {
    QFont tickFont = base;
    tickFont.setPointSizeF(8);
    axis->setTickLabelFont(tickFont);
    axis->setLabelFont(tickFont);
    axis->setLabelColor(kMutedText);
    axis->setTickLabelColor(kTickText);
    axis->setBasePen(QPen(kAxisLine));
    axis->setTickPen(QPen(kAxisLine));
    axis->setSubTickPen(QPen(QColor(0xd0d4d9)));
    axis->grid()->setPen(QPen(kGrid));
    axis->grid()->setSubGridPen(Qt::NoPen);
}

inline void stylePlot(QCustomPlot* plot) {
    plot->setBackground(QBrush(Qt::white));
    for (QCPAxis* axis : plot->axisRect()->axes()) styleAxis(axis, plot->font());
}

// Small uppercase section heading, e.g. "PRUNING".
inline QLabel* sectionLabel(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text.toUpper(), parent);
    QFont font = label->font();
    font.setPointSizeF(font.pointSizeF() * 0.85);
    font.setBold(true);
    font.setLetterSpacing(QFont::AbsoluteSpacing, 0.6);
    label->setFont(font);
    label->setStyleSheet(QStringLiteral("color:#5f6368; padding-top:4px;"));
    return label;
}

}  // namespace lathe::style
