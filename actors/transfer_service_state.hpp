#pragma once
// The transfer service's state (PROTOCOL §10 and issue 15): which transfer actors run, what is asked, resumed,
// queued in folders. One struct shared by the files that implement it by concern: transfer_service.cpp (the
// actor, routing, the end of transfers), transfer_incoming.cpp (offers of single files), transfer_outgoing.cpp
// (file send), transfer_folders.cpp (folder offers both ways), transfer_resume.cpp (partial files, re-offers,
// file list and file cancel). Internal to actors/.

#include <botan/auto_rng.h>
#include <fmt/format.h>
#include <sys/statvfs.h>
#include <algorithm>
#include <caf/all.hpp>
#include <deque>
#include <map>
#include <set>
#include <system_error>

#include "actors/file_receiver.hpp"
#include "actors/file_sender.hpp"
#include "actors/folder_inbox.hpp"
#include "actors/folder_sender.hpp"
#include "actors/hash_pool.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/partial_files.hpp"
#include "actors/per_actor.hpp"
#include "actors/transfer_service.hpp"
#include "core/config/policy_decision.hpp"
#include "core/crypto/random.hpp"
#include "core/limits.hpp"
#include "core/transfer/completed_transfers.hpp"
#include "core/transfer/file_name.hpp"
#include "core/transfer/human_bytes.hpp"
#include "core/wire/messages.hpp"

namespace mk::transfer_detail {

using transfer::human_bytes;
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
  std::string identity;     // senders: "device:inode" of the file (the same file twice to one peer is refused)
  std::string path;         // senders: the file, to offer it again after an interruption
  bool resumable = false;   // senders: the peer speaks resume1 (an interrupted transfer is offered again)
  bool peer_left = false;   // senders: it ends because the peer went away (not refused or cancelled by anyone)
  caf::actor folder{};      // senders: the folder sender this file belongs to (its end is reported there)
  std::string folder_id{};  // receivers: the incoming folder this file belongs to
};

// How an accepted offer is received: where, under which name, and what an earlier attempt left (issue 15).
struct receive_plan {
  std::string name;                     // sanitised
  bool lazy = false;                    // FILEOFFER (the hash comes at the end)
  bool resumable = false;               // an interruption keeps the partial file
  std::optional<partial_file> resume{};  // continue this partial file
  const incoming_folder* folder = nullptr;
  fs::path dir{};                       // "" = the download directory
  fs::path existing{};                  // a file of a resumed folder already saved under its name: only verified
};

