#include "actors/transfer_service.hpp"

#include "actors/transfer_service_state.hpp"

namespace mk::transfer_detail {

std::shared_ptr<peer_link_share> service_state::share_of(const std::string& user) {
  std::erase_if(shares, [](auto& kv) { return kv.second.expired(); });
  auto& w = shares[user];
  auto s = w.lock();
  if (!s) {
    s = std::make_shared<peer_link_share>();
    w = s;
  }
  return s;
}

void service_state::deliver(const caf::actor& to, w::message m) {
  if (!in_batch)
    return self->send(to, peer_msg_atom::value, std::move(m));
  mk::share_of(outbox, to).push_back(std::move(m));
}

void service_state::on_peer_msgs(const std::string& user, const caf::actor& session, bool mokaccino,
                                 wire_batch& batch) {
  in_batch = true;
  for (auto& m : batch)
    on_peer_msg(user, session, mokaccino, m);
  in_batch = false;
  for (auto& [to, msgs] : outbox) {
    if (msgs.size() == 1)
      self->send(to, peer_msg_atom::value, std::move(msgs.front()));
    else
      self->send(to, peer_msg_atom::value, std::move(msgs));
  }
  outbox.clear();
}

void service_state::emit(event_kind kind, const std::string& peer, std::string text,
                         std::vector<std::pair<std::string, std::string>> fields) {
  self->send(ctx->node, event_atom::value, make_event(kind, peer, std::move(text), std::move(fields)));
}

void service_state::on_peer_msg(const std::string& user, const caf::actor& session, bool mokaccino, w::message& m) {
  auto now = steady::now();
  std::visit(
    [&](auto& msg) {
      using T = std::decay_t<decltype(msg)>;
      if constexpr (std::is_same_v<T, w::file_init_msg>) {
        on_init(user, session, mokaccino, msg, false);
      } else if constexpr (std::is_same_v<T, w::file_offer_msg>) {
        w::file_init_msg init{std::move(msg.id), msg.size, std::move(msg.name)};
        on_init(user, session, mokaccino, init, true);
      } else if constexpr (std::is_same_v<T, w::file_hash_msg>) {
        // Sender -> receiver: the announced SHA-384; receiver -> sender: its verdict. Ids are random: one side.
        key_t k{user, msg.id};
        if (auto it = receivers.find(k); it != receivers.end())
          return deliver(it->second.actor, std::move(m));
        if (auto it = senders.find(k); it != senders.end())
          return deliver(it->second.actor, std::move(m));
        if (auto h = received_done.content_hash(id(k), now))  // our verdict was lost: repeat it
          return send_to(session, w::serialize(w::file_hash_msg{msg.id, *h}));
        if (sent_done.lookup(id(k), now))
          return;                                                  // a repeated verdict
        send_to(session, w::serialize(w::file_stop_msg{msg.id}));  // no such transfer: a mismatch ended it
      } else if constexpr (std::is_same_v<T, w::file_msg>) {
        key_t k{user, msg.hash};
        if (auto it = receivers.find(k); it != receivers.end())
          return deliver(it->second.actor, std::move(m));
        if (auto size = received_done.lookup(id(k), now))  // §10 FIX: a lost final ACK
          return send_to(session, w::serialize(w::file_ack_msg{msg.hash, *size}));
        if (asking.count(k) == 0)
          send_to(session, w::serialize(w::file_stop_msg{msg.hash}));  // no such transfer (any more)
      } else if constexpr (std::is_same_v<T, w::file_resume_msg>) {
        if (auto it = senders.find(key_t{user, msg.id}); it != senders.end())
          return deliver(it->second.actor, std::move(m));
        send_to(session, w::serialize(w::file_stop_msg{msg.id}));  // no such offer (any more)
      } else if constexpr (std::is_same_v<T, w::file_from_msg>) {
        if (auto it = receivers.find(key_t{user, msg.id}); it != receivers.end())
          deliver(it->second.actor, std::move(m));
      } else if constexpr (std::is_same_v<T, w::file_dup_msg>) {
        if (auto it = senders.find(key_t{user, msg.hash}); it != senders.end())
          deliver(it->second.actor, std::move(m));  // nothing to answer: it only informs a running sender
      } else if constexpr (std::is_same_v<T, w::file_ack_msg> || std::is_same_v<T, w::file_sack_msg>) {
        key_t k{user, msg.hash};
        if (auto it = senders.find(k); it != senders.end())
          return deliver(it->second.actor, std::move(m));
        if (sent_done.lookup(id(k), now))
          return;  // repeats of a final ACK
        // §10 FIX: an accept after the sender gave up (or for a transfer we never offered) gets FILESTOP.
        send_to(session, w::serialize(w::file_stop_msg{msg.hash}));
      } else if constexpr (std::is_same_v<T, w::folder_offer_msg>) {
        on_folder_offer(user, session, msg);
      } else if constexpr (std::is_same_v<T, w::folder_file_msg>) {
        on_folder_file(user, session, mokaccino, msg);
      } else if constexpr (std::is_same_v<T, w::folder_accept_msg>) {
        if (auto it = folders_out.find(key_t{user, msg.id}); it != folders_out.end())
          deliver(it->second.actor, std::move(m));
      } else if constexpr (std::is_same_v<T, w::file_stop_msg>) {
        key_t k{user, msg.hash};
        asking.erase(k);
        if (folder_asking.erase(k) != 0)
          return;
        if (auto it = folders_out.find(k); it != folders_out.end())
          return deliver(it->second.actor, std::move(m));
        if (auto* f = inbox.find(user, msg.hash))
          return end_incoming_folder(*f, "cancelled", "cancelled by the sender");
        if (auto it = senders.find(k); it != senders.end())
          deliver(it->second.actor, m);
        if (auto it = receivers.find(k); it != receivers.end())
          deliver(it->second.actor, m);
      }
    },
    m);
}

void service_state::on_peer_gone(const std::string& user) {
  resume_peers.erase(user);
  std::erase_if(asking, [&](const key_t& k) { return k.first == user; });
  std::erase_if(folder_asking, [&](const key_t& k) { return k.first == user; });
  for (auto& [k, o] : folders_out)
    if (k.first == user) {
      o.peer_left = true;
      self->send(o.actor, peer_gone_atom::value, user);
    }
  std::vector<std::string> gone;
  for (auto& [k, f] : inbox.all())
    if (k.first == user)
      gone.push_back(k.second);
  for (auto& fid : gone)
    end_incoming_folder(*inbox.find(user, fid), "failed", user + " disconnected");
  for (auto* map : {&senders, &receivers})
    for (auto& [k, e] : *map)
      if (k.first == user) {
        e.peer_left = true;
        self->send(e.actor, peer_gone_atom::value, user);
      }
}

entry* service_state::find_entry(const transfer_info& i) {
  auto& map = i.outgoing ? senders : receivers;
  auto it = map.find(key_t{i.peer, i.hash});
  return it == map.end() ? nullptr : &it->second;
}

void service_state::remember_finished(transfer_info i) {
  finished.push_back(std::move(i));
  if (finished.size() > finished_history)
    finished.pop_front();
}

void service_state::on_final(const transfer_info& i) {
  if (i.outgoing && i.files > 0) {  // a folder sender ended
    if (auto it = folders_out.find(key_t{i.peer, i.hash}); it != folders_out.end()) {
      // Interrupted because its peer went away: offered again when it is back, like a file (below).
      if (i.state == "failed" && it->second.resumable && it->second.peer_left)
        interrupt(it->second.path, i);
      folders_out.erase(it);
    }
    folder_progress.erase(key_t{i.peer, i.hash});
    return remember_finished(i);
  }
  auto& map = i.outgoing ? senders : receivers;
  key_t k{i.peer, i.hash};
  auto it = map.find(k);
  if (it == map.end())
    return;
  by_addr.erase(it->second.actor.address());
  // Interrupted because a peer that can resume went away: offered again when it reconnects (at once if it is
  // back already). Never after a refusal or a cancel: FILESTOP from the receiver ends it for good.
  if (i.outgoing && i.state == "failed" && it->second.resumable && it->second.peer_left)
    interrupt(it->second.path, i);
  if (it->second.folder)
    self->send(it->second.folder, xfer_final_atom::value, i);
  if (!it->second.folder_id.empty())
    folder_file_ended(it->second, i);
  map.erase(it);
  std::string content_hash;
  if (auto v = verified.find(k); !i.outgoing && v != verified.end()) {
    content_hash = std::move(v->second);
    verified.erase(v);
  }
  if (i.state == "done")
    (i.outgoing ? sent_done : received_done).remember(id(k), i.size, steady::now(), std::move(content_hash));
  remember_finished(i);
}

void service_state::on_down(const caf::down_msg& dm) {
  if (dm.source == ctx->node.address())
    return self->quit();
  preparing.erase(dm.source);
  std::erase_if(folders_out, [&](auto& kv) { return kv.second.actor.address() == dm.source; });
  auto it = by_addr.find(dm.source);
  if (it == by_addr.end())
    return;
  auto [outgoing, k] = it->second;
  by_addr.erase(it);
  (outgoing ? senders : receivers).erase(k);
  if (!outgoing)
    verified.erase(k);
}

caf::behavior transfer_service(caf::stateful_actor<service_state>* self, std::shared_ptr<const node_context> ctx) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  if (st.ctx->node)
    self->monitor(st.ctx->node);  // quit with the node; the transfer actors monitor us and clean up
  self->set_down_handler([self](caf::down_msg& dm) { self->state.on_down(dm); });
  st.load_partials();
  self->delayed_send(self, std::chrono::hours(1), tick_atom::value);
  return {
    [self](peer_msg_atom, const std::string& user, const caf::actor& session, bool mokaccino, w::message& m) {
      self->state.on_peer_msg(user, session, mokaccino, m);
    },
    [self](peer_msg_atom, const std::string& user, const caf::actor& session, bool mokaccino, wire_batch& batch) {
      self->state.on_peer_msgs(user, session, mokaccino, batch);
    },
    [self](peer_gone_atom, const std::string& user) { self->state.on_peer_gone(user); },
    [self](peer_ready_atom, const std::string& user, bool resume) { self->state.on_peer_ready(user, resume); },
    [self](const command_reply& r) {  // the answer to our own re-offer of an interrupted transfer
      if (!r.ok)
        self->state.emit(event_kind::error, {}, r.message);
    },
    [self](xfer_partial_atom, const std::string& path) { self->state.on_partial_kept(path); },
    [self](tick_atom) {
      self->state.expire_partials();
      self->delayed_send(self, std::chrono::hours(1), tick_atom::value);
    },
    [self](xfer_report_atom, const transfer_info& i) {
      if (i.outgoing && i.files > 0)
        self->state.folder_progress[key_t{i.peer, i.hash}] = i;
      else if (auto* e = self->state.find_entry(i))
        e->info = i;
    },
    [self](xfer_final_atom, const transfer_info& i) { self->state.on_final(i); },
    [self](xfer_verified_atom, const std::string& id, const std::string& sha384) {
      auto& st = self->state;
      auto it = st.by_addr.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (it != st.by_addr.end() && !it->second.first && it->second.second.second == id)
        st.verified[it->second.second] = sha384;
    },
    [self](xfer_hashed_atom, bool ok, const std::string& hash_or_error) {
      self->state.on_hashed(caf::actor_cast<caf::actor_addr>(self->current_sender()), ok, hash_or_error);
    },
    [self](file_send_atom, const std::string& user, const std::string& path) {
      return self->state.file_send(user, path);
    },
    [self](folder_file_atom, const std::string& user, const std::string& path, const std::string& folder,
           const std::string& fid, const std::string& inside) {
      auto from = caf::actor_cast<caf::actor>(self->current_sender());
      return self->state.file_send(user, path, folder_link{from, folder, fid, inside});
    },
    [self](file_list_atom) { return self->state.list(); },
    [self](file_cancel_atom, const std::string& what) { return self->state.cancel(what); },
  };
}

}  // namespace mk::transfer_detail

namespace mk {

caf::actor spawn_transfer_service(caf::actor_system& sys, std::shared_ptr<const node_context> ctx) {
  return sys.spawn(transfer_detail::transfer_service, std::move(ctx));
}

}  // namespace mk
