#pragma once
// The node (directory) actor and how to start one. The node maps endpoints and usernames to peer sessions,
// spawns a session for a new CONNECT or an outgoing connect, enforces the limits on half-open handshakes and
// pending questions, brokers introductions (§7), fans events out to subscribers, and serves the commands of
// front ends (messages.hpp, "front end -> node").

#include <cstdint>
#include <filesystem>

#include <caf/fwd.hpp>
#include <caf/actor.hpp>

#include "core/config/config.hpp"
#include "core/config/known_users.hpp"
#include "core/crypto/identity.hpp"
#include "core/result.hpp"

namespace mk {

struct node_options {
  config::node_config config;                  // username must be set
  crypto::identity identity;
  config::known_users known_users;             // initial pins
  std::filesystem::path known_users_file;      // "" = pins in memory only
  std::filesystem::path download_dir;
  bool debug = false;                          // debug events
  bool ipv6 = true;                            // dual-stack socket when the OS allows it
};

struct node_handle {
  caf::actor node;
  std::uint16_t port = 0;  // the bound UDP port
};

// Binds the socket and starts the node. Errors: the port cannot be bound.
mk::result<node_handle> spawn_node(caf::actor_system& sys, node_options opts);

}  // namespace mk
