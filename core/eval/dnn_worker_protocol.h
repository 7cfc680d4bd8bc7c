#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

// The pipe protocol between OpenCvBackend and its worker process (app/dnn_worker), native byte order.
//   worker start-up reply:  u8 ok; when !ok: string (why the model cannot be loaded)
//   request:                u32 rank, i64 dims[rank], f32 data[product of dims]
//   reply:                  u8 ok; ok: u32 rank, i64 dims[rank], f32 data; !ok: string
//   string:                 u32 length, bytes
// The worker exits when its input ends.
namespace lathe::dnnworker {

constexpr uint32_t kMaxRank = 8;
constexpr uint32_t kMaxMessage = 1u << 16;

// Reads exactly `size` bytes; false on end of input or error.
inline bool readAll(int fd, void* data, size_t size) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t n = ::read(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= size_t(n);
    }
    return true;
}

// Writes all of `data` with `send` (a function like ::write); false when the other side is gone.
template <class Send>
bool writeAll(Send&& send, const void* data, size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = send(p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= size_t(n);
    }
    return true;
}

template <class Send>
bool writeString(Send&& send, const std::string& text) {
    const std::string clipped = text.substr(0, kMaxMessage);
    const uint32_t length = uint32_t(clipped.size());
    return writeAll(send, &length, sizeof length) && writeAll(send, clipped.data(), clipped.size());
}

inline bool readString(int fd, std::string& text) {
    uint32_t length = 0;
    if (!readAll(fd, &length, sizeof length) || length > kMaxMessage) return false;
    text.resize(length);
    return readAll(fd, text.data(), length);
}

template <class Send>
bool writeTensor(Send&& send, const std::vector<int64_t>& shape, const float* data, size_t count) {
    const uint32_t rank = uint32_t(shape.size());
    return writeAll(send, &rank, sizeof rank) && writeAll(send, shape.data(), shape.size() * sizeof(int64_t)) &&
           writeAll(send, data, count * sizeof(float));
}

// Reads a tensor header and data; false on end of input, a malformed header, or more than `maxElements` values.
template <class FloatVector>
inline bool readTensor(int fd, std::vector<int64_t>& shape, FloatVector& data, int64_t maxElements) {
    uint32_t rank = 0;
    if (!readAll(fd, &rank, sizeof rank) || rank > kMaxRank) return false;
    shape.resize(rank);
    if (!readAll(fd, shape.data(), rank * sizeof(int64_t))) return false;
    int64_t count = 1;
    for (int64_t d : shape) {
        if (d < 0 || (d > 0 && count > maxElements / d)) return false;
        count *= d;
    }
    if (count > maxElements) return false;
    data.resize(size_t(count));
    return readAll(fd, data.data(), data.size() * sizeof(float));
}

}  // namespace lathe::dnnworker
