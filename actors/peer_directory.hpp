#pragma once
// The node's directory (DESIGN.md "node actor"): every session by endpoint, established peers by user name (§5:
// one-to-one), the sessions being closed with a connect deferred until they end, and the half-open counts the
// flood guards read. Plain bookkeeping with no actor inside: the node spawns, monitors and messages the sessions,
// and asks this class who is where (tests/actors/peer_directory_test.cpp). Not thread-safe: the node owns it.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "actors/endpoint.hpp"

namespace mk {

struct registered_peer {
  endpoint ep;
  caf::actor session;
  std::string pubkey;
  bool mokaccino_peer = false;  // its MKCAPS arrived: it speaks the extensions
};

class peer_directory {
 public:
  using session_map = std::unordered_map<endpoint, caf::actor>;
  using peer_map = std::map<std::string, registered_peer, std::less<>>;

  // -- sessions (half-open ones included) ---------------------------------------------------------------------

  void add_session(const endpoint& ep, caf::actor session);

  // A session ended: where it was, and the connect deferred until then (a user name, maybe empty), if any.
  struct ended {
    endpoint ep;
    std::optional<std::string> deferred_connect;
  };
  // Forgets the session and the peer registered at its endpoint; none if `session` was not one of ours.
  std::optional<ended> remove_session(const caf::actor_addr& session);

  const caf::actor* session_at(const endpoint& ep) const;
  bool has_session(const endpoint& ep) const { return by_endpoint_.count(ep) != 0; }
  std::optional<endpoint> endpoint_of(const caf::actor_addr& session) const;
  const session_map& sessions() const { return by_endpoint_; }

  // -- established peers ----------------------------------------------------------------------------------------

  // `user` finished its handshake at `ep`: false if the name is held at another endpoint (§4: one session per
  // name) or no session is at `ep`. Registering again from the same endpoint replaces the entry.
  bool establish(const std::string& user, const endpoint& ep, std::string pubkey);

  registered_peer* peer(std::string_view user);
  const registered_peer* peer(std::string_view user) const;
  bool connected(std::string_view user) const { return by_user_.find(user) != by_user_.end(); }
  const peer_map& peers() const { return by_user_; }

  // The user disconnected `user`: gone from the directory at once (a second disconnect, `user list` or a message
  // must not see it), while its session, marked closing, stays until it ends. Returns the peer whose session to
  // close; none if `user` is not connected.
  std::optional<registered_peer> disconnect(std::string_view user);

  // A connect to `ep` while its old session closes: remembered (true) and handed back by remove_session, so
  // "disconnect bob; connect <bob's address>" works at once. False if no session at `ep` is closing.
  bool defer_connect(const endpoint& ep, const std::string& expected_user);

  // -- half-open sessions (issue 13) ------------------------------------------------------------------------------

  std::size_t half_open() const { return by_endpoint_.size() - by_user_.size(); }
  // Sessions from `ep`'s address (any port) that are not established: one address cannot take every slot.
  std::size_t half_open_from(const endpoint& ep) const;

 private:
  session_map by_endpoint_;
  peer_map by_user_;
  std::unordered_map<caf::actor_addr, endpoint> endpoint_of_;
  std::unordered_map<endpoint, std::optional<std::string>> closing_;  // value: expected user of a deferred connect
};

}  // namespace mk
