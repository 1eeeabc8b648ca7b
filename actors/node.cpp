#include "actors/node.hpp"

#include "actors/node_state.hpp"

namespace mk {

namespace node_detail {

using namespace std::chrono_literals;

void node_state::on_tick() {
  for (auto& user : intros.expire(self->clock().now()))
    error("User \"" + user + "\" timed out");  // §7
}

void node_state::shutdown() {
  shutting_down = true;
  for (auto& [ep, s] : directory.sessions())
    self->send(s, close_atom::value, std::string{"connection closed"});
  for (auto& p : prompts.take_all())
    if (p.promise.pending())
      p.promise.deliver(false);
  if (directory.sessions().empty())
    self->quit();
  else  // sessions end after their DISCONNECT; do not wait for a stuck one
    self->delayed_send(self, 2s, quit_now_atom::value);
}

}  // namespace node_detail

namespace {

using namespace node_detail;
using namespace std::chrono_literals;

// Sessions, the socket and services: datagrams, registrations, introductions, questions, subscribers.
caf::message_handler session_handlers(caf::stateful_actor<node_state>* self) {
  return {
    [self](bound_atom, std::uint16_t port) {
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
      if (!st.directory.establish(user, ep, pubkey))
        return false;
      st.intros.established(user);
      return true;
    },
    [self](event_atom, event& e) { self->state.publish(std::move(e)); },
    [self](intro_atom, const std::string& from, const intro_request& m) { self->state.on_intro(from, m); },
    [self](intro_atom, const std::string& from, const intro_fail& m) { self->state.on_intro(from, m); },
    [self](intro_atom, const std::string& from, const intro_key& m) { self->state.on_intro(from, m); },
    [self](intro_atom, const std::string& from, const intro_requested& m) { self->state.on_intro(from, m); },
    [self](mokaccino_peer_atom, const std::string& user) {
      if (auto* peer = self->state.directory.peer(user))
        peer->mokaccino_peer = true;
    },
    [self](prompt_atom, prompt_kind kind, const std::string& user, const std::string& text) {
      return self->state.on_prompt(kind, user, text);
    },
    [self](answer_atom, std::uint64_t id, bool yes) { self->state.answer(id, yes); },
    [self](prompt_due_atom) { self->state.expire_prompts(); },
    [self](subscribe_atom, caf::actor sink) {
      self->monitor(sink);  // on_session_down drops it when it ends
      auto& st = self->state;
      if (!st.ever_subscribed) {  // what happened before anyone listened
        st.ever_subscribed = true;
        for (auto& e : st.before_subscribers)
          self->send(sink, event_atom::value, std::move(e));
        st.before_subscribers = {};
      }
      st.subscribers.push_back(std::move(sink));
    },
    [self](session_of_atom, const std::string& user) {
      auto* peer = self->state.directory.peer(user);
      if (!peer)
        return std::make_tuple(caf::actor{}, false);
      return std::make_tuple(peer->session, peer->mokaccino_peer);
    },
  };
}

// The front end's commands about peers, keys and the node itself.
caf::message_handler command_handlers(caf::stateful_actor<node_state>* self) {
  return {
    [self](connect_host_atom, const std::string& target) { return self->state.connect_host(target); },
    [self](connect_name_atom, const std::string& user, const std::string& via) {
      return self->state.connect_name(user, via);
    },
    [self](disconnect_atom, const std::string& user) -> command_reply {
      auto peer = self->state.directory.disconnect(user);  // gone at once; its session ends asynchronously
      if (!peer)
        return reply_error("User " + user + " is not connected");
      self->send(peer->session, close_atom::value, std::string{"connection closed"});
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
      auto o = key_op_of(op);
      return o ? self->state.key_command(*o, user, key) : caf::result<command_reply>{reply_error("Unknown key command " + op)};
    },
    [self](key_list_atom) {
      auto rp = self->make_response_promise<std::vector<key_entry>>();
      self->request(self->state.ctx->known_users, 5s, key_list_atom::value)
        .then([rp](std::vector<key_entry>& v) mutable { rp.deliver(std::move(v)); },
              [rp](caf::error&) mutable { rp.deliver(std::vector<key_entry>{}); });
      return rp;
    },
    [self](stats_atom) { return self->state.stats(); },
    [self](shutdown_atom) { self->state.shutdown(); },
    [self](quit_now_atom) { self->quit(); },
  };
}

// The front end's commands for the file transfer and audio services, forwarded.
caf::message_handler service_handlers(caf::stateful_actor<node_state>* self) {
  return {
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
    [self](voice_devices_atom a) -> caf::result<audio_devices> {
      auto& audio = self->state.ctx->audio;
      if (!audio)
        return audio_devices{{}, {}, "voice calls are not available in this node"};
      auto rp = self->make_response_promise<audio_devices>();
      self->request(audio, 30s, a).then([rp](audio_devices& d) mutable { rp.deliver(std::move(d)); },
                                        [rp](caf::error&) mutable {
                                          rp.deliver(audio_devices{{}, {}, "voice calls: no answer"});
                                        });
      return rp;
    },
  };
}

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
  return session_handlers(self).or_else(command_handlers(self)).or_else(service_handlers(self));
}

}  // namespace

caf::actor node_detail::spawn_node_actor(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                                         std::shared_ptr<inbound_backlog> backlog) {
  return sys.spawn(node_actor, std::move(ctx), std::move(backlog));
}

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
  auto node = node_detail::spawn_node_actor(sys, ctx, backlog);
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
  caf::anon_send(node, bound_atom::value, sock->port);
  return node_handle{node, sock->port};
}

}  // namespace mk
