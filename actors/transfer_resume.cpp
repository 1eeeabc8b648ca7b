#include "actors/transfer_service_state.hpp"

namespace mk::transfer_detail {

void service_state::load_partials() {
  if (ctx->config.keep_partial_days == 0 || ctx->download_dir.empty())
    return;
  for (auto& pf : scan_partials(ctx->download_dir, limits::max_partial_files))
    partials[pf.part] = std::move(pf.record);
  for (auto& pf : scan_partial_folders(ctx->download_dir, limits::max_partial_files))
    partial_folders[pf.root] = std::move(pf.record);
  expire_partials();
}

// Partial files older than network.file.keep_partial_days since their last checkpoint are removed.
void service_state::expire_partials() {
  auto now = unix_now();
  for (auto it = partials.begin(); it != partials.end();) {
    if (t::expired(it->second, now, keep_seconds())) {
      remove_partial(it->first);
      emit(event_kind::info, it->second.peer,
           "Removed the partial file of " + it->second.name + " from " + it->second.peer + " (kept " +
             std::to_string(ctx->config.keep_partial_days) + " days, network.file.keep_partial_days)");
      it = partials.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = partial_folders.begin(); it != partial_folders.end();) {
    if (t::expired(it->second, now, keep_seconds())) {
      remove_partial_folder(it->first);
      emit(event_kind::info, it->second.peer,
           "Removed the partial files of folder " + it->first.filename().string() + "/ from " + it->second.peer +
             " (kept " + std::to_string(ctx->config.keep_partial_days) +
             " days, network.file.keep_partial_days; the files saved in it stay)");
      it = partial_folders.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(interrupted, [&](auto& i) { return now - i.at > keep_seconds(); });
}

std::optional<partial_folder> service_state::take_partial_folder(const std::string& user, const std::string& name,
                                                                 std::uint64_t files, std::uint64_t bytes) {
  if (ctx->config.keep_partial_days == 0)
    return std::nullopt;
  for (auto it = partial_folders.begin(); it != partial_folders.end(); ++it) {
    auto& r = it->second;
    if (r.peer != user || r.name != name || r.files != files || r.size != bytes)
      continue;
    auto pf = read_partial_folder(it->first);  // still there, still a directory (not a symlink)
    partial_folders.erase(it);
    return pf;
  }
  return std::nullopt;
}

void service_state::resume_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m,
                                  partial_folder pf) {
  auto* f = inbox.resume(user, m.id, pf.root, m.files, m.bytes);
  f->session = session;
  f->resumable = true;
  f->wire_name = pf.record.name;
  write_folder_record(*f, false);
  send_to(session, w::serialize(w::folder_accept_msg{m.id}));
  emit_folder(*f, "receiving",
              "Resuming folder " + f->name + " from " + user + " in " + f->root.string() + " (" +
                std::to_string(m.files) + " files, " + human_bytes(static_cast<double>(m.bytes)) +
                "): files saved before are checked, not sent again");
}

void service_state::write_folder_record(const incoming_folder& f, bool durable) {
  if (!f.resumable)
    return;
  auto now = unix_now();
  t::resume_record r{f.user, f.wire_name, f.bytes, std::min(f.bytes_done, f.bytes), now, now, f.files};
  if (auto it = partial_folders.find(f.root); it != partial_folders.end())
    r.started = it->second.started;
  write_folder_record_file(f.root, r, durable);
  if (durable)  // the folder stopped here: a later offer of it continues
    partial_folders[f.root] = r;
}

void service_state::plan_resumed_file(const std::string& user, std::uint64_t size, receive_plan& plan) {
  std::error_code ec;
  auto saved = plan.dir / plan.name;
  if (fs::is_regular_file(fs::symlink_status(saved, ec)) && fs::file_size(saved, ec) == size && !ec) {
    plan.existing = saved;
    return;
  }
  if (auto pf = read_partial(plan.dir / (plan.name + ".part"));
      pf && pf->record.peer == user && pf->record.name == plan.name && pf->record.size == size)
    plan.resume = std::move(pf);
}

void service_state::interrupt(const std::string& path, const transfer_info& i) {
  if (path.empty() || interrupted.size() >= limits::max_partial_files || ctx->config.keep_partial_days == 0)
    return;
  interrupted.push_back({path, i, unix_now()});
  if (resume_peers.count(i.peer) != 0)
    on_peer_ready(i.peer, true);
}

// An offered file we hold part of from an interrupted transfer: same peer, same name, same size. (Whether it is
// the same content, the sender checks: FILERESUME carries the prefix's SHA-384.)
std::optional<partial_file> service_state::take_partial(const std::string& user, const std::string& name,
                                                        std::uint64_t size) {
  for (auto it = partials.begin(); it != partials.end(); ++it)
    if (it->second.peer == user && it->second.name == name && it->second.size == size) {
      partial_file pf{it->first, std::move(it->second)};
      partials.erase(it);
      return pf;
    }
  return std::nullopt;
}

void service_state::on_partial_kept(const std::string& path) {
  if (auto pf = read_partial(path); pf && partials.size() < limits::max_partial_files)
    partials[pf->part] = std::move(pf->record);
}

void service_state::on_peer_ready(const std::string& user, bool resume) {
  if (!resume)
    return;
  resume_peers.insert(user);
  // Offer again what was interrupted to this peer (the receiver resumes from its partial file). A moment later:
  // the node registers the peer as it gets the session's capabilities too.
  for (auto it = interrupted.begin(); it != interrupted.end();) {
    if (it->info.peer != user) {
      ++it;
      continue;
    }
    emit(event_kind::info, user, "Offering " + it->info.name + " to " + user + " again: it was interrupted");
    self->delayed_send(self, 1s, file_send_atom::value, user, it->path);
    it = interrupted.erase(it);
  }
}

std::vector<transfer_info> service_state::list() const {
  std::vector<transfer_info> out{finished.begin(), finished.end()};
  for (auto* map : {&senders, &receivers})
    for (auto& [k, e] : *map)
      out.push_back(e.info);
  for (auto& [path, r] : partials)
    out.push_back(transfer_info{"", r.name, r.peer, false, "resumable", r.size, r.verified, 0, -1, 0});
  for (auto& [root, r] : partial_folders) {
    transfer_info i{"", root.filename().string() + "/", r.peer, false, "resumable", r.size, r.verified, 0, -1, 0};
    i.folder = i.name;
    i.files = r.files;
    out.push_back(std::move(i));
  }
  for (auto& i : interrupted) {
    auto info = i.info;
    info.state = "resumable";
    info.rate_bps = 0;
    out.push_back(std::move(info));
  }
  for (auto& [k, i] : folder_progress)
    out.push_back(i);
  for (auto& [k, f] : inbox.all())
    out.push_back(folder_info(f, "receiving"));
  return out;
}

// `file cancel` of a transfer that is not running: its partial file (incoming) or its pending re-offer
// (outgoing) goes.
command_reply service_state::cancel_resumable(const std::string& what) {
  std::vector<fs::path> parts;
  for (auto& [path, r] : partials)
    if (r.name == what || path.filename() == what)
      parts.push_back(path);
  for (auto& [root, r] : partial_folders)
    if (auto dir = root.filename().string(); dir == what || dir + "/" == what)
      parts.push_back(root);
  auto sends = std::count_if(interrupted.begin(), interrupted.end(), [&](auto& i) { return i.info.name == what; });
  if (parts.size() + static_cast<std::size_t>(sends) > 1)
    return reply_error("\"" + what + "\" matches " + std::to_string(parts.size() + static_cast<std::size_t>(sends)) +
                       " interrupted transfers; give the partial file's name (" + what + ".part, ...)");
  if (!parts.empty() && partial_folders.count(parts.front()) != 0) {
    auto r = partial_folders[parts.front()];
    remove_partial_folder(parts.front());
    partial_folders.erase(parts.front());
    return reply_ok("Removed the partial files of folder " + parts.front().filename().string() + "/ from " + r.peer +
                    " (the files saved in it stay)");
  }
  if (!parts.empty()) {
    auto r = partials[parts.front()];
    remove_partial(parts.front());
    partials.erase(parts.front());
    return reply_ok("Removed the partial file of " + r.name + " from " + r.peer + " (" +
                    human_bytes(static_cast<double>(r.verified)) + ")");
  }
  if (sends == 1) {
    auto it = std::find_if(interrupted.begin(), interrupted.end(), [&](auto& i) { return i.info.name == what; });
    auto text = "Will not offer " + it->info.name + " to " + it->info.peer + " again";
    interrupted.erase(it);
    return reply_ok(text);
  }
  return reply_error("No transfer in progress matches \"" + what + "\"");
}

command_reply service_state::cancel(const std::string& what) {
  if (what.empty())
    return reply_error("file cancel: give a hash prefix or a file name");
  if (auto r = cancel_folder(what))
    return *r;
  std::vector<entry*> hits;
  for (auto* map : {&senders, &receivers})
    for (auto& [k, e] : *map)
      if (e.info.name == what || e.info.hash.compare(0, what.size(), what) == 0)
        hits.push_back(&e);
  if (hits.empty())
    return cancel_resumable(what);
  if (hits.size() > 1) {
    std::string list;
    for (auto* e : hits)
      list += "\n  " + e->info.hash.substr(0, 12) + "  " + e->info.name + (e->info.outgoing ? " to " : " from ") +
              e->info.peer;
    return reply_error("\"" + what + "\" matches " + std::to_string(hits.size()) +
                       " transfers; give a longer hash prefix:" + list);
  }
  self->send(hits.front()->actor, file_cancel_atom::value, std::string{"cancelled by the user"});
  return reply_ok("Cancelling " + hits.front()->info.name);
}

}  // namespace mk::transfer_detail
