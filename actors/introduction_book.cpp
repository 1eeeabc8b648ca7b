#include "actors/introduction_book.hpp"

#include "core/limits.hpp"

namespace mk {

bool introduction_book::can_request() const {
  return requests_.size() < limits::max_pending_requests;
}

void introduction_book::requested(const std::string& user, time_point now) {
  requests_[user] = now + limits::request_timeout;
}

bool introduction_book::failed(std::string_view user) {
  auto it = requests_.find(user);
  if (it == requests_.end())
    return false;
  requests_.erase(it);
  return true;
}

void introduction_book::preapprove(const std::string& user, time_point now) {
  preapproved_[user] = now + limits::handshake_timeout;
}

void introduction_book::established(std::string_view user) {
  if (auto it = requests_.find(user); it != requests_.end())
    requests_.erase(it);
  if (auto it = preapproved_.find(user); it != preapproved_.end())
    preapproved_.erase(it);
}

std::vector<std::string> introduction_book::expire(time_point now) {
  std::vector<std::string> timed_out;
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second <= now) {
      timed_out.push_back(it->first);
      it = requests_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(preapproved_, [now](auto& p) { return p.second <= now; });
  return timed_out;
}

}  // namespace mk
