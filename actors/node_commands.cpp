// The node: the front end's commands (node_state.hpp).
#include "actors/node_state.hpp"

namespace mk::node_detail {

using namespace std::chrono_literals;

command_reply node_state::connect_endpoint(const endpoint& ep, const std::string& expected) {
  if (!shutting_down && directory.defer_connect(ep, expected))
    return reply_ok("Connecting to " + ep.to_string() + " once the previous session has closed");
  if (directory.has_session(ep))
    return reply_error(ep.to_string() + " is already connected or connecting");
  session_options opts;
  opts.role = session_role::initiator;
  opts.expected_user = expected;
  auto s = spawn_session(ep, std::move(opts));
  self->send(s, initiate_atom::value);
  return reply_ok("Connecting to " + ep.to_string());
}

caf::result<command_reply> node_state::connect_host(const std::string& target) {
  auto hp = split_host_port(target, limits::default_port);
  if (!hp)
    return reply_error("Invalid address \"" + target + "\" (expected host[:port])");
  if (auto ep = endpoint::numeric(hp->first, hp->second))
    return connect_endpoint(*ep, {});
  // Name resolution blocks: do it in a detached actor and come back with the address.
  auto rp = self->make_response_promise<command_reply>();
  auto host = hp->first;
  auto port_no = hp->second;
  auto resolver = self->system().spawn<caf::detached>(resolver_actor, host, port_no);
  self->request(resolver, 30s, connect_host_atom::value)
    .then(
      [this, rp, target, resolver](const std::string& ep_text) mutable {
        self->send_exit(resolver, caf::exit_reason::user_shutdown);
        auto ep = endpoint::parse(ep_text);
        rp.deliver(ep ? connect_endpoint(*ep, {}) : reply_error("Cannot resolve \"" + target + "\""));
      },
      [rp, target](caf::error&) mutable { rp.deliver(reply_error("Cannot resolve \"" + target + "\"")); });
  return rp;
}

command_reply node_state::connect_name(const std::string& user, const std::string& via) {
  if (directory.connected(user))
    return reply_error("User " + user + " is already connected");
  if (user == ctx->username)
    return reply_error("That is us");
  if (!intros.can_request())
    return reply_error("Too many introductions in flight");
  std::vector<std::string> asked;
  for (auto& [name, peer] : directory.peers())
    if (via.empty() || name == via) {
      self->send(peer.session, send_line_atom::value, w::serialize(w::request_msg{user}));
      asked.push_back(name);
    }
  if (asked.empty())
    return reply_error(via.empty() ? "No connected peer can introduce " + user : "User " + via + " is not connected");
  intros.requested(user, self->clock().now());
  std::string list;
  for (auto& a : asked)
    list += (list.empty() ? "" : ", ") + a;
  return reply_ok("Asked " + list + " to introduce " + user);
}

caf::result<std::vector<peer_info>> node_state::user_list() {
  auto rp = self->make_response_promise<std::vector<peer_info>>();
  if (directory.peers().empty()) {
    rp.deliver(std::vector<peer_info>{});
    return rp;
  }
  auto acc = std::make_shared<std::vector<peer_info>>();
  auto left = std::make_shared<std::size_t>(directory.peers().size());
  for (auto& [name, peer] : directory.peers()) {
    auto done = [rp, acc, left]() mutable {
      if (--*left == 0) {
        std::sort(acc->begin(), acc->end(), [](auto& a, auto& b) { return a.user < b.user; });
        rp.deliver(*acc);
      }
    };
    self->request(peer.session, 5s, info_atom::value)
      .then([acc, done](peer_info i) mutable { acc->push_back(std::move(i)); done(); },
            [done](caf::error&) mutable { done(); });
  }
  return rp;
}

caf::result<command_reply> node_state::key_command(key_op op, const std::string& user, const std::string& key) {
  auto rp = self->make_response_promise<command_reply>();
  switch (op) {
    case key_op::show: key_show(rp, user); break;
    case key_op::add: key_add(rp, user, key); break;
    case key_op::remove: key_delete(rp, user); break;
  }
  return rp;
}

void node_state::key_show(caf::typed_response_promise<command_reply> rp, const std::string& user) {
  self->request(ctx->known_users, 5s, key_get_atom::value, user)
    .then([rp, user](bool known, const std::string& k) mutable {
      if (!known) {
        rp.deliver(reply_error("No key pinned for " + user));
        return;
      }
      if (k.empty()) {
        rp.deliver(reply_ok(user + " is blacklisted"));
        return;
      }
      auto pk = crypto::public_key::from_base64(k);
      rp.deliver(reply_ok(user + ": " + k + (pk ? "\nfingerprint: " + pk->fingerprint() : std::string{})));
    }, store_unavailable(rp));
}

void node_state::key_delete(caf::typed_response_promise<command_reply> rp, const std::string& user) {
  self->request(ctx->known_users, 5s, key_del_atom::value, user).then([rp, user](bool ok) mutable {
    rp.deliver(ok ? reply_ok("Key of " + user + " deleted") : reply_error("No key pinned for " + user));
  }, store_unavailable(rp));
}

void node_state::key_add(caf::typed_response_promise<command_reply> rp, const std::string& user, const std::string& key) {
  // §12 FIX: EC keys are accepted (the original demands an RSA-style ':'); only P-521 SPKI is valid.
  auto pk = crypto::public_key::from_base64(key);
  if (!pk && !key.empty()) {
    rp.deliver(reply_error("Invalid key: " + pk.error().message));
    return;
  }
  self->request(ctx->known_users, 5s, key_get_atom::value, user)
    .then([this, rp, user, key](bool known, const std::string&) mutable {
      if (known) {
        rp.deliver(reply_error("A key is already pinned for " + user + " (key delete it first)"));
        return;
      }
      self->request(ctx->known_users, 5s, key_set_atom::value, user, key).then([rp, user, key](bool ok) mutable {
        rp.deliver(ok ? reply_ok(key.empty() ? user + " blacklisted" : "Key of " + user + " added")
                      : reply_error("Cannot store that name"));
      }, store_unavailable(rp));
    }, store_unavailable(rp));
}

node_stats node_state::stats() const {
  node_stats s;
  auto& c = *ctx->counters;
  s.datagrams_in = c.datagrams_in.load();
  s.datagrams_out = c.datagrams_out.load();
  s.malformed = c.malformed.load();
  s.unknown_source = c.unknown_source.load();
  s.rejected = c.rejected.load();
  s.auth_failures = c.auth_failures.load();
  s.replayed = c.replayed.load();
  s.unauthenticated = c.unauthenticated.load();
  s.half_open_limit = c.half_open_limit.load() + backlog->dropped.load();
  s.peers = directory.peers().size();
  s.half_open = directory.half_open();
  s.verifies = ctx->verify_budget->granted();
  s.verify_denied = ctx->verify_budget->denied();
  s.prompts_refused = c.prompts_refused.load();
  s.cookies_sent = gate ? gate->cookies_sent() : 0;
  s.cookies_proven = gate ? gate->proofs() : 0;
  return s;
}

}  // namespace mk::node_detail
