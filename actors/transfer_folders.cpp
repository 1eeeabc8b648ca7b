#include "actors/transfer_service_state.hpp"

#include "actors/transfer_progress.hpp"

namespace mk::transfer_detail {

void service_state::emit_folder(const incoming_folder& f, const std::string& state, std::string text) {
  self->send(ctx->node, event_atom::value, folder_event(folder_info(f, state), std::move(text)));
}

transfer_info service_state::folder_info(const incoming_folder& f, const std::string& state) const {
  transfer_info i{f.id, f.name, f.user, false, state, f.bytes, f.bytes_done, 0, -1, 0};
  auto s = std::chrono::duration<double>(steady::now() - f.started).count();
  i.rate_bps = s > 0 ? static_cast<double>(f.bytes_done) / s : 0;
  i.folder = f.name;
  i.files = f.files;
  i.files_done = f.files_done;
  i.files_failed = f.files_failed;
  return i;
}

void service_state::refuse_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m,
                                  const std::string& why) {
  send_to(session, w::serialize(w::file_stop_msg{m.id}));
  transfer_info i{m.id, m.name + "/", user, false, "refused", m.bytes, 0, 0, -1, 0};
  i.folder = i.name;
  i.files = m.files;
  self->send(ctx->node, event_atom::value, folder_event(i, "Refused folder " + i.name + " from " + user + ": " + why));
}

void service_state::on_folder_offer(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m) {
  key_t k{user, m.id};
  if (inbox.find(user, m.id)) {  // our FOLDERACCEPT was lost: the offer is repeated
    send_to(session, w::serialize(w::folder_accept_msg{m.id}));
    return;
  }
  if (folder_asking.count(k) != 0)
    return;
  auto open_from_peer = std::count_if(inbox.all().begin(), inbox.all().end(), [&](auto& kv) {
    return kv.first.first == user;
  }) + std::count_if(folder_asking.begin(), folder_asking.end(), [&](auto& a) { return a.first == user; });
  if (static_cast<std::size_t>(open_from_peer) >= folder_inbox::max_per_peer)
    return refuse_folder(user, session, m, "too many folders from " + user + " in progress");
  if (!t::sanitize_file_name(m.name))
    return refuse_folder(user, session, m, "unusable folder name");
  if (m.files == 0 || m.files > limits::max_folder_files)
    return refuse_folder(user, session, m, "too many files (" + std::to_string(m.files) + ")");
  if (auto why = space_problem(m.bytes))
    return refuse_folder(user, session, m, *why);
  auto decision = config::decide(ctx->config.file, user);
  // The same folder again, after an interruption: accepted before (its directory exists only for an accepted
  // offer), so no second question; a `refuse` policy still refuses.
  if (decision != config::action::refuse && resume_peers.count(user) != 0)
    if (auto pf = take_partial_folder(user, *t::sanitize_file_name(m.name), m.files, m.bytes))
      return resume_folder(user, session, m, std::move(*pf));
  if (decision == config::action::accept)
    return accept_folder(user, session, m);
  if (decision == config::action::refuse)
    return refuse_folder(user, session, m, "refused by policy (network.file.default_action)");
  folder_asking.insert(k);
  auto question = fmt::format("{} offers folder \"{}/\" ({} files, {}), accept? (y/n)", user,
                              *t::sanitize_file_name(m.name), m.files, human_bytes(static_cast<double>(m.bytes)));
  self->request(ctx->node, limits::file_prompt_timeout + 2s, prompt_atom::value, prompt_kind::file, user, question)
    .then(
      [this, k, session, m](bool yes) {
        if (folder_asking.erase(k) == 0)
          return;
        if (yes)
          accept_folder(k.first, session, m);
        else
          refuse_folder(k.first, session, m, "refused by the user");
      },
      [this, k, session, m](caf::error&) {
        if (folder_asking.erase(k) != 0)
          refuse_folder(k.first, session, m, "no answer");
      });
}

void service_state::accept_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m) {
  auto f = inbox.accept(user, m.id, m.name, m.files, m.bytes, ctx->download_dir);
  if (!f)
    return refuse_folder(user, session, m, f.error().message);
  (*f)->session = session;
  (*f)->resumable = resume_peers.count(user) != 0 && ctx->config.keep_partial_days > 0;
  write_folder_record(**f, false);
  send_to(session, w::serialize(w::folder_accept_msg{m.id}));
  emit_folder(**f, "receiving",
              "Receiving folder " + (*f)->name + " (" + std::to_string(m.files) + " files, " +
                human_bytes(static_cast<double>(m.bytes)) + ") from " + user + " into " + (*f)->root.string());
}

