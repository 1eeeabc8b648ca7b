#pragma once
// PROTOCOL §8/§14 FIX: received text is printed only after removing control characters and terminal escape
// sequences (ANSI injection), and after replacing invalid UTF-8.

#include <string>
#include <string_view>

namespace mk::session {

// Removes C0/C1 controls, DEL and ESC sequences (CSI, OSC, two-byte); tabs become spaces; invalid UTF-8
// becomes U+FFFD. Printable UTF-8 (any language) is kept as is.
std::string display_text(std::string_view received);

}  // namespace mk::session
