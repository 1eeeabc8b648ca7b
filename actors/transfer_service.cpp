#include "actors/transfer_service.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <system_error>

#include <botan/auto_rng.h>
#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/file_receiver.hpp"
#include "actors/folder_inbox.hpp"
#include "actors/folder_sender.hpp"
#include "actors/file_sender.hpp"
#include "actors/hash_pool.hpp"
#include "actors/node_context.hpp"
#include "actors/partial_files.hpp"
#include "core/config/policy_decision.hpp"
#include "core/crypto/random.hpp"
#include "core/limits.hpp"
#include "core/transfer/completed_transfers.hpp"
#include "core/transfer/file_name.hpp"
#include "core/transfer/human_bytes.hpp"
#include "core/wire/messages.hpp"

namespace mk {

using transfer::human_bytes;

namespace {

using namespace std::chrono_literals;
namespace w = mk::wire;
namespace t = mk::transfer;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr std::size_t finished_history = 64;  // `file list` also shows the last transfers that ended

// (peer, hash): PROTOCOL §10 keys transfers by hash; a lazy-hash transfer (FILEOFFER) by its random id, which has
// the same shape.
using key_t = std::pair<std::string, std::string>;

struct entry {
  caf::actor actor;
  transfer_info info;
  std::string identity;  // senders: "device:inode" of the file (the same file twice to one peer is refused)
  std::string path;      // senders: the file, to offer it again after an interruption
  bool resumable = false;  // senders: the peer speaks resume1 (an interrupted transfer is offered again)
  bool peer_left = false;  // senders: it ends because the peer went away (not refused or cancelled by anyone)
  caf::actor folder{};     // senders: the folder sender this file belongs to (its end is reported there)
  std::string folder_id{};  // receivers: the incoming folder this file belongs to
};

// What the service knows of the peer before sending to it.
struct peer_link {
  caf::actor session;
  bool mokaccino = false;
  bool lazy = false;     // MKCAPS lazyhash
  bool folders = false;  // MKCAPS folder1
  std::uint64_t chunk = 1024;
};

// A file sent as part of a folder offer.
struct folder_link {
  caf::actor folder;
  std::string name;    // "photos/"
  std::string id;      // FOLDEROFFER <fid>; "" toward an original (a file of its own there)
  std::string inside;  // its path inside the folder
};

struct service_state {
  static inline const char* name = "mk.transfer_service";

  caf::stateful_actor<service_state>* self = nullptr;
  std::shared_ptr<const node_context> ctx;
  std::map<key_t, entry> senders, receivers;
  std::set<key_t> asking;  // FILEINITs waiting for the user's answer
  struct preparing_send {
    caf::actor actor;
    std::string user, path, name;
    std::uint64_t size = 0;
    std::string identity;
    bool lazy_hash = false;
    caf::actor folder;
  };
  std::map<caf::actor_addr, preparing_send> preparing;  // senders still opening or hashing their file
  std::map<caf::actor_addr, std::pair<bool, key_t>> by_addr;  // outgoing?, key
  t::completed_transfers received_done, sent_done;
  std::map<key_t, std::string> verified;  // lazy-hash receivers that saved their file: the SHA-384 they verified
  std::deque<transfer_info> finished;
  std::shared_ptr<hash_pool> hashing = std::make_shared<hash_pool>(limits::hash_threads);
  std::map<std::string, std::weak_ptr<peer_link_share>> shares;  // per peer, alive while a sender holds it

  // -- resume (issue 15) --
  std::map<fs::path, t::resume_record> partials;  // interrupted incoming transfers' partial files, kept to resume
  std::set<std::string> resume_peers;              // connected peers whose MKCAPS list resume1
  struct interrupted_send {
    std::string path;
    transfer_info info;  // as it ended
    std::int64_t at = 0;  // unix seconds
  };
  std::vector<interrupted_send> interrupted;  // outgoing transfers to offer again when their peer reconnects

  // -- folders (issue 15) --
  folder_inbox inbox;                       // incoming folders accepted
  std::set<key_t> folder_asking;            // FOLDEROFFERs waiting for the user's answer
  std::map<key_t, caf::actor> folders_out;  // outgoing folder offers, by (peer, fid)
  std::map<key_t, transfer_info> folder_progress;  // their last report

  std::int64_t keep_seconds() const { return std::int64_t{ctx->config.keep_partial_days} * 86400; }

