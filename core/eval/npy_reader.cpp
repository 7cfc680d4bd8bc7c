#include "core/eval/npy_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace lathe {

namespace {
// The value text of `'key': value` in the header dict, up to the next top-level ',' or '}'.
bool headerField(const std::string& header, const std::string& key, std::string& value) {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) return false;
    size_t colon = header.find(':', k);
    if (colon == std::string::npos) return false;
    size_t begin = header.find_first_not_of(' ', colon + 1);
    if (begin == std::string::npos) return false;
    size_t end = header[begin] == '(' ? header.find(')', begin) + 1 : header.find_first_of(",}", begin);
    if (end == std::string::npos || end == 0) return false;
    value = header.substr(begin, end - begin);
    while (!value.empty() && value.back() == ' ') value.pop_back();
    return true;
}

bool parseShape(const std::string& text, std::vector<int64_t>& shape) {
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') return false;
    std::string inner = text.substr(1, text.size() - 2);
    size_t pos = 0;
    while (pos < inner.size()) {
        size_t comma = inner.find(',', pos);
        std::string item = inner.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        size_t b = item.find_first_not_of(' ');
        if (b != std::string::npos) {
            size_t e = item.find_last_not_of(' ');
            item = item.substr(b, e - b + 1);
            if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 15) return false;
            shape.push_back(std::stoll(item));
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return true;
}
}  // namespace

Result<NpyArray> readNpy(const std::string& path) {
    if (!std::filesystem::is_regular_file(path)) return makeError(ErrorCode::FileNotFound, path + ": file not found");
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::Io, path + ": cannot open");
    char preamble[8];
    if (!in.read(preamble, 8) || std::string(preamble, 6) != "\x93NUMPY")
        return makeError(ErrorCode::Parse, path + ": not a .npy file (missing the \\x93NUMPY magic)");
    int major = static_cast<unsigned char>(preamble[6]);
    uint32_t headerLength = 0;
    if (major == 1) {
        unsigned char b[2];
        if (!in.read(reinterpret_cast<char*>(b), 2)) return makeError(ErrorCode::Parse, path + ": truncated header");
        headerLength = b[0] | uint32_t(b[1]) << 8;
    } else if (major == 2 || major == 3) {
        unsigned char b[4];
        if (!in.read(reinterpret_cast<char*>(b), 4)) return makeError(ErrorCode::Parse, path + ": truncated header");
        headerLength = b[0] | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    } else {
        return makeError(ErrorCode::Unsupported,
                         path + ": .npy format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
    }
    if (headerLength > (1u << 20)) return makeError(ErrorCode::Parse, path + ": implausible .npy header length");
    std::string header(headerLength, '\0');
    if (!in.read(header.data(), headerLength)) return makeError(ErrorCode::Parse, path + ": truncated header");

    std::string descr, fortran, shapeText;
    if (!headerField(header, "descr", descr) || !headerField(header, "fortran_order", fortran) ||
        !headerField(header, "shape", shapeText))
        return makeError(ErrorCode::Parse, path + ": .npy header lacks descr, fortran_order or shape: " + header);
    if (fortran != "False")
        return makeError(ErrorCode::Unsupported, path + ": fortran_order is " + fortran +
                                                     "; save the array in C order (numpy.ascontiguousarray)");
    static const std::map<std::string, DType> kDtypes = {
        {"'|u1'", DType::UInt8}, {"'<u1'", DType::UInt8}, {"'|i1'", DType::Int8},  {"'<i1'", DType::Int8},
        {"'<i4'", DType::Int32}, {"'<i8'", DType::Int64}, {"'<f4'", DType::Float}, {"'<f8'", DType::Double},
    };
    auto dtype = kDtypes.find(descr);
    if (dtype == kDtypes.end())
        return makeError(ErrorCode::Unsupported, path + ": dtype " + descr +
                                                     " is not supported (uint8, int8, int32, int64, float32, "
                                                     "float64; little-endian)");
    NpyArray array;
    array.dtype = dtype->second;
    if (!parseShape(shapeText, array.shape))
        return makeError(ErrorCode::Parse, path + ": cannot parse shape " + shapeText);
    const std::optional<int64_t> count = checkedNumel(array.shape);
    const std::optional<int64_t> bytes = count ? checkedMul(*count, dtypeSize(array.dtype)) : std::nullopt;
    if (!bytes)
        return makeError(ErrorCode::Parse, path + ": shape " + shapeText +
                                               " holds more values than a 64-bit size can count; the header is corrupt");
    // Compare with the file before allocating: a corrupt header must not make Lathe reserve gigabytes.
    const int64_t dataStart = int64_t(in.tellg());
    std::error_code ec;
    const auto fileSize = std::filesystem::file_size(path, ec);
    if (ec || dataStart < 0) return makeError(ErrorCode::Io, path + ": cannot read the file size");
    const int64_t available = int64_t(fileSize) - dataStart;
    if (*bytes > available)
        return makeError(ErrorCode::Parse, path + ": truncated (header field 'shape' " + shapeText + " of " + descr +
                                               " needs " + std::to_string(*bytes) + " data bytes, the file has " +
                                               std::to_string(std::max<int64_t>(available, 0)) + ")");
    array.bytes.resize(size_t(*bytes));
    in.read(reinterpret_cast<char*>(array.bytes.data()), *bytes);
    if (in.gcount() != *bytes)
        return makeError(ErrorCode::Io, path + ": could not read " + std::to_string(*bytes) + " data bytes");
    return array;
}

}  // namespace lathe
