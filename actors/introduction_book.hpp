#pragma once
// The asking side of introductions (§7): the names we asked our peers to introduce (`connect name`, REQUEST in
// flight for limits::request_timeout) and the introduced peers the user accepted, whose own CONNECT is then let
// in without a question for limits::handshake_timeout. Plain bookkeeping with time passed in; the node signs,
// verifies and pins (tests/actors/introduction_book_test.cpp).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor_clock.hpp>

namespace mk {

class introduction_book {
 public:
  using time_point = caf::actor_clock::time_point;

  // -- requests (connect name <user>) -----------------------------------------------------------------------

  // False when limits::max_pending_requests are in flight already (nothing is recorded).
  bool can_request() const;
  void requested(const std::string& user, time_point now);
  bool asked_for(std::string_view user) const { return requests_.find(user) != requests_.end(); }
  // A FAIL for `user`: true if we had asked (the request is over).
  bool failed(std::string_view user);

  // -- pre-approved peers -------------------------------------------------------------------------------------

  void preapprove(const std::string& user, time_point now);
  bool preapproved(std::string_view user) const { return preapproved_.find(user) != preapproved_.end(); }

  // `user` is connected: neither a request nor a pre-approval is pending any more.
  void established(std::string_view user);

  // Forgets what has expired; returns the requests that timed out (the node reports each, §7).
  std::vector<std::string> expire(time_point now);

  std::size_t requests() const { return requests_.size(); }

 private:
  std::map<std::string, time_point, std::less<>> requests_;     // name -> when the request times out
  std::map<std::string, time_point, std::less<>> preapproved_;  // name -> when the approval lapses
};

}  // namespace mk
