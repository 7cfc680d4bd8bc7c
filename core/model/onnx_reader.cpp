#include "core/model/onnx_reader.h"

#include "core/model/onnx_inference_guards.h"
#include "core/model/onnx_payloads.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>

#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

namespace lathe {

namespace fs = std::filesystem;

namespace {

// Initializer payloads of at least this size are converted straight from the mapped file (onnx_payloads.h).
constexpr size_t kSplitPayloadBytes = size_t(64) << 10;

float halfToFloat(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400)) {
                mantissa <<= 1;
                --exponent;
            }
            mantissa &= 0x3ff;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(bits);
}

float bfloat16ToFloat(uint16_t b) { return std::bit_cast<float>(uint32_t(b) << 16); }

template <class T>
T loadLE(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

Error modelError(const std::string& path, ErrorCode code, const std::string& what) {
    return makeError(code, path + ": " + what);
}

// Dims as stored, negative ones included (shapeToString shows those as '?').
std::string dimsToString(std::span<const int64_t> dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

// `n` floats copied from `bytes` (little-endian float32). Faulting in the fresh pages of a large model one by one
// was most of the time it took to read it (each fault costs far more under a hypervisor that shadows page tables), so
// a large buffer is backed by transparent huge pages where the kernel offers them on request (madvise mode) and
// faulted in by one call (MADV_POPULATE_WRITE, Linux 5.14+; ignored where unknown) before the copy.
FloatBuffer copyFloats(const char* bytes, size_t n) {
    FloatBuffer v;
    v.reserve(n);
#ifdef MADV_HUGEPAGE
    const auto madviseAligned = [&](uintptr_t alignment, int advice) {
        const uintptr_t begin = (reinterpret_cast<uintptr_t>(v.data()) + alignment - 1) & ~(alignment - 1);
        const uintptr_t end = reinterpret_cast<uintptr_t>(v.data() + n) & ~(alignment - 1);
        if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, advice);
    };
    constexpr uintptr_t kHuge = uintptr_t(2) << 20;
    constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE, missing from older headers
    if (n * sizeof(float) >= 2 * kHuge) madviseAligned(kHuge, MADV_HUGEPAGE);
    if (n * sizeof(float) >= kSplitPayloadBytes) madviseAligned(4096, kPopulateWrite);
#endif
    v.resize(n);
    std::memcpy(v.data(), bytes, n * sizeof(float));
    return v;
}

// Converts a TensorProto whose data is inline (raw_data or typed fields) into a neutral Tensor.
// `payload`: the tensor's raw_data when the reader cut it off the message (onnx_payloads.h), else empty.
Result<Tensor> convertTensor(const onnx::TensorProto& proto, const std::string& path, std::string_view payload = {}) {
    Tensor t;
    t.name = proto.name();
    t.dtype = DType(proto.data_type());
    t.shape.assign(proto.dims().begin(), proto.dims().end());
    for (int64_t d : t.shape)
        if (d < 0)
            return modelError(path, ErrorCode::InvalidModel,
                              "tensor '" + t.name + "' has a negative dimension " + shapeToString(t.shape));
    const std::optional<int64_t> count = checkedNumel(t.shape);
    if (!count || !checkedMul(*count, std::max(dtypeSize(t.dtype), 1)))
        return modelError(path, ErrorCode::InvalidModel,
                          "tensor '" + t.name + "' has dims " + dimsToString(t.shape) +
                              " whose product overflows a 64-bit size; the file is corrupt");
    const int64_t n = *count;
    const bool isInt = isIntegerType(t.dtype);
    auto sizeMismatch = [&](int64_t got) {
        return modelError(path, ErrorCode::InvalidModel,
                          "tensor '" + t.name + "' has shape " + shapeToString(t.shape) + " (" + std::to_string(n) +
                              " values) but holds " + std::to_string(got) + " values");
    };
    if (t.dtype == DType::String) {
        t.strings.assign(proto.string_data().begin(), proto.string_data().end());
        return t;
    }
    const bool hasRaw = !payload.empty() || proto.has_raw_data();
    const std::string_view raw = payload.empty() ? std::string_view(proto.raw_data()) : payload;
    if (hasRaw && isFourBitType(t.dtype)) {
        if (int64_t(raw.size()) != storedBytes(t.dtype, n)) return sizeMismatch(2 * int64_t(raw.size()));
        t.data.resize(size_t(n));
        t.ints.resize(size_t(n));
        for (int64_t i = 0; i < n; ++i) {
            const uint8_t nibble = (uint8_t(raw[size_t(i / 2)]) >> (4 * (i % 2))) & 0x0F;
            const int64_t v = t.dtype == DType::Int4 && nibble >= 8 ? int64_t(nibble) - 16 : int64_t(nibble);
            t.ints[size_t(i)] = v;
            t.data[size_t(i)] = float(v);
        }
        return t;
    }
    if (hasRaw) {
        const int es = dtypeSize(t.dtype);
        if (es == 0)
            return modelError(path, ErrorCode::Unsupported,
                              "tensor '" + t.name + "' has unsupported element type " + std::to_string(proto.data_type()));
        if (int64_t(raw.size()) != n * es) return sizeMismatch(int64_t(raw.size()) / es);
        if (t.dtype == DType::Float && std::endian::native == std::endian::little) {
            t.data = copyFloats(raw.data(), size_t(n));
            return t;
        }
        t.data.resize(size_t(n));
        if (isInt) t.ints.resize(size_t(n));
        const char* p = raw.data();
        for (int64_t i = 0; i < n; ++i, p += es) {
            double v = 0;
            int64_t iv = 0;
            switch (t.dtype) {
                case DType::Float: v = loadLE<float>(p); break;
                case DType::Double: v = loadLE<double>(p); break;
                case DType::Float16: v = halfToFloat(loadLE<uint16_t>(p)); break;
                case DType::BFloat16: v = bfloat16ToFloat(loadLE<uint16_t>(p)); break;
                case DType::Int8: iv = loadLE<int8_t>(p); break;
                case DType::UInt8: iv = loadLE<uint8_t>(p); break;
                case DType::Bool: iv = loadLE<uint8_t>(p) != 0; break;
                case DType::Int16: iv = loadLE<int16_t>(p); break;
                case DType::UInt16: iv = loadLE<uint16_t>(p); break;
                case DType::Int32: iv = loadLE<int32_t>(p); break;
                case DType::UInt32: iv = loadLE<uint32_t>(p); break;
                case DType::Int64: iv = loadLE<int64_t>(p); break;
                case DType::UInt64: iv = int64_t(loadLE<uint64_t>(p)); break;
                default:
                    return modelError(path, ErrorCode::Unsupported,
                                      "tensor '" + t.name + "' has unsupported element type " +
                                          std::string(dtypeName(t.dtype)));
            }
            if (isInt) {
                t.ints[size_t(i)] = iv;
                v = double(iv);
            }
            t.data[size_t(i)] = float(v);
        }
        return t;
    }
    switch (t.dtype) {
        case DType::Float:
            if (proto.float_data_size() != n) return sizeMismatch(proto.float_data_size());
            t.data.assign(proto.float_data().begin(), proto.float_data().end());
            break;
        case DType::Double:
            if (proto.double_data_size() != n) return sizeMismatch(proto.double_data_size());
            for (double v : proto.double_data()) t.data.push_back(float(v));
            break;
        case DType::Float16:
        case DType::BFloat16:
            if (proto.int32_data_size() != n) return sizeMismatch(proto.int32_data_size());
            for (int32_t v : proto.int32_data())
                t.data.push_back(t.dtype == DType::Float16 ? halfToFloat(uint16_t(v)) : bfloat16ToFloat(uint16_t(v)));
            break;
        case DType::Int8: case DType::UInt8: case DType::Int16: case DType::UInt16: case DType::Int32:
        case DType::Bool:
            if (proto.int32_data_size() != n) return sizeMismatch(proto.int32_data_size());
            t.ints.assign(proto.int32_data().begin(), proto.int32_data().end());
            break;
        case DType::Int64:
            if (proto.int64_data_size() != n) return sizeMismatch(proto.int64_data_size());
            t.ints.assign(proto.int64_data().begin(), proto.int64_data().end());
            break;
        case DType::UInt32: case DType::UInt64:
            if (proto.uint64_data_size() != n) return sizeMismatch(proto.uint64_data_size());
            for (uint64_t v : proto.uint64_data()) t.ints.push_back(int64_t(v));
            break;
        default:
            return modelError(path, ErrorCode::Unsupported,
                              "tensor '" + t.name + "' has unsupported element type " +
                                  std::string(dtypeName(t.dtype)));
    }
    if (isInt) t.data.assign(t.ints.begin(), t.ints.end());
    return t;
}

// A non-negative decimal integer that fits int64 (the whole text), else nullopt.
std::optional<int64_t> parseSize(const std::string& text) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v < 0) return std::nullopt;
    return v;
}

