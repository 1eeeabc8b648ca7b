#include "actors/peer_directory.hpp"

#include <algorithm>

namespace mk {

void peer_directory::add_session(const endpoint& ep, caf::actor session) {
  endpoint_of_[session.address()] = ep;
  by_endpoint_[ep] = std::move(session);
}

std::optional<peer_directory::ended> peer_directory::remove_session(const caf::actor_addr& session) {
  auto it = endpoint_of_.find(session);
  if (it == endpoint_of_.end())
    return std::nullopt;
  ended out{it->second, std::nullopt};
  endpoint_of_.erase(it);
  by_endpoint_.erase(out.ep);
  for (auto u = by_user_.begin(); u != by_user_.end(); ++u)
    if (u->second.ep == out.ep) {
      by_user_.erase(u);
      break;
    }
  if (auto c = closing_.find(out.ep); c != closing_.end()) {
    out.deferred_connect = std::move(c->second);
    closing_.erase(c);
  }
  return out;
}

const caf::actor* peer_directory::session_at(const endpoint& ep) const {
  auto it = by_endpoint_.find(ep);
  return it == by_endpoint_.end() ? nullptr : &it->second;
}

std::optional<endpoint> peer_directory::endpoint_of(const caf::actor_addr& session) const {
  auto it = endpoint_of_.find(session);
  if (it == endpoint_of_.end())
    return std::nullopt;
  return it->second;
}

bool peer_directory::establish(const std::string& user, const endpoint& ep, std::string pubkey) {
  auto it = by_user_.find(user);
  if (it != by_user_.end() && it->second.ep != ep)
    return false;
  auto s = by_endpoint_.find(ep);
  if (s == by_endpoint_.end())
    return false;
  by_user_[user] = registered_peer{ep, s->second, std::move(pubkey), false};  // mokaccino_peer: when MKCAPS comes
  return true;
}

registered_peer* peer_directory::peer(std::string_view user) {
  auto it = by_user_.find(user);
  return it == by_user_.end() ? nullptr : &it->second;
}

const registered_peer* peer_directory::peer(std::string_view user) const {
  auto it = by_user_.find(user);
  return it == by_user_.end() ? nullptr : &it->second;
}

std::optional<registered_peer> peer_directory::disconnect(std::string_view user) {
  auto it = by_user_.find(user);
  if (it == by_user_.end())
    return std::nullopt;
  auto peer = std::move(it->second);
  by_user_.erase(it);
  closing_.try_emplace(peer.ep);
  return peer;
}

bool peer_directory::defer_connect(const endpoint& ep, const std::string& expected_user) {
  auto c = closing_.find(ep);
  if (c == closing_.end())
    return false;
  c->second = expected_user;
  return true;
}

std::size_t peer_directory::half_open_from(const endpoint& ep) const {
  auto ip = address_of(ep);
  auto all = static_cast<std::size_t>(
    std::count_if(by_endpoint_.begin(), by_endpoint_.end(), [&](auto& e) { return address_of(e.first) == ip; }));
  auto established = static_cast<std::size_t>(
    std::count_if(by_user_.begin(), by_user_.end(), [&](auto& p) { return address_of(p.second.ep) == ip; }));
  return all - std::min(all, established);
}

}  // namespace mk