// An outgoing folder offer (issue 15).
struct outgoing_folder {
  caf::actor actor;
  std::string path;        // to offer it again after an interruption
  bool resumable = false;  // the peer speaks resume1
  bool peer_left = false;  // it ends because the peer went away
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
    std::string folder_name;
  };
  std::map<caf::actor_addr, preparing_send> preparing;        // senders still opening or hashing their file
  std::map<caf::actor_addr, std::pair<bool, key_t>> by_addr;  // outgoing?, key
  t::completed_transfers received_done, sent_done;
  std::map<key_t, std::string> verified;  // lazy-hash receivers that saved their file: the SHA-384 they verified
  std::deque<transfer_info> finished;
  std::shared_ptr<hash_pool> hashing = std::make_shared<hash_pool>(limits::hash_threads);
  std::map<std::string, std::weak_ptr<peer_link_share>> shares;  // per peer, alive while a sender holds it

  // -- resume (issue 15) --
  std::map<fs::path, t::resume_record> partials;  // interrupted incoming transfers' partial files, kept to resume
  std::set<std::string> resume_peers;             // connected peers whose MKCAPS list resume1
  struct interrupted_send {
    std::string path;
    transfer_info info;   // as it ended
    std::int64_t at = 0;  // unix seconds
  };
  std::vector<interrupted_send> interrupted;  // outgoing transfers to offer again when their peer reconnects

  // -- folders (issue 15) --
  folder_inbox inbox;                              // incoming folders accepted
  std::set<key_t> folder_asking;                   // FOLDEROFFERs waiting for the user's answer
  std::map<key_t, outgoing_folder> folders_out;    // outgoing folder offers, by (peer, fid)
  std::map<fs::path, t::resume_record> partial_folders;  // interrupted incoming folders (root -> record), to resume
  std::map<key_t, transfer_info> folder_progress;  // their last report

  std::int64_t keep_seconds() const { return std::int64_t{ctx->config.keep_partial_days} * 86400; }

  // While routing a batch, each transfer actor's messages collect here and go out as one message per actor.
  bool in_batch = false;
  per_actor<w::message> outbox;

  static std::string id(const key_t& k) { return k.first + '\n' + k.second; }

  void send_to(const caf::actor& session, std::string line) { self->send(session, send_line_atom::value, std::move(line)); }

  std::size_t active() const { return senders.size() + receivers.size() + asking.size() + preparing.size(); }

  // -- methods, by file --

  void load_partials();

  // Partial files older than network.file.keep_partial_days since their last checkpoint are removed.
  void expire_partials();

  // An offered file we hold part of from an interrupted transfer: same peer, same name, same size. (Whether it is
  // the same content, the sender checks: FILERESUME carries the prefix's SHA-384.)
  std::optional<partial_file> take_partial(const std::string& user, const std::string& name, std::uint64_t size);

  void on_partial_kept(const std::string& path);

  void on_peer_ready(const std::string& user, bool resume);

  // An outgoing file or folder that failed because its peer went away: offered again when the peer is back.
  void interrupt(const std::string& path, const transfer_info& i);

  std::shared_ptr<peer_link_share> share_of(const std::string& user);

  void deliver(const caf::actor& to, w::message m);

  void on_peer_msgs(const std::string& user, const caf::actor& session, bool mokaccino, wire_batch& batch);

  void emit(event_kind kind, const std::string& peer, std::string text,
            std::vector<std::pair<std::string, std::string>> fields = {});

  // Offers of one peer being received or asked about: bounded, so one peer never takes every slot. A receiver
  // that saved its file and only repeats its final ACKs a moment longer does not count (a folder of small files
  // ends hundreds of them per second).
  std::size_t incoming_from(const std::string& user) const;

  void refuse(const std::string& user, const caf::actor& session, const w::file_init_msg& m, const std::string& why);

  std::optional<std::string> space_problem(std::uint64_t size);

  // FILEINIT, or (lazy) a FILEOFFER whose id stands in m.hash.
  void on_init(const std::string& user, const caf::actor& session, bool mokaccino, w::file_init_msg& m, bool lazy);

  void accept(const std::string& user, const caf::actor& session, bool mokaccino, const w::file_init_msg& m,
              receive_plan plan);

  void emit_folder(const incoming_folder& f, const std::string& state, std::string text);

  transfer_info folder_info(const incoming_folder& f, const std::string& state) const;

  void refuse_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m,
                     const std::string& why);

  void on_folder_offer(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m);

  void accept_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m);

  // Resume (issue 15): a folder offered again by the peer it came from, with the same name and totals, goes on in
  // the directory of the interrupted attempt; its record is kept up to date while it arrives.
  std::optional<partial_folder> take_partial_folder(const std::string& user, const std::string& name,
                                                    std::uint64_t files, std::uint64_t bytes);
  void resume_folder(const std::string& user, const caf::actor& session, const w::folder_offer_msg& m,
                     partial_folder pf);
  void write_folder_record(const incoming_folder& f, bool durable);
  // How a FOLDERFILE of a resumed folder continues what the last attempt left: a saved file, a partial one.
  void plan_resumed_file(const std::string& user, std::uint64_t size, receive_plan& plan);

  void on_folder_file(const std::string& user, const caf::actor& session, bool mokaccino, w::folder_file_msg& m);

  void folder_file_ended(const entry& e, const transfer_info& i);

  void folder_maybe_finished(incoming_folder& f);

  // The sender cancelled the folder, or its peer left: what is still running ends on its own (FILESTOP, peer gone).
  void end_incoming_folder(incoming_folder& f, const std::string& state, const std::string& why);

  void on_peer_msg(const std::string& user, const caf::actor& session, bool mokaccino, w::message& m);

  void on_peer_gone(const std::string& user);

  entry* find_entry(const transfer_info& i);

  void remember_finished(transfer_info i);

  void on_final(const transfer_info& i);

  void on_down(const caf::down_msg& dm);

  // What the peer's session says of it (kind, features, the path's datagram budget), then `then(link)`;
  // `none()` if the user is not connected.
  template <class Then, class None>
  void with_link(const std::string& user, Then then, None none);

  // `file send`: replies as soon as the file is open; the file is offered to the peer (FILEINIT) once hashed,
  // which for a file of many GB takes longer than anyone should wait for a command to answer. A directory is
  // offered as a folder.
  caf::result<command_reply> file_send(const std::string& user, const std::string& path, folder_link folder = {});

  void send_folder(caf::typed_response_promise<command_reply>& rp, const peer_link& link, const std::string& user,
                   const std::string& path);

  void start_send(caf::typed_response_promise<command_reply>& rp, const peer_link& link, const std::string& user,
                  const std::string& path, const folder_link& folder = {});

  // A sender finished hashing: offer the file (unless the same file is already going to that peer).
  void on_hashed(const caf::actor_addr& from, bool ok, const std::string& hash_or_error);

  std::vector<transfer_info> list() const;

  // `file cancel photos/` (or `photos`, or a prefix of the folder's id): the whole folder offer, both ways.
  std::optional<command_reply> cancel_folder(const std::string& what);

  // `file cancel` of a transfer that is not running: its partial file (incoming) or its pending re-offer
  // (outgoing) goes.
  command_reply cancel_resumable(const std::string& what);

  command_reply cancel(const std::string& what);
};

}  // namespace mk::transfer_detail