// Replaces an external-data reference by the bytes it points to, so the rest of the reader sees inline data; adds the
// data file to `files`.
Status loadExternalData(onnx::TensorProto& proto, const fs::path& modelDir, const std::string& path,
                        std::set<std::string>& files) {
    const std::string tensorName = "tensor '" + proto.name() + "'";
    std::string location;
    std::optional<int64_t> offset, length;
    for (const auto& entry : proto.external_data()) {
        if (entry.key() == "location") {
            location = entry.value();
        } else if (entry.key() == "offset" || entry.key() == "length") {
            auto v = parseSize(entry.value());
            if (!v)
                return modelError(path, ErrorCode::InvalidModel,
                                  tensorName + ": external data field '" + entry.key() + "' is \"" + entry.value() +
                                      "\", not a byte count (a non-negative integer that fits 64 bits)");
            (entry.key() == "offset" ? offset : length) = v;
        }
    }
    if (location.empty())
        return modelError(path, ErrorCode::InvalidModel, tensorName + " is marked external but names no location");
    const fs::path relative(location);
    bool escapes = relative.is_absolute() || location.find('\0') != std::string::npos;
    for (const auto& part : relative) escapes |= part == "..";
    if (escapes)
        return modelError(path, ErrorCode::InvalidModel,
                          tensorName + ": external data location '" + location +
                              "' is not a path inside the model's folder (ONNX requires a relative path without ..)");
    fs::path dataPath = modelDir / relative;
    std::error_code ec;
    if (!fs::is_regular_file(dataPath, ec))
        return modelError(path, ErrorCode::FileNotFound,
                          tensorName + " refers to external data file '" + location + "', which is missing (expected at " +
                              dataPath.string() + "); keep the data file next to the model");
    files.insert(dataPath.string());
    const auto rawSize = fs::file_size(dataPath, ec);
    if (ec) return modelError(path, ErrorCode::Io, tensorName + ": cannot read the size of '" + location + "'");
    const int64_t fileSize = int64_t(rawSize);
    const int64_t begin = offset.value_or(0);
    if (!length) {
        const int64_t elementBytes = dtypeSize(DType(proto.data_type()));
        std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
        const std::optional<int64_t> count = checkedNumel(dims);
        if (!count)
            return modelError(path, ErrorCode::InvalidModel,
                              tensorName + " has dims " + dimsToString(dims) +
                                  (std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; })
                                       ? " with a negative dimension"
                                       : " whose product overflows a 64-bit size") +
                                  " and no external data 'length'");
        length = isFourBitType(DType(proto.data_type())) ? std::optional<int64_t>((*count + 1) / 2)
                                                           : checkedMul(*count, elementBytes);
        if (!length)
            return modelError(path, ErrorCode::InvalidModel,
                              tensorName + " has dims " + dimsToString(dims) + " whose byte size overflows 64 bits");
    }
    if (begin > fileSize || *length > fileSize - begin)
        return modelError(path, ErrorCode::InvalidModel,
                          tensorName + " reads " + std::to_string(*length) + " bytes at offset " +
                              std::to_string(begin) + " of '" + location + "', which has only " +
                              std::to_string(fileSize) + " bytes (external data 'offset'/'length')");
    std::ifstream in(dataPath, std::ios::binary);
    std::string bytes(size_t(*length), '\0');
    in.seekg(begin);
    in.read(bytes.data(), *length);
    if (!in)
        return modelError(path, ErrorCode::Io, tensorName + ": could not read external data file '" + location + "'");
    proto.set_raw_data(std::move(bytes));
    proto.clear_external_data();
    proto.set_data_location(onnx::TensorProto_DataLocation_DEFAULT);
    return Ok{};
}

