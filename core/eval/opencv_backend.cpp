#include "core/eval/opencv_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include "core/eval/dnn_worker_protocol.h"

extern char** environ;

namespace lathe {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxOutputElements = int64_t(1) << 28;

std::string describeStatus(int status) {
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = strsignal(sig);
        return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
    }
    return "stopped";
}

// The last non-empty line the worker logged, without OpenCV's "[ERROR:0@0.249] global ./modules/…" prefix.
std::string lastLogLine(int fd) {
    if (fd < 0) return {};
    const off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0) return {};
    const off_t from = size > 4096 ? size - 4096 : 0;
    std::string text(size_t(size - from), '\0');
    if (pread(fd, text.data(), text.size(), from) <= 0) return {};
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    std::string line = text.substr(text.find_last_of('\n') == std::string::npos ? 0 : text.find_last_of('\n') + 1);
    if (!line.empty() && line.front() == '[') {
        const size_t close = line.find("] ");
        if (close != std::string::npos) line = line.substr(close + 2);
    }
    if (line.rfind("global ", 0) == 0) {  // "global FILE (LINE) FUNCTION message"
        const size_t paren = line.find(") ");
        const size_t function = paren == std::string::npos ? paren : line.find(' ', paren + 2);
        if (function != std::string::npos) line = line.substr(function + 1);
    }
    return line;
}

// OpenCV's exception text on one line, without its "OpenCV(4.6.0) FILE:LINE: error: (-2:Unspecified error)" and
// "> " decorations.
std::string plainOpenCvMessage(const std::string& text) {
    static const std::regex decoration(R"(OpenCV\([0-9.]+\) \S+:[0-9]+: error: \([-0-9]+:[^)]*\) )");
    std::string line = std::regex_replace(text, decoration, "");
    for (char& c : line)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    line = std::regex_replace(line, std::regex(" {2,}"), " ");
    while (!line.empty() && (line.front() == '>' || line.front() == ' ')) line.erase(line.begin());
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line;
}

}  // namespace

struct OpenCvBackend::Process {
    pid_t pid = -1;
    int socket = -1;  // our end of the worker's stdin and stdout
    int log = -1;     // the worker's stderr: an unlinked temporary file, read only to explain a failure
    std::string model;
    std::string failure;  // set once the worker is gone

    ~Process() {
        if (socket >= 0) ::close(socket);
        if (pid > 0) {
            int status = 0;
            for (int i = 0; i < 100; ++i) {
                if (waitpid(pid, &status, WNOHANG) != 0) {
                    pid = -1;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
            }
        }
        if (log >= 0) ::close(log);
    }

    bool send(const void* data, size_t size) const {
        return dnnworker::writeAll([this](const char* p, size_t n) { return ::send(socket, p, n, MSG_NOSIGNAL); },
                                   data, size);
    }

    // The error to report once the worker stopped answering during `stage`.
    Error died(const std::string& stage) {
        if (failure.empty()) {
            ::close(socket);
            socket = -1;
            int status = 0;
            std::string how = "stopped answering";
            if (pid > 0 && waitpid(pid, &status, 0) == pid) {
                how = describeStatus(status);
                pid = -1;
            }
            const std::string said = plainOpenCvMessage(lastLogLine(log));
            failure = "OpenCV DNN failed while " + stage + " " + model + ": its worker process " + how +
                      (said.empty() ? "" : "; OpenCV's last message: " + said);
        }
        return makeError(ErrorCode::Unsupported, failure);
    }
};

std::string OpenCvBackend::workerPath() {
    if (const char* env = std::getenv("LATHE_DNN_WORKER"); env && *env) return env;
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        for (const fs::path& dir : {self.parent_path(), self.parent_path().parent_path()}) {
            const fs::path candidate = dir / "lathe-dnn-worker";
            if (fs::exists(candidate, ec)) return candidate.string();
        }
    }
    return "lathe-dnn-worker";
}

