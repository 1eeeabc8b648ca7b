#include "actors/transfer_service_state.hpp"

namespace mk::transfer_detail {

// What the peer's session says of it (kind, features, the path's datagram budget), then `then(link)`;
// `none()` if the user is not connected.
template <class Then, class None>
void service_state::with_link(const std::string& user, Then then, None none) {
  self->request(ctx->node, 5s, session_of_atom::value, user)
    .then(
      [this, then, none](const caf::actor& session, bool mokaccino) mutable {
        if (!session)
          return none();
        if (!mokaccino)
          return then(peer_link{session, false, false, false, t::chunk_size});
        // Between mokaccino nodes: offer before hashing if the peer announced `lazyhash`; chunks as large as
        // the path's datagram budget allows (its session probes it).
        self->request(session, 5s, peer_caps_atom::value)
          .then(
            [this, session, then](const std::vector<std::string>& features) mutable {
              auto has = [&](const char* f) {
                return std::find(features.begin(), features.end(), f) != features.end();
              };
              peer_link link{session, true, has("lazyhash"), has("lazyhash") && has("folder1"), t::chunk_size};
              self->request(session, 5s, path_budget_atom::value)
                .then(
                  [then, link](std::uint64_t chunk) mutable {
                    link.chunk = chunk;
                    then(link);
                  },
                  [then, link](caf::error&) mutable { then(link); });
            },
            [session, then](caf::error&) mutable {
              then(peer_link{session, true, false, false, t::chunk_size});
            });
      },
      [none](caf::error&) mutable { none(); });
}

// `file send`: replies as soon as the file is open; the file is offered to the peer (FILEINIT) once hashed,
// which for a file of many GB takes longer than anyone should wait for a command to answer. A directory is
// offered as a folder.
caf::result<command_reply> service_state::file_send(const std::string& user, const std::string& path,
                                                    folder_link folder) {
  auto rp = self->make_response_promise<command_reply>();
  if (active() >= limits::max_active_transfers) {
    rp.deliver(reply_error("Too many transfers in progress"));
    return rp;
  }
  std::error_code ec;
  const bool directory = !folder.folder && fs::is_directory(path, ec);
  with_link(
    user,
    [this, rp, user, path, folder, directory](const peer_link& link) mutable {
      if (directory)
        return send_folder(rp, link, user, path);
      start_send(rp, link, user, path, folder);
    },
    [rp, user]() mutable { rp.deliver(reply_error("User " + user + " is not connected")); });
  return rp;
}

void service_state::send_folder(caf::typed_response_promise<command_reply>& rp, const peer_link& link,
                                const std::string& user, const std::string& path) {
  Botan::AutoSeeded_RNG rng;
  auto fid = crypto::make_transfer_id(rng);
  auto a =
    spawn_folder_sender(self->system(), folder_sender_params{ctx, caf::actor_cast<caf::actor>(self), link.session, user,
                                                             fs::path{path}, fid, link.folders});
  self->monitor(a);
  folders_out[key_t{user, fid}] = outgoing_folder{a, path, resume_peers.count(user) != 0};
  self->request(a, 60s, xfer_prepare_atom::value)
    .then([rp](const command_reply& r) mutable { rp.deliver(r); },
          [rp](caf::error&) mutable { rp.deliver(reply_error("Cannot read the folder")); });
}

void service_state::start_send(caf::typed_response_promise<command_reply>& rp, const peer_link& link,
                               const std::string& user, const std::string& path, const folder_link& folder) {
  const bool lazy = link.lazy;
  auto a =
    spawn_file_sender(self->system(), file_sender_params{ctx, caf::actor_cast<caf::actor>(self), link.session, user,
                                                         link.mokaccino, lazy, fs::path{path}, share_of(user), hashing,
                                                         link.chunk, folder.name, folder.id, folder.inside});
  self->monitor(a);
  preparing[a.address()] = preparing_send{a, user, path, {}, 0, {}, lazy, folder.folder, folder.name};
  // No timeout: the sender answers as soon as it runs (opening is quick), but while hundreds of others hash
  // big files from disk that can take long; if it dies instead, the request fails with receiver_down.
  self->request(a, caf::infinite, xfer_prepare_atom::value)
    .then(
      [this, rp, a, user, lazy](bool ok, const std::string& error, const std::string& name, std::uint64_t size,
                                const std::string& identity) mutable {
        if (!ok) {
          preparing.erase(a.address());
          return void(rp.deliver(reply_error(error)));
        }
        if (auto it = preparing.find(a.address()); it != preparing.end()) {
          it->second.name = name;
          it->second.size = size;
          it->second.identity = identity;
        }
        rp.deliver(reply_ok("Preparing " + name + " (" + human_bytes(static_cast<double>(size)) + ") for " + user +
                            (lazy ? ": offering it, hashing while sending" : ": hashing, then offering it")));
      },
      [this, rp, a](caf::error& e) mutable {
        preparing.erase(a.address());
        self->send_exit(a, caf::exit_reason::user_shutdown);
        rp.deliver(reply_error("Cannot prepare the file: " + self->system().render(e)));
      });
}

// A sender finished hashing: offer the file (unless the same file is already going to that peer).
void service_state::on_hashed(const caf::actor_addr& from, bool ok, const std::string& hash_or_error) {
  auto it = preparing.find(from);
  if (it == preparing.end())
    return;
  auto pending = std::move(it->second);
  preparing.erase(it);
  auto folder_failed = [&] {  // the folder sender counts it as failed and goes on
    if (pending.folder)
      self->send(pending.folder, xfer_final_atom::value,
                 transfer_info{"", pending.name, pending.user, true, "failed", pending.size, 0, 0, -1, 0});
  };
  if (!ok) {
    folder_failed();
    return emit(event_kind::error, pending.user, "Cannot send " + pending.path + ": " + hash_or_error);
  }
  key_t k{pending.user, hash_or_error};
  // The same content to the same peer once at a time: by hash, or (lazy hash, no hash known yet) by file.
  bool same_file = pending.lazy_hash && std::any_of(senders.begin(), senders.end(), [&](auto& kv) {
                     return kv.first.first == pending.user && kv.second.identity == pending.identity;
                   });
  if (senders.count(k) != 0 || same_file) {
    folder_failed();
    self->send_exit(pending.actor, caf::exit_reason::user_shutdown);
    return emit(
      event_kind::error, pending.user,
      "Already sending this file (" + (same_file ? pending.path : hash_or_error.substr(0, 8)) + ") to " + pending.user);
  }
  // Offered again by hand while it waits to be offered again automatically: once is enough.
  std::erase_if(interrupted, [&](auto& i) { return i.info.peer == pending.user && i.path == pending.path; });
  senders[k] = entry{
    pending.actor, transfer_info{hash_or_error, pending.name, pending.user, true, "pending", pending.size, 0, 0, -1},
    pending.identity, pending.path, pending.lazy_hash && resume_peers.count(pending.user) != 0 && !pending.folder};
  senders[k].folder = pending.folder;
  senders[k].info.folder = pending.folder_name;
  by_addr[from] = {true, k};
  self->send(pending.actor, xfer_offer_atom::value);
}

}  // namespace mk::transfer_detail
