#include "actors/session_table.hpp"

#include "core/crypto/secure_channel.hpp"

#include <algorithm>
#include <span>

#include "actors/udp_socket.hpp"
#include "core/wire/datagram.hpp"
#include "core/wire/record.hpp"

namespace mk {

session_table::session_table(std::shared_ptr<inbound_backlog> backlog) : backlog_(std::move(backlog)) {}

void session_table::release(entry& e) {
  if (backlog_ && e.pending > 0)
    backlog_->queued.fetch_sub(e.pending, std::memory_order_relaxed);
  e.pending = 0;
}

void session_table::add(const endpoint& ep, caf::actor session) {
  std::lock_guard<std::mutex> g{mx_};
  auto& e = sessions_[ep];
  release(e);
  e.session = std::move(session);
}

void session_table::remove(const endpoint& ep) {
  std::lock_guard<std::mutex> g{mx_};
  if (auto it = sessions_.find(ep); it != sessions_.end()) {
    release(it->second);
    sessions_.erase(it);
  }
}

void session_table::clear() {
  std::lock_guard<std::mutex> g{mx_};
  for (auto& [ep, e] : sessions_)
    release(e);
  sessions_.clear();
}

void session_table::processed(const endpoint& ep, std::size_t n) {
  std::lock_guard<std::mutex> g{mx_};
  auto it = sessions_.find(ep);
  if (it == sessions_.end())
    return;  // already released when the entry went
  const auto k = std::min(static_cast<std::int64_t>(n), it->second.pending);
  it->second.pending -= k;
  if (backlog_)
    backlog_->queued.fetch_sub(k, std::memory_order_relaxed);
}

void session_table::split(datagram_batch& batch, routed& direct) {
  std::size_t kept = 0;
  std::lock_guard<std::mutex> g{mx_};
  for (auto& d : batch) {
    if (auto it = sessions_.find(d.from); it != sessions_.end()) {
      // A mokaccino envelope goes whole (binary: no LF to strip); a text datagram as its line.
      const bool envelope = crypto::secure_channel::is_envelope(d.bytes) || wire::is_plain_record(d.bytes);
      auto line = envelope ? mk::result<std::string_view>{std::string_view{d.bytes}}
                           : wire::line_of_datagram(
                               std::span{reinterpret_cast<const std::uint8_t*>(d.bytes.data()), d.bytes.size()});
      if (line) {
        auto& e = it->second;
        d.bytes.resize(line->size());  // the line is the datagram minus its LF
        share_of(direct, e.session).push_back(std::move(d.bytes));
        ++e.pending;
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
