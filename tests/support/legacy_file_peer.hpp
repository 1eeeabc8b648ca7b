#pragma once
// Test support: a protocol emulation of the ORIGINAL program's file transfer (PROTOCOL §10, the interop captures),
// faithful to its timers, on a real UDP socket with the kernel's default buffers and its own thread. It is what
// mokaccino must interoperate with and keep pace with:
//   receiver: asks its "user" once per FILEINIT (even a repeated one: that is the defect a mokaccino sender must
//     not trigger) and counts them; after a yes sends FILEACK 0, stores chunks out of order, ACKs at once on a
//     duplicate chunk, on completion and when next >= last ACK + 10240, and on every 10 ms pass once more than
//     100 ms have passed since its last ACK, even if nothing changed; a completed transfer is forgotten.
//   sender: FILEINIT once (never retransmitted), FILESTOP after 11 s without an answer; after FILEACK 0 a 10 ms
//     loop keeps next - last_acked < 10240; a duplicate ACK resends the chunk at last_acked at once; with a full
//     window and no ACK for more than 200 ms the chunk at last_acked is resent on every pass (its resend storm).
// Plain text only (no encryption), and no MKCAPS: a mokaccino node must treat it as an original.
// Free of doctest so that bench/transfer_bench can use it too.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <botan/auto_rng.h>

#include "core/crypto/file_hash.hpp"
#include "core/crypto/identity.hpp"
#include "core/crypto/random.hpp"
#include "core/wire/messages.hpp"
#include "loopback_udp.hpp"

namespace mk::test {

struct legacy_peer_options {
  std::string user = "olda";
  std::chrono::milliseconds answer_after{0};  // how long its user takes to answer a prompt
  bool answer_yes = true;
};

class legacy_file_peer {
 public:
  using clock = std::chrono::steady_clock;
  // §10 constants of the original
  static constexpr std::uint64_t chunk = 1024;
  static constexpr std::uint64_t window = 10 * chunk;
  static constexpr auto loop_period = std::chrono::milliseconds(10);
  static constexpr auto ack_period = std::chrono::milliseconds(100);
  static constexpr auto resend_after = std::chrono::milliseconds(200);
  static constexpr auto accept_timeout = std::chrono::seconds(11);

  struct incoming {  // what the receiver saw of one hash
    std::string hash, name;
    std::uint64_t size = 0;
    int fileinits = 0;  // FILEINIT lines received
    int prompts = 0;    // questions put to the user (the original: one per FILEINIT)
    bool accepted = false, complete = false, stopped = false;
    std::vector<std::uint8_t> data;
    std::vector<bool> have;
    std::uint64_t next = 0, last_acked = 0;
    clock::time_point last_ack_time{}, accepted_at{}, completed_at{};
    std::uint64_t chunks = 0, duplicates = 0, acks_sent = 0;
  };
  struct outgoing {  // one file the sender offered
    std::string name, hash;
    std::vector<std::uint8_t> data;
    bool accepted = false, done = false, stopped = false;
    std::uint64_t next = 0, last_acked = 0;
    clock::time_point offered_at{}, accepted_at{}, done_at{}, last_ack_time{};
    std::uint64_t chunks_sent = 0, dup_ack_resends = 0, storm_resends = 0, acks = 0;
  };

  explicit legacy_file_peer(legacy_peer_options o = {}) : opt_(std::move(o)) {
    fd_ = open_loopback_udp(port_);  // the kernel's default buffers, as the original has
  }
  ~legacy_file_peer() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
    ::close(fd_);
  }
  legacy_file_peer(const legacy_file_peer&) = delete;
  legacy_file_peer& operator=(const legacy_file_peer&) = delete;

  std::uint16_t port() const { return port_; }

