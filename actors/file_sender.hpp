#pragma once
// One outgoing file transfer (PROTOCOL §10) as an actor: has the file hashed (by the node's hash_pool threads),
// sends FILEINIT (retransmitted until accepted between mokaccino nodes: §10 FIX; exactly once toward an original,
// which asks its user once per FILEINIT), then streams 1024-byte FILE chunks read ahead from disk
// in limits::transfer_io_block blocks, as mk::transfer::sender (congestion window, retransmission) allows.
// Memory is bounded by the window and one read block, whatever the file size.
// Lazy hash (the peer announced MKCAPS `lazyhash`): no hashing before the offer. FILEOFFER names the transfer by a
// random id and goes out at once; the read-ahead blocks are hashed as they are read (one sequential pass, in file
// order), and FILEHASH <id> <sha384> follows the last new chunk until the receiver answers with its own SHA-384.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace mk {

struct node_context;
class hash_pool;

// The transfers sending to one peer share its link fairly: each sender counts itself in while it sends data and
// sizes its window to transfer::peer_window_share(count) (so 256 transfers get equal rates, and together a bounded
// amount in flight: 2 MiB, or 32 KiB each beyond 64 transfers). Owned by the service and that peer's senders; the count is a hint for the next
// window, so a relaxed atomic is all it needs.
struct peer_link_share {
  std::atomic<std::uint32_t> sending{0};
};

struct file_sender_params {
  std::shared_ptr<const node_context> ctx;
  caf::actor service;
  caf::actor session;     // the peer's session: (send_lines_atom, lines) / (send_line_atom, line) go there
  std::string user;
  bool mokaccino_peer = false;  // the peer is a mokaccino node (FILESACK); false = original (cumulative FILEACK only)
  bool lazy_hash = false; // the peer announced `lazyhash`: offer first, hash while sending (implies mokaccino_peer)
  std::filesystem::path path;
  std::shared_ptr<peer_link_share> share;  // never null
  std::shared_ptr<hash_pool> hashing;      // the node's file hashing threads, never null
  std::uint64_t chunk = 1024;              // bytes per chunk (mokaccino_peer: the path's datagram budget allows more)
  // A file of a folder offer (issue 15): `folder` names the offer ("photos/"); with `folder_id` (the peer speaks
  // folder1) the offer is FOLDERFILE <folder_id> <id> <size> <folder_path> instead of FILEOFFER.
  std::string folder;
  std::string folder_id;
  std::string folder_path;
};

// Protocol: (xfer_prepare_atom) -> (bool ok, error, name, size, identity) once the file is open (identity:
// "device:inode", which the service uses to refuse the same file twice to one peer when no hash is known yet);
// hashing then runs in the hash pool (a file of many GB takes a while) and ends with (xfer_hashed_atom, bool ok,
// hash-or-error) to the service; then (xfer_offer_atom) sends FILEINIT. With lazy_hash the "hash" is the random
// transfer id, reported at once, and (xfer_offer_atom) sends FILEOFFER.
caf::actor spawn_file_sender(caf::actor_system& sys, file_sender_params p);

}  // namespace mk
