// File-transfer benchmark (issue "File transfers"): two nodes in this process on loopback, N simultaneous
// transfers alice -> bob, unencrypted and encrypted. For each run: aggregate goodput, per-transfer min/median/max
// rate (each from its offer to its verified end), Jain's fairness index (over all N, and over those still running
// when the last one started: "Jain shared", with their count), CPU time (getrusage), peak RSS, and the goodput of
// a raw UDP baseline measured in the same run (datagrams of the same size as a FILE line, blasted over loopback
// with no protocol) and the ratio of the aggregate (from the first `file send`, hashing included) to it, and
// "offer s": the time from the first `file send` until the receiver accepted the first offer (data flows from then).
//
//   transfer_bench [--n 1,16,64,256] [--size BYTES] [--total BYTES] [--modes plain,encrypted] [--json] [--timeline]
//                  [--stealing] [--no-baseline] [--legacy-size BYTES] [--link veth --mtu 1500|1280]
// --modes legacy (issue 12) instead runs one transfer each way between a node and the emulation of the original
// program (tests/support/legacy_file_peer.hpp), and emulation -> emulation as the original -> original baseline,
// in the same run: MB/s of each (from the accept to the last ACK) and the ratios to the baseline.
// --modes folder (issue 15) sends a folder of --folder-files files (default 10,000, 4 KiB to --folder-max, default
// 1 MiB, log-uniform, in nested directories) over an encrypted session, then one file of the same total size in the
// same run: files per second, MB/s, and the folder's share of the single file's MB/s.
// --timeline prints when each transfer ran (to stderr). --stealing runs the nodes under CAF's work-stealing
// scheduler instead of the work sharing the CLI node uses.
// Each transfer is --size bytes (default 16 MiB) but at most --total/N (default 256 MiB), so big N stays short;
// --size and --total equal (as in the README) move the same bytes for every N.
// --link veth (issue 12; needs root and iproute2): each run puts alice and bob in two fresh network namespaces
// joined by a veth pair with --mtu (default 1500), bob reached at 10.200.0.2, and the raw UDP baseline runs over
// that same veth (sender in alice's namespace, receiver in bob's) at the same datagram size.
// --rtt MS --loss PCT [--jitter MS] [--reorder PCT] (issue 12, relay mode) puts the test suite's fault relay
// (tests/support/fault_relay.hpp, one copy) on the path: on loopback, or with --link veth inside bob's namespace
// (alice crosses the veth to reach it). Every datagram is delayed RTT/2 each way and lost with PCT % probability
// in each direction; --jitter adds 0..MS to a datagram (all of them, or --reorder PCT of them: reordering).
// Each transfer run is repeated through the same relay at 0 % loss (same delay and jitter), and the table shows
// the ratio to it; the raw-UDP baseline runs through the relay with the same faults, and once per invocation the
// relay's own ceiling (raw UDP through it without faults) is printed so it is known not to be the bottleneck.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <botan/auto_rng.h>
#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "bench/scheduler_choice.hpp"
#include "core/crypto/identity.hpp"
#include "../tests/support/fault_relay.hpp"
#include "../tests/support/legacy_file_peer.hpp"
#include "tests/support/netns.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct options {
  std::vector<int> n{1, 16, 64, 256};
  std::uint64_t size = 16u << 20;
  std::uint64_t total = 256u << 20;
  std::vector<std::string> modes{"plain", "encrypted"};
  bool json = false;
  bool timeline = false;
  bool baseline = true;   // --no-baseline: skip the raw UDP measurement (for profiling the transfers alone)
  bool stealing = false;  // CAF's work-stealing scheduler instead of the node's work sharing
  std::uint64_t legacy_size = 4u << 20;  // --modes legacy: the original moves ~1 MB/s, so keep it short
  bool veth = false;      // --link veth: the nodes and the baseline in two namespaces joined by a veth pair
  int mtu = 1500;         // --mtu: the veth's MTU
  bool relay = false;     // --rtt/--loss/--jitter/--reorder: the fault relay on the path
  double rtt_ms = 0, loss_pct = 0, jitter_ms = 0, reorder_pct = -1;  // reorder -1: every datagram when jittered
  std::uint64_t folder_files = 10000;      // --modes folder: files in the folder ...
  std::uint64_t folder_min = 4096;         // ... each of a size between these (log-uniform)
  std::uint64_t folder_max = 1u << 20;
};

// The relay's faults for the options; `loss` overrides the loss (the 0 % reference run).
std::optional<mk::test::fault_config> relay_faults(const options& o, double loss_pct) {
  if (!o.relay)
    return std::nullopt;
  mk::test::fault_config f;
  f.delay = std::chrono::microseconds{static_cast<std::int64_t>(o.rtt_ms * 500)};  // half the RTT each way
  f.drop = loss_pct / 100;
  if (o.jitter_ms > 0 || o.reorder_pct > 0) {
    f.reorder = o.reorder_pct < 0 ? 1.0 : o.reorder_pct / 100;
    if (o.jitter_ms > 0)
      f.reorder_delay = std::chrono::microseconds{static_cast<std::int64_t>(o.jitter_ms * 1000)};
  }
  return f;
}

