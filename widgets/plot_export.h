#pragma once

#include <QString>
#include <functional>

class QCustomPlot;

namespace lathe {

// Writes `plot` at its on-screen size to `path` as PNG, PDF or SVG, chosen by the extension (.png, .pdf, .svg);
// false with `error` naming the file and the problem otherwise.
bool savePlot(QCustomPlot* plot, const QString& path, QString* error = nullptr);

// Gives `plot` a context menu "Save Plot As…" (PNG/PDF/SVG file dialog) and "Copy Image". `suggestedName` returns
// the file name (without extension) the dialog proposes.
void installPlotContextMenu(QCustomPlot* plot, std::function<QString()> suggestedName);

}  // namespace lathe
