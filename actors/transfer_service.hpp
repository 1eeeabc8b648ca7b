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

// Its messages with the transfer actors (xfer_*_atom) are in actors/messages.hpp with the rest of the vocabulary.

caf::actor spawn_transfer_service(caf::actor_system& sys, std::shared_ptr<const node_context> ctx);

}  // namespace mk
