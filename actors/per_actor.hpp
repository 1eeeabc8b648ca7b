#pragma once
// Messages grouped by the actor they go to, in first-seen order: a batch is routed item by item, then each actor
// gets its share as one message (one mailbox wake-up per actor, not per item). Few actors per batch: a vector.

#include <algorithm>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

namespace mk {

template <class T>
using per_actor = std::vector<std::pair<caf::actor, std::vector<T>>>;

// The share of `to` in `groups`, made empty at the end if `to` has none yet.
template <class T>
std::vector<T>& share_of(per_actor<T>& groups, const caf::actor& to) {
  auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == to; });
  if (it == groups.end())
    it = groups.insert(groups.end(), {to, {}});
  return it->second;
}

}  // namespace mk
