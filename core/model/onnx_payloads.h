#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lathe {

// Where the raw_data of one initializer lies in the model file's bytes.
struct InitializerPayload {
    int initializer = -1;  // index in GraphProto.initializer, in file order
    std::string_view bytes;
};

// An ONNX file's protobuf with the large initializer payloads cut out: `message` parses as the same ModelProto
// except that those initializers have no raw_data; `payloads` says where each one's bytes are in the file.
struct SplitModel {
    std::string message;
    std::vector<InitializerPayload> payloads;
};

// Protobuf copies every bytes field into a string of its own; for a model of large weights that copy (a fresh
// allocation the size of the model) was most of the time to open it. Splitting the payloads off lets the reader
// convert them straight from the mapped file. Walks the wire format of ModelProto.graph (field 7),
// GraphProto.initializer (5) and TensorProto.raw_data (9) only; payloads of at least `minBytes` are cut. Returns
// nothing for anything it does not expect (a malformed varint or length, a group, a repeated raw_data, nothing to
// cut): the caller then parses the file whole, and protobuf reports what is wrong.
std::optional<SplitModel> splitInitializerPayloads(std::string_view file, size_t minBytes);

}  // namespace lathe