  // §5: CONNECT to a node, answer its HANDSHAKE with CONNECTED; then the peer runs on its thread. False if the
  // node did not answer.
  bool connect_node(std::uint16_t node_port, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    Botan::AutoSeeded_RNG rng;
    auto id = crypto::identity::generate(rng);
    wire::connect_msg c{opt_.user, crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(wire::signed_text(c), rng);
    peer_port_ = node_port;
    send_line(wire::serialize(c));
    auto deadline = clock::now() + timeout;
    std::vector<char> buf(70000);
    while (clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      auto n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0)
        continue;
      std::string_view line{buf.data(), static_cast<std::size_t>(n)};
      if (!line.empty() && line.back() == '\n')
        line.remove_suffix(1);
      auto m = wire::parse_line(line);
      auto* h = m.ok() ? std::get_if<wire::handshake_msg>(&*m) : nullptr;
      if (!h)
        continue;
      wire::connected_msg done{h->nonce, {}};
      done.signature = id.sign(wire::signed_text(done), rng);
      send_line(wire::serialize(done));
      start();
      return true;
    }
    return false;
  }

  // Talk to another raw peer (another emulation) without a handshake: the original-to-original baseline.
  void attach(std::uint16_t peer_port) {
    peer_port_ = peer_port;
    start();
  }

  // `file send`: loads the whole file (as the original does) and sends FILEINIT once. Returns the hash.
  std::optional<std::string> send_file(const std::filesystem::path& p) {
    auto hash = crypto::hash_file(p);
    if (!hash.ok())
      return std::nullopt;
    std::ifstream in{p, std::ios::binary};
    outgoing o;
    o.name = p.filename().string();
    o.hash = *hash;
    o.data.assign(std::istreambuf_iterator<char>{in}, {});
    o.offered_at = clock::now();
    std::lock_guard g{mx_};
    send_line(wire::serialize(wire::file_init_msg{o.hash, o.data.size(), o.name}));
    out_[o.hash] = std::move(o);
    return *hash;
  }

  // Any line, as a hostile peer would send it (tests of what the node accepts from a peer).
  void inject(const std::string& line) {
    std::lock_guard g{mx_};
    send_line(line);
  }
  // All the node sent that this emulation does not handle itself, as lines (FOLDERACCEPT, ...).
  std::vector<std::string> other_lines() const {
    std::lock_guard g{mx_};
    return other_;
  }

  // Waits until `pred` holds over the state (under the lock); false on timeout.
  bool wait(const std::function<bool(const legacy_file_peer&)>& pred, std::chrono::milliseconds timeout) {
    std::unique_lock g{mx_};
    return cv_.wait_for(g, timeout, [&] { return pred(*this); });
  }
  bool wait_received(const std::string& hash, std::chrono::milliseconds timeout) {
    return wait([&](const legacy_file_peer& s) { return s.in_.count(hash) && s.in_.at(hash).complete; }, timeout);
  }
  bool wait_sent(const std::string& hash, std::chrono::milliseconds timeout) {
    return wait([&](const legacy_file_peer& s) { return s.out_.count(hash) && (s.out_.at(hash).done || s.out_.at(hash).stopped); },
                timeout);
  }
  bool wait_offer(std::chrono::milliseconds timeout) {
    return wait([](const legacy_file_peer& s) { return !s.in_.empty(); }, timeout);
  }

  // Snapshots (copies, taken under the lock).
  std::optional<incoming> received(const std::string& hash) const {
    std::lock_guard g{mx_};
    auto it = in_.find(hash);
    return it == in_.end() ? std::nullopt : std::optional{it->second};
  }
  std::optional<incoming> received_any() const {  // the first offer seen
    std::lock_guard g{mx_};
    return in_.empty() ? std::nullopt : std::optional{in_.begin()->second};
  }
  std::optional<outgoing> sent(const std::string& hash) const {
    std::lock_guard g{mx_};
    auto it = out_.find(hash);
    return it == out_.end() ? std::nullopt : std::optional{it->second};
  }
  // Counters, readable from anywhere (also inside a wait() predicate).
  std::uint64_t stops_received() const { return stops_received_; }
  std::uint64_t sacks_received() const { return sacks_received_; }

