#include "core/model/onnx_payloads.h"

#include <algorithm>
#include <cstdint>

namespace lathe {

namespace {

// Field numbers on the path from ModelProto to a tensor's bytes (onnx.proto).
constexpr uint64_t kModelGraph = 7;
constexpr uint64_t kGraphInitializer = 5;
constexpr uint64_t kTensorRawData = 9;
constexpr uint64_t kLengthDelimited = 2;

enum class Level { Model, Graph, Tensor };

class WireReader {
public:
    explicit WireReader(std::string_view bytes) : m_bytes(bytes) {}
    bool done() const { return m_pos == m_bytes.size(); }
    size_t position() const { return m_pos; }

    bool varint(uint64_t& value) {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_bytes.size()) return false;
            const auto byte = uint8_t(m_bytes[m_pos++]);
            value |= uint64_t(byte & 0x7F) << shift;
            if (!(byte & 0x80)) return true;
        }
        return false;
    }

    // The content of a length-delimited field whose tag was just read.
    bool lengthDelimited(std::string_view& content) {
        uint64_t length = 0;
        if (!varint(length) || length > m_bytes.size() - m_pos) return false;
        content = m_bytes.substr(m_pos, size_t(length));
        m_pos += size_t(length);
        return true;
    }

    // Skips the content of a field of `wireType` whose tag was just read; groups (3, 4) and unknown types fail.
    bool skip(uint64_t wireType) {
        std::string_view ignored;
        uint64_t value = 0;
        switch (wireType) {
            case 0: return varint(value);
            case 1: return advance(8);
            case 2: return lengthDelimited(ignored);
            case 5: return advance(4);
            default: return false;
        }
    }

    std::string_view since(size_t start) const { return m_bytes.substr(start, m_pos - start); }

private:
    bool advance(size_t n) {
        if (n > m_bytes.size() - m_pos) return false;
        m_pos += n;
        return true;
    }

    std::string_view m_bytes;
    size_t m_pos = 0;
};

void putVarint(std::string& out, uint64_t value) {
    while (value >= 0x80) {
        out.push_back(char(uint8_t(value) | 0x80));
        value >>= 7;
    }
    out.push_back(char(value));
}

struct Splitter {
    size_t minBytes = 0;
    int nextInitializer = 0;
    std::vector<InitializerPayload> payloads;

    // Copies the message `bytes` (a view into the file) to `out`, descending along the path to raw_data.
    bool copy(std::string_view bytes, Level level, std::string& out) {
        WireReader in(bytes);
        int rawDataFields = 0;
        const int initializer = level == Level::Tensor ? nextInitializer++ : -1;
        while (!in.done()) {
            const size_t start = in.position();
            uint64_t tag = 0;
            if (!in.varint(tag)) return false;
            const uint64_t field = tag >> 3, wireType = tag & 7;
            const bool descend = wireType == kLengthDelimited && ((level == Level::Model && field == kModelGraph) ||
                                                                  (level == Level::Graph && field == kGraphInitializer));
            if (level == Level::Tensor && field == kTensorRawData && ++rawDataFields > 1) return false;
            if (descend || (level == Level::Tensor && field == kTensorRawData && wireType == kLengthDelimited)) {
                std::string_view content;
                if (!in.lengthDelimited(content)) return false;
                if (!descend && content.size() >= minBytes) {
                    payloads.push_back({initializer, content});
                    continue;
                }
                if (!descend) {
                    out.append(in.since(start));
                    continue;
                }
                std::string inner;
                if (!copy(content, level == Level::Model ? Level::Graph : Level::Tensor, inner)) return false;
                putVarint(out, tag);
                putVarint(out, inner.size());
                out.append(inner);
                continue;
            }
            if (!in.skip(wireType)) return false;
            out.append(in.since(start));
        }
        return true;
    }
};

}  // namespace

std::optional<SplitModel> splitInitializerPayloads(std::string_view file, size_t minBytes) {
    Splitter splitter{std::max<size_t>(minBytes, 1), 0, {}};
    SplitModel split;
    split.message.reserve(4096);
    if (!splitter.copy(file, Level::Model, split.message) || splitter.payloads.empty()) return std::nullopt;
    split.payloads = std::move(splitter.payloads);
    return split;
}

}  // namespace lathe
