#pragma once
// Datagram Packetization Layer PMTU Discovery (RFC 8899), simplified, between mokaccino nodes (MKCAPS `pmtu1`).
// Pure: time is passed in, the session sends what it is told to.
//
// A path is assumed to carry `base_size` bytes of UDP payload (1232: what crosses every IPv6 path, as QUIC
// assumes). From there the machine probes upward through a fixed list of sizes (tunnels, Ethernet over IPv6 and
// IPv4, jumbo frames, loopback): a probe is a padded MKPROBE of exactly that size, sent with don't-fragment, that
// the peer answers with MKPROBEACK. Acknowledged: the size is confirmed and the next one tried at once. Lost
// `max_probes` times (or refused by our own kernel, larger than the interface): the search ends there, and is
// tried again after `raise_interval`. While data flows above the base, the confirmed size is re-probed every
// `confirm_interval`; `max_probes` losses in a row mean a black hole (the path shrank, and no ICMP told us): the
// budget falls back to the base and the search starts again. Everything else the session sends stays within
// budget(): file chunks are sized from it, and larger ones split.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace mk::session {

class path_mtu {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  static constexpr std::size_t base_size = 1232;
  // UDP payload sizes tried above the base, ascending: 1280 (IPv4 tunnels at the IPv6 minimum), 1400, 1500 over
  // IPv6 and IPv4, 9000 over IPv6 and IPv4, and the largest a file chunk uses (16 KiB of data plus the envelope).
  static constexpr std::size_t default_sizes[] = {1252, 1372, 1452, 1472, 8952, 8972, 16467};
  static constexpr int max_probes = 3;
  // Generous (RFC 8899 suggests 15 s): a probe answered late counts as lost, and a loaded node answers late. Sizes
  // our own interface cannot carry fail at once (refused by the kernel), so on a LAN the search still ends in
  // milliseconds; only a size lost further along the path costs max_probes timeouts.
  static constexpr duration probe_timeout = std::chrono::seconds(1);
  static constexpr duration confirm_interval = std::chrono::seconds(10);
  static constexpr duration raise_interval = std::chrono::seconds(600);

  // `first_id`: random, so that an off-path forger cannot answer a probe it never saw.
  path_mtu(time_point now, std::uint32_t first_id, std::span<const std::size_t> sizes = default_sizes);

  struct probe {
    std::uint32_t id = 0;
    std::size_t size = 0;  // the whole UDP payload
  };

  // The confirmed datagram budget (UDP payload bytes).
  std::size_t budget() const noexcept { return budget_; }
  // A probe to send now, if one is due (at most one outstanding). Call it on every session tick and after on_ack.
  std::optional<probe> due(time_point now);
  // The peer acknowledged probe `id`. Returns true if the budget grew.
  bool on_ack(std::uint32_t id, time_point now);
  // Our kernel refused to send probe `id` (EMSGSIZE: larger than the interface): counts as lost at once.
  void on_refused(std::uint32_t id, time_point now);
  // Data above the base budget went out: confirmations run while it does.
  void note_traffic(time_point now) { last_traffic_ = now; }
  // Data went unacknowledged (a transfer's retransmission timeout): confirm the budget now rather than at the
  // next confirm_interval, so a black hole is found before the transfer gives up.
  void suspect(time_point now);

  std::uint64_t probes_sent() const noexcept { return probes_sent_; }
  std::uint64_t black_holes() const noexcept { return black_holes_; }

 private:
  std::size_t target() const;  // the size the current probe tests
  void lost(time_point now);

  std::vector<std::size_t> sizes_;
  std::size_t budget_ = base_size;
  std::size_t next_index_ = 0;       // the candidate the search tries next
  bool searching_ = true;            // search steps remain (they run from search_again_at_)
  bool confirming_ = false;          // the outstanding probe re-checks the budget (not a search step)
  std::optional<probe> outstanding_;
  time_point sent_at_{};
  int losses_ = 0;                   // in a row, for the current target
  std::uint32_t next_id_ = 1;
  time_point search_again_at_{};
  time_point confirm_at_{};
  std::optional<time_point> last_traffic_;
  std::uint64_t probes_sent_ = 0;
  std::uint64_t black_holes_ = 0;
};

}  // namespace mk::session