void fillValueInfo(ValueInfo& v, const onnx::TypeProto& type) {
    if (!type.has_tensor_type()) return;
    const auto& tt = type.tensor_type();
    v.dtype = DType(tt.elem_type());
    if (!tt.has_shape()) return;
    v.hasShape = true;
    v.shape.clear();
    v.dimParams.clear();
    for (const auto& d : tt.shape().dim()) {
        v.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
        v.dimParams.push_back(d.has_dim_param() ? d.dim_param() : std::string());
    }
}

Result<Attribute> convertAttribute(const onnx::AttributeProto& proto, const std::string& path) {
    Attribute a;
    using AP = onnx::AttributeProto;
    switch (proto.type()) {
        case AP::FLOAT: a.kind = Attribute::Kind::Float; a.f = proto.f(); break;
        case AP::INT: a.kind = Attribute::Kind::Int; a.i = proto.i(); break;
        case AP::STRING: a.kind = Attribute::Kind::String; a.s = proto.s(); break;
        case AP::FLOATS: a.kind = Attribute::Kind::Floats; a.floats.assign(proto.floats().begin(), proto.floats().end()); break;
        case AP::INTS: a.kind = Attribute::Kind::Ints; a.ints.assign(proto.ints().begin(), proto.ints().end()); break;
        case AP::STRINGS: a.kind = Attribute::Kind::Strings; a.strings.assign(proto.strings().begin(), proto.strings().end()); break;
        case AP::TENSOR: {
            auto t = convertTensor(proto.t(), path);
            if (!t) return t.error();
            a.kind = Attribute::Kind::Tensor;
            a.tensor = std::make_shared<Tensor>(std::move(t.value()));
            break;
        }
        case AP::GRAPH: case AP::GRAPHS: a.kind = Attribute::Kind::Graph; break;
        default: a.kind = Attribute::Kind::Other; break;
    }
    return a;
}

