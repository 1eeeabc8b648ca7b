#pragma once
// One incoming file transfer (PROTOCOL §10) as an actor, spawned once the transfer is accepted. Writes chunks to
// `<name>.part` in the download directory (pwrite, coalesced in limits::transfer_io_block blocks), hashes the data
// as it becomes contiguous, verifies SHA-384 against the FILEINIT hash at the end and only then links the file to a
// unique final name (never overwriting: `name (1).ext`). A failed or cancelled transfer removes the .part and leaves
// nothing under the final name. Acknowledgements follow mk::transfer::receiver (FILEACK for an original sender,
// FILESACK between mokaccino nodes).
// Lazy hash (FILEOFFER): the offer's id is not the hash; once every byte is in, the receiver waits for the
// sender's FILEHASH, answers it with the SHA-384 of what it wrote (computed in file order as the data became
// contiguous) and links the file only when the two match; a mismatch fails the transfer and removes the .part.
// Resume: see file_receiver_params::resumable and ::resume.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/partial_files.hpp"

namespace mk {

struct node_context;

struct file_receiver_params {
  std::shared_ptr<const node_context> ctx;
  caf::actor service;
  caf::actor session;
  std::string user;
  bool mokaccino_peer = false;  // the peer is a mokaccino node (FILESACK, duplicate reports)
  std::string hash;        // from FILEINIT: the transfer id and the expected SHA-384 (base64); FILEOFFER: the id
  bool lazy_hash = false;  // FILEOFFER: the expected SHA-384 comes later, in FILEHASH
  std::uint64_t size = 0;
  std::string name;        // already sanitized (mk::transfer::sanitize_file_name)
  std::filesystem::path dir;
  // Resume (MKCAPS `resume1`, issue 15): an interruption (the peer gone, a cancel, the node stopping, a stall)
  // keeps the .part file and its record instead of removing them...
  bool resumable = false;
  // ...and an offer of the same file continues such a partial file: FILERESUME names the prefix it holds, and
  // the sender's FILEFROM says where the data starts (there, or at 0 if the sender's file differs).
  std::optional<partial_file> resume;
  std::string folder;  // a file of a folder offer: the folder's name (issue 15)
  // A file of a resumed folder that an earlier attempt saved under its final name: it is checked, not received
  // again. FILERESUME offers all of it; if the sender's file differs (FILEFROM 0) the file arrives anew beside it,
  // under a free name: the saved one is never changed or removed.
  std::filesystem::path existing{};
};

caf::actor spawn_file_receiver(caf::actor_system& sys, file_receiver_params p);

}  // namespace mk
