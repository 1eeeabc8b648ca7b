#pragma once
// The one rule behind every accept/refuse/prompt question (connections, files, calls; PROTOCOL §12): a whitelisted
// user is accepted, anyone else gets the policy's default_action.

#include <string_view>

#include "core/config/config.hpp"

namespace mk::config {

inline action decide(const policy& p, std::string_view user) {
  return p.allows(user) ? action::accept : p.default_action;
}

}  // namespace mk::config
