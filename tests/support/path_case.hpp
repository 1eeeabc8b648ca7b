#pragma once
// Test support for congestion control on real paths (issue 12, item 6): two real nodes in this process, alice ->
// fault relay -> bob on loopback, one or two encrypted files sent through a path with a given delay, loss,
// reordering and bottleneck rate, optionally changed mid-transfer. run_path() reports what the assertions need:
// whether every file arrived byte-identical, how long it took, the senders' retransmissions and timeouts (their
// final events) and what the relay dropped. path_bound() is the "never stalls" deadline derived from the path.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/limits.hpp"
#include "support/fault_relay.hpp"
#include "support/file_harness.hpp"

namespace mk::test {

struct path_spec {
  fault_config path;                   // from the start of the transfer (the handshake runs on a clean path)
  std::uint64_t size = 2u << 20;       // the file
  std::uint64_t second_size = 0;       // > 0: a competing transfer on the same path...
  std::chrono::milliseconds second_after{0};  // ...started this long after the first
  // A path change: `change` is applied `change_after` into the transfer; with a blackout the relay drops
  // everything for `blackout`, then the path is `change` (or unchanged when it equals `path`).
  std::optional<fault_config> change;
  std::chrono::milliseconds change_after{0};
  std::chrono::milliseconds blackout{0};
  std::uint32_t seed = 1;
};

struct path_result {
  bool all_done = false;       // every file's receive ended "done"
  bool identical = false;      // ...and every file is byte-identical
  double seconds = 0;          // from the first `file send` to the last end
  std::uint64_t chunks = 0;    // data datagrams the files need (1 KiB chunks)
  std::uint64_t retransmits = 0, timeouts = 0;  // summed over the senders
  std::uint64_t dropped_data = 0;  // datagrams from alice the relay dropped (loss and blackout)
  std::uint64_t dropped = 0;       // in both directions
  std::string trace;           // what a failing assertion prints
  std::string summary;         // one line: what every run prints
};

// The RTT of a path: the relay's delay both ways plus half the mean extra delay of the reordered datagrams.
inline std::chrono::milliseconds path_rtt(const fault_config& f) {
  auto us = 2 * f.delay.count() + static_cast<std::int64_t>(f.reorder * static_cast<double>(f.reorder_delay.count()));
  return std::chrono::milliseconds{std::max<std::int64_t>(1, us / 1000)};
}

// The "never stalls" bound: the window never drops below limits::transfer_min_cwnd_chunks after a loss, so even a
// transfer that saw a loss in every round trip moves that much per RTT (plus one RTO per round trip of retransmits
// at worst, folded into the factor 2); a bottleneck caps the rate at the relay's; a blackout adds itself and the
// RTO backoff that follows it (at most limits::transfer_max_rto); 5 s absorbs start-up on a loaded machine.
inline std::chrono::milliseconds path_bound(const path_spec& s) {
  auto worst = s.change ? std::max(path_rtt(s.path), path_rtt(*s.change)) : path_rtt(s.path);
  double floor_rate = static_cast<double>(limits::transfer_min_cwnd_chunks * limits::max_chunk) /
                      std::chrono::duration<double>(std::max(worst, std::chrono::milliseconds{10})).count();
  double rate = s.path.rate_bytes_per_s > 0 ? std::min(floor_rate, s.path.rate_bytes_per_s) : floor_rate;
  double secs = 2 * static_cast<double>(s.size + s.second_size) / rate;
  auto extra = s.blackout > std::chrono::milliseconds{0} ? s.blackout + limits::transfer_max_rto : std::chrono::milliseconds{0};
  return std::chrono::milliseconds{static_cast<std::int64_t>(secs * 1000)} + extra + std::chrono::seconds{5};
}

inline path_result run_path(const path_spec& s) {
  path_result out;
  caf::actor_system_config cfg;
  caf::actor_system sys{configure(cfg)};
  file_pair t{sys, true};
  fault_relay relay{t.bob.port(), s.seed};
  t.connect(sys, relay.address(), true);
  std::vector<std::pair<std::string, fs::path>> files{{"first.bin", make_file(t.out_dir / "first.bin", s.size, s.seed)}};
  if (s.second_size > 0)
    files.emplace_back("second.bin", make_file(t.out_dir / "second.bin", s.second_size, s.seed + 1));
  for (auto& [name, p] : files)
    out.chunks += (fs::file_size(p) + limits::max_chunk - 1) / limits::max_chunk;

  auto send = [&](const fs::path& p) {
    return ask<command_reply>(sys, t.alice.handle.node, file_send_atom::value, std::string{"bob"}, p.string()).ok;
  };
  relay.set_faults(s.path);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(send(files[0].second));
  // The disturbances run on their own thread, timed from the start, while this thread waits for the ends.
  std::thread disturb([&] {
    std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> steps;
    if (files.size() > 1)
      steps.emplace_back(s.second_after, [&] { send(files[1].second); });
    if (s.change) {
      if (s.blackout.count() > 0) {
        steps.emplace_back(s.change_after, [&] { relay.set_blocked(true); });
        steps.emplace_back(s.change_after + s.blackout, [&] {
          relay.set_faults(*s.change);
          relay.set_blocked(false);
        });
      } else {
        steps.emplace_back(s.change_after, [&] { relay.set_faults(*s.change); });
      }
    }
    std::sort(steps.begin(), steps.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (auto& [at, fn] : steps) {
      std::this_thread::sleep_until(start + at);
      try {
        fn();
      } catch (...) {  // a failed `file send` request (doctest throws): the missing file fails the test instead
      }
    }
  });
  auto bound = path_bound(s);
  out.all_done = true;
  for (auto& [name, p] : files) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + bound - std::chrono::steady_clock::now());
    auto end = wait_transfer_end(t.bob, name, "receive", std::max(left, std::chrono::milliseconds{1}));
    if (!end || event_field(*end, "state") != "done")
      out.all_done = false;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  disturb.join();
  out.identical = out.all_done;
  for (auto& [name, p] : files) {
    out.identical = out.identical && same_bytes(p, t.in_dir / name);
    if (auto sent = wait_transfer_end(t.alice, name, "send", 5s)) {
      out.retransmits += std::strtoull(event_field(*sent, "retransmits").c_str(), nullptr, 10);
      out.timeouts += std::strtoull(event_field(*sent, "timeouts").c_str(), nullptr, 10);
    }
    out.trace += progress_trace(t.alice, name);
  }
  out.dropped_data = relay.dropped_from_a();
  out.dropped = relay.dropped();
  out.summary = fmt::format("{:.2f} s (bound {} ms), {} chunks, {} retransmits, {} RTOs, relay dropped {} from alice ({} "
                           "in all), forwarded {} from alice",
                           out.seconds, bound.count(), out.chunks, out.retransmits, out.timeouts, out.dropped_data,
                           out.dropped, relay.forwarded_from_a());
  out.trace += out.summary;
  return out;
}

// The assertions every path case makes: byte-identical, within the path's bound, and no retransmission storm:
// retransmissions at most `per_loss` per datagram the relay dropped from alice, plus `slack` (spurious ones from
// reordering, or the window in flight when the path changed).
inline void check_path(const path_spec& s, const path_result& r, double per_loss, std::uint64_t slack) {
  INFO(r.trace);
  CHECK(r.all_done);
  CHECK(r.identical);
  CHECK(r.seconds * 1000 <= static_cast<double>(path_bound(s).count()));
  CHECK(static_cast<double>(r.retransmits) <= per_loss * static_cast<double>(r.dropped_data) + static_cast<double>(slack));
  MESSAGE(r.summary);
}

}  // namespace mk::test
