#pragma once
// What every session of a node shares, immutable after the node starts: who we are, the policies, and the
// handles of the node's other actors. Counters are atomics so sessions on different threads can bump them.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/actor.hpp>

#include "core/config/config.hpp"
#include "actors/verify_budget.hpp"
#include "core/crypto/identity.hpp"
#include "core/limits.hpp"

namespace mk {

class call_router;  // actors/call_media.hpp
class udp_sender;   // actors/udp_socket.hpp
class session_table;  // actors/session_table.hpp

struct node_counters {
  std::atomic<std::uint64_t> datagrams_in{0}, datagrams_out{0};
  std::atomic<std::uint64_t> malformed{0}, unknown_source{0}, rejected{0}, auth_failures{0}, half_open_limit{0};
  std::atomic<std::uint64_t> replayed{0};         // replayed, reflected or too-old sealed datagrams
  std::atomic<std::uint64_t> unauthenticated{0};  // control lines refused: plaintext while encrypted, bad CRYPT signatures
  std::atomic<std::uint64_t> prompts_refused{0};  // connect prompts refused: one per name and per address pending
};

struct node_context {
  explicit node_context(crypto::identity id) : identity(std::move(id)) {}

  std::string username;
  crypto::identity identity;
  config::node_config config;
  std::filesystem::path download_dir;
  bool debug = false;
  caf::actor socket;        // udp socket actor
  std::shared_ptr<udp_sender> sender;  // sends on the socket from any thread (sessions send directly)
  std::shared_ptr<session_table> routes;     // endpoint -> session: the socket delivers a peer's lines directly
  caf::actor known_users;   // known-users actor
  caf::actor node;          // the node (directory) actor
  caf::actor transfers;     // file-transfer service (FILE*), may be invalid
  caf::actor audio;         // audio service (AUDIO*, VOICE), may be invalid
  std::shared_ptr<call_router> calls;  // the current call's media: sessions hand it AUDIO/VOICE (set at start)
  std::shared_ptr<node_counters> counters = std::make_shared<node_counters>();
  // Issue 13: every signature verification of the node takes a token here first (try_take() == false: drop).
  std::shared_ptr<mk::verify_budget> verify_budget =
    std::make_shared<mk::verify_budget>(limits::global_verifies_per_second, limits::global_verify_burst);
};

}  // namespace mk
