#pragma once
// The state of the node actor (actors/node.hpp): the glue between its bookkeeping units, which hold no actor and
// are unit-tested alone (peer_directory, prompt_registry, introduction_book, connect_gate), and the messaging.
// Implemented by concern in:
//   node_sessions.cpp       sessions: spawning, half-open limits, inbound datagrams from unknown sources, events
//   node_introductions.cpp  introductions (§7)
//   node_prompts.cpp        questions to the user
//   node_commands.cpp       the front end's commands: connect, forward to a peer or service, lists, keys, stats
//   node.cpp                the timer, shutdown, the message handlers and spawn_node

#include "actors/node.hpp"

#include <optional>
#include <botan/auto_rng.h>
#include <caf/all.hpp>
#include "actors/known_users.hpp"
#include "actors/audio_service.hpp"
#include "actors/call_media.hpp"
#include "actors/connect_gate.hpp"
#include "actors/messages.hpp"
#include "actors/introduction_book.hpp"
#include "actors/node_context.hpp"
#include "actors/peer_directory.hpp"
#include "actors/peer_session.hpp"
#include "actors/prompt_registry.hpp"
#include "actors/transfer_service.hpp"
#include "actors/session_table.hpp"
#include "actors/udp_socket.hpp"
#include "core/crypto/public_key.hpp"
#include "core/limits.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/tokens.hpp"

namespace mk::node_detail {

namespace w = mk::wire;
using caf::actor_clock;

// Resolves one host name on its own thread (getaddrinfo blocks).
inline caf::behavior resolver_actor(std::string host, std::uint16_t port) {
  return {[host, port](connect_host_atom) -> std::string {
    auto ep = resolve_host(host, port);
    return ep ? ep->to_string() : std::string{};
  }};
}

struct node_state {
  static inline const char* name = "mk.node";

  caf::stateful_actor<node_state>* self = nullptr;
  std::shared_ptr<node_context> ctx;
  std::shared_ptr<inbound_backlog> backlog;
  std::uint16_t port = 0;
  Botan::AutoSeeded_RNG rng;
  std::optional<connect_gate> gate;  // CONNECTs under load: budget reserve and cookies (made at start)

  peer_directory directory;   // sessions by endpoint, peers by name, closing sessions, half-open counts
  prompt_registry prompts;    // questions waiting for the user
  introduction_book intros;   // names we asked to be introduced to, introduced peers the user accepted
  std::vector<caf::actor> subscribers;
  // Events published before anyone subscribed (a front end subscribes just after the node starts, and the
  // services may already report: partial files expired, no audio device): kept for the first subscriber.
  static constexpr std::size_t max_before_subscribers = 64;
  std::vector<event> before_subscribers;
  bool ever_subscribed = false;
  bool shutting_down = false;

  // -- events -----------------------------------------------------------------------------------------------

  void publish(event e);
  void info(std::string text, std::string peer = {}) { publish(make_event(event_kind::info, std::move(peer), std::move(text))); }
  void error(std::string text, std::string peer = {}) { publish(make_event(event_kind::error, std::move(peer), std::move(text))); }

  // -- sessions ---------------------------------------------------------------------------------------------

  caf::actor spawn_session(const endpoint& ep, session_options opts, std::string first_line = {});

  void on_session_down(const caf::down_msg& dm);

  // -- inbound datagrams --------------------------------------------------------------------------------------

  void on_datagrams(datagram_batch& batch);

  void on_unknown_source(const endpoint& from, std::string_view line);

  // -- introductions (§7) -----------------------------------------------------------------------------------

  std::string sign_line(w::key_msg m);
  std::string sign_line(w::requested_msg m);

  void send_to(const std::string& user, std::string line);

  // Each from an established peer `from`'s session (messages.hpp); anyone else is ignored.
  void on_intro(const std::string& from, const intro_request& m);
  void on_intro(const std::string& from, const intro_fail& m);
  void on_intro(const std::string& from, const intro_key& m);
  void on_intro(const std::string& from, const intro_requested& m);

  void serve_request(const registered_peer& requester, const std::string& requester_name, const std::string& target);

  template <class Next>
  void pin_introduced(const std::string& user, const crypto::public_key& key, const std::string& via, Next next);

  void on_requested(const std::string& via, const std::string& user, const endpoint& ep,
                    const crypto::public_key& key);

  // -- prompts ----------------------------------------------------------------------------------------------

  // Registers a question and puts it to the user; returns its id (0 = refused: the bound, or the flood guards
  // for a question with an asker, `rp`). `on_yes`: the node's own question's follow-up.
  std::uint64_t ask(prompt_kind kind, const std::string& user, const std::string& text,
                    caf::response_promise rp = {}, std::optional<endpoint> source = std::nullopt,
                    std::function<void()> on_yes = {});

  void answer(std::uint64_t id, bool yes);
  void expire_prompts();  // a question's deadline came (prompt_due_atom)
  void close_prompt(closed_prompt c);

  // A session's or service's question (prompt_atom): answered at once, refused, or put to the user.
  caf::result<bool> on_prompt(prompt_kind kind, const std::string& user, const std::string& text);

  // -- commands ---------------------------------------------------------------------------------------------

  command_reply connect_endpoint(const endpoint& ep, const std::string& expected);

  caf::result<command_reply> connect_host(const std::string& target);

  command_reply connect_name(const std::string& user, const std::string& via);

  template <class Reply, class... Ts>
  caf::result<Reply> forward(const std::string& user, Reply not_connected, Ts&&... xs) {
    auto* peer = directory.peer(user);
    if (!peer)
      return not_connected;
    auto rp = self->make_response_promise<Reply>();
    self->request(peer->session, std::chrono::seconds(5), std::forward<Ts>(xs)...)
      .then([rp](Reply r) mutable { rp.deliver(std::move(r)); },
            [rp, not_connected](caf::error&) mutable { rp.deliver(not_connected); });
    return rp;
  }

  // Forwards a command to a service actor (file transfers, audio) and relays its command_reply.
  template <class... Ts>
  caf::result<command_reply> to_service(const caf::actor& service, const char* what, Ts&&... xs) {
    if (!service)
      return reply_error(std::string{what} + " are not available in this node");
    auto rp = self->make_response_promise<command_reply>();
    self->request(service, std::chrono::seconds(30), std::forward<Ts>(xs)...)
      .then([rp](command_reply r) mutable { rp.deliver(std::move(r)); },
            [rp, what](caf::error&) mutable { rp.deliver(reply_error(std::string{what} + ": no answer")); });
    return rp;
  }

  caf::result<std::vector<peer_info>> user_list();

  static auto store_unavailable(caf::response_promise rp) {
    return [rp](caf::error&) mutable { rp.deliver(reply_error("The known-users store is unavailable")); };
  }

  caf::result<command_reply> key_command(key_op op, const std::string& user, const std::string& key);
  void key_show(caf::typed_response_promise<command_reply> rp, const std::string& user);
  void key_add(caf::typed_response_promise<command_reply> rp, const std::string& user, const std::string& key);
  void key_delete(caf::typed_response_promise<command_reply> rp, const std::string& user);

  node_stats stats() const;

  void on_tick();

  void shutdown();
};

// The node actor alone, on a context its caller completes (sockets, services): spawn_node does that for a real
// node; a deterministic test (tests/actors/node_actor_test.cpp) gives it a loopback socket it reads itself.
caf::actor spawn_node_actor(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                            std::shared_ptr<inbound_backlog> backlog);

}  // namespace mk::node_detail
