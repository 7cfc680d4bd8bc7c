#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lathe {

// UnsupportedOp: the model reads but holds an op that no runtime here can execute (lathe-cli exits 3).
enum class ErrorCode {
    FileNotFound,
    Io,
    Parse,
    InvalidModel,
    Unsupported,
    UnsupportedOp,
    InvalidArgument,
    Cancelled,
    Internal
};

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string message;
};

// Value or Error; core never throws across its API.
template <class T>
class Result {
public:
    Result(T value) : m_state(std::move(value)) {}
    Result(Error error) : m_state(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(m_state); }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<T>(m_state); }
    const T& value() const& { return std::get<T>(m_state); }
    T&& value() && { return std::get<T>(std::move(m_state)); }
    const Error& error() const { return std::get<Error>(m_state); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }

private:
    std::variant<T, Error> m_state;
};

struct Ok {};
using Status = Result<Ok>;

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace lathe