  void load_partials() {
    if (ctx->config.keep_partial_days == 0 || ctx->download_dir.empty())
      return;
    for (auto& pf : scan_partials(ctx->download_dir, limits::max_partial_files))
      partials[pf.part] = std::move(pf.record);
    expire_partials();
  }

  // Partial files older than network.file.keep_partial_days since their last checkpoint are removed.
  void expire_partials() {
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
    std::erase_if(interrupted, [&](auto& i) { return now - i.at > keep_seconds(); });
  }

  // An offered file we hold part of from an interrupted transfer: same peer, same name, same size. (Whether it is
  // the same content, the sender checks: FILERESUME carries the prefix's SHA-384.)
  std::optional<partial_file> take_partial(const std::string& user, const std::string& name, std::uint64_t size) {
    for (auto it = partials.begin(); it != partials.end(); ++it)
      if (it->second.peer == user && it->second.name == name && it->second.size == size) {
        partial_file pf{it->first, std::move(it->second)};
        partials.erase(it);
        return pf;
      }
    return std::nullopt;
  }

  void on_partial_kept(const std::string& path) {
    if (auto pf = read_partial(path); pf && partials.size() < limits::max_partial_files)
      partials[pf->part] = std::move(pf->record);
  }

  void on_peer_ready(const std::string& user, bool resume) {
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

  std::shared_ptr<peer_link_share> share_of(const std::string& user) {
    std::erase_if(shares, [](auto& kv) { return kv.second.expired(); });
    auto& w = shares[user];
    auto s = w.lock();
    if (!s) {
      s = std::make_shared<peer_link_share>();
      w = s;
    }
    return s;
  }
  // While routing a batch, each transfer actor's messages collect here and go out as one message per actor.
  bool in_batch = false;
  std::vector<std::pair<caf::actor, wire_batch>> outbox;

  void deliver(const caf::actor& to, w::message m) {
    if (!in_batch)
      return self->send(to, peer_msg_atom::value, std::move(m));
    auto it = std::find_if(outbox.begin(), outbox.end(), [&](auto& x) { return x.first == to; });
    if (it == outbox.end())
      it = outbox.insert(outbox.end(), {to, {}});
    it->second.push_back(std::move(m));
  }

  void on_peer_msgs(const std::string& user, const caf::actor& session, bool mokaccino, wire_batch& batch) {
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

  static std::string id(const key_t& k) { return k.first + '\n' + k.second; }

  void send_to(const caf::actor& session, std::string line) { self->send(session, send_atom::value, std::move(line)); }

  void emit(event_kind kind, const std::string& peer, std::string text,
            std::vector<std::pair<std::string, std::string>> fields = {}) {
    self->send(ctx->node, event_atom::value, make_event(kind, peer, std::move(text), std::move(fields)));
  }

  std::size_t active() const { return senders.size() + receivers.size() + asking.size() + preparing.size(); }
  // Offers of one peer being received or asked about: bounded, so one peer never takes every slot. A receiver
  // that saved its file and only repeats its final ACKs a moment longer does not count (a folder of small files
  // ends hundreds of them per second).
  std::size_t incoming_from(const std::string& user) const {
    std::size_t n = 0;
    for (auto& [k, e] : receivers)
      n += k.first == user && verified.count(k) == 0;
    for (auto& k : asking)
      n += k.first == user;
    return n;
  }

  // -- incoming (§10 "Start") ------------------------------------------------------------------------------

  void refuse(const std::string& user, const caf::actor& session, const w::file_init_msg& m, const std::string& why) {
    send_to(session, w::serialize(w::file_stop_msg{m.hash}));
    emit(event_kind::transfer, user, "Refused " + m.name + " from " + user + ": " + why,
         {{"hash", m.hash}, {"name", m.name}, {"direction", "receive"}, {"state", "refused"},
          {"size", std::to_string(m.size)}});
  }

  std::optional<std::string> space_problem(std::uint64_t size) {
    std::error_code ec;
    fs::create_directories(ctx->download_dir, ec);
    struct statvfs sv{};
    if (::statvfs(ctx->download_dir.c_str(), &sv) != 0)
      return "the download directory " + ctx->download_dir.string() + " is not usable";
    auto free_bytes = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
    if (size > free_bytes)
      return "not enough free disk space (" + human_bytes(static_cast<double>(free_bytes)) + " free)";
    return std::nullopt;
  }

  // FILEINIT, or (lazy) a FILEOFFER whose id stands in m.hash.
  void on_init(const std::string& user, const caf::actor& session, bool mokaccino, w::file_init_msg& m, bool lazy) {
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
      return refuse(user, session, m,
                    "larger than the limit (network.file.max_size = " +
                      human_bytes(static_cast<double>(ctx->config.max_size)) + ")");
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
        return accept(user, session, mokaccino, m, *clean, lazy, resumable, std::move(pf));
      }
    if (decision == config::action::accept)
      return accept(user, session, mokaccino, m, *clean, lazy, resumable);
    if (decision == config::action::refuse)
      return refuse(user, session, m, "refused by policy (network.file.default_action)");
    asking.insert(k);
    // PROTOCOL §10: the original asks "Accept a file of <size/1024> KB from X? (y/n)"; we name the file too.
    auto question = fmt::format("Accept a file of {} KB (\"{}\") from {}? (y/n)", m.size / 1024, *clean, user);
    self->request(ctx->node, limits::file_prompt_timeout + 2s, prompt_atom::value, std::string{"file"}, user, question)
      .then(
        [this, k, session, mokaccino, m, name = *clean, lazy, resumable](bool yes) {
          if (asking.erase(k) == 0)
            return;  // cancelled meanwhile (FILESTOP or the peer left)
          if (yes)
            accept(k.first, session, mokaccino, m, name, lazy, resumable);
          else
            refuse(k.first, session, m, "refused by the user");
        },
        [this, k, session, m](caf::error&) {
          if (asking.erase(k) != 0)
            refuse(k.first, session, m, "no answer");
        });
  }

  void accept(const std::string& user, const caf::actor& session, bool mokaccino, const w::file_init_msg& m,
              const std::string& name, bool lazy, bool resumable = false, std::optional<partial_file> resume = {},
              const incoming_folder* folder = nullptr, const fs::path& folder_dir = {}) {
    file_receiver_params p{ctx,    caf::actor_cast<caf::actor>(self), session, user, mokaccino || lazy, m.hash, lazy,
                           m.size, name, folder ? folder_dir : ctx->download_dir, resumable, std::move(resume),
                           folder ? folder->name : std::string{}};
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
         {{"hash", m.hash}, {"name", name}, {"direction", "receive"}, {"state", "receiving"},
          {"size", std::to_string(m.size)}, {"bytes", "0"}});
  }

