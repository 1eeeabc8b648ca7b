#include "actors/node.hpp"

#include <map>
#include <optional>
#include <unordered_map>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/known_users.hpp"
#include "actors/audio_service.hpp"
#include "actors/call_media.hpp"
#include "actors/connect_gate.hpp"
#include "actors/event_text.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/peer_session.hpp"
#include "actors/transfer_service.hpp"
#include "actors/session_table.hpp"
#include "actors/udp_socket.hpp"
#include "core/crypto/public_key.hpp"
#include "core/limits.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/messages.hpp"
#include "core/wire/tokens.hpp"

namespace mk {

namespace {

using namespace std::chrono_literals;
namespace w = mk::wire;
using caf::actor_clock;

struct registered_peer {
  endpoint ep;
  caf::actor session;
  std::string pubkey;
  bool mokaccino = false;
};

struct pending_prompt {
  caf::response_promise promise;
  std::string text;
  std::string kind;
  std::string user;
  std::optional<endpoint> source;  // the address of the session that asked (none: the node's own question)
};

// The address alone (port 0): what the per-address flood guards count by.
endpoint address_of(endpoint ep) {
  ep.port = 0;
  return ep;
}

// Resolves one host name on its own thread (getaddrinfo blocks).
caf::behavior resolver_actor(std::string host, std::uint16_t port) {
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

  std::unordered_map<endpoint, caf::actor> by_endpoint;   // every session, half-open ones included
  std::map<std::string, registered_peer, std::less<>> by_user;  // established peers (one-to-one, §5)
  std::unordered_map<caf::actor_addr, endpoint> endpoint_of;
  std::vector<caf::actor> subscribers;
  std::map<std::uint64_t, pending_prompt> prompts;
  std::uint64_t next_prompt_id = 1;
  std::map<std::string, actor_clock::time_point, std::less<>> requests;     // connect name <user> in flight (§7)
  std::map<std::string, actor_clock::time_point, std::less<>> preapproved;  // introduced peers we accepted
  bool shutting_down = false;

  // -- events -----------------------------------------------------------------------------------------------

  // Every event leaves the node here, and only here: sanitised once for every subscriber.
  void publish(event e) {
    if (e.kind == event_kind::debug && !ctx->debug)
      return;
    sanitise_event(e);
    if (e.time_ms == 0)
      e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    for (auto& s : subscribers)
      self->send(s, event_atom::value, e);
  }
  void info(std::string text, std::string peer = {}) { publish(make_event(event_kind::info, std::move(peer), std::move(text))); }
  void error(std::string text, std::string peer = {}) { publish(make_event(event_kind::error, std::move(peer), std::move(text))); }

  // -- sessions ---------------------------------------------------------------------------------------------

  // `first_line` (a responder's CONNECT) is queued before the socket may deliver the peer's next lines directly.
  caf::actor spawn_session(const endpoint& ep, session_options opts, std::string first_line = {}) {
    opts.peer = ep;
    auto s = spawn_peer_session(self->system(), ctx, std::move(opts));
    self->monitor(s);
    if (!first_line.empty())
      self->send(s, route_atom::value, std::move(first_line));
    by_endpoint[ep] = s;
    ctx->routes->add(ep, s);
    endpoint_of[s.address()] = ep;
    return s;
  }

  std::size_t half_open() const { return by_endpoint.size() - by_user.size(); }

  // Sessions from `ep`'s address that are not established (issue 13: one address cannot take every slot).
  std::size_t half_open_from(const endpoint& ep) const {
    auto ip = address_of(ep);
    std::size_t all = 0, established = 0;
    for (auto& [e, s] : by_endpoint)
      all += address_of(e) == ip ? 1 : 0;
    for (auto& [name, peer] : by_user)
      established += address_of(peer.ep) == ip ? 1 : 0;
    return all - std::min(all, established);
  }

  void on_session_down(const caf::down_msg& dm) {
    // A subscriber that ended (an attached remote terminal that left, say) gets no more events.
    std::erase_if(subscribers, [&](const caf::actor& s) { return s.address() == dm.source; });
    auto it = endpoint_of.find(dm.source);
    if (it == endpoint_of.end())
      return;
    auto ep = it->second;
    endpoint_of.erase(it);
    by_endpoint.erase(ep);
    ctx->routes->remove(ep);
    for (auto u = by_user.begin(); u != by_user.end(); ++u)
      if (u->second.ep == ep) {
        by_user.erase(u);
        break;
      }
    if (shutting_down && by_endpoint.empty())
      self->quit();
  }

  // -- inbound datagrams --------------------------------------------------------------------------------------

  // The socket hands a known peer's lines to its session itself (session_table). What reaches the node is
  // strangers, malformed datagrams, and the few lines queued here before their session's entry existed, which go
  // on the same way (the table counts them until the session has processed them).
  void on_datagrams(datagram_batch& batch) {
    session_table::routed late;
    ctx->routes->split(batch, late);
    for (auto& [session, lines] : late)
      self->send(session, datagram_atom::value, std::move(lines));
    backlog->queued.fetch_sub(static_cast<std::int64_t>(batch.size()), std::memory_order_relaxed);
    ctx->counters->datagrams_in.fetch_add(batch.size(), std::memory_order_relaxed);
    for (auto& d : batch) {
      auto line = w::line_of_datagram(
        std::span{reinterpret_cast<const std::uint8_t*>(d.bytes.data()), d.bytes.size()});
      if (line)
        on_unknown_source(d.from, *line);
      else
        ctx->counters->malformed.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // §1: only CONNECT may open a session; HANDSHAKE/CONNECTED need one of ours, anything else is dropped.
  void on_unknown_source(const endpoint& from, std::string_view line) {
    // An earlier datagram of this batch (a repeated CONNECT) made the session: the rest is its business. Without
    // this a second session would replace the first for the same endpoint (found by bench/peers_bench).
    if (auto s = by_endpoint.find(from); s != by_endpoint.end()) {
      self->send(s->second, route_atom::value, std::string{line});
      return;
    }
    auto kw = w::keyword_of(line);
    if ((kw != w::connect_msg::keyword && kw != w::cookie_msg::keyword) || shutting_down) {
      ctx->counters->unknown_source.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto parsed = w::parse_line(line);
    if (parsed && std::holds_alternative<w::cookie_msg>(*parsed)) {
      if (!gate->on_cookie(from, std::get<w::cookie_msg>(*parsed), connect_gate::clock::now()))
        ctx->counters->unauthenticated.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!parsed || !std::holds_alternative<w::connect_msg>(*parsed)) {
      ctx->counters->malformed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto& c = std::get<w::connect_msg>(*parsed);
    if (by_user.count(c.username) != 0) {  // §4: dropped if <user> is already connected
      ctx->counters->rejected.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (by_endpoint.size() >= limits::max_peers || half_open_from(from) >= limits::max_half_open_per_ip) {
      ctx->counters->half_open_limit.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // The session will verify this CONNECT's signature: the node-wide budget pays for it (and a half-open slot
    // holds it), or nothing happens — except that an unproven address under load is asked to prove itself.
    auto now = connect_gate::clock::now();
    switch (gate->on_connect(from, half_open(), now)) {
      case connect_gate::verdict::admit:
        break;
      case connect_gate::verdict::send_cookie:
        ctx->sender->send(from, w::into_datagram(w::serialize(gate->cookie_for(from, now, rng))));
        return;
      case connect_gate::verdict::drop:
        ctx->counters->half_open_limit.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    session_options opts;
    opts.role = session_role::responder;
    opts.first_verify_paid = true;
    if (auto p = preapproved.find(c.username); p != preapproved.end()) {
      opts.preapproved = true;
      opts.expected_user = c.username;
    }
    spawn_session(from, std::move(opts), std::string{line});
  }

  // -- introductions (§7) -----------------------------------------------------------------------------------

  std::string sign_line(w::key_msg m) {
    m.signature = ctx->identity.sign(w::signed_text(m), rng);
    return w::serialize(m);
  }
  std::string sign_line(w::requested_msg m) {
    m.signature = ctx->identity.sign(w::signed_text(m), rng);
    return w::serialize(m);
  }

  void send_to(const std::string& user, std::string line) {
    if (auto it = by_user.find(user); it != by_user.end())
      self->send(it->second.session, send_atom::value, std::move(line));
  }

  void on_intro(const std::string& kind, const std::string& from, const std::string& target,
                const std::string& endpoint_text, const std::string& pubkey) {
    auto from_it = by_user.find(from);
    if (from_it == by_user.end())
      return;
    if (kind == "CAPS") {
      from_it->second.mokaccino = true;
    } else if (kind == "REQUEST") {
      serve_request(from_it->second, from, target);
    } else if (kind == "KEY") {
      if (requests.count(target) == 0)
        return;  // we did not ask: ignore
      auto key = crypto::public_key::from_base64(pubkey);
      if (!key)
        return error("\"" + from + "\" sent an unusable key for \"" + target + "\"");
      pin_introduced(target, *key, from, [] {});
    } else if (kind == "KEYBAD") {
      // The original blacklists the name here, which lets any peer deny us a user; we only warn.
      error("\"" + from + "\" sent a key for \"" + target + "\" with a bad signature: ignored");
    } else if (kind == "FAIL") {
      if (requests.erase(target) != 0)
        error("\"" + from + "\" could not introduce \"" + target + "\" (not connected there)");
    } else if (kind == "REQUESTED") {
      on_requested(from, target, endpoint_text, pubkey);
    }
  }

  // We are the middle peer S: `requester` wants `target`. Never crash, whatever is asked (§14).
  void serve_request(const registered_peer& requester, const std::string& requester_name, const std::string& target) {
    auto t = by_user.find(target);
    if (target == requester_name || target == ctx->username || t == by_user.end()) {
      send_to(requester_name, w::serialize(w::fail_msg{target}));
      return;
    }
    // KEY for the requester (what the original sends), then REQUESTED both ways so both ends send toward each
    // other and UDP hole punching can work. The reverse REQUESTED goes to mokaccino peers only: an original
    // node cannot parse it (§7).
    send_to(requester_name, sign_line(w::key_msg{target, t->second.pubkey, {}}));
    send_to(target, sign_line(w::requested_msg{requester_name, requester.ep.to_string(), requester.pubkey, {}}));
    if (requester.mokaccino)
      send_to(requester_name, sign_line(w::requested_msg{target, t->second.ep.to_string(), t->second.pubkey, {}}));
    info("Introduced \"" + requester_name + "\" to \"" + target + "\"");
  }

  template <class Next>
  void pin_introduced(const std::string& user, const crypto::public_key& key, const std::string& via, Next next) {
    self->request(ctx->known_users, 5s, key_pin_atom::value, user, key.base64())
      .then([this, user, key, via, next](const std::string& pinned) {
        if (pinned.empty())
          return error("\"" + user + "\" is blacklisted: introduction by \"" + via + "\" ignored");
        if (pinned != key.base64()) {
          auto old = crypto::public_key::from_base64(pinned);
          publish(make_event(event_kind::key_changed, user,
                             "WARNING: \"" + via + "\" vouched for a DIFFERENT key for \"" + user +
                               "\" than the one pinned. Refused.",
                             {{"pinned", old ? old->fingerprint() : std::string{"(unreadable)"}},
                              {"presented", key.fingerprint()}}));
          return;
        }
        next();
      },
      [this, user](caf::error&) { error("Cannot pin the key of \"" + user + "\": known-users store unavailable"); });
  }

  void on_requested(const std::string& via, const std::string& user, const std::string& endpoint_text,
                    const std::string& pubkey) {
    if (by_user.count(user) != 0 || user == ctx->username)
      return;
    auto ep = endpoint::parse(endpoint_text);  // "ip:port", split at the last ':' (§7)
    auto key = crypto::public_key::from_base64(pubkey);
    if (!ep || !key)
      return error("\"" + via + "\" sent an unusable introduction for \"" + user + "\"");
    auto go = [this, user, ep = *ep, key = *key, via] {
      pin_introduced(user, key, via, [this, user, ep] {
        preapproved[user] = self->clock().now() + limits::handshake_timeout;
        // The introduced peer's own CONNECT may have arrived first and be waiting on a question of its own:
        // the user just said yes to this peer, so that question is answered too.
        std::vector<std::uint64_t> same_peer;
        for (auto& [id, p] : prompts)
          if (p.kind == "connect" && p.user == user)
            same_peer.push_back(id);
        for (auto id : same_peer)
          answer(id, true);
        if (by_endpoint.count(ep) != 0)
          return;
        session_options opts;
        opts.role = session_role::initiator;
        opts.expected_user = user;
        auto s = spawn_session(ep, std::move(opts));
        self->send(s, start_atom::value);
      });
    };
    const auto& policy = ctx->config.connection;
    if (requests.count(user) != 0 || policy.allows(user) || policy.default_action == config::action::accept)
      return go();
    if (policy.default_action == config::action::refuse)
      return;  // §7: a refusal is silent
    auto question = "User \"" + user + "\" (" + endpoint_text + ", introduced by \"" + via +
                    "\") requested to connect, accept? (y/n)";
    auto rp_id = ask(std::string{"connect"}, user, question);
    if (rp_id == 0)
      return;
    prompt_callbacks[rp_id] = go;
  }

  // -- prompts ----------------------------------------------------------------------------------------------

  std::map<std::uint64_t, std::function<void()>> prompt_callbacks;  // node-side questions (introductions)

  // Issue 13 flood guard for a session's question: a connection question waits alone for its claimed name and
  // for its source address (one pre-signed CONNECT sent from many ports, or many names from one address, asks
  // once); a connected peer has at most limits::max_prompts_per_peer questions (files, calls) pending.
  // (The node's own questions, introductions the user may have asked for, have no source and are not limited.)
  bool prompt_allowed(const std::string& kind, const std::string& user, const std::optional<endpoint>& source) const {
    std::size_t same_peer = 0;
    for (auto& [id, p] : prompts) {
      if (kind == "connect") {
        if (source && p.source && p.kind == "connect" &&
            (p.user == user || address_of(*p.source) == address_of(*source)))
          return false;
      } else if (p.kind != "connect" && p.user == user && ++same_peer >= limits::max_prompts_per_peer) {
        return false;
      }
    }
    return true;
  }

  // Registers a question; returns its id (0 = refused because too many are pending).
  std::uint64_t ask(const std::string& kind, const std::string& user, const std::string& text,
                    caf::response_promise rp = {}, std::optional<endpoint> source = std::nullopt) {
    if (prompts.size() >= limits::max_pending_prompts)
      return 0;
    if (rp.pending() && !prompt_allowed(kind, user, source)) {
      ctx->counters->prompts_refused.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    auto id = next_prompt_id++;
    prompts[id] = pending_prompt{std::move(rp), text, kind, user, source};
    auto e = make_event(event_kind::prompt, user, text, {{"kind", kind}});
    e.id = id;  // the front end answers with (answer_atom, id, yes)
    publish(std::move(e));
    self->delayed_send(self, limits::handshake_timeout, answer_atom::value, id, false);
    return id;
  }

  void answer(std::uint64_t id, bool yes) {
    auto it = prompts.find(id);
    if (it == prompts.end())
      return;
    if (it->second.promise.pending())
      it->second.promise.deliver(yes);
    prompts.erase(it);
    if (auto cb = prompt_callbacks.find(id); cb != prompt_callbacks.end()) {
      auto f = std::move(cb->second);
      prompt_callbacks.erase(cb);
      if (yes)
        f();
    }
    auto e = make_event(event_kind::prompt_closed, {}, yes ? "yes" : "no");
    e.id = id;
    publish(std::move(e));
  }

  // -- commands ---------------------------------------------------------------------------------------------

  command_reply connect_endpoint(const endpoint& ep, const std::string& expected) {
    if (by_endpoint.count(ep) != 0)
      return reply_error(ep.to_string() + " is already connected or connecting");
    session_options opts;
    opts.role = session_role::initiator;
    opts.expected_user = expected;
    auto s = spawn_session(ep, std::move(opts));
    self->send(s, start_atom::value);
    return reply_ok("Connecting to " + ep.to_string());
  }

  caf::result<command_reply> connect_host(const std::string& target) {
    auto hp = split_host_port(target, limits::default_port);
    if (!hp)
      return reply_error("Invalid address \"" + target + "\" (expected host[:port])");
    if (auto ep = resolve_host_numeric(hp->first, hp->second))
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

  static std::optional<endpoint> resolve_host_numeric(const std::string& host, std::uint16_t port) {
    auto text = host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                                    : host + ":" + std::to_string(port);
    return endpoint::parse(text);
  }

  command_reply connect_name(const std::string& user, const std::string& via) {
    if (by_user.count(user) != 0)
      return reply_error("User " + user + " is already connected");
    if (user == ctx->username)
      return reply_error("That is us");
    if (requests.size() >= limits::max_pending_requests)
      return reply_error("Too many introductions in flight");
    std::vector<std::string> asked;
    for (auto& [name, peer] : by_user)
      if (via.empty() || name == via) {
        self->send(peer.session, send_atom::value, w::serialize(w::request_msg{user}));
        asked.push_back(name);
      }
    if (asked.empty())
      return reply_error(via.empty() ? "No connected peer can introduce " + user : "User " + via + " is not connected");
    requests[user] = self->clock().now() + limits::request_timeout;
    std::string list;
    for (auto& a : asked)
      list += (list.empty() ? "" : ", ") + a;
    return reply_ok("Asked " + list + " to introduce " + user);
  }

  template <class Reply, class... Ts>
  caf::result<Reply> forward(const std::string& user, Reply not_connected, Ts&&... xs) {
    auto it = by_user.find(user);
    if (it == by_user.end())
      return not_connected;
    auto rp = self->make_response_promise<Reply>();
    self->request(it->second.session, 5s, std::forward<Ts>(xs)...)
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
    self->request(service, 30s, std::forward<Ts>(xs)...)
      .then([rp](command_reply r) mutable { rp.deliver(std::move(r)); },
            [rp, what](caf::error&) mutable { rp.deliver(reply_error(std::string{what} + ": no answer")); });
    return rp;
  }

  caf::result<std::vector<peer_info>> user_list() {
    auto rp = self->make_response_promise<std::vector<peer_info>>();
    if (by_user.empty()) {
      rp.deliver(std::vector<peer_info>{});
      return rp;
    }
    auto acc = std::make_shared<std::vector<peer_info>>();
    auto left = std::make_shared<std::size_t>(by_user.size());
    for (auto& [name, peer] : by_user) {
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

  static auto store_unavailable(caf::response_promise rp) {
    return [rp](caf::error&) mutable { rp.deliver(reply_error("The known-users store is unavailable")); };
  }

  caf::result<command_reply> key_command(const std::string& op, const std::string& user, const std::string& key) {
    auto rp = self->make_response_promise<command_reply>();
    if (op == "show") {
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
    } else if (op == "delete") {
      self->request(ctx->known_users, 5s, key_del_atom::value, user).then([rp, user](bool ok) mutable {
        rp.deliver(ok ? reply_ok("Key of " + user + " deleted") : reply_error("No key pinned for " + user));
      }, store_unavailable(rp));
    } else if (op == "add") {
      // §12 FIX: EC keys are accepted (the original demands an RSA-style ':'); only P-521 SPKI is valid.
      auto pk = crypto::public_key::from_base64(key);
      if (!pk && !key.empty()) {
        rp.deliver(reply_error("Invalid key: " + pk.error().message));
        return rp;
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
    } else {
      rp.deliver(reply_error("Unknown key command " + op));
    }
    return rp;
  }

  node_stats stats() const {
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
    s.peers = by_user.size();
    s.half_open = half_open();
    s.verifies = ctx->verify_budget->granted();
    s.verify_denied = ctx->verify_budget->denied();
    s.prompts_refused = c.prompts_refused.load();
    s.cookies_sent = gate ? gate->cookies_sent() : 0;
    s.cookies_proven = gate ? gate->proofs() : 0;
    return s;
  }

  void on_tick() {
    auto now = self->clock().now();
    for (auto it = requests.begin(); it != requests.end();) {
      if (it->second <= now) {
        error("User \"" + it->first + "\" timed out");  // §7
        it = requests.erase(it);
      } else {
        ++it;
      }
    }
    std::erase_if(preapproved, [now](auto& p) { return p.second <= now; });
  }

  void shutdown() {
    shutting_down = true;
    for (auto& [ep, s] : by_endpoint)
      self->send(s, disconnect_atom::value, std::string{"connection closed"});
    for (auto& [id, p] : prompts)
      if (p.promise.pending())
        p.promise.deliver(false);
    prompts.clear();
    if (by_endpoint.empty())
      self->quit();
    else  // sessions end after their DISCONNECT; do not wait for a stuck one
      self->delayed_send(self, 2s, shutdown_atom::value, true);
  }
};

caf::behavior node_actor(caf::stateful_actor<node_state>* self, std::shared_ptr<node_context> ctx,
                         std::shared_ptr<inbound_backlog> backlog) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  st.backlog = std::move(backlog);
  st.gate.emplace(st.ctx->verify_budget, st.rng, connect_gate::clock::now());
  self->set_down_handler([self](caf::down_msg& dm) { self->state.on_session_down(dm); });
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (self->state.ctx->socket)
      self->send_exit(self->state.ctx->socket, em.reason);
    self->send_exit(self->state.ctx->known_users, em.reason);
    self->quit(em.reason);
  });
  self->attach_functor([ctx = st.ctx] {
    // The socket and the pins die with the node. (Runs after the state is gone: capture the context.)
    if (ctx->socket)
      caf::anon_send_exit(ctx->socket, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(ctx->known_users, caf::exit_reason::user_shutdown);
    ctx->routes->clear();  // the table's session handles must not outlive the node (sessions hold the context)
  });
  self->delayed_send(self, limits::keepalive_tick, tick_atom::value);
  return {
    [self](start_atom, std::uint16_t port) {
      auto& st = self->state;
      st.port = port;
      // §3: the node's own key is always stored as `loopback`.
      caf::anon_send(st.ctx->known_users, key_set_atom::value, std::string{"loopback"},
                 st.ctx->identity.public_key().base64());
    },
    [self](datagram_atom, datagram_batch& batch) { self->state.on_datagrams(batch); },
    [self](tick_atom) {
      self->state.on_tick();
      self->delayed_send(self, limits::keepalive_tick, tick_atom::value);
    },
    [self](established_atom, const std::string& user, const endpoint& ep, const std::string& pubkey) {
      auto& st = self->state;
      auto it = st.by_user.find(user);
      if (it != st.by_user.end() && it->second.ep != ep)
        return false;
      auto s = st.by_endpoint.find(ep);
      if (s == st.by_endpoint.end())
        return false;
      st.by_user[user] = registered_peer{ep, s->second, pubkey, false};
      st.requests.erase(user);
      st.preapproved.erase(user);
      return true;
    },
    [self](event_atom, event& e) { self->state.publish(std::move(e)); },
    [self](intro_atom, const std::string& kind, const std::string& from, const std::string& target,
           const std::string& ep, const std::string& pubkey) { self->state.on_intro(kind, from, target, ep, pubkey); },
    [self](prompt_atom, const std::string& kind, const std::string& user, const std::string& text) {
      // Who asks (a session: its peer's address), read before the promise takes the sender over.
      std::optional<endpoint> source;
      if (auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender()))
        if (auto it = self->state.endpoint_of.find(sender); it != self->state.endpoint_of.end())
          source = it->second;
      auto rp = self->make_response_promise<bool>();
      if (kind == "connect" && self->state.preapproved.count(user) != 0) {
        rp.deliver(true);  // the user already accepted this peer (an introduction it asked for or agreed to)
        return rp;
      }
      if (self->state.ask(kind, user, text, rp, source) == 0)
        rp.deliver(false);  // too many questions pending, or one for this name/address already: refuse
      return rp;
    },
    [self](answer_atom, std::uint64_t id, bool yes) { self->state.answer(id, yes); },
    [self](subscribe_atom, caf::actor sink) {
      self->monitor(sink);  // on_session_down drops it when it ends
      self->state.subscribers.push_back(std::move(sink));
    },
    [self](connect_host_atom, const std::string& target) { return self->state.connect_host(target); },
    [self](connect_name_atom, const std::string& user, const std::string& via) {
      return self->state.connect_name(user, via);
    },
    [self](disconnect_atom, const std::string& user) -> command_reply {
      auto it = self->state.by_user.find(user);
      if (it == self->state.by_user.end())
        return reply_error("User " + user + " is not connected");
      self->send(it->second.session, disconnect_atom::value, std::string{"connection closed"});
      // The user is gone from this moment: the session ends asynchronously, and until then a second disconnect,
      // `user list` or a message must not still see it as connected. (Its endpoint entry stays until it ends.)
      self->state.by_user.erase(it);
      return reply_ok();
    },
    [self](msg_atom, const std::string& user, const std::string& text) {
      return self->state.forward(user, reply_error("User " + user + " is not connected"), msg_atom::value, text);
    },
    [self](encrypt_atom, const std::string& user, bool on) {
      return self->state.forward(user, reply_error("User " + user + " is not connected"), encrypt_atom::value, on);
    },
    [self](user_list_atom) { return self->state.user_list(); },
    [self](user_info_atom, const std::string& user) {
      peer_info none;
      none.user = user;
      return self->state.forward(user, none, info_atom::value);
    },
    [self](key_cmd_atom, const std::string& op, const std::string& user, const std::string& key) {
      return self->state.key_command(op, user, key);
    },
    [self](key_list_atom) {
      auto rp = self->make_response_promise<std::vector<key_entry>>();
      self->request(self->state.ctx->known_users, 5s, key_list_atom::value)
        .then([rp](std::vector<key_entry>& v) mutable { rp.deliver(std::move(v)); },
              [rp](caf::error&) mutable { rp.deliver(std::vector<key_entry>{}); });
      return rp;
    },
    [self](stats_atom) { return self->state.stats(); },
    [self](session_of_atom, const std::string& user) {
      auto it = self->state.by_user.find(user);
      if (it == self->state.by_user.end())
        return std::make_tuple(caf::actor{}, false);
      return std::make_tuple(it->second.session, it->second.mokaccino);
    },
    [self](file_send_atom a, const std::string& user, const std::string& path) {
      return self->state.to_service(self->state.ctx->transfers, "file transfers", a, user, path);
    },
    [self](file_cancel_atom a, const std::string& what) {
      return self->state.to_service(self->state.ctx->transfers, "file transfers", a, what);
    },
    [self](file_list_atom a) {
      auto rp = self->make_response_promise<std::vector<transfer_info>>();
      if (!self->state.ctx->transfers) {
        rp.deliver(std::vector<transfer_info>{});
        return rp;
      }
      self->request(self->state.ctx->transfers, 5s, a)
        .then([rp](std::vector<transfer_info>& v) mutable { rp.deliver(std::move(v)); },
              [rp](caf::error&) mutable { rp.deliver(std::vector<transfer_info>{}); });
      return rp;
    },
    [self](voice_start_atom a, const std::string& user) {
      return self->state.to_service(self->state.ctx->audio, "voice calls", a, user);
    },
    [self](voice_stop_atom a) { return self->state.to_service(self->state.ctx->audio, "voice calls", a); },
    [self](voice_devices_atom a) { return self->state.to_service(self->state.ctx->audio, "voice calls", a); },
    [self](shutdown_atom) { self->state.shutdown(); },
    [self](shutdown_atom, bool) { self->quit(); },
  };
}

}  // namespace

mk::result<node_handle> spawn_node(caf::actor_system& sys, node_options opts) {
  if (opts.config.username.empty())
    return mk::make_error(errc::config_error, "a username is required");
  auto ctx = std::make_shared<node_context>(opts.identity);
  ctx->username = opts.config.username;
  ctx->config = opts.config;
  ctx->verify_budget =
    std::make_shared<mk::verify_budget>(opts.config.verifies_per_second, limits::global_verify_burst);
  ctx->download_dir = opts.download_dir;
  ctx->debug = opts.debug;
  ctx->known_users = spawn_known_users(sys, std::move(opts.known_users), opts.known_users_file);
  auto backlog = std::make_shared<inbound_backlog>();
  ctx->routes = std::make_shared<session_table>(backlog);
  auto node = sys.spawn(node_actor, ctx, backlog);
  auto sock = spawn_udp_socket(sys, opts.config.port, node, backlog, opts.ipv6, ctx->routes);
  if (!sock) {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return sock.error();
  }
  // The context is complete before the node starts: every reader sees it through the start message.
  ctx->node = node;
  ctx->socket = sock->actor;
  ctx->sender = sock->sender;
  ctx->transfers = spawn_transfer_service(sys, ctx);  // file transfers (§10); quits with the node
  ctx->calls = std::make_shared<call_router>();
  ctx->audio = spawn_audio_service(sys, ctx);  // voice calls (§9); quits with the node
  caf::anon_send(node, start_atom::value, sock->port);
  return node_handle{node, sock->port};
}

}  // namespace mk