 private:
  struct prompt {
    std::string hash;
    clock::time_point answer_at;
  };

  void start() { thread_ = std::thread([this] { run(); }); }

  void send_line(const std::string& line) {
    auto a = loopback_address(peer_port_);
    std::string bytes = line + "\n";
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }

  // -- receiver (§10 "Receiver on FILE") --

  void ack(incoming& t, clock::time_point now) {
    send_line(wire::serialize(wire::file_ack_msg{t.hash, t.next}));
    t.last_acked = t.next;
    t.last_ack_time = now;
    ++t.acks_sent;
  }

  void on_init(const wire::file_init_msg& m, clock::time_point now) {
    auto& t = in_[m.hash];
    if (t.complete) {  // a completed transfer is forgotten: a new FILEINIT starts over (the count stays)
      int seen = t.fileinits, asked = t.prompts;
      t = incoming{};
      t.fileinits = seen;
      t.prompts = asked;
    }
    ++t.fileinits;
    t.hash = m.hash;
    t.name = m.name;
    t.size = m.size;
    ++t.prompts;  // the original asks once per FILEINIT
    prompts_.push_back(prompt{m.hash, now + opt_.answer_after});
  }

  void answer_prompts(clock::time_point now) {
    while (!prompts_.empty() && prompts_.front().answer_at <= now) {
      auto p = prompts_.front();
      prompts_.pop_front();
      auto it = in_.find(p.hash);
      if (it == in_.end() || it->second.complete)
        continue;
      auto& t = it->second;
      if (t.accepted)
        continue;  // a second question for a transfer already running: the answer changes nothing here
      if (!opt_.answer_yes) {
        send_line(wire::serialize(wire::file_stop_msg{p.hash}));
        continue;
      }
      t.accepted = true;
      t.accepted_at = now;
      t.data.assign(t.size, 0);
      t.have.assign((t.size + chunk - 1) / chunk, false);
      t.next = 0;
      ack(t, now);  // FILEACK 0
    }
  }

  void on_file(const wire::file_msg& m, clock::time_point now) {
    auto it = in_.find(m.hash);
    if (it == in_.end() || !it->second.accepted || it->second.complete || it->second.stopped)
      return;
    auto& t = it->second;
    std::uint64_t want = std::min(chunk, t.size > m.offset ? t.size - m.offset : 0);
    if (m.offset % chunk != 0 || m.offset >= t.size || m.data.size() != want)
      return;
    auto idx = m.offset / chunk;
    if (t.have[idx]) {  // duplicate: ACK at once
      ++t.duplicates;
      return ack(t, now);
    }
    t.have[idx] = true;
    ++t.chunks;
    std::copy(m.data.begin(), m.data.end(), t.data.begin() + static_cast<std::ptrdiff_t>(m.offset));
    while (t.next < t.size && t.have[t.next / chunk])
      t.next = std::min(t.next + chunk, t.size);
    if (t.next == t.size) {
      t.complete = true;
      t.completed_at = now;
      return ack(t, now);
    }
    if (t.next >= t.last_acked + window)
      ack(t, now);
  }

  // -- sender (§10 "Sender on FILEACK n") --

  void send_chunk(outgoing& o, std::uint64_t off) {
    auto len = std::min(chunk, o.data.size() - off);
    wire::file_msg f{o.hash, off, {o.data.begin() + static_cast<std::ptrdiff_t>(off),
                                   o.data.begin() + static_cast<std::ptrdiff_t>(off + len)}};
    send_line(wire::serialize(f));
  }

