#pragma once
// One outgoing file transfer (PROTOCOL §10) as an actor: hashes the file (in steps, so the scheduler stays fair),
// sends FILEINIT (retransmitted until accepted: §10 FIX), then streams 1024-byte FILE chunks read ahead from disk
// in limits::transfer_io_block blocks, as mk::transfer::sender (congestion window, retransmission) allows.
// Memory is bounded by the window and one read block, whatever the file size.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace mk {

struct node_context;

struct file_sender_params {
  std::shared_ptr<const node_context> ctx;
  caf::actor service;
  caf::actor session;     // the peer's session: (send_batch_atom, lines) / (send_atom, line) go there
  std::string user;
  bool extended = false;  // the peer is a mokaccino node (FILESACK); false = original (cumulative FILEACK only)
  std::filesystem::path path;
};

// Protocol: (xfer_prepare_atom) -> (bool ok, hash-or-error, name, size); then (start_atom) sends FILEINIT.
caf::actor spawn_file_sender(caf::actor_system& sys, file_sender_params p);

}  // namespace mk
