#include "actors/embed_config.hpp"

namespace mk {

namespace {

config::action to_internal(mokaccino::policy_action a) {
  switch (a) {
    case mokaccino::policy_action::accept: return config::action::accept;
    case mokaccino::policy_action::refuse: return config::action::refuse;
    case mokaccino::policy_action::prompt: break;
  }
  return config::action::prompt;
}

config::policy to_internal(const mokaccino::policy& p) { return {p.whitelist, to_internal(p.default_action)}; }

}  // namespace

config::node_config internal_config(const mokaccino::node_config& c) {
  config::node_config n;
  n.username = c.username;
  n.port = c.port;
  n.connection = to_internal(c.connection);
  n.encrypt_by_default = c.encrypt_by_default;
  n.require_encryption = c.require_encryption;
  n.audio = to_internal(c.audio);
  n.threshold = c.threshold;
  n.audio_input = c.audio_input;
  n.audio_output = c.audio_output;
  n.file = to_internal(c.file);
  n.download_dir = c.download_dir.string();
  n.max_size = c.max_file_size;
  n.keep_partial_days = c.keep_partial_days;
  n.complexity = c.complexity;
  return n;
}

}  // namespace mk