// Attributes that ONNX's shape inference divides by or sizes loops with, checked first: libonnx 1.12 trusts them
// (a 0 stride is a SIGFPE). Subgraphs (If/Loop/Scan bodies) are checked too. Errors name the node and attribute.
class AttributeChecker {
public:
    explicit AttributeChecker(const std::string& path) : m_path(path) {}

    Status graph(const onnx::GraphProto& g) {
        std::map<std::string, std::vector<int64_t>> weights;
        for (const auto& init : g.initializer()) weights[init.name()].assign(init.dims().begin(), init.dims().end());
        for (int i = 0; i < g.node_size(); ++i) {
            const auto& node = g.node(i);
            if (auto st = this->node(node, i, weights); !st) return st;
            for (const auto& attr : node.attribute()) {
                if (attr.has_g())
                    if (auto st = graph(attr.g()); !st) return st;
                for (const auto& sub : attr.graphs())
                    if (auto st = graph(sub); !st) return st;
            }
        }
        return Ok{};
    }

private:
    static constexpr int64_t kMaxAttr = int64_t(1) << 31;

    Status node(const onnx::NodeProto& node, int index, const std::map<std::string, std::vector<int64_t>>& weights) {
        const std::string& op = node.op_type();
        const bool onnxDomain = node.domain().empty() || node.domain() == "ai.onnx";
        if (!onnxDomain) return Ok{};
        const std::string who = "node '" + (node.name().empty() ? op + "_" + std::to_string(index) : node.name()) +
                                "' (" + op + ")";
        auto fail = [&](const std::string& attr, const std::string& what) {
            return modelError(m_path, ErrorCode::InvalidModel, who + ": attribute '" + attr + "' " + what);
        };
        auto ints = [&](const char* name) -> const onnx::AttributeProto* {
            for (const auto& a : node.attribute())
                if (a.name() == name) return &a;
            return nullptr;
        };
        auto listText = [](const onnx::AttributeProto& a) {
            std::vector<int64_t> v(a.ints().begin(), a.ints().end());
            return dimsToString(v);
        };
        if (isSpatialConvOrPool(op)) {
            // Spatial rank: from kernel_shape, else from a weight initializer (Conv-like ops), when known.
            std::optional<size_t> spatial;
            if (const auto* k = ints("kernel_shape")) spatial = size_t(k->ints_size());
            const int weightInput = convWeightInput(op);
            const std::vector<int64_t>* w = nullptr;
            if (weightInput >= 0 && node.input_size() > weightInput) {
                auto it = weights.find(node.input(weightInput));
                if (it != weights.end()) w = &it->second;
            }
            if (!spatial && w && w->size() >= 2) spatial = w->size() - 2;
            for (const char* name : {"strides", "dilations", "kernel_shape"}) {
                const auto* a = ints(name);
                if (!a) continue;
                for (int64_t v : a->ints())
                    if (v <= 0 || v > kMaxAttr)
                        return fail(name, "is " + listText(*a) + "; every value must be a positive integer");
                if (spatial && size_t(a->ints_size()) != *spatial)
                    return fail(name, "has " + std::to_string(a->ints_size()) + " values " + listText(*a) +
                                          " but the node has " + std::to_string(*spatial) + " spatial axes");
            }
            if (const auto* a = ints("pads")) {
                for (int64_t v : a->ints())
                    if (v < 0 || v > kMaxAttr)
                        return fail("pads", "is " + listText(*a) + "; every value must be an integer >= 0");
                if (a->ints_size() % 2 != 0 || (spatial && size_t(a->ints_size()) != 2 * *spatial))
                    return fail("pads", "has " + std::to_string(a->ints_size()) + " values " + listText(*a) +
                                            "; it needs two per spatial axis (begin values, then end values)" +
                                            (spatial ? ", " + std::to_string(2 * *spatial) + " here" : ""));
            }
            if (w && w->size() < 3)
                return modelError(m_path, ErrorCode::InvalidModel,
                                  who + ": weight '" + node.input(weightInput) + "' is " + dimsToString(*w) +
                                      "; a convolution's weight has a kernel axis at least ([out, in, k...])");
            for (const char* name : {"output_padding", "output_shape"})
                if (const auto* a = ints(name)) {
                    for (int64_t v : a->ints())
                        if (v < 0 || v > kMaxAttr)
                            return fail(name, "is " + listText(*a) + "; every value must be an integer >= 0");
                    // libonnx's ConvTranspose inference indexes the kernel by these (it crashed on a mismatch).
                    if (spatial && size_t(a->ints_size()) != *spatial)
                        return fail(name, "has " + std::to_string(a->ints_size()) + " values " + listText(*a) +
                                              " but the node has " + std::to_string(*spatial) + " spatial axes");
                }
            if (const auto* a = ints("group")) {
                if (a->i() <= 0 || a->i() > kMaxAttr)
                    return fail("group", "is " + std::to_string(a->i()) + "; it must be a positive integer");
                if (w && !w->empty()) {
                    // Conv: W is [M, C/group, k...] and M must divide by group; ConvTranspose: W is [C, M/group, k...].
                    const int64_t channels = (*w)[0];
                    if (channels % a->i() != 0)
                        return fail("group", "is " + std::to_string(a->i()) + ", which does not divide the " +
                                                 std::to_string(channels) + (op == "ConvTranspose" ? " input" : " output") +
                                                 " channels of weight '" + node.input(weightInput) + "'");
                }
            }
            if (const auto* a = ints("p"); a && op.find("LpPool") != std::string::npos && a->i() <= 0)
                return fail("p", "is " + std::to_string(a->i()) + "; it must be a positive integer");
        }
        if (op == "SpaceToDepth" || op == "DepthToSpace")
            if (const auto* a = ints("blocksize"); a && (a->i() <= 0 || a->i() > kMaxAttr))
                return fail("blocksize", "is " + std::to_string(a->i()) + "; it must be a positive integer");
        if (op == "LRN")
            if (const auto* a = ints("size"); a && (a->i() <= 0 || a->i() > kMaxAttr))
                return fail("size", "is " + std::to_string(a->i()) + "; it must be a positive integer");
        if (op == "Split")
            if (const auto* a = ints("split"))
                for (int64_t v : a->ints())
                    if (v < 0 || v > (int64_t(1) << 62))
                        return fail("split", "is " + listText(*a) + "; every value must be an integer >= 0");
        return Ok{};
    }

