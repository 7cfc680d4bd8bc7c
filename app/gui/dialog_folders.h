#pragma once

#include <QString>

namespace lathe {

// Where the window's file dialogs start: the folder last used for that kind of file, remembered across sessions
// (QSettings), instead of the model's folder every time.
enum class DialogFolder {
    Project,  // Save Project As, Open Project ("dialogs/projectFolder")
    Export,   // Export Variant ("dialogs/exportFolder")
};

// The folder last used for `kind`, when it still exists; else `fallback`.
QString lastDialogFolder(DialogFolder kind, const QString& fallback);
// Remembers the folder of `filePath` (a file chosen or written) for `kind`.
void rememberDialogFolder(DialogFolder kind, const QString& filePath);

}  // namespace lathe
