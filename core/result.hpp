#pragma once
// Errors as values at module boundaries: every core function that can fail on outside input returns
// mk::result<T>. Exceptions (Botan, toml++) are caught inside core and turned into an mk::error.

#include <string>
#include <utility>
#include <variant>

namespace mk {

enum class errc {
  malformed,         // structurally invalid input (bad datagram, bad token count, ...)
  unknown_keyword,   // a keyword this protocol does not know
  bad_number,        // a number that is not strict decimal or is out of range
  too_long,          // a field or datagram over its size limit
  bad_base64,        // invalid characters or non-canonical padding
  bad_key,           // a key that is not a P-521 EC key, or unreadable key material
  bad_signature,     // a signature that does not verify
  auth_failed,       // AEAD tag mismatch
  io_error,          // file system failure
  config_error,      // invalid configuration (message names file, line and key)
  refused,           // an operation refused by policy
  not_found,         // a user, peer or transfer that does not exist
  state_error,       // an operation not valid in the current state
};

const char* to_string(errc code) noexcept;

struct error {
  errc code = errc::malformed;
  std::string message;
};

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

// A value or an error. Deliberately small: ok(), value(), error(), operator*, operator->.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : data_(std::move(value)) {}
  result(mk::error err) : data_(std::move(err)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  const mk::error& error() const& { return std::get<1>(data_); }
  mk::error&& error() && { return std::get<1>(std::move(data_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, mk::error> data_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(mk::error err) : err_(std::move(err)), ok_(false) {}

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const mk::error& error() const& { return err_; }

 private:
  mk::error err_;
  bool ok_ = true;
};

}  // namespace mk
