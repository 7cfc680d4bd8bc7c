#pragma once
// Runs the lathe-cli executable (LATHE_CLI, set per test in tests/app/cli/CMakeLists.txt) for the end-to-end tests.

#include <QByteArray>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace lathe::testing {

struct CliRun {
    int exitCode = -1;  // -1 when lathe-cli crashed or did not finish
    QByteArray out;
    QByteArray err;
};

// lathe-cli with `args`, waiting up to `timeoutMs` (longer than ctest's 300 s per test, which stops a hang first).
inline CliRun runCli(const QStringList& args, int timeoutMs = 600000) {
    QProcess p;
    p.start(LATHE_CLI, args);
    p.waitForFinished(timeoutMs);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError()};
}

// A version 1.0 .npy file of `descr` and `shape` with `data` bytes.
inline void writeNpy(const QString& path, const QString& descr, const QString& shape, const QByteArray& data) {
    QByteArray header = QString("{'descr': '%1', 'fortran_order': False, 'shape': %2, }").arg(descr, shape).toLatin1();
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(QByteArray("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xff) + char(header.size() >> 8) + header + data);
}

inline QByteArray readFile(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

}  // namespace lathe::testing
