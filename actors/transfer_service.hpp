#pragma once
// The file-transfer service (PROTOCOL §10, issue "File transfers"): one per node, in ctx->transfers. It routes
// the FILE* traffic of every session by (peer, hash) to one actor per transfer (file_sender / file_receiver),
// applies the [network.file] policy (whitelist, default_action, max_size, free disk space), remembers completed
// transfers (§10 FIX: a late FILE is still answered with FILEACK size) and serves `file send/list/cancel`.
// It monitors the node and quits with it.

#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/messages.hpp"

namespace mk {

struct node_context;

// -- service <-> transfer actors (internal vocabulary) ----------------------------------------------------------
// transfer actor -> service: (xfer_report_atom, transfer_info) now and then; (xfer_final_atom, transfer_info)
// once at the end (state done/failed/cancelled), after which the actor quits.
using xfer_report_atom = caf::atom_constant<caf::atom("xreport")>;
using xfer_final_atom = caf::atom_constant<caf::atom("xfinal")>;
// service -> sender: (xfer_prepare_atom) -> (bool ok, std::string error, std::string name, uint64 size) once the
// file is open; sender -> service: (xfer_hashed_atom, bool ok, std::string hash or error) when hashing ends.
using xfer_prepare_atom = caf::atom_constant<caf::atom("xprepare")>;
using xfer_hashed_atom = caf::atom_constant<caf::atom("xhashed")>;
using xfer_hash_atom = caf::atom_constant<caf::atom("xhash")>;  // hash thread -> sender: (bool ok, hash or error)
// receiver -> service: (xfer_verified_atom, std::string id, std::string sha384) a lazy-hash transfer was verified
// and saved; the service answers a late FILEHASH for it from memory.
using xfer_verified_atom = caf::atom_constant<caf::atom("xverified")>;
// service -> transfer actor: (file_cancel_atom, std::string reason) the user cancelled;
// (peer_gone_atom, std::string user) the session ended; (peer_msg_atom, wire message) routed traffic;
// (start_atom) the sender may send FILEINIT.

caf::actor spawn_transfer_service(caf::actor_system& sys, std::shared_ptr<const node_context> ctx);

}  // namespace mk
