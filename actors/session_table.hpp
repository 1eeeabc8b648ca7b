#pragma once
// Which session actor takes the datagrams of which peer endpoint. The node actor writes it (a session starts or
// ends); the socket's io thread reads it, so the datagrams of a known peer go straight to its session instead of
// through the node actor's mailbox (one hop, and often one thread wake-up, less per received batch; and the node
// actor is no longer a single stage that every peer's traffic queues behind).
//
// It also keeps the inbound backlog honest for those datagrams: each session's lines in flight are counted per
// entry, the session reports what it processed, and whatever a session never processed (it ended with lines in
// its mailbox) is taken off the backlog when its entry is removed, so a bound that protects memory never turns
// into a slow leak that would make the node deaf.

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "actors/endpoint.hpp"
#include "actors/per_actor.hpp"
#include "actors/messages.hpp"

namespace mk {

struct inbound_backlog;

class session_table {
 public:
  using routed = per_actor<std::string>;

  // `backlog` counts received datagrams until processed (the socket adds; see processed() and remove()).
  explicit session_table(std::shared_ptr<inbound_backlog> backlog);

  void add(const endpoint& ep, caf::actor session);
  void remove(const endpoint& ep);
  void clear();

  // Moves every datagram of `batch` that comes from a known endpoint and holds one valid protocol line (or is a
  // mokaccino envelope, passed whole) into `direct`, as that line (without its LF), grouped per session in arrival order. The rest (unknown senders,
  // malformed datagrams) stay in `batch`, in order, for the node actor. One lock per batch. The caller has counted
  // the whole batch in the backlog.
  void split(datagram_batch& batch, routed& direct);

  // The session of `ep` processed `n` lines it got through split().
  void processed(const endpoint& ep, std::size_t n);

 private:
  struct entry {
    caf::actor session;
    std::int64_t pending = 0;  // lines handed to the session and not yet processed
  };
  void release(entry& e);  // takes what the session never processed off the backlog

  std::shared_ptr<inbound_backlog> backlog_;
  mutable std::mutex mx_;
  std::unordered_map<endpoint, entry> sessions_;
};

}  // namespace mk
