#pragma once
// PROTOCOL §2 "How the original verifies": the signature is the raw last token, the signed bytes the rest.

#include <optional>
#include <string_view>

namespace mk::wire {

struct signed_parts {
  std::string_view text;       // the signed bytes: keyword up to (not including) the separating space(s)
  std::string_view signature;  // the last token, NOT unescaped (base64 has no escapes anyway)
};

// Split at the LAST 0x20; trim trailing unescaped spaces from the prefix (a prefix ending in "\ " keeps that
// space). Linear time, never hangs. nullopt when there is no space, or the signature or text is empty.
std::optional<signed_parts> split_signed(std::string_view raw_line);

}  // namespace mk::wire
