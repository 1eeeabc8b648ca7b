#pragma once
// PROTOCOL §8/§14 FIX: received text is printed only after removing control characters and terminal escape
// sequences (ANSI injection), and after replacing invalid UTF-8.

#include <string>
#include <string_view>

namespace mk::session {

// THE rule for every text a peer controls (names, file names, reasons, messages, endpoints), applied before it
// reaches an event, the terminal, a log or JSON: removes C0/C1 controls, DEL and ESC sequences (CSI, OSC, DCS,
// two-byte), bidi overrides and isolates (U+202A..202E, U+2066..2069) and U+2028/2029; tabs become spaces;
// invalid UTF-8 becomes U+FFFD. Printable UTF-8 (any language) is kept as is. Idempotent.
std::string display_text(std::string_view received);

// The same rule line by line, keeping the LFs between lines (our own multi-line replies, one output line each).
std::string display_lines(std::string_view text);

}  // namespace mk::session