// The relay in front of bob's `port`: on loopback, or inside bob's namespace listening on every address.
std::unique_ptr<mk::test::fault_relay> make_relay(std::uint16_t port, const mk::test::fault_config& f,
                                                  const mk::test::netns_link* link) {
  auto make = [&] { return std::make_unique<mk::test::fault_relay>(port, 1207, link != nullptr); };
  auto r = link ? mk::test::in_netns(link->b(), make) : make();
  r->set_faults(f);
  return r;
}

struct collector {
  std::mutex mx;
  std::condition_variable cv;
  std::map<std::string, double> done_rate;  // name -> average rate (B/s) of the finished receive
  std::map<std::string, steady::time_point> done_at;
  std::uint64_t retransmits = 0, timeouts = 0;  // summed over the senders' final events
  std::uint64_t chunk = 0;                       // bytes per chunk the senders used (the path's MTU allowed)
  std::size_t sends_ended = 0;
  std::vector<std::string> failures;
  bool connected = false, encrypted = false;
  std::optional<steady::time_point> first_accept;  // the receiver's first "Receiving": an offer arrived, data follows
};

std::string ev_field(const mk::event& e, const std::string& k) { return mokaccino::field(e, k); }

caf::actor subscribe(caf::actor_system& sys, const caf::actor& node, std::shared_ptr<collector> c) {
  // CAF 0.17 dereferences a null argument tuple when a function actor takes no arguments (UBSan): pass c in.
  auto rec = sys.spawn([](caf::event_based_actor*, std::shared_ptr<collector> c) -> caf::behavior {
    return {[c](mk::event_atom, const mk::event& e) {
      std::lock_guard g{c->mx};
      if (e.kind == mk::event_kind::connected)
        c->connected = true;
      if (e.kind == mk::event_kind::encryption)  // "off" events exist too: only "on" counts
        c->encrypted = ev_field(e, "state") == "on";
      if (e.kind == mk::event_kind::transfer && ev_field(e, "direction") == "send") {
        if (std::getenv("MK_BENCH_TRACE"))
          std::fprintf(stderr, "TRACE send %s cwnd=%s srtt_us=%s rtx=%s\n", e.text.c_str(), ev_field(e, "cwnd").c_str(), ev_field(e, "srtt_us").c_str(), ev_field(e, "retransmits").c_str());
        auto s = ev_field(e, "state");
        if (s == "failed" || s == "cancelled")
          c->failures.push_back(e.text);  // the sender's own reason (the receiver only sees FILESTOP)
        if (s == "done" || s == "failed" || s == "cancelled") {
          c->retransmits += std::strtoull(ev_field(e, "retransmits").c_str(), nullptr, 10);
          c->timeouts += std::strtoull(ev_field(e, "timeouts").c_str(), nullptr, 10);
          c->chunk = std::max<std::uint64_t>(c->chunk, std::strtoull(ev_field(e, "chunk").c_str(), nullptr, 10));
          ++c->sends_ended;
        }
      }
      if (e.kind == mk::event_kind::transfer && ev_field(e, "direction") == "receive") {
        auto s = ev_field(e, "state");
        if (s == "receiving" && !c->first_accept)
          c->first_accept = steady::now();
        if (s == "done")
        {
          c->done_rate[ev_field(e, "name")] = std::stod(ev_field(e, "average_rate").empty() ? "0" : ev_field(e, "average_rate"));
          c->done_at[ev_field(e, "name")] = steady::now();
        }
        else if (s == "failed" || s == "cancelled")
          c->failures.push_back(e.text);
      }
      c->cv.notify_all();
    }};
  }, c);
  caf::anon_send(node, mk::subscribe_atom::value, rec);
  return rec;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Raw UDP baseline: one thread blasts datagrams of `size` bytes for `dur`, another receives; the goodput counts
// 1024 payload bytes per received datagram (what a FILE line carries).
// With a link, the receiver lives in its namespace b (at 10.200.0.2) and the sender in a: the same veth.
// With `faults`, the datagrams cross a fault relay made for this measurement (placed as the transfers' relay).
// Datagrams of `size` bytes that arrive per second, each counted as `data` bytes (its payload, or the file chunk
// it would carry).
double raw_udp_goodput(std::size_t size, std::size_t data, std::chrono::milliseconds dur,
                       const mk::test::netns_link* link = nullptr,
                       const std::optional<mk::test::fault_config>& faults = std::nullopt) {
  auto udp = [] { return ::socket(AF_INET, SOCK_DGRAM, 0); };
  int rx = link ? mk::test::in_netns(link->b(), udp) : udp();
  int tx = link ? mk::test::in_netns(link->a(), udp) : udp();
  int buf = 4 << 20;
  ::setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (link && !faults)
    ::inet_pton(AF_INET, mk::test::netns_link::v4_b, &a.sin_addr);
  ::bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(rx, reinterpret_cast<sockaddr*>(&a), &len);
  timeval tv{0, 100000};
  ::setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::unique_ptr<mk::test::fault_relay> relay;
  if (faults) {  // the relay, in rx's namespace, forwards to 127.0.0.1:<rx port>; the sender aims at the relay
    relay = make_relay(ntohs(a.sin_port), *faults, link);
    a.sin_port = htons(relay->port());
    if (link)
      ::inet_pton(AF_INET, mk::test::netns_link::v4_b, &a.sin_addr);
  }
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> got{0};
  std::thread r([&] {
    std::vector<char> b(70000);
    while (!stop)
      if (::recv(rx, b.data(), b.size(), 0) > 0)
        ++got;
  });
  std::string payload(size, 'x');
  auto t0 = steady::now();
  while (steady::now() - t0 < dur)
    for (int i = 0; i < 64; ++i)
      ::sendto(tx, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  auto secs = std::chrono::duration<double>(steady::now() - t0).count();
  std::this_thread::sleep_for(50ms + (faults ? faults->delay + faults->reorder_delay : 0us));
  stop = true;
  r.join();
  relay.reset();
  ::close(rx);
  ::close(tx);
  return static_cast<double>(got.load()) * static_cast<double>(data) / secs;
}

void make_file(const fs::path& p, std::uint64_t size, std::uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::ofstream out{p, std::ios::binary};
  std::vector<std::uint64_t> block(8192);
  for (std::uint64_t left = size; left > 0;) {
    for (auto& w : block)
      w = gen();
    auto n = std::min<std::uint64_t>(left, block.size() * 8);
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
}

struct run_result {
  std::string mode;
  int n = 0;
  std::uint64_t size = 0;
  bool ok = true;
  double seconds = 0, aggregate = 0, min_rate = 0, median_rate = 0, max_rate = 0, jain = 0, cpu = 0;
  // Jain's index over the transfers that were still running when the last one started, and how many were left
  // out: a file hashed before the other commands even arrived can finish alone, at the full link rate, and one
  // such outlier drags the index over all N toward 1/N although the link was shared evenly all along.
  double jain_shared = 0;
  int early = 0;
  long peak_rss_kb = 0;
  double baseline = 0, ratio = 0;
  // relay mode: this run's loss, the relay's counts, the senders' retransmissions, and the ratio of the aggregate
  // to the same relay at 0 % loss (the reference run)
  double loss_pct = 0, ratio_to_lossless = 0;
  std::uint64_t relay_forwarded = 0, relay_dropped = 0, retransmits = 0, timeouts = 0;
  std::uint64_t chunk = 0, datagram = 0;  // the chunk size used, and the data datagram it made (the baseline's size)
  double first_offer_s = -1;  // from the first `file send` to the receiver accepting the first offer
  std::string error;
};

run_result run(const options& o, const std::string& mode, int n, double loss_pct) {
  run_result res;
  res.loss_pct = loss_pct;
  auto faults = relay_faults(o, loss_pct);
  res.mode = mode;
  res.n = n;
  res.size = std::min<std::uint64_t>(o.size, o.total / static_cast<std::uint64_t>(n));
  bool encrypt = mode == "encrypted";
  auto dir = fs::temp_directory_path() / fmt::format("mk-bench-{}-{}", ::getpid(), n);
  fs::create_directories(dir / "src");
  for (int i = 0; i < n; ++i)
    make_file(dir / "src" / fmt::format("t{}.bin", i), res.size, static_cast<std::uint64_t>(i) * 7919 + 1);

  std::unique_ptr<mk::test::netns_link> link;
  if (o.veth)
    link = std::make_unique<mk::test::netns_link>(o.mtu);
  caf::actor_system_config cfg;
  configure_bench_scheduler(cfg, o.stealing);
  {
    caf::actor_system sys{cfg};
    Botan::AutoSeeded_RNG rng;
    auto make = [&](const std::string& user, const fs::path& dl) {
      mk::config::node_config c;
      c.username = user;
      c.port = 0;
      c.connection.default_action = mk::config::action::accept;
      c.file.default_action = mk::config::action::accept;
      c.encrypt_by_default = encrypt;
      c.require_encryption = encrypt;
      c.audio_input = "silence";  // no audio device probe (PulseAudio's stderr noise in a headless run)
      c.audio_output = "null";
      mk::node_options no{c, mk::crypto::identity::generate(rng), {}, {}, dl, false, false};
      // spawn_node binds the socket on the calling thread: in the node's namespace with a link
      auto spawn = [&] { return mk::spawn_node(sys, std::move(no)); };
      auto h = link ? mk::test::in_netns(user == "alice" ? link->a() : link->b(), spawn) : spawn();
      if (!h.ok()) {
        std::fprintf(stderr, "cannot start a node: %s\n", h.error().message.c_str());
        std::exit(1);
      }
      return *h;
    };
    auto alice = make("alice", dir / "alice-dl");
    auto bob = make("bob", dir / "bob-dl");
    auto ca = std::make_shared<collector>(), cb = std::make_shared<collector>();
    auto ra = subscribe(sys, alice.node, ca), rb = subscribe(sys, bob.node, cb);
    caf::scoped_actor self{sys};
    auto bob_host = link ? std::string{mk::test::netns_link::v4_b} : std::string{"127.0.0.1"};
    std::unique_ptr<mk::test::fault_relay> relay;
    if (faults)
      relay = make_relay(bob.port, *faults, link.get());
    self->request(alice.node, 10s, mk::connect_host_atom::value,
                  bob_host + ":" + std::to_string(relay ? relay->port() : bob.port))
      .receive([](const mk::command_reply&) {}, [](caf::error&) {});
    {
      std::unique_lock g{cb->mx};
      cb->cv.wait_for(g, 15s, [&] { return cb->connected && (!encrypt || cb->encrypted); });
    }
    {
      std::unique_lock g{ca->mx};
      ca->cv.wait_for(g, 15s, [&] { return ca->connected && (!encrypt || ca->encrypted); });
    }
    if (encrypt) {  // an "encrypted" figure from a session that is not would be a fake result
      auto info = [&](const mk::node_handle& h, const std::string& peer) {
        std::optional<mokaccino::peer_info> out;
        self->request(h.node, 10s, mk::user_info_atom::value, peer)
          .receive([&](const mokaccino::peer_info& p) { out = p; }, [](caf::error&) {});
        return out;
      };
      auto a = info(alice, "bob"), b = info(bob, "alice");
      if (!a || !b || !a->encrypted || !b->encrypted) {
        std::fprintf(stderr, "transfer_bench: the session is not encrypted; refusing to report an encrypted figure\n");
        std::exit(1);
      }
    }
    // MKCAPS, then the path MTU search (a few round trips from the first keep-alive tick): the transfers use the
    // chunk size the path allows, as they would a moment after a user connects.
    std::this_thread::sleep_for(1500ms);
    auto cpu0 = cpu_seconds();
    auto t0 = steady::now();
    // All commands at once: a `file send` replies only once its file is hashed, so waiting for each reply would
    // start the transfers one after another.
    for (int i = 0; i < n; ++i)
      self->send(alice.node, mk::file_send_atom::value, std::string{"bob"},
                 (dir / "src" / fmt::format("t{}.bin", i)).string());
    int replies = 0;
    self->receive_while([&] { return replies < n; })(
      [&](const mk::command_reply& r) {
        ++replies;
        if (!r.ok)
          res.error = r.message;
      },
      caf::after(std::chrono::seconds(60)) >> [&] { replies = n; });
    {
      std::unique_lock g{cb->mx};
      // Through the relay the rate is the path's (RTT and loss), not the machine's: a more patient budget.
      auto budget = 30s + std::chrono::seconds{static_cast<long>(static_cast<double>(res.size * static_cast<std::uint64_t>(n)) / (faults ? 5e5 : 5e6))};
      cb->cv.wait_for(g, budget, [&] {
        return cb->done_rate.size() + cb->failures.size() >= static_cast<std::size_t>(n);
      });
      res.seconds = std::chrono::duration<double>(steady::now() - t0).count();
      if (cb->first_accept)
        res.first_offer_s = std::chrono::duration<double>(*cb->first_accept - t0).count();
      res.cpu = cpu_seconds() - cpu0;
      std::vector<double> rates;
      for (auto& [k, v] : cb->done_rate)
        rates.push_back(v);
      res.ok = rates.size() == static_cast<std::size_t>(n);
      if (!res.ok && res.error.empty())
      {
        std::string sender_failure;
        {
          std::lock_guard ga{ca->mx};
          if (!ca->failures.empty())
            sender_failure = "; sender: " + ca->failures[0];
        }
        res.error = fmt::format("{} of {} done; {}{}", rates.size(), n, cb->failures.empty() ? "timeout" : cb->failures[0],
                                sender_failure);
      }
      // When a transfer began (its offer), from its end and average rate.
      auto start_of = [&](const std::string& name) {
        auto rate = cb->done_rate[name];
        return cb->done_at[name] - std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(
                                       rate > 0 ? static_cast<double>(res.size) / rate : 0));
      };
      if (!rates.empty()) {
        auto jain_of = [](const std::vector<double>& v) {
          double s = std::accumulate(v.begin(), v.end(), 0.0), s2 = 0;
          for (auto r : v)
            s2 += r * r;
          return s2 > 0 ? s * s / (static_cast<double>(v.size()) * s2) : 0.0;
        };
        auto last_start = t0;
        for (auto& [name, rate] : cb->done_rate)
          last_start = std::max(last_start, start_of(name));
        std::vector<double> shared;
        for (auto& [name, rate] : cb->done_rate) {
          if (cb->done_at[name] > last_start)
            shared.push_back(rate);
          else
            ++res.early;
        }
        res.jain_shared = jain_of(shared);
        std::sort(rates.begin(), rates.end());
        res.min_rate = rates.front();
        res.max_rate = rates.back();
        res.median_rate = rates[rates.size() / 2];
        res.jain = jain_of(rates);
      }
      res.aggregate = static_cast<double>(res.size) * static_cast<double>(rates.size()) / res.seconds;
      // Why transfers failed, by reason (the file name and peer stripped), receivers and senders.
      for (auto* c : {cb.get(), ca.get()}) {
        std::unique_lock gl{c->mx, std::defer_lock};
        if (c == ca.get())
          gl.lock();
        std::map<std::string, int> reasons;
        for (auto& f : c->failures)
          ++reasons[f.substr(f.find(':') == std::string::npos ? 0 : f.find(':') + 1)];
        for (auto& [why, count] : reasons)
          std::fprintf(stderr, "  %s %s failures x%d:%s\n", mode.c_str(), c == cb.get() ? "receive" : "send", count,
                       why.c_str());
      }
      if (o.timeline)  // when each transfer ran, in seconds after the first `file send`
        for (auto& [name, rate] : cb->done_rate) {
          double end = std::chrono::duration<double>(cb->done_at[name] - t0).count();
          double start = std::chrono::duration<double>(start_of(name) - t0).count();
          std::fprintf(stderr, "  %s %s: %.3f .. %.3f s, %.2f MB/s\n", mode.c_str(), name.c_str(), start, end, rate / 1e6);
        }
    }
    res.peak_rss_kb = peak_rss_kb();
    {
      // A sender ends when the final ACK reaches it, after the receiver: wait for its counters.
      std::unique_lock ga{ca->mx};
      ca->cv.wait_for(ga, 5s, [&] { return ca->sends_ended >= static_cast<std::size_t>(n); });
      res.retransmits = ca->retransmits;
      res.timeouts = ca->timeouts;
      res.chunk = ca->chunk;
    }
    if (relay) {
      res.relay_forwarded = relay->forwarded();
      res.relay_dropped = relay->dropped();
    }
    for (auto* a : {&ra, &rb})
      caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(alice.node, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bob.node, caf::exit_reason::user_shutdown);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  // Between mokaccino nodes a chunk travels as a binary record: sealed, 83 bytes beyond its data (envelope 26 +
  // record 57); plain, 58 (marker 1 + record 57). The chunk is as large as the probed path MTU allows (1149 bytes at
  // the 1232-byte floor, 1389 on a 1500 IPv4 link, 16 KiB on loopback). Over a link the baseline blasts datagrams
  // of the size the transfer used; on loopback (MTU 65536) those of a 1400-byte Ethernet datagram (issue 12's
  // reference). Its goodput counts whole UDP payloads, as iperf3 does; ours counts file bytes only.
  res.datagram = (res.chunk ? res.chunk : 1024) + (encrypt ? 83 : 58);
  std::size_t base_size = link || o.relay ? res.datagram : 1400;
  if (o.baseline)
    res.baseline = raw_udp_goodput(base_size, base_size, 1000ms, link.get(), faults);
  res.datagram = base_size;
  res.ratio = res.baseline > 0 ? res.aggregate / res.baseline : 0;
  return res;
}

// -- folder mode (issue 15): a folder of many files against one file of the same total size -------------------

struct folder_result {
  std::string what;
  bool ok = false;
  std::uint64_t files = 0, bytes = 0;
  double seconds = 0;
};

// alice sends `path` (a folder or a file) to bob over an encrypted session; the time from `file send` until bob
// reports `wait_name` done.
folder_result timed_folder_send(const options& o, const fs::path& dir, const fs::path& path,
                                const std::string& wait_name, std::string what) {
  folder_result r;
  r.what = std::move(what);
  caf::actor_system_config cfg;
  configure_bench_scheduler(cfg, o.stealing);
  caf::actor_system sys{cfg};
  Botan::AutoSeeded_RNG rng;
  auto make = [&](const std::string& user) {
    mk::config::node_config c;
    c.username = user;
    c.port = 0;
    c.connection.default_action = mk::config::action::accept;
    c.file.default_action = mk::config::action::accept;
    c.audio_input = "silence";
    c.audio_output = "null";
    mk::node_options no{c, mk::crypto::identity::generate(rng), {}, {}, dir / (user + "-dl"), false, false};
    auto h = mk::spawn_node(sys, std::move(no));
    if (!h.ok()) {
      std::fprintf(stderr, "cannot start a node: %s\n", h.error().message.c_str());
      std::exit(1);
    }
    return *h;
  };
  auto alice = make("alice");
  auto bob = make("bob");
  auto ca = std::make_shared<collector>(), cb = std::make_shared<collector>();
  auto ra = subscribe(sys, alice.node, ca), rb = subscribe(sys, bob.node, cb);
  caf::scoped_actor self{sys};
  self->request(alice.node, 10s, mk::connect_host_atom::value, "127.0.0.1:" + std::to_string(bob.port))
    .receive([](const mk::command_reply&) {}, [](caf::error&) {});
  for (auto* c : {cb.get(), ca.get()}) {
    std::unique_lock g{c->mx};
    c->cv.wait_for(g, 15s, [&] { return c->connected && c->encrypted; });
  }
  if (!ca->encrypted || !cb->encrypted) {
    std::fprintf(stderr, "folder: the session did not become encrypted\n");
    std::exit(1);
  }
  std::this_thread::sleep_for(300ms);  // MKCAPS exchanged: alice knows bob speaks folder1
  auto t0 = steady::now();
  self->request(alice.node, 60s, mk::file_send_atom::value, std::string{"bob"}, path.string())
    .receive(
      [&](const mk::command_reply& reply) {
        if (!reply.ok)
          std::fprintf(stderr, "file send: %s\n", reply.message.c_str());
      },
      [&](caf::error& e) { std::fprintf(stderr, "file send: %s\n", sys.render(e).c_str()); });
  {
    std::unique_lock g{cb->mx};
    r.ok = cb->cv.wait_for(g, 600s, [&] { return cb->done_at.count(wait_name) != 0; });
    if (r.ok)
      r.seconds = std::chrono::duration<double>(cb->done_at[wait_name] - t0).count();
    r.ok = r.ok && cb->failures.empty();
  }
  for (auto& a : {ra, rb, alice.node, bob.node})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return r;
}

void run_folder(const options& o) {
  auto dir = fs::temp_directory_path() / fmt::format("mk-bench-folder-{}", ::getpid());
  auto src = dir / "src" / "tree";
  std::mt19937_64 gen{42};
  std::uint64_t total = 0;
  const double lo = std::log(static_cast<double>(o.folder_min)), hi = std::log(static_cast<double>(o.folder_max));
  for (std::uint64_t i = 0; i < o.folder_files; ++i) {
    auto sub = src / fmt::format("d{}", i % 100) / fmt::format("e{}", i % 7);
    fs::create_directories(sub);
    auto size = static_cast<std::uint64_t>(std::exp(lo + (hi - lo) * std::uniform_real_distribution<double>{}(gen)));
    make_file(sub / fmt::format("f{}.bin", i), size, i + 1);
    total += size;
  }
  make_file(dir / "src" / "one.bin", total, 7);
  auto folder = timed_folder_send(o, dir, src, "tree/", "folder");
  folder.files = o.folder_files;
  folder.bytes = total;
  auto one = timed_folder_send(o, dir, dir / "src" / "one.bin", "one.bin", "one file");
  one.files = 1;
  one.bytes = total;
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (auto* r : {&folder, &one}) {
    auto files_s = r->seconds > 0 ? static_cast<double>(r->files) / r->seconds : 0;
    auto mbs = r->seconds > 0 ? static_cast<double>(r->bytes) / r->seconds / 1e6 : 0;
    if (o.json)
      fmt::print("{{\"mode\":\"folder\",\"what\":\"{}\",\"ok\":{},\"files\":{},\"bytes\":{},\"seconds\":{:.3f},"
                 "\"files_per_s\":{:.1f},\"Bps\":{:.0f}}}\n",
                 r->what, r->ok ? "true" : "false", r->files, r->bytes, r->seconds, files_s, mbs * 1e6);
    else
      fmt::print("{:<10} {:>6} files {:>10.1f} MB {:>8.2f} s {:>9.1f} files/s {:>8.1f} MB/s{}\n", r->what, r->files,
                 static_cast<double>(r->bytes) / 1e6, r->seconds, files_s, mbs, r->ok ? "" : "  FAILED");
  }
  if (!o.json && folder.seconds > 0 && one.seconds > 0)
    fmt::print("folder / one file (same bytes, same run, encrypted, loopback): {:.2f} of the single file's MB/s\n",
               one.seconds / folder.seconds);
}

// -- legacy mode: a node and the emulation of the original --------------------------------------------------------

struct legacy_result {
  std::string what;
  bool ok = false;
  double seconds = 0, rate = 0;
  std::string detail;
};

mk::node_handle legacy_node(caf::actor_system& sys, const std::string& user, const fs::path& dl) {
  Botan::AutoSeeded_RNG rng;
  mk::config::node_config c;
  c.username = user;
  c.port = 0;
  c.connection.default_action = mk::config::action::accept;
  c.file.default_action = mk::config::action::accept;
  c.encrypt_by_default = false;  // the emulation speaks plain text only
  c.require_encryption = false;
  c.audio_input = "silence";
  c.audio_output = "null";
  mk::node_options no{c, mk::crypto::identity::generate(rng), {}, {}, dl, false, false};
  auto h = mk::spawn_node(sys, std::move(no));
  if (!h.ok()) {
    std::fprintf(stderr, "cannot start a node: %s\n", h.error().message.c_str());
    std::exit(1);
  }
  return *h;
}

bool wait_connected(collector& c) {
  std::unique_lock g{c.mx};
  return c.cv.wait_for(g, 15s, [&] { return c.connected; });
}

legacy_result timed_receive(const mk::test::legacy_file_peer& rx, const std::string& hash, std::uint64_t size,
                            std::string what) {
  legacy_result r;
  r.what = std::move(what);
  auto got = rx.received(hash);
  r.ok = got && got->complete;
  if (!r.ok)
    return r.detail = "incomplete", r;
  r.seconds = std::chrono::duration<double>(got->completed_at - got->accepted_at).count();
  r.rate = static_cast<double>(size) / r.seconds;
  r.detail = fmt::format("{} duplicate chunks, {} ACKs", got->duplicates, got->acks_sent);
  return r;
}

legacy_result timed_send(const mk::test::legacy_file_peer& tx, const std::string& hash, std::uint64_t size,
                         std::string what) {
  legacy_result r;
  r.what = std::move(what);
  auto out = tx.sent(hash);
  r.ok = out && out->done;
  if (!r.ok)
    return r.detail = "not done", r;
  r.seconds = std::chrono::duration<double>(out->done_at - out->accepted_at).count();
  r.rate = static_cast<double>(size) / r.seconds;
  r.detail = fmt::format("{} resends on duplicate ACK, {} storm resends", out->dup_ack_resends, out->storm_resends);
  return r;
}

std::vector<legacy_result> run_legacy(const options& o) {
  using mk::test::legacy_file_peer;
  const auto budget = std::chrono::seconds{30 + static_cast<long>(o.legacy_size / 200000)};
  auto dir = fs::temp_directory_path() / fmt::format("mk-bench-legacy-{}", ::getpid());
  fs::create_directories(dir);
  auto src = dir / "legacy.bin";
  make_file(src, o.legacy_size, 4242);
  auto hash = mk::crypto::hash_file(src);
  std::vector<legacy_result> out;
  caf::actor_system_config cfg;
  configure_bench_scheduler(cfg, o.stealing);
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    // mokaccino -> original
    {
      auto node = legacy_node(sys, "alice", dir / "alice-dl");
      legacy_file_peer old;
      auto events = std::make_shared<collector>();
      auto rec = subscribe(sys, node.node, events);
      if (!old.connect_node(node.port) || !wait_connected(*events))
        out.push_back(legacy_result{"mokaccino -> original", false, 0, 0, "not connected"});
      else {  // the node has the peer in its session table
        self->request(node.node, 10s, mk::file_send_atom::value, std::string{"olda"}, src.string())
          .receive(
            [](const mk::command_reply& r) {
              if (!r.ok)
                std::fprintf(stderr, "file send: %s\n", r.message.c_str());
            },
            [&](caf::error& e) { std::fprintf(stderr, "file send: %s\n", sys.render(e).c_str()); });
        old.wait_received(*hash, budget);

        out.push_back(timed_receive(old, *hash, o.legacy_size, "mokaccino -> original"));
      }
      caf::anon_send_exit(rec, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(node.node, caf::exit_reason::user_shutdown);
    }
    // original -> mokaccino
    {
      auto node = legacy_node(sys, "bob", dir / "bob-dl");
      legacy_file_peer old;
      auto events = std::make_shared<collector>();
      auto rec = subscribe(sys, node.node, events);
      if (!old.connect_node(node.port) || !wait_connected(*events))
        out.push_back(legacy_result{"original -> mokaccino", false, 0, 0, "not connected"});
      else {
        old.send_file(src);
        old.wait_sent(*hash, budget);
        out.push_back(timed_send(old, *hash, o.legacy_size, "original -> mokaccino"));
      }
      caf::anon_send_exit(rec, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(node.node, caf::exit_reason::user_shutdown);
    }
  }
  // original -> original: two emulations, no node
  {
    legacy_file_peer a, b;
    a.attach(b.port());
    b.attach(a.port());
    a.send_file(src);
    b.wait_received(*hash, budget);
    out.push_back(timed_receive(b, *hash, o.legacy_size, "original -> original"));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

void print_legacy(const options& o, const std::vector<legacy_result>& rs) {
  double base = rs.back().ok ? rs.back().rate : 0;
  if (o.json) {
    fmt::print("[");
    for (std::size_t i = 0; i < rs.size(); ++i)
      fmt::print("{}{{\"mode\":\"legacy\",\"what\":\"{}\",\"size\":{},\"ok\":{},\"seconds\":{:.3f},\"Bps\":{:.0f},"
                 "\"ratio_to_original\":{:.3f}}}",
                 i ? "," : "", rs[i].what, o.legacy_size, rs[i].ok ? "true" : "false", rs[i].seconds, rs[i].rate,
                 base > 0 ? rs[i].rate / base : 0.0);
    fmt::print("]\n");
    return;
  }
  fmt::print("{:<24} {:>9} {:>8} {:>9} {:>22}  {}\n", "legacy (loopback)", "size", "time s", "MB/s",
             "ratio to orig->orig", "");
  for (auto& r : rs)
    fmt::print("{:<24} {:>9} {:>8.3f} {:>9.2f} {:>22.2f}  {}{}\n", r.what, o.legacy_size, r.seconds, r.rate / 1e6,
               base > 0 ? r.rate / base : 0.0, r.detail, r.ok ? "" : "  FAILED");
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in{s};
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") {
      o.n.clear();
      for (auto& x : split_list(next()))
        o.n.push_back(std::stoi(x));
    } else if (a == "--size") {
      o.size = std::stoull(next());
    } else if (a == "--total") {
      o.total = std::stoull(next());
    } else if (a == "--modes") {
      o.modes = split_list(next());
    } else if (a == "--timeline") {
      o.timeline = true;
    } else if (a == "--no-baseline") {
      o.baseline = false;
    } else if (a == "--stealing") {
      o.stealing = true;
    } else if (a == "--folder-files") {
      o.folder_files = std::stoull(next());
    } else if (a == "--folder-max") {
      o.folder_max = std::stoull(next());
    } else if (a == "--legacy-size") {
      o.legacy_size = std::stoull(next());
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--link") {
      o.veth = next() == "veth";
      if (!o.veth) {
        std::fprintf(stderr, "--link: only `veth` is known\n");
        return 2;
      }
    } else if (a == "--mtu") {
      o.mtu = std::stoi(next());
    } else if (a == "--rtt") {
      o.relay = true;
      o.rtt_ms = std::stod(next());
    } else if (a == "--loss") {
      o.relay = true;
      o.loss_pct = std::stod(next());
    } else if (a == "--jitter") {
      o.relay = true;
      o.jitter_ms = std::stod(next());
    } else if (a == "--reorder") {
      o.relay = true;
      o.reorder_pct = std::stod(next());
    } else {
      std::fprintf(stderr,
                   "usage: transfer_bench [--n 1,16,64,256] [--size BYTES] [--total BYTES] "
                   "[--modes plain,encrypted,legacy,folder] [--folder-files N] [--folder-max BYTES] [--json] [--timeline] [--stealing] [--no-baseline] "
                   "[--legacy-size BYTES] [--link veth --mtu 1500|1280] [--rtt MS --loss PCT [--jitter MS] [--reorder PCT]]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (std::find(o.modes.begin(), o.modes.end(), "folder") != o.modes.end()) {
    run_folder(o);
    o.modes.erase(std::remove(o.modes.begin(), o.modes.end(), "folder"), o.modes.end());
    if (o.modes.empty())
      return 0;
  }
  if (std::find(o.modes.begin(), o.modes.end(), "legacy") != o.modes.end()) {
    print_legacy(o, run_legacy(o));
    o.modes.erase(std::remove(o.modes.begin(), o.modes.end(), "legacy"), o.modes.end());
    if (o.modes.empty())
      return 0;
  }
  if (o.veth)
    if (auto why = mk::test::netns_unavailable()) {
      std::fprintf(stderr, "--link veth: %s\n", why->c_str());
      return 1;
    }
  std::vector<run_result> all;
  if (!o.json && o.veth)
    fmt::print("link: veth, MTU {}, IPv4 (10.200.0.1 -> 10.200.0.2)\n", o.mtu);
  if (o.relay) {
    // The relay is one thread: its own ceiling (raw UDP through it, no faults) must stay far above what the
    // transfers reach through it, or the figures would measure the relay.
    std::unique_ptr<mk::test::netns_link> link;
    if (o.veth)
      link = std::make_unique<mk::test::netns_link>(o.mtu);
    auto ceiling = raw_udp_goodput(1107, 1024, 1000ms, link.get(), mk::test::fault_config{});
    if (!o.json)
      fmt::print("relay: {} ms RTT, {}% loss each way, jitter {} ms{}; relay ceiling (raw UDP through it, no "
                 "faults, 1107 B): {:.1f} MB/s\n",
                 o.rtt_ms, o.loss_pct, o.jitter_ms,
                 o.reorder_pct >= 0 ? fmt::format(" on {}% of datagrams", o.reorder_pct) : std::string{},
                 ceiling / 1e6);
    else
      fmt::print(stderr, "relay ceiling {:.0f} B/s\n", ceiling);
  }
  if (!o.json)
    fmt::print("{:<10} {:>4} {:>9} {:>8} {:>10} {:>10} {:>10} {:>10} {:>6} {:>13} {:>7} {:>8} {:>10} {:>6} {:>8}\n", "mode",
               "N", "size", "time s", "agg MB/s", "min MB/s", "med MB/s", "max MB/s", "Jain", "Jain shared", "CPU s",
               "RSS MB", "UDP MB/s", "ratio", "offer s");
  // (UDP MB/s: raw datagrams of the transfer's own data-datagram size, printed per row as "@<bytes>")
  for (auto& mode : o.modes)
    for (int n : o.n) {
      auto r = run(o, mode, n, o.loss_pct);
      if (o.relay) {  // the reference: the same relay (delay, jitter) at 0 % loss, in the same run
        auto ref = o.loss_pct > 0 ? run(o, mode, n, 0) : r;
        r.ratio_to_lossless = ref.aggregate > 0 ? r.aggregate / ref.aggregate : 0;
        if (!o.json)
          fmt::print("  {} N={} at 0% loss: {:.2f} MB/s ({} retransmits); at {}% loss: {:.2f} MB/s, {} retransmits, "
                     "{} RTOs, relay dropped {} of {}; ratio to 0% loss {:.3f}\n",
                     mode, n, ref.aggregate / 1e6, ref.retransmits, o.loss_pct, r.aggregate / 1e6, r.retransmits,
                     r.timeouts, r.relay_dropped, r.relay_forwarded + r.relay_dropped, r.ratio_to_lossless);
      }
      all.push_back(r);
      if (!o.json) {
        fmt::print("{:<10} {:>4} {:>9} {:>8.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>6.3f} {:>13} {:>7.2f} "
                   "{:>8.1f} {:>10.1f} {:>6.3f} {:>8.3f}{}\n",
                   r.mode, r.n, r.size, r.seconds, r.aggregate / 1e6, r.min_rate / 1e6, r.median_rate / 1e6,
                   r.max_rate / 1e6, r.jain, fmt::format("{:.3f} ({})", r.jain_shared, r.n - r.early), r.cpu, static_cast<double>(r.peak_rss_kb) / 1024, r.baseline / 1e6,
                   r.ratio, r.first_offer_s, (r.ok ? "" : "  FAILED: " + r.error) + fmt::format("  @{} B", r.datagram));
        std::fflush(stdout);
      }
    }
  if (o.json) {
    fmt::print("[");
    for (std::size_t i = 0; i < all.size(); ++i) {
      auto& r = all[i];
      fmt::print("{}{{\"mode\":\"{}\",\"n\":{},\"size\":{},\"ok\":{},\"seconds\":{:.3f},\"aggregate_Bps\":{:.0f},"
                 "\"min_Bps\":{:.0f},\"median_Bps\":{:.0f},\"max_Bps\":{:.0f},\"jain\":{:.4f},\"jain_shared\":{:.4f},\"early\":{},\"cpu_s\":{:.3f},"
                 "\"peak_rss_kb\":{},\"udp_baseline_Bps\":{:.0f},\"ratio\":{:.4f},\"loss_pct\":{},\"retransmits\":{},"
                 "\"timeouts\":{},\"relay_dropped\":{},\"ratio_to_lossless\":{:.4f},\"first_offer_s\":{:.4f},"
                 "\"chunk\":{},\"datagram\":{}}}",
                 i ? "," : "", r.mode, r.n, r.size, r.ok ? "true" : "false", r.seconds, r.aggregate, r.min_rate,
                 r.median_rate, r.max_rate, r.jain, r.jain_shared, r.early, r.cpu, r.peak_rss_kb, r.baseline, r.ratio, r.loss_pct,
                 r.retransmits, r.timeouts, r.relay_dropped, r.ratio_to_lossless, r.first_offer_s, r.chunk, r.datagram);
    }
    fmt::print("]\n");
  }
  return 0;
}
