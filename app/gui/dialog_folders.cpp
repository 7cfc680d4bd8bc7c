#include "app/gui/dialog_folders.h"

#include <QFileInfo>
#include <QSettings>

namespace lathe {

namespace {

QString keyOf(DialogFolder kind) {
    return kind == DialogFolder::Project ? QStringLiteral("dialogs/projectFolder")
                                         : QStringLiteral("dialogs/exportFolder");
}

}  // namespace

QString lastDialogFolder(DialogFolder kind, const QString& fallback) {
    const QString folder = QSettings().value(keyOf(kind)).toString();
    return !folder.isEmpty() && QFileInfo(folder).isDir() ? folder : fallback;
}

void rememberDialogFolder(DialogFolder kind, const QString& filePath) {
    if (filePath.isEmpty()) return;
    QSettings().setValue(keyOf(kind), QFileInfo(filePath).absolutePath());
}

}  // namespace lathe
