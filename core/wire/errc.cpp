#include "core/result.hpp"

namespace mk {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::malformed: return "malformed";
    case errc::unknown_keyword: return "unknown keyword";
    case errc::bad_number: return "bad number";
    case errc::too_long: return "too long";
    case errc::bad_base64: return "bad base64";
    case errc::bad_key: return "bad key";
    case errc::bad_signature: return "bad signature";
    case errc::auth_failed: return "authentication failed";
    case errc::io_error: return "I/O error";
    case errc::config_error: return "configuration error";
    case errc::refused: return "refused";
    case errc::not_found: return "not found";
    case errc::state_error: return "invalid state";
  }
  return "unknown error";
}

}  // namespace mk