  // -- incoming folders (issue 15) -------------------------------------------------------------------------

  void emit_folder(const incoming_folder& f, const std::string& state, std::string text) {
    emit(event_kind::transfer, f.user, std::move(text),
         {{"hash", f.id}, {"name", f.name}, {"direction", "receive"}, {"state", state}, {"folder", f.name},
          {"bytes", std::to_string(f.bytes_done)}, {"size", std::to_string(f.bytes)},
          {"files", std::to_string(f.files)}, {"files_done", std::to_string(f.files_done)},
          {"files_failed", std::to_string(f.files_failed)},
          {"rate", std::to_string(static_cast<std::uint64_t>(folder_info(f, state).rate_bps))}});
  }

  transfer_info folder_info(const incoming_folder& f, const std::string& state) const {
    transfer_info i{f.id, f.name, f.user, false, state, f.bytes, f.bytes_done, 0, -1, 0};
    auto s = std::chrono::duration<double>(steady::now() - f.started).count();
    i.rate_bps = s > 0 ? static_cast<double>(f.bytes_done) / s : 0;
    i.folder = f.name;
    i.files = f.files;
    i.files_done = f.files_done;
    i.files_failed = f.files_failed;
    return i;
  }

  void refuse_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m,
                     const std::string& why) {
    send_to(session, w::serialize(w::file_stop_msg{m.id}));
    emit(event_kind::transfer, user, "Refused folder " + m.name + "/ from " + user + ": " + why,
         {{"hash", m.id}, {"name", m.name + "/"}, {"direction", "receive"},
          {"state", "refused"}, {"folder", m.name + "/"}, {"size", std::to_string(m.bytes)}, {"files", std::to_string(m.files)}});
  }

