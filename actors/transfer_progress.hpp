#pragma once
// Shared by file_sender and file_receiver: progress bookkeeping (rate, ETA) and the transfer events front ends
// see (event_kind::transfer; --json prints the fields).

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>

#include "actors/messages.hpp"
#include "core/limits.hpp"
#include "core/transfer/human_bytes.hpp"

namespace mk {

using transfer::human_bytes;

class transfer_progress {
 public:
  using clock = std::chrono::steady_clock;

  transfer_info info;

  void begin(clock::time_point now) {
    started_ = sample_at_ = now;
    sample_bytes_ = info.done;
  }
  // Updates info.rate_bps / eta_s from the bytes done; returns true if a report is due (every
  // limits::transfer_report_interval).
  bool update(std::uint64_t done, clock::time_point now) {
    info.done = done;
    auto dt = std::chrono::duration<double>(now - sample_at_).count();
    if (now - sample_at_ < limits::transfer_report_interval)
      return false;
    double r = dt > 0 ? static_cast<double>(done - sample_bytes_) / dt : 0;
    info.rate_bps = info.rate_bps == 0 ? r : 0.5 * info.rate_bps + 0.5 * r;  // smooth the per-interval samples
    info.eta_s = info.rate_bps > 1 ? static_cast<double>(info.size - done) / info.rate_bps : -1;
    sample_at_ = now;
    sample_bytes_ = done;
    return true;
  }
  bool event_due(clock::time_point now) {
    if (now - last_event_ < limits::transfer_event_interval)
      return false;
    last_event_ = now;
    return true;
  }
  double elapsed_s(clock::time_point now) const { return std::chrono::duration<double>(now - started_).count(); }
  // Goodput over the whole transfer (what the benchmark compares).
  double average_rate(clock::time_point now) const {
    auto s = elapsed_s(now);
    return s > 0 ? static_cast<double>(info.done) / s : 0;
  }

  // The interactive progress line: `big.bin -> bob  45%  7.2 MB/16.0 MB  1.7 MB/s  ETA 5 s`.
  std::string line() const {
    auto pct = info.size == 0 ? 100.0 : 100.0 * static_cast<double>(info.done) / static_cast<double>(info.size);
    auto s = info.name + (info.outgoing ? " -> " : " <- ") + info.peer + "  " + std::to_string(static_cast<int>(pct)) +
             "%  " + human_bytes(static_cast<double>(info.done)) + "/" + human_bytes(static_cast<double>(info.size)) +
             "  " + human_bytes(info.rate_bps) + "/s";
    if (info.eta_s >= 0)
      s += "  ETA " + std::to_string(static_cast<long>(info.eta_s)) + " s";
    return s;
  }

  event make(std::string text, clock::time_point now) const {
    auto e = make_event(event_kind::transfer, info.peer, std::move(text),
                      {{"hash", info.hash},
                       {"name", info.name},
                       {"direction", info.outgoing ? "send" : "receive"},
                       {"state", info.state},
                       {"bytes", std::to_string(info.done)},
                       {"size", std::to_string(info.size)},
                       {"rate", std::to_string(static_cast<std::uint64_t>(info.rate_bps))},
                       {"average_rate", std::to_string(static_cast<std::uint64_t>(average_rate(now)))},
                       {"elapsed_ms", std::to_string(static_cast<std::uint64_t>(elapsed_s(now) * 1000))},
                       {"eta", std::to_string(static_cast<std::int64_t>(info.eta_s))}});
    if (info.resumed_from > 0)
      e.fields.emplace_back("resumed_from", std::to_string(info.resumed_from));
    if (!info.folder.empty())
      e.fields.emplace_back("folder", info.folder);
    return e;
  }

 private:
  clock::time_point started_{}, sample_at_{}, last_event_{};
  std::uint64_t sample_bytes_ = 0;
};

// The event of a folder offer (issue 15), sender or receiver side: its name, counts and bytes so far.
inline event folder_event(const transfer_info& i, std::string text) {
  return make_event(event_kind::transfer, i.peer, std::move(text),
                    {{"hash", i.hash},
                     {"name", i.name},
                     {"direction", i.outgoing ? "send" : "receive"},
                     {"state", i.state},
                     {"folder", i.folder},
                     {"bytes", std::to_string(i.done)},
                     {"size", std::to_string(i.size)},
                     {"files", std::to_string(i.files)},
                     {"files_done", std::to_string(i.files_done)},
                     {"files_failed", std::to_string(i.files_failed)},
                     {"rate", std::to_string(static_cast<std::uint64_t>(i.rate_bps))}});
}

}  // namespace mk
