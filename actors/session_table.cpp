#include "actors/session_table.hpp"

#include <algorithm>
#include <span>

#include "core/wire/datagram.hpp"

namespace mk {

void session_table::add(const endpoint& ep, caf::actor session) {
  std::lock_guard<std::mutex> g{mx_};
  sessions_[ep] = std::move(session);
}

void session_table::remove(const endpoint& ep) {
  std::lock_guard<std::mutex> g{mx_};
  sessions_.erase(ep);
}

void session_table::clear() {
  std::lock_guard<std::mutex> g{mx_};
  sessions_.clear();
}

void session_table::split(datagram_batch& batch, routed& direct) const {
  std::size_t kept = 0;
  std::lock_guard<std::mutex> g{mx_};
  for (auto& d : batch) {
    if (auto it = sessions_.find(d.from); it != sessions_.end()) {
      auto line = wire::line_of_datagram(
        std::span{reinterpret_cast<const std::uint8_t*>(d.bytes.data()), d.bytes.size()});
      if (line) {
        auto r = std::find_if(direct.begin(), direct.end(), [&](auto& x) { return x.first == it->second; });
        if (r == direct.end())
          r = direct.insert(direct.end(), {it->second, {}});
        d.bytes.resize(line->size());  // the line is the datagram minus its LF
        r->second.push_back(std::move(d.bytes));
        continue;
      }
    }
    if (&batch[kept] != &d)  // the node actor counts it as malformed or handles the unknown sender
      batch[kept] = std::move(d);
    ++kept;
  }
  batch.resize(kept);
}

}  // namespace mk