    const std::string& m_path;
};

// A read-only mapping of a whole file (none when mmap fails: the caller reads the file instead). It lives only while
// readOnnxModel runs. Like every mmap reader, it relies on no other process truncating the file in that window: a page
// cut off the file's end would raise SIGBUS on its first touch. MAP_POPULATE touches every page at map time, which
// keeps that window to the parse itself.
class MappedFile {
public:
    MappedFile(int fd, size_t size) : m_size(size) {
        void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) m_data = static_cast<const char*>(p);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile() {
        if (m_data) ::munmap(const_cast<char*>(m_data), m_size);
    }
    bool ok() const { return m_data != nullptr; }
    std::string_view bytes() const { return {m_data, m_size}; }

private:
    const char* m_data = nullptr;
    size_t m_size = 0;
};

struct ParsedModel {
    onnx::ModelProto model;
    std::unique_ptr<MappedFile> file;             // holds the bytes that `payloads` point into
    std::vector<std::string_view> payloadOf;      // per initializer index: its raw_data when cut off, else empty
};

Result<ParsedModel> parseModelFile(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        return makeError(ErrorCode::FileNotFound, path + ": file not found");
    if (fs::is_directory(path, ec))
        return makeError(ErrorCode::InvalidArgument, path + ": is a directory, not an ONNX model file");
    auto size = fs::file_size(path, ec);
    if (ec) return modelError(path, ErrorCode::Io, "cannot read file size: " + ec.message());
    if (size == 0) return modelError(path, ErrorCode::Parse, "file is empty (0 bytes); it is not an ONNX model");
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return modelError(path, ErrorCode::Io, std::string("cannot open: ") + std::strerror(errno));
    ParsedModel parsedModel;
    onnx::ModelProto& model = parsedModel.model;
    bool parsed = false;
    auto mapped = std::make_unique<MappedFile>(fd, size_t(size));
    std::optional<SplitModel> split;
    if (mapped->ok() && size <= uintmax_t(INT_MAX)) split = splitInitializerPayloads(mapped->bytes(), kSplitPayloadBytes);
    if (split) {
        parsed = model.ParseFromString(split->message);
        const int initializers = model.has_graph() ? model.graph().initializer_size() : 0;
        parsedModel.payloadOf.resize(size_t(initializers));
        for (const InitializerPayload& payload : split->payloads)
            if (payload.initializer < initializers) parsedModel.payloadOf[size_t(payload.initializer)] = payload.bytes;
        parsedModel.file = std::move(mapped);
    } else if (mapped->ok() && size <= uintmax_t(INT_MAX)) {
        // The split declined (a layout it does not walk): protobuf parses the whole mapping.
        google::protobuf::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(mapped->bytes().data()),
                                                     int(size));
        coded.SetTotalBytesLimit(INT_MAX);
        parsed = model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    } else {
        mapped.reset();
        google::protobuf::io::FileInputStream fileStream(fd);
        google::protobuf::io::CodedInputStream coded(&fileStream);
        coded.SetTotalBytesLimit(INT_MAX);
        parsed = model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    }
    ::close(fd);
    if (!parsed)
        return modelError(path, ErrorCode::Parse,
                          "not a valid ONNX model: the file is not ONNX protobuf data, or it is truncated or corrupt (" + std::to_string(size) +
                              " bytes read)");
    if (!model.has_graph() || model.ir_version() <= 0)
        return modelError(path, ErrorCode::Parse,
                          "not an ONNX model: the file parses but has no graph or no IR version");
    return parsedModel;
}

}  // namespace

