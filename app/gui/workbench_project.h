#pragma once

#include <QObject>
#include <QString>
#include <QTimer>
#include <functional>
#include <optional>

#include "app/gui/project_file.h"

namespace lathe {

// The workbench's project file: where it lives, whether the state has unsaved changes, writing it atomically (and
// autosaving it while dirty) from the document's state as a ProjectFile, and reading one back. Knows nothing of what
// the state means: the document turns it into a ProjectFile and applies the one read.
class WorkbenchProject : public QObject {
    Q_OBJECT

public:
    static constexpr int kDefaultAutosaveMs = 2 * 60 * 1000;

    // `state` gives the state to write whenever the project is saved or autosaved.
    explicit WorkbenchProject(std::function<ProjectFile()> state, QObject* parent = nullptr);

    // Absolute path of the project file; empty while untitled.
    QString path() const { return m_path; }
    // Sets the path (absolute; empty: untitled) and emits pathChanged() even when it stays the same.
    void setPath(const QString& path);
    bool isDirty() const { return m_dirty; }
    void markDirty();
    void setClean();
    // Untitled and clean (a new project); pathChanged() only when there was a path.
    void reset();

    // Writes the state to `path` atomically, deletes its autosave and makes it the clean project file; false with
    // `error` naming the file and problem.
    bool save(const QString& path, QString* error = nullptr);
    // Reads and checks the project file at `path`; nullopt with `error` naming the file and the field.
    static std::optional<ProjectFile> read(const QString& path, QString* error = nullptr);

    // Autosave: every `ms` milliseconds while dirty (0 turns it off).
    void setAutosaveInterval(int ms);
    // Where autosave writes: "<project>.autosave", or untitled.latheproj.autosave in the app data folder.
    QString autosavePath() const { return autosavePathFor(m_path); }
    static QString autosavePathFor(const QString& projectPath);
    // Writes the autosave file now; false when it cannot.
    bool autosave();
    // An autosave newer than `projectPath` (or of an untitled project when empty) exists.
    static bool hasRecoverableAutosave(const QString& projectPath);
    // Deletes the autosave file (the user chose to discard the changes).
    void discardAutosave();

signals:
    void dirtyChanged(bool dirty);
    void pathChanged(const QString& path);
    void autosaved(const QString& path);

private:
    std::function<ProjectFile()> m_state;
    QString m_path;
    bool m_dirty = false;
    QTimer m_autosaveTimer;
};

}  // namespace lathe