  void on_ack(const wire::file_ack_msg& m, clock::time_point now) {
    auto it = out_.find(m.hash);
    if (it == out_.end() || it->second.done || it->second.stopped)
      return;
    auto& o = it->second;
    std::uint64_t n = m.next, size = o.data.size();
    if (!(n == size || n % chunk == 0) || n > o.next)
      return;
    o.last_ack_time = now;
    ++o.acks;
    if (!o.accepted) {
      if (n == 0) {
        o.accepted = true;
        o.accepted_at = now;
        if (size == 0)
          return void(o.done = true);
      }
      return;
    }
    if (n == size) {
      o.done = true;
      o.done_at = now;
    } else if (n == o.last_acked) {
      ++o.dup_ack_resends;  // duplicate ACK: resend the one chunk at last_acked
      send_chunk(o, o.last_acked);
    } else {
      o.last_acked = n;
    }
  }

  // One pass of the original's 10 ms loop.
  void pass(clock::time_point now) {
    for (auto& [h, o] : out_) {
      if (o.done || o.stopped)
        continue;
      if (!o.accepted) {
        if (now - o.offered_at >= accept_timeout) {
          send_line(wire::serialize(wire::file_stop_msg{h}));
          o.stopped = true;
        }
        continue;
      }
      while (o.next < o.data.size() && o.next - o.last_acked < window) {
        send_chunk(o, o.next);
        ++o.chunks_sent;
        o.next += std::min(chunk, o.data.size() - o.next);
      }
      if (o.next - o.last_acked >= window && now - o.last_ack_time > resend_after) {
        ++o.storm_resends;  // §14: the 10 ms resend storm
        send_chunk(o, o.last_acked);
      }
    }
    for (auto& [h, t] : in_)
      if (t.accepted && !t.complete && !t.stopped && now - t.last_ack_time > ack_period)
        ack(t, now);  // repeats even if nothing changed
    answer_prompts(now);
  }

  void handle(std::string_view line, clock::time_point now) {
    if (!line.empty() && line.back() == '\n')
      line.remove_suffix(1);
    auto m = wire::parse_line(line);
    if (!m.ok())
      return;
    if (auto* p = std::get_if<wire::ping_msg>(&*m))
      send_line(wire::serialize(wire::pong_msg{p->id}));
    else if (auto* i = std::get_if<wire::file_init_msg>(&*m))
      on_init(*i, now);
    else if (auto* f = std::get_if<wire::file_msg>(&*m))
      on_file(*f, now);
    else if (auto* a = std::get_if<wire::file_ack_msg>(&*m))
      on_ack(*a, now);
    else if (auto* s = std::get_if<wire::file_stop_msg>(&*m)) {
      ++stops_received_;
      if (auto it = out_.find(s->hash); it != out_.end())
        it->second.stopped = true;
      if (auto it = in_.find(s->hash); it != in_.end())
        it->second.stopped = true;
    } else if (std::holds_alternative<wire::file_sack_msg>(*m)) {
      ++sacks_received_;  // an original does not know FILESACK: it must never be sent one
    } else if (other_.size() < 10000) {
      other_.emplace_back(line);
    }
  }

  void run() {
    std::vector<char> buf(70000);
    auto next_pass = clock::now();
    while (!stop_) {
      auto now = clock::now();
      if (now >= next_pass) {
        std::lock_guard g{mx_};
        pass(now);
        next_pass = now + loop_period;
        cv_.notify_all();
      }
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_pass - now).count();
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(wait_ms, 0, 10))) <= 0)
        continue;
      std::lock_guard g{mx_};
      for (int burst = 0; burst < 64; ++burst) {
        auto n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0)
          break;
        handle({buf.data(), static_cast<std::size_t>(n)}, clock::now());
      }
      cv_.notify_all();
    }
  }

  legacy_peer_options opt_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t peer_port_ = 0;
  mutable std::mutex mx_;
  std::vector<std::string> other_;
  std::condition_variable cv_;
  std::map<std::string, incoming> in_;
  std::map<std::string, outgoing> out_;
  std::deque<prompt> prompts_;
  std::atomic<std::uint64_t> stops_received_{0}, sacks_received_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mk::test