// Exporters wrap shared constants in Identity (torch deduplicates equal initializers, e.g. zero biases) or Dropout
// nodes; each such node becomes a constant of its own under its output's name, so every layer owns its weights
// and the layer table lists layers, not wrappers.
static void foldConstantIdentities(Graph& graph) {
    std::map<std::string, int> uses;
    for (const Node& n : graph.nodes)
        for (const auto& in : n.inputs) ++uses[in];
    const std::set<std::string> outputs(graph.outputs.begin(), graph.outputs.end());
    std::vector<Node> kept;
    kept.reserve(graph.nodes.size());
    for (Node& n : graph.nodes) {
        const bool wrapper = (n.opType == "Identity" || n.opType == "Dropout") && n.domain.empty() &&
                             !n.inputs.empty() && graph.initializers.count(n.inputs[0]) && !n.outputs.empty() &&
                             !n.outputs[0].empty() && !outputs.count(n.outputs[0]) &&
                             !graph.initializers.count(n.outputs[0]) &&
                             (n.outputs.size() < 2 || n.outputs[1].empty() || !uses.count(n.outputs[1])) &&
                             (n.opType == "Identity" || n.inputs.size() < 3 || n.inputs[2].empty());
        if (!wrapper) {
            kept.push_back(std::move(n));
            continue;
        }
        Tensor copy = graph.initializers.at(n.inputs[0]);
        copy.name = n.outputs[0];
        ValueInfo& v = graph.values[copy.name];
        v.name = copy.name;
        v.dtype = copy.dtype;
        v.hasShape = true;
        v.shape = copy.shape;
        v.dimParams.assign(v.shape.size(), {});
        graph.initializers[copy.name] = std::move(copy);
        if (--uses[n.inputs[0]] == 0 && std::find(graph.outputs.begin(), graph.outputs.end(), n.inputs[0]) ==
                                            graph.outputs.end()) {
            graph.initializers.erase(n.inputs[0]);
            graph.values.erase(n.inputs[0]);
        }
    }
    graph.nodes = std::move(kept);
}