  void on_folder_offer(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m) {
    key_t k{user, m.id};
    if (inbox.find(user, m.id)) {  // our FOLDERACCEPT was lost: the offer is repeated
      send_to(session, w::serialize(w::folder_accept_msg{m.id}));
      return;
    }
    if (folder_asking.count(k) != 0)
      return;
    if (!t::sanitize_file_name(m.name))
      return refuse_folder(user, session, m, "unusable folder name");
    if (m.files == 0 || m.files > limits::max_folder_files)
      return refuse_folder(user, session, m, "too many files (" + std::to_string(m.files) + ")");
    if (auto why = space_problem(m.bytes))
      return refuse_folder(user, session, m, *why);
    auto decision = config::decide(ctx->config.file, user);
    if (decision == config::action::accept)
      return accept_folder(user, session, m);
    if (decision == config::action::refuse)
      return refuse_folder(user, session, m, "refused by policy (network.file.default_action)");
    folder_asking.insert(k);
    auto question = fmt::format("{} offers folder \"{}/\" ({} files, {}), accept? (y/n)", user,
                                *t::sanitize_file_name(m.name), m.files, human_bytes(static_cast<double>(m.bytes)));
    self->request(ctx->node, limits::file_prompt_timeout + 2s, prompt_atom::value, std::string{"file"}, user, question)
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

  void accept_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m) {
    auto f = inbox.accept(user, m.id, m.name, m.files, m.bytes, ctx->download_dir);
    if (!f)
      return refuse_folder(user, session, m, f.error().message);
    (*f)->session = session;
    send_to(session, w::serialize(w::folder_accept_msg{m.id}));
    emit_folder(**f, "receiving",
                "Receiving folder " + (*f)->name + " (" + std::to_string(m.files) + " files, " +
                  human_bytes(static_cast<double>(m.bytes)) + ") from " + user + " into " + (*f)->root.string());
  }

