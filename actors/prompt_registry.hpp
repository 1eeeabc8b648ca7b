#pragma once
// The questions waiting for the user (prompt events): their ids, the bound limits::max_pending_prompts, issue
// 13's flood guards, and how each one ends (answered, or no after limits::handshake_timeout). Plain bookkeeping
// with no actor inside and time passed in: the node publishes the events, delivers the askers' promises and
// runs its own questions' follow-ups from what this class returns (tests/actors/prompt_registry_test.cpp).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/response_promise.hpp>

#include "actors/endpoint.hpp"
#include "actors/messages.hpp"

namespace mk {

struct pending_prompt {
  caf::response_promise promise;  // the asker's reply (none: the node's own question)
  std::function<void()> on_yes;   // the node's own question (an introduction): what a yes starts
  std::string text;
  prompt_kind kind = prompt_kind::connect;
  std::string user;
  std::optional<endpoint> source;  // the address of the session that asked (none: a service or the node)
  caf::actor_clock::time_point deadline{};
};

// A question that ended: the node delivers `yes` to its promise, runs on_yes on a yes, publishes prompt_closed.
struct closed_prompt {
  std::uint64_t id = 0;
  bool yes = false;
  pending_prompt prompt;
};

class prompt_registry {
 public:
  using time_point = caf::actor_clock::time_point;

  // Who asks: a session or a service (the flood guards apply), or the node itself (introductions the user may
  // have asked for: not limited by the guards, only by the bound).
  enum class asker { peer, node };
  enum class refusal { none, full, flood_guard };
  struct asked {
    std::uint64_t id = 0;  // 0: refused
    refusal refused = refusal::none;
  };

  // Registers a question until now + limits::handshake_timeout, or says why not.
  asked ask(pending_prompt p, asker who, time_point now);

  // Issue 13's guards for a peer's question: a connection question waits alone for its claimed name and for its
  // source address (one pre-signed CONNECT sent from many ports, or many names from one address, asks once); a
  // connected peer has at most limits::max_prompts_per_peer questions (files, calls) pending.
  bool allowed(prompt_kind kind, const std::string& user, const std::optional<endpoint>& source) const;

  // The user's answer; none for an unknown id (never asked, already answered or expired).
  std::optional<closed_prompt> answer(std::uint64_t id, bool yes);

  // Every question whose deadline has come, answered no.
  std::vector<closed_prompt> expire(time_point now);

  // The open questions of this kind about `user`.
  std::vector<std::uint64_t> open(prompt_kind kind, std::string_view user) const;

  // Shutdown: every open question, forgotten (the node answers the askers no; no events).
  std::vector<pending_prompt> take_all();

  std::size_t size() const { return prompts_.size(); }

 private:
  std::map<std::uint64_t, pending_prompt> prompts_;
  std::uint64_t next_id_ = 1;
};

}  // namespace mk
