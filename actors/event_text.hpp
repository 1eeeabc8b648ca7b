#pragma once
// Issue 13: the one place every event is made safe to show. The node passes each event through here before any
// subscriber (terminal, JSON, log, an embedding program, an attached remote) sees it, so a peer-controlled string
// (user name, file name, reason, message, endpoint) can never carry terminal escapes, bidi overrides or invalid
// UTF-8 out of the node, whichever actor built the event. The CLI applies the same rule again when it prints.

#include "core/session/display_text.hpp"
#include "mokaccino/types.hpp"

namespace mk {

inline void sanitise_event(mokaccino::event& e) {
  e.peer = session::display_text(e.peer);
  e.text = session::display_lines(e.text);  // our own texts may span lines; a peer's never does (wire lines)
  for (auto& [k, v] : e.fields) {
    k = session::display_text(k);
    v = session::display_text(v);
  }
}

}  // namespace mk