  void on_folder_file(const std::string& user, const caf::actor& session, bool mokaccino, w::folder_file_msg& m) {
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
    auto fail = [&](const std::string& why) {
      send_to(session, w::serialize(w::file_stop_msg{m.id}));
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
    accept(user, session, mokaccino, init, place->name, true, false, {}, f, place->dir);
  }

  void folder_file_ended(const entry& e, const transfer_info& i) {
    auto* f = inbox.find(i.peer, e.folder_id);
    if (!f)
      return;
    folder_inbox::file_ended(*f, i.state == "done", i.size);
    if (i.state != "done")
      emit(event_kind::error, i.peer, i.name + " of folder " + f->name + " from " + i.peer + ": " + i.state);
    auto now = steady::now();
    if (!f->finished() && now - f->last_report >= limits::transfer_event_interval) {
      f->last_report = now;
      emit_folder(*f, "receiving",
                  f->name + " <- " + f->user + "  " + std::to_string(f->files_done + f->files_failed) + "/" +
                    std::to_string(f->files) + " files  " + human_bytes(static_cast<double>(f->bytes_done)) + "/" +
                    human_bytes(static_cast<double>(f->bytes)));
    }
    folder_maybe_finished(*f);
  }

  void folder_maybe_finished(incoming_folder& f) {
    if (!f.finished())
      return;
    auto state = f.files_failed == 0 ? "done" : "failed";
    auto info = folder_info(f, state);
    emit_folder(f, state,
                f.files_failed == 0
                  ? "Received folder " + f.name + " from " + f.user + " (" + std::to_string(f.files) + " files, " +
                      human_bytes(static_cast<double>(f.bytes)) + ", " + human_bytes(info.rate_bps) + "/s) in " +
                      f.root.string()
                  : "Folder " + f.name + " from " + f.user + ": " + std::to_string(f.files_failed) + " of " +
                      std::to_string(f.files) + " files failed");
    remember_finished(info);
    inbox.erase(f.user, f.id);
  }

  // The sender cancelled the folder, or its peer left: what is still running ends on its own (FILESTOP, peer gone).
  void end_incoming_folder(incoming_folder& f, const std::string& state, const std::string& why) {
    emit_folder(f, state, "Folder " + f.name + " from " + f.user + ": " + why);
    remember_finished(folder_info(f, state));
    inbox.erase(f.user, f.id);
  }

  // -- routing --------------------------------------------------------------------------------------------------

  void on_peer_msg(const std::string& user, const caf::actor& session, bool mokaccino, w::message& m) {
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
            return;  // a repeated verdict
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
            deliver(it->second, std::move(m));
        } else if constexpr (std::is_same_v<T, w::file_stop_msg>) {
          key_t k{user, msg.hash};
          asking.erase(k);
          if (folder_asking.erase(k) != 0)
            return;
          if (auto it = folders_out.find(k); it != folders_out.end())
            return deliver(it->second, std::move(m));
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

  void on_peer_gone(const std::string& user) {
    resume_peers.erase(user);
    std::erase_if(asking, [&](const key_t& k) { return k.first == user; });
    std::erase_if(folder_asking, [&](const key_t& k) { return k.first == user; });
    for (auto& [k, a] : folders_out)
      if (k.first == user)
        self->send(a, peer_gone_atom::value, user);
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

  // -- transfer actors -----------------------------------------------------------------------------------------

  entry* find_entry(const transfer_info& i) {
    auto& map = i.outgoing ? senders : receivers;
    auto it = map.find(key_t{i.peer, i.hash});
    return it == map.end() ? nullptr : &it->second;
  }

  void remember_finished(transfer_info i) {
    finished.push_back(std::move(i));
    if (finished.size() > finished_history)
      finished.pop_front();
  }

  void on_final(const transfer_info& i) {
    if (i.outgoing && i.files > 0) {  // a folder sender ended
      folders_out.erase(key_t{i.peer, i.hash});
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
    if (i.outgoing && i.state == "failed" && it->second.resumable && it->second.peer_left &&
        !it->second.path.empty() && interrupted.size() < limits::max_partial_files &&
        ctx->config.keep_partial_days > 0) {
      interrupted.push_back({it->second.path, i, unix_now()});
      if (resume_peers.count(i.peer) != 0)
        on_peer_ready(i.peer, true);
    }
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

  void on_down(const caf::down_msg& dm) {
    if (dm.source == ctx->node.address())
      return self->quit();
    preparing.erase(dm.source);
    std::erase_if(folders_out, [&](auto& kv) { return kv.second.address() == dm.source; });
    auto it = by_addr.find(dm.source);
    if (it == by_addr.end())
      return;
    auto [outgoing, k] = it->second;
    by_addr.erase(it);
    (outgoing ? senders : receivers).erase(k);
    if (!outgoing)
      verified.erase(k);
  }

  // -- commands ---------------------------------------------------------------------------------------------

  // `file send`: replies as soon as the file is open; the file is offered to the peer (FILEINIT) once hashed,
  // which for a file of many GB takes longer than anyone should wait for a command to answer.
  // What the peer's session says of it (kind, features, the path's datagram budget), then `then(link)`;
  // `none()` if the user is not connected.
  template <class Then, class None>
  void with_link(const std::string& user, Then then, None none) {
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
                auto has = [&](const char* f) { return std::find(features.begin(), features.end(), f) != features.end(); };
                peer_link link{session, true, has("lazyhash"), has("lazyhash") && has("folder1"), t::chunk_size};
                self->request(session, 5s, path_budget_atom::value)
                  .then(
                    [then, link](std::uint64_t chunk) mutable {
                      link.chunk = chunk;
                      then(link);
                    },
                    [then, link](caf::error&) mutable { then(link); });
              },
              [session, then](caf::error&) mutable { then(peer_link{session, true, false, false, t::chunk_size}); });
        },
        [none](caf::error&) mutable { none(); });
  }

  // `file send`: replies as soon as the file is open; the file is offered to the peer (FILEINIT) once hashed,
  // which for a file of many GB takes longer than anyone should wait for a command to answer. A directory is
  // offered as a folder.
  caf::result<command_reply> file_send(const std::string& user, const std::string& path, folder_link folder = {}) {
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

  void send_folder(caf::typed_response_promise<command_reply>& rp, const peer_link& link, const std::string& user,
                   const std::string& path) {
    Botan::AutoSeeded_RNG rng;
    auto fid = crypto::make_transfer_id(rng);
    auto a = spawn_folder_sender(self->system(), folder_sender_params{ctx, caf::actor_cast<caf::actor>(self),
                                                                      link.session, user, fs::path{path}, fid,
                                                                      link.folders});
    self->monitor(a);
    folders_out[key_t{user, fid}] = a;
    self->request(a, 60s, xfer_prepare_atom::value)
      .then([rp](const command_reply& r) mutable { rp.deliver(r); },
            [rp](caf::error&) mutable { rp.deliver(reply_error("Cannot read the folder")); });
  }

  void start_send(caf::typed_response_promise<command_reply>& rp, const peer_link& link, const std::string& user,
                  const std::string& path, const folder_link& folder = {}) {
    const bool lazy = link.lazy;
    auto a = spawn_file_sender(self->system(),
                               file_sender_params{ctx, caf::actor_cast<caf::actor>(self), link.session, user,
                                                  link.mokaccino, lazy, fs::path{path}, share_of(user), hashing,
                                                  link.chunk, folder.name, folder.id, folder.inside});
    self->monitor(a);
    preparing[a.address()] = preparing_send{a, user, path, {}, 0, {}, lazy, folder.folder};
    // No timeout: the sender answers as soon as it runs (opening is quick), but while hundreds of others hash
    // big files from disk that can take long; if it dies instead, the request fails with receiver_down.
    self->request(a, caf::infinite, xfer_prepare_atom::value)
      .then(
        [this, rp, a, user, lazy](bool ok, const std::string& error, const std::string& name,
                                  std::uint64_t size, const std::string& identity) mutable {
          if (!ok) {
            preparing.erase(a.address());
            return void(rp.deliver(reply_error(error)));
          }
          if (auto it = preparing.find(a.address()); it != preparing.end()) {
            it->second.name = name;
            it->second.size = size;
            it->second.identity = identity;
          }
          rp.deliver(reply_ok("Preparing " + name + " (" + human_bytes(static_cast<double>(size)) + ") for " +
                              user + (lazy ? ": offering it, hashing while sending" : ": hashing, then offering it")));
        },
        [this, rp, a](caf::error& e) mutable {
          preparing.erase(a.address());
          self->send_exit(a, caf::exit_reason::user_shutdown);
          rp.deliver(reply_error("Cannot prepare the file: " + self->system().render(e)));
        });
  }

  // A sender finished hashing: offer the file (unless the same file is already going to that peer).
  void on_hashed(const caf::actor_addr& from, bool ok, const std::string& hash_or_error) {
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
      return emit(event_kind::error, pending.user,
                  "Already sending this file (" + (same_file ? pending.path : hash_or_error.substr(0, 8)) + ") to " +
                    pending.user);
    }
    // Offered again by hand while it waits to be offered again automatically: once is enough.
    std::erase_if(interrupted, [&](auto& i) { return i.info.peer == pending.user && i.path == pending.path; });
    senders[k] = entry{pending.actor,
                       transfer_info{hash_or_error, pending.name, pending.user, true, "pending", pending.size, 0, 0, -1},
                       pending.identity, pending.path,
                       pending.lazy_hash && resume_peers.count(pending.user) != 0 && !pending.folder};
    senders[k].folder = pending.folder;
    by_addr[from] = {true, k};
    self->send(pending.actor, start_atom::value);
  }

  std::vector<transfer_info> list() const {
    std::vector<transfer_info> out{finished.begin(), finished.end()};
    for (auto* map : {&senders, &receivers})
      for (auto& [k, e] : *map)
        out.push_back(e.info);
    for (auto& [path, r] : partials)
      out.push_back(transfer_info{"", r.name, r.peer, false, "resumable", r.size, r.verified, 0, -1, 0});
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

  // `file cancel photos/` (or `photos`, or a prefix of the folder's id): the whole folder offer, both ways.
  std::optional<command_reply> cancel_folder(const std::string& what) {
    auto matches = [&](const std::string& fid, const std::string& name) {
      return name == what || name == what + "/" || (what.size() >= 6 && fid.compare(0, what.size(), what) == 0);
    };
    std::vector<key_t> out, in;
    for (auto& [k, i] : folder_progress)
      if (matches(k.second, i.name))
        out.push_back(k);
    for (auto& [k, a] : folders_out)  // not reported yet (still asking)
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
      auto folder = folders_out[out.front()];
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

  // `file cancel` of a transfer that is not running: its partial file (incoming) or its pending re-offer
  // (outgoing) goes.
  command_reply cancel_resumable(const std::string& what) {
    std::vector<fs::path> parts;
    for (auto& [path, r] : partials)
      if (r.name == what || path.filename() == what)
        parts.push_back(path);
    auto sends = std::count_if(interrupted.begin(), interrupted.end(), [&](auto& i) { return i.info.name == what; });
    if (parts.size() + static_cast<std::size_t>(sends) > 1)
      return reply_error("\"" + what + "\" matches " + std::to_string(parts.size() + static_cast<std::size_t>(sends)) +
                         " interrupted transfers; give the partial file's name (" + what + ".part, ...)");
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

  command_reply cancel(const std::string& what) {
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
};

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

}  // namespace

caf::actor spawn_transfer_service(caf::actor_system& sys, std::shared_ptr<const node_context> ctx) {
  return sys.spawn(transfer_service, std::move(ctx));
}

}  // namespace mk