void service_state::on_folder_file(const std::string& user, const caf::actor& session, bool mokaccino,
                                   w::folder_file_msg& m) {
  key_t k{user, m.id};
  if (auto it = receivers.find(k); it != receivers.end())  // a repeated offer: the receiver answers it again
    return deliver(it->second.actor, w::message{w::file_offer_msg{m.id, m.size, {}}});
  auto now = steady::now();
  if (auto size = received_done.lookup(id(k), now)) {  // done already: our final ACKs were lost
    send_to(session, w::serialize(w::file_ack_msg{m.id, *size}));
    return;
  }
  auto* f = inbox.find(user, m.folder);
  if (!f)
    return send_to(session, w::serialize(w::file_stop_msg{m.id}));  // no such folder (any more)
  if (f->refused.count(m.id) != 0)  // a repeat of a file refused already: counted once
    return send_to(session, w::serialize(w::file_stop_msg{m.id}));
  auto fail = [&](const std::string& why) {
    send_to(session, w::serialize(w::file_stop_msg{m.id}));
    f->refused.insert(m.id);
    emit(event_kind::error, user, "Refused " + m.path + " of folder " + f->name + " from " + user + ": " + why);
    folder_inbox::file_ended(*f, false, 0);
    ++f->files_offered;  // counted against the announced total, so the folder can still finish
    folder_maybe_finished(*f);
  };
  if (m.size > ctx->config.max_size)
    return fail("larger than the limit (network.file.max_size)");
  if (active() >= limits::max_active_transfers || incoming_from(user) >= limits::max_incoming_per_peer)
    return fail("too many transfers in progress");
  auto place = inbox.admit(*f, m.path, m.size, ctx->download_dir);
  if (!place)
    return fail(place.error().message);
  w::file_init_msg init{m.id, m.size, place->name};
  receive_plan plan{place->name, true, f->resumable, {}, f, place->dir};
  if (f->resumed)
    plan_resumed_file(user, m.size, plan);
  accept(user, session, mokaccino, init, std::move(plan));
}

void service_state::folder_file_ended(const entry& e, const transfer_info& i) {
  auto* f = inbox.find(i.peer, e.folder_id);
  if (!f)
    return;
  folder_inbox::file_ended(*f, i.state == "done", i.size);
  if (i.state != "done")
    emit(event_kind::error, i.peer, i.name + " of folder " + f->name + " from " + i.peer + ": " + i.state);
  auto now = steady::now();
  if (!f->finished() && now - f->last_report >= limits::transfer_event_interval) {
    f->last_report = now;
    write_folder_record(*f, false);  // its last checkpoint: expiry counts from here
    emit_folder(*f, "receiving",
                f->name + " <- " + f->user + "  " + std::to_string(f->files_done + f->files_failed) + "/" +
                  std::to_string(f->files) + " files  " + human_bytes(static_cast<double>(f->bytes_done)) + "/" +
                  human_bytes(static_cast<double>(f->bytes)));
  }
  folder_maybe_finished(*f);
}

void service_state::folder_maybe_finished(incoming_folder& f) {
  if (!f.finished())
    return;
  auto state = f.files_failed == 0 ? "done" : "failed";
  auto info = folder_info(f, state);
  emit_folder(f, state,
              f.files_failed == 0 ? "Received folder " + f.name + " from " + f.user + " (" + std::to_string(f.files) +
                                      " files, " + human_bytes(static_cast<double>(f.bytes)) + ", " +
                                      human_bytes(info.rate_bps) + "/s) in " + f.root.string()
                                  : "Folder " + f.name + " from " + f.user + ": " + std::to_string(f.files_failed) +
                                      " of " + std::to_string(f.files) + " files failed");
  remember_finished(info);
  if (f.resumable && f.files_failed == 0) {  // every file saved: nothing left to resume
    partial_folders.erase(f.root);
    remove_partial_folder(f.root);  // (its record; no partial file is left inside)
  } else {
    write_folder_record(f, true);
  }
  inbox.erase(f.user, f.id);
}

// The sender cancelled the folder, or its peer left: what is still running ends on its own (FILESTOP, peer gone).
void service_state::end_incoming_folder(incoming_folder& f, const std::string& state, const std::string& why) {
  write_folder_record(f, true);  // resumable: offered again, the folder goes on in its directory
  emit_folder(f, state,
              "Folder " + f.name + " from " + f.user + ": " + why + (f.resumable ? " (offering it again resumes)" : ""));
  remember_finished(folder_info(f, state));
  inbox.erase(f.user, f.id);
}

// `file cancel photos/` (or `photos`, or a prefix of the folder's id): the whole folder offer, both ways.
std::optional<command_reply> service_state::cancel_folder(const std::string& what) {
  auto matches = [&](const std::string& fid, const std::string& name) {
    return name == what || name == what + "/" || (what.size() >= 6 && fid.compare(0, what.size(), what) == 0);
  };
  std::vector<key_t> out, in;
  for (auto& [k, i] : folder_progress)
    if (matches(k.second, i.name))
      out.push_back(k);
  for (auto& [k, o] : folders_out)  // not reported yet (still asking)
    if (folder_progress.count(k) == 0 && what.size() >= 6 && k.second.compare(0, what.size(), what) == 0)
      out.push_back(k);
  for (auto& [k, f] : inbox.all())
    if (matches(k.second, f.name))
      in.push_back(k);
  if (out.size() + in.size() == 0)
    return std::nullopt;
  if (out.size() + in.size() > 1)
    return reply_error("\"" + what + "\" matches " + std::to_string(out.size() + in.size()) +
                       " folders; give a longer id prefix (file list shows them)");
  if (!out.empty()) {
    auto folder = folders_out[out.front()].actor;
    self->send(folder, file_cancel_atom::value, std::string{"cancelled by the user"});
    for (auto& [k, e] : senders)
      if (e.folder == folder)
        self->send(e.actor, file_cancel_atom::value, std::string{"cancelled by the user"});
    return reply_ok("Cancelling folder " + folder_progress[out.front()].name);
  }
  auto& f = *inbox.find(in.front().first, in.front().second);
  send_to(f.session, w::serialize(w::file_stop_msg{f.id}));
  for (auto& [k, e] : receivers)
    if (e.folder_id == f.id && k.first == f.user)
      self->send(e.actor, file_cancel_atom::value, std::string{"cancelled by the user"});
  auto name = f.name;
  end_incoming_folder(f, "cancelled", "cancelled by the user");
  return reply_ok("Cancelling folder " + name);
}

}  // namespace mk::transfer_detail
