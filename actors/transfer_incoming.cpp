#include "actors/transfer_service_state.hpp"

namespace mk::transfer_detail {

// Offers of one peer being received or asked about: bounded, so one peer never takes every slot. A receiver
// that saved its file and only repeats its final ACKs a moment longer does not count (a folder of small files
// ends hundreds of them per second).
std::size_t service_state::incoming_from(const std::string& user) const {
  std::size_t n = 0;
  for (auto& [k, e] : receivers)
    n += k.first == user && verified.count(k) == 0;
  for (auto& k : asking)
    n += k.first == user;
  return n;
}

void service_state::refuse(const std::string& user, const caf::actor& session, const w::file_init_msg& m,
                           const std::string& why) {
  send_to(session, w::serialize(w::file_stop_msg{m.hash}));
  emit(event_kind::transfer, user, "Refused " + m.name + " from " + user + ": " + why,
       {{"hash", m.hash},
        {"name", m.name},
        {"direction", "receive"},
        {"state", "refused"},
        {"size", std::to_string(m.size)}});
}

std::optional<std::string> service_state::space_problem(std::uint64_t size) {
  std::error_code ec;
  fs::create_directories(ctx->download_dir, ec);
  struct statvfs sv {};
  if (::statvfs(ctx->download_dir.c_str(), &sv) != 0)
    return "the download directory " + ctx->download_dir.string() + " is not usable";
  auto free_bytes = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
  if (size > free_bytes)
    return "not enough free disk space (" + human_bytes(static_cast<double>(free_bytes)) + " free)";
  return std::nullopt;
}

// FILEINIT, or (lazy) a FILEOFFER whose id stands in m.hash.
void service_state::on_init(const std::string& user, const caf::actor& session, bool mokaccino, w::file_init_msg& m,
                            bool lazy) {
  key_t k{user, m.hash};
  if (auto it = receivers.find(k); it != receivers.end()) {  // retransmitted offer
    deliver(it->second.actor, w::message{std::move(m)});
    return;
  }
  if (asking.count(k) != 0)
    return;
  auto now = steady::now();
  if (auto size = received_done.lookup(id(k), now)) {  // done already: our final ACKs were lost
    send_to(session, w::serialize(w::file_ack_msg{m.hash, *size}));
    return;
  }
  auto clean = t::sanitize_file_name(m.name);
  if (!clean)
    return refuse(user, session, m, "unusable file name");
  if (m.size > ctx->config.max_size)
    return refuse(
      user, session, m,
      "larger than the limit (network.file.max_size = " + human_bytes(static_cast<double>(ctx->config.max_size)) + ")");
  if (active() >= limits::max_active_transfers)
    return refuse(user, session, m, "too many transfers in progress");
  if (incoming_from(user) >= limits::max_incoming_per_peer)
    return refuse(user, session, m, "too many transfers from " + user + " in progress");
  if (auto why = space_problem(m.size))
    return refuse(user, session, m, *why);
  const auto& policy = ctx->config.file;
  auto decision = config::decide(policy, user);
  const bool resumable = lazy && resume_peers.count(user) != 0 && ctx->config.keep_partial_days > 0;
  // The same file from the same peer is still ending from its last session (it keeps its partial file): the
  // offer is repeated every second, and by then the partial file is ours to resume.
  if (resumable && std::any_of(receivers.begin(), receivers.end(), [&](auto& kv) {
        return kv.first.first == user && kv.second.peer_left && kv.second.info.name == *clean &&
               kv.second.info.size == m.size;
      }))
    return;
  if (resumable && decision != config::action::refuse)
    if (auto pf = take_partial(user, *clean, m.size)) {
      // Accepted before (this partial file exists only for an accepted transfer): no second question.
      emit(event_kind::info, user,
           "Resuming " + *clean + " from " + user + ": " + human_bytes(static_cast<double>(pf->record.verified)) +
             " of " + human_bytes(static_cast<double>(m.size)) + " kept from an interrupted transfer");
      return accept(user, session, mokaccino, m, receive_plan{*clean, lazy, resumable, std::move(pf)});
    }
  if (decision == config::action::accept)
    return accept(user, session, mokaccino, m, receive_plan{*clean, lazy, resumable});
  if (decision == config::action::refuse)
    return refuse(user, session, m, "refused by policy (network.file.default_action)");
  asking.insert(k);
  // PROTOCOL §10: the original asks "Accept a file of <size/1024> KB from X? (y/n)"; we name the file too.
  auto question = fmt::format("Accept a file of {} KB (\"{}\") from {}? (y/n)", m.size / 1024, *clean, user);
  self->request(ctx->node, limits::file_prompt_timeout + 2s, prompt_atom::value, prompt_kind::file, user, question)
    .then(
      [this, k, session, mokaccino, m, name = *clean, lazy, resumable](bool yes) {
        if (asking.erase(k) == 0)
          return;  // cancelled meanwhile (FILESTOP or the peer left)
        if (yes)
          accept(k.first, session, mokaccino, m, receive_plan{name, lazy, resumable});
        else
          refuse(k.first, session, m, "refused by the user");
      },
      [this, k, session, m](caf::error&) {
        if (asking.erase(k) != 0)
          refuse(k.first, session, m, "no answer");
      });
}

void service_state::accept(const std::string& user, const caf::actor& session, bool mokaccino,
                           const w::file_init_msg& m, receive_plan plan) {
  const auto* folder = plan.folder;
  const auto name = plan.name;
  file_receiver_params p{ctx,
                         caf::actor_cast<caf::actor>(self),
                         session,
                         user,
                         mokaccino || plan.lazy,
                         m.hash,
                         plan.lazy,
                         m.size,
                         name,
                         plan.dir.empty() ? ctx->download_dir : plan.dir,
                         plan.resumable,
                         std::move(plan.resume),
                         folder ? folder->name : std::string{},
                         std::move(plan.existing)};
  auto a = spawn_file_receiver(self->system(), std::move(p));
  self->monitor(a);
  key_t k{user, m.hash};
  receivers[k] = entry{a, transfer_info{m.hash, name, user, false, "receiving", m.size, 0, 0, -1, 0}, {}, {}, false};
  by_addr[a.address()] = {false, k};
  if (folder) {
    receivers[k].info.folder = folder->name;
    receivers[k].folder_id = folder->id;
    return;  // the folder's events speak for its files
  }
  emit(event_kind::transfer, user,
       "Receiving " + name + " (" + human_bytes(static_cast<double>(m.size)) + ") from " + user,
       {{"hash", m.hash},
        {"name", name},
        {"direction", "receive"},
        {"state", "receiving"},
        {"size", std::to_string(m.size)},
        {"bytes", "0"}});
}

}  // namespace mk::transfer_detail
