#include "widgets/plot_export.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSettings>
#include <QSvgGenerator>

namespace lathe {

namespace {

const QString kLastPlotDirKey = QStringLiteral("lastPlotDir");

bool saveSvg(QCustomPlot* plot, const QString& path) {
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(plot->size());
    generator.setViewBox(QRect(QPoint(0, 0), plot->size()));
    generator.setTitle(plot->objectName());
    generator.setDescription(QStringLiteral("Lathe plot"));
    QCPPainter painter;
    if (!painter.begin(&generator)) return false;
    plot->toPainter(&painter, plot->width(), plot->height());
    return painter.end();
}

QString fileNameSafe(QString name) {
    static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9._-]+"));
    name.replace(unsafe, QStringLiteral("_"));
    return name.isEmpty() ? QStringLiteral("plot") : name;
}

}  // namespace

bool savePlot(QCustomPlot* plot, const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == QLatin1String("png"))
        ok = plot->savePng(path, plot->width(), plot->height(), 2.0);
    else if (suffix == QLatin1String("pdf"))
        ok = plot->savePdf(path, plot->width(), plot->height(), QCP::epNoCosmetic, QStringLiteral("Lathe"));
    else if (suffix == QLatin1String("svg"))
        ok = saveSvg(plot, path);
    else {
        if (error) *error = QObject::tr("%1: unknown plot format \"%2\"; use .png, .pdf or .svg").arg(path, suffix);
        return false;
    }
    if (!ok && error) *error = QObject::tr("Cannot write %1: check that the folder exists and is writable").arg(path);
    return ok;
}

void installPlotContextMenu(QCustomPlot* plot, std::function<QString()> suggestedName) {
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot,
                     [plot, suggestedName = std::move(suggestedName)](const QPoint& pos) {
                         auto* menu = new QMenu(plot);
                         menu->setAttribute(Qt::WA_DeleteOnClose);
                         menu->addAction(QObject::tr("Save Plot As…"), plot, [plot, suggestedName] {
                             QSettings settings;
                             const QString dir = settings.value(kLastPlotDirKey, QDir::homePath()).toString();
                             QString selectedFilter;
                             const QString path = QFileDialog::getSaveFileName(
                                 plot, QObject::tr("Save Plot"),
                                 QDir(dir).filePath(fileNameSafe(suggestedName()) + QStringLiteral(".png")),
                                 QObject::tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"),
                                 &selectedFilter);
                             if (path.isEmpty()) return;
                             settings.setValue(kLastPlotDirKey, QFileInfo(path).absolutePath());
                             QString target = path;
                             if (QFileInfo(target).suffix().isEmpty())
                                 target += selectedFilter.contains(QLatin1String("pdf"))   ? QStringLiteral(".pdf")
                                           : selectedFilter.contains(QLatin1String("svg")) ? QStringLiteral(".svg")
                                                                                           : QStringLiteral(".png");
                             QString error;
                             if (!savePlot(plot, target, &error))
                                 QMessageBox::warning(plot, QObject::tr("Cannot Save Plot"), error);
                         });
                         menu->addAction(QObject::tr("Copy Image"), plot, [plot] {
                             QApplication::clipboard()->setPixmap(plot->toPixmap(plot->width(), plot->height(), 2.0));
                         });
                         menu->popup(plot->mapToGlobal(pos));
                     });
}

}  // namespace lathe
