#include "actors/messages.hpp"

#include "core/session/display_text.hpp"

const char* mokaccino::to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::info: return "info";
    case event_kind::error: return "error";
    case event_kind::debug: return "debug";
    case event_kind::connected: return "connected";
    case event_kind::disconnected: return "disconnected";
    case event_kind::message: return "message";
    case event_kind::message_sent: return "message_sent";
    case event_kind::encryption: return "encryption";
    case event_kind::prompt: return "prompt";
    case event_kind::prompt_closed: return "prompt_closed";
    case event_kind::key_changed: return "key_changed";
    case event_kind::transfer: return "transfer";
    case event_kind::call: return "call";
  }
  return "unknown";
}

std::string mokaccino::field(const event& e, const std::string& name) {
  for (auto& [k, v] : e.fields)
    if (k == name)
      return v;
  return {};
}

// Issue 13: THE rule (session::display_text) applied to every string of an event. One copy, public because an
// embedding application (the CLI on an attached node) applies it again to events it did not see made.
void mokaccino::sanitise_event(event& e) {
  e.peer = mk::session::display_text(e.peer);
  e.text = mk::session::display_lines(e.text);  // our own texts may span lines; a peer's never does (wire lines)
  for (auto& [k, v] : e.fields) {
    k = mk::session::display_text(k);
    v = mk::session::display_text(v);
  }
}

namespace mk {

const char* to_string(prompt_kind k) noexcept {
  switch (k) {
    case prompt_kind::connect: return "connect";
    case prompt_kind::file: return "file";
    case prompt_kind::call: return "call";
  }
  return "unknown";
}

std::optional<key_op> key_op_of(std::string_view name) noexcept {
  if (name == "show")
    return key_op::show;
  if (name == "add")
    return key_op::add;
  if (name == "delete")
    return key_op::remove;
  return std::nullopt;
}

std::optional<prompt_kind> prompt_kind_of(std::string_view name) noexcept {
  for (auto k : {prompt_kind::connect, prompt_kind::file, prompt_kind::call})
    if (name == to_string(k))
      return k;
  return std::nullopt;
}

event make_event(event_kind kind, std::string peer, std::string text,
                 std::vector<std::pair<std::string, std::string>> fields) {
  event e;
  e.kind = kind;
  e.peer = std::move(peer);
  e.text = std::move(text);
  e.fields = std::move(fields);
  return e;
}

}  // namespace mk
