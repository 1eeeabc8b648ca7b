#pragma once
// Which session actor takes the datagrams of which peer endpoint. The node actor writes it (a session starts or
// ends); the socket's io thread reads it, so the datagrams of a known peer go straight to its session instead of
// through the node actor's mailbox (one hop, and often one thread wake-up, less per received batch; and the node
// actor is no longer a single stage that every peer's traffic queues behind).

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "actors/endpoint.hpp"
#include "actors/messages.hpp"

namespace mk {

class session_table {
 public:
  using routed = std::vector<std::pair<caf::actor, std::vector<std::string>>>;

  void add(const endpoint& ep, caf::actor session);
  void remove(const endpoint& ep);
  void clear();

  // Moves every datagram of `batch` that comes from a known endpoint and holds one valid protocol line into
  // `direct`, as that line (without its LF), grouped per session in arrival order. The rest (unknown senders,
  // malformed datagrams) stay in `batch`, in order, for the node actor. One lock per batch.
  void split(datagram_batch& batch, routed& direct) const;

 private:
  mutable std::mutex mx_;
  std::unordered_map<endpoint, caf::actor> sessions_;
};

}  // namespace mk
