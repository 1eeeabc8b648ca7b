#pragma once
// One outgoing folder offer (issue 15) as an actor: walks the folder, offers it once (FOLDEROFFER, repeated each
// second until the receiver answers FOLDERACCEPT or FILESTOP), then has the transfer service send its files, at
// most limits::folder_files_in_flight at a time: a folder of thousands of small files never opens thousands of
// transfers. Toward a peer without `folder1` (an original node) there is no folder offer: each file is offered on
// its own, one after the other, so the original asks its user about one file at a time.

#include <filesystem>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace mk {

struct node_context;

struct folder_sender_params {
  std::shared_ptr<const node_context> ctx;
  caf::actor service;
  caf::actor session;
  std::string user;
  std::filesystem::path root;
  std::string id;            // FOLDEROFFER <fid>: random, with the shape of a hash
  bool as_folder = false;    // the peer speaks folder1 (and lazyhash); false: file by file
};

// Protocol: (xfer_prepare_atom) -> command_reply once the folder is walked (an error if it cannot be read, is empty
// or too large); then it runs by itself and ends with (xfer_final_atom, transfer_info) to the service.
// Routed to it: (peer_msg_atom, FOLDERACCEPT | FILESTOP), (xfer_final_atom, transfer_info) of its files,
// (file_cancel_atom, reason), (peer_gone_atom, user).
caf::actor spawn_folder_sender(caf::actor_system& sys, folder_sender_params p);

}  // namespace mk