Result<std::unique_ptr<OpenCvBackend>> OpenCvBackend::create(const Graph& graph, int threads) {
    if (graph.sourcePath.empty())
        return makeError(ErrorCode::InvalidArgument, "OpenCV DNN reads models from a file; this model has none");
    if (graph.inputs.empty() || graph.outputs.empty())
        return makeError(ErrorCode::InvalidModel, graph.sourcePath + ": the model has no input or no output");
    const std::string worker = workerPath();
    if (worker.find('/') != std::string::npos && access(worker.c_str(), X_OK) != 0)
        return makeError(ErrorCode::FileNotFound, "OpenCV DNN's worker " + worker +
                                                      " is missing or not executable; rebuild Lathe or set "
                                                      "LATHE_DNN_WORKER");

    auto process = std::make_unique<Process>();
    process->model = graph.sourcePath;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return makeError(ErrorCode::Io, std::string("cannot create a pipe to OpenCV DNN's worker: ") + strerror(errno));
    process->socket = pair[0];
    const fs::path temp = fs::temp_directory_path() / "lathe-dnn-worker-XXXXXX";
    std::string logName = temp.string();
    process->log = mkostemp(logName.data(), O_CLOEXEC);
    if (process->log >= 0) unlink(logName.c_str());
    const int logFd = process->log >= 0 ? process->log : open("/dev/null", O_WRONLY | O_CLOEXEC);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pair[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pair[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, logFd, STDERR_FILENO);
    const std::string threadArg = std::to_string(std::max(threads, 0));
    std::vector<std::string> args = {worker, graph.sourcePath, graph.inputs.front(), graph.outputs.front(), threadArg};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int spawned = worker.find('/') == std::string::npos
                            ? posix_spawnp(&process->pid, worker.c_str(), &actions, nullptr, argv.data(), environ)
                            : posix_spawn(&process->pid, worker.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pair[1]);
    if (logFd != process->log) ::close(logFd);
    if (spawned != 0) {
        process->pid = -1;
        return makeError(ErrorCode::FileNotFound, "cannot start OpenCV DNN's worker " + worker + ": " +
                                                      strerror(spawned) + "; rebuild Lathe or set LATHE_DNN_WORKER");
    }

    uint8_t ok = 0;
    if (!dnnworker::readAll(process->socket, &ok, 1)) return process->died("loading");
    if (!ok) {
        std::string why;
        if (!dnnworker::readString(process->socket, why)) return process->died("loading");
        return makeError(ErrorCode::Unsupported,
                         "OpenCV DNN cannot load " + graph.sourcePath + ": " + plainOpenCvMessage(why));
    }
    return std::unique_ptr<OpenCvBackend>(new OpenCvBackend(std::move(process)));
}

OpenCvBackend::OpenCvBackend(std::unique_ptr<Process> process) : m_process(std::move(process)) {}
OpenCvBackend::~OpenCvBackend() = default;

Result<NDArray> OpenCvBackend::run(const NDArray& batch) {
    Process& p = *m_process;
    if (!p.failure.empty()) return makeError(ErrorCode::Unsupported, p.failure);
    const bool sent = dnnworker::writeTensor([&p](const char* d, size_t n) { return ::send(p.socket, d, n, MSG_NOSIGNAL); },
                                             batch.shape, batch.data.data(), batch.data.size());
    if (!sent) return p.died("running");
    uint8_t ok = 0;
    if (!dnnworker::readAll(p.socket, &ok, 1)) return p.died("running");
    if (!ok) {
        std::string why;
        if (!dnnworker::readString(p.socket, why)) return p.died("running");
        return makeError(ErrorCode::Unsupported, "OpenCV DNN failed to run " + p.model + ": " + plainOpenCvMessage(why));
    }
    NDArray out;
    if (!dnnworker::readTensor(p.socket, out.shape, out.data, kMaxOutputElements)) return p.died("running");
    return out;
}

}  // namespace lathe
