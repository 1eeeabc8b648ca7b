#include "actors/transfer_service.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <system_error>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/file_receiver.hpp"
#include "actors/file_sender.hpp"
#include "actors/hash_pool.hpp"
#include "actors/node_context.hpp"
#include "actors/partial_files.hpp"
#include "core/config/policy_decision.hpp"
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
  // Offers of one peer being received or asked about: bounded, so one peer never takes every slot.
  std::size_t incoming_from(const std::string& user) const {
    std::size_t n = 0;
    for (auto& [k, e] : receivers)
      n += k.first == user;
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
              const std::string& name, bool lazy, bool resumable = false, std::optional<partial_file> resume = {}) {
    file_receiver_params p{ctx,    caf::actor_cast<caf::actor>(self), session, user, mokaccino || lazy, m.hash, lazy,
                           m.size, name, ctx->download_dir, resumable, std::move(resume)};
    auto a = spawn_file_receiver(self->system(), std::move(p));
    self->monitor(a);
    key_t k{user, m.hash};
    receivers[k] = entry{a, transfer_info{m.hash, name, user, false, "receiving", m.size, 0, 0, -1, 0}, {}, {}, false};
    by_addr[a.address()] = {false, k};
    emit(event_kind::transfer, user,
         "Receiving " + name + " (" + human_bytes(static_cast<double>(m.size)) + ") from " + user,
         {{"hash", m.hash}, {"name", name}, {"direction", "receive"}, {"state", "receiving"},
          {"size", std::to_string(m.size)}, {"bytes", "0"}});
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
        } else if constexpr (std::is_same_v<T, w::file_stop_msg>) {
          key_t k{user, msg.hash};
          asking.erase(k);
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

  void on_final(const transfer_info& i) {
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
    map.erase(it);
    std::string content_hash;
    if (auto v = verified.find(k); !i.outgoing && v != verified.end()) {
      content_hash = std::move(v->second);
      verified.erase(v);
    }
    if (i.state == "done")
      (i.outgoing ? sent_done : received_done).remember(id(k), i.size, steady::now(), std::move(content_hash));
    finished.push_back(i);
    if (finished.size() > finished_history)
      finished.pop_front();
  }

  void on_down(const caf::down_msg& dm) {
    if (dm.source == ctx->node.address())
      return self->quit();
    preparing.erase(dm.source);
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
  caf::result<command_reply> file_send(const std::string& user, const std::string& path) {
    auto rp = self->make_response_promise<command_reply>();
    if (active() >= limits::max_active_transfers) {
      rp.deliver(reply_error("Too many transfers in progress"));
      return rp;
    }
    self->request(ctx->node, 5s, session_of_atom::value, user)
      .then(
        [this, rp, user, path](const caf::actor& session, bool mokaccino) mutable {
          if (!session)
            return void(rp.deliver(reply_error("User " + user + " is not connected")));
          if (!mokaccino)
            return start_send(rp, session, user, path, false, false, t::chunk_size);
          // Between mokaccino nodes: offer before hashing if the peer announced `lazyhash`; chunks as large as
          // the path's datagram budget allows (its session probes it).
          self->request(session, 5s, peer_caps_atom::value)
            .then(
              [this, rp, session, user, path](const std::vector<std::string>& features) mutable {
                bool lazy = std::find(features.begin(), features.end(), "lazyhash") != features.end();
                self->request(session, 5s, path_budget_atom::value)
                  .then(
                    [this, rp, session, user, path, lazy](std::uint64_t chunk) mutable {
                      start_send(rp, session, user, path, true, lazy, chunk);
                    },
                    [this, rp, session, user, path, lazy](caf::error&) mutable {
                      start_send(rp, session, user, path, true, lazy, t::chunk_size);
                    });
              },
              [this, rp, session, user, path](caf::error&) mutable {
                start_send(rp, session, user, path, true, false, t::chunk_size);
              });
        },
        [rp, user](caf::error&) mutable { rp.deliver(reply_error("User " + user + " is not connected")); });
    return rp;
  }

  void start_send(caf::typed_response_promise<command_reply>& rp, const caf::actor& session, const std::string& user,
                  const std::string& path, bool mokaccino, bool lazy, std::uint64_t chunk) {
    auto a = spawn_file_sender(self->system(),
                               file_sender_params{ctx, caf::actor_cast<caf::actor>(self), session, user,
                                                  mokaccino, lazy, fs::path{path}, share_of(user), hashing, chunk});
    self->monitor(a);
    preparing[a.address()] = preparing_send{a, user, path, {}, 0, {}, lazy};
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
    if (!ok)
      return emit(event_kind::error, pending.user, "Cannot send " + pending.path + ": " + hash_or_error);
    key_t k{pending.user, hash_or_error};
    // The same content to the same peer once at a time: by hash, or (lazy hash, no hash known yet) by file.
    bool same_file = pending.lazy_hash && std::any_of(senders.begin(), senders.end(), [&](auto& kv) {
                       return kv.first.first == pending.user && kv.second.identity == pending.identity;
                     });
    if (senders.count(k) != 0 || same_file) {
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
                       pending.lazy_hash && resume_peers.count(pending.user) != 0};
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
    return out;
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
      if (auto* e = self->state.find_entry(i))
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
    [self](file_list_atom) { return self->state.list(); },
    [self](file_cancel_atom, const std::string& what) { return self->state.cancel(what); },
  };
}

}  // namespace

caf::actor spawn_transfer_service(caf::actor_system& sys, std::shared_ptr<const node_context> ctx) {
  return sys.spawn(transfer_service, std::move(ctx));
}

}  // namespace mk
