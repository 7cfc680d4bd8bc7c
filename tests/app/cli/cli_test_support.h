#pragma once
// Runs the lathe-cli executable (LATHE_CLI, set per test in tests/app/cli/CMakeLists.txt) for the end-to-end tests.

#include <QByteArray>
#include <QProcess>
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

}  // namespace lathe::testing