Result<Graph> readOnnxModel(const std::string& path, const ProgressFn& progress) {
    const auto cancelled = [&] { return makeError(ErrorCode::Cancelled, path + ": reading cancelled"); };
    if (!reportProgress(progress, 0.f, "reading file")) return cancelled();
    auto parsed = parseModelFile(path);
    if (!parsed) return parsed.error();
    onnx::ModelProto& model = parsed->model;
    const fs::path modelDir = fs::path(path).parent_path();

    onnx::GraphProto* gp = model.mutable_graph();
    std::set<std::string> externalFiles;
    for (auto& init : *gp->mutable_initializer())
        if (init.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
            if (auto st = loadExternalData(init, modelDir, path, externalFiles); !st) return st.error();
    for (auto& node : *gp->mutable_node())
        for (auto& attr : *node.mutable_attribute())
            if (attr.has_t() && attr.t().data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
                if (auto st = loadExternalData(*attr.mutable_t(), modelDir, path, externalFiles); !st)
                    return st.error();

    Graph graph;
    graph.sourcePath = path;
    graph.externalDataFiles.assign(externalFiles.begin(), externalFiles.end());
    graph.name = gp->name();
    graph.producerName = model.producer_name();
    graph.producerVersion = model.producer_version();
    graph.irVersion = model.ir_version();
    for (const auto& op : model.opset_import()) {
        std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
        graph.opsetImports[domain] = op.version();
    }
    if (graph.opsetImports.count("")) graph.opset = graph.opsetImports[""];

    if (!reportProgress(progress, 0.4f, "inferring shapes")) return cancelled();
    if (auto st = AttributeChecker(path).graph(*gp); !st) return st.error();
    guardShapeInference();
    try {
        onnx::ShapeInferenceOptions options(false, 0, true);
        onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception& e) {
        graph.warnings.push_back(path + ": shape inference stopped early (" + std::string(e.what()) +
                                 "); some shapes and MACs are unknown");
    }

    if (!reportProgress(progress, 0.5f, "converting weights")) return cancelled();
    // Initializers convert in parallel (for a large model most of the read is faulting in and filling fresh weight
    // memory); errors, warnings and the graph are then built in file order, as a serial read would.
    const int initCount = gp->initializer_size();
    struct Converted {
        std::optional<Result<Tensor>> tensor;
        int64_t nonFinite = 0;
    };
    std::vector<Converted> converted(static_cast<size_t>(initCount));
    std::atomic<bool> stop = false, cancel = false;
    std::atomic<int> done = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int initIndex = 0; initIndex < initCount; ++initIndex) {
        if (stop.load(std::memory_order_relaxed)) continue;
        Converted& out = converted[size_t(initIndex)];
        const std::string_view payload =
            size_t(initIndex) < parsed->payloadOf.size() ? parsed->payloadOf[size_t(initIndex)] : std::string_view();
        out.tensor = convertTensor(gp->initializer(initIndex), path, payload);
        if (!*out.tensor) {
            stop = true;
            continue;
        }
        // The proto's copy is not read again: freed now, a large model does not hold its weights twice.
        std::string().swap(*gp->mutable_initializer(initIndex)->mutable_raw_data());
        for (float v : (*out.tensor)->data) out.nonFinite += !std::isfinite(v);
        const int finished = ++done;
        if (omp_get_thread_num() == 0 &&
            !reportProgress(progress, 0.5f + 0.4f * float(finished) / float(initCount), "converting weights"))
            stop = cancel = true;
    }
    if (cancel) return cancelled();
    std::set<std::string> initNames;
    for (Converted& c : converted) {
        if (!c.tensor) continue;  // skipped after another initializer failed: that error is returned below
        Result<Tensor>& t = *c.tensor;
        if (!t) return t.error();
        if (t->name.empty()) return modelError(path, ErrorCode::InvalidModel, "an initializer has no name");
        if (c.nonFinite)
            graph.warnings.push_back(path + ": initializer '" + t->name + "' holds " + std::to_string(c.nonFinite) +
                                     " NaN or infinite values");
        ValueInfo v;
        v.name = t->name;
        v.dtype = t->dtype;
        v.hasShape = true;
        v.shape = t->shape;
        v.dimParams.assign(v.shape.size(), {});
        graph.values[v.name] = v;
        initNames.insert(t->name);
        graph.initializers.emplace(t->name, std::move(t.value()));
    }
    auto addValue = [&](const onnx::ValueInfoProto& vp) {
        ValueInfo& v = graph.values[vp.name()];
        v.name = vp.name();
        if (!initNames.count(vp.name())) fillValueInfo(v, vp.type());
    };
    for (const auto& vp : gp->input()) {
        addValue(vp);
        if (!initNames.count(vp.name())) graph.inputs.push_back(vp.name());
    }
    for (const auto& vp : gp->value_info()) addValue(vp);
    for (const auto& vp : gp->output()) {
        addValue(vp);
        graph.outputs.push_back(vp.name());
    }

    if (!reportProgress(progress, 0.9f, "building graph")) return cancelled();
    std::set<std::string> usedNames;
    for (int i = 0; i < gp->node_size(); ++i) {
        const auto& np = gp->node(i);
        Node node;
        node.opType = np.op_type();
        node.domain = np.domain() == "ai.onnx" ? "" : np.domain();
        node.name = np.name().empty() ? node.opType + "_" + std::to_string(i) : np.name();
        if (!usedNames.insert(node.name).second) {
            node.name += "_" + std::to_string(i);
            usedNames.insert(node.name);
        }
        node.inputs.assign(np.input().begin(), np.input().end());
        node.outputs.assign(np.output().begin(), np.output().end());
        for (const auto& ap : np.attribute()) {
            auto a = convertAttribute(ap, path);
            if (!a) return a.error();
            node.attributes[ap.name()] = std::move(a.value());
        }
        auto opsetIt = graph.opsetImports.find(node.domain);
        int version = opsetIt == graph.opsetImports.end() ? 0 : int(opsetIt->second);
        node.knownOp = version > 0 && onnx::OpSchemaRegistry::Schema(node.opType, version, node.domain) != nullptr;
        if (!node.knownOp) {
            std::string domain = node.domain.empty() ? "ai.onnx" : node.domain;
            graph.warnings.push_back(path + ": node '" + node.name + "' uses op '" + node.opType + "' (domain '" +
                                     domain + "'" + (version ? ", opset " + std::to_string(version) : "") +
                                     ") which ONNX does not define; it is shown but cannot be executed");
        }
        for (const auto& out : node.outputs)
            if (!out.empty() && !graph.values.count(out)) graph.values[out].name = out;
        for (const auto& in : node.inputs)
            if (!in.empty() && !graph.values.count(in)) graph.values[in].name = in;
        graph.nodes.push_back(std::move(node));
    }
    foldConstantIdentities(graph);
    if (!reportProgress(progress, 1.f, "done")) return cancelled();
    return graph;
}

}  // namespace lathe
