#pragma once
// Test support: a fault-injecting UDP relay between two nodes on loopback (issue "File transfers", reliability
// tests). Node A talks to the relay's port as if it were node B; the relay forwards to B and B's answers back to
// A (the first source that is not B becomes A). On its own thread, with real sockets. While faults are enabled
// every datagram, in both directions, may be dropped, duplicated, delayed, reordered (held back a random extra
// delay), corrupted (one byte flipped), or rewritten by a hook; a rate limit can slow the link down.
// With `bind_any` it listens on every address of its network namespace, so A may reach it across a real link
// (issue 12: the relay placed on a veth path inside a namespace); B is always 127.0.0.1:b_port.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "loopback_udp.hpp"
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace mk::test {

struct fault_config {
  double drop = 0;        // probability a datagram is lost
  double duplicate = 0;   // probability it is delivered twice
  double reorder = 0;     // probability it is held back an extra random 0..reorder_delay
  std::chrono::microseconds reorder_delay{5000};
  std::chrono::microseconds delay{0};  // added to every datagram
  double corrupt = 0;     // probability one random byte is flipped
  double rate_bytes_per_s = 0;  // 0 = unlimited; otherwise datagrams are paced (queued, never dropped)
};

class fault_relay {
 public:
  // Rewrites a datagram (return nullopt to keep it as is). Called on the relay thread, faults enabled or not.
  using hook = std::function<std::optional<std::string>(const std::string& datagram, bool from_a)>;

  explicit fault_relay(std::uint16_t b_port, std::uint32_t seed = 42, bool bind_any = false)
      : b_port_(b_port), rng_(seed) {
    fd_ = bind_any ? open_any_udp(port_) : open_loopback_udp(port_);
    int buf = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    thread_ = std::thread([this] { run(); });
  }
  ~fault_relay() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  fault_relay(const fault_relay&) = delete;
  fault_relay& operator=(const fault_relay&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void set_faults(const fault_config& f) {
    std::lock_guard g{mx_};
    faults_ = f;
    enabled_ = true;
  }
  void clear_faults() {
    std::lock_guard g{mx_};
    enabled_ = false;
  }
  void set_hook(hook h) {
    std::lock_guard g{mx_};
    hook_ = std::move(h);
  }
  // While blocked, every datagram is dropped (a link that went dead).
  void set_blocked(bool b) { blocked_ = b; }

  std::uint64_t forwarded() const { return forwarded_; }
  std::uint64_t dropped() const { return dropped_; }
  // Of those, the datagrams from A (toward B): the sender's losses when A sends a file.
  std::uint64_t dropped_from_a() const { return dropped_a_; }
  std::uint64_t forwarded_from_a() const { return forwarded_a_; }
  std::uint64_t duplicated() const { return duplicated_; }

 private:
  using clock = std::chrono::steady_clock;
  struct pending {
    clock::time_point at;
    std::uint64_t seq;
    std::string bytes;
    sockaddr_in to;
    bool from_a;
    bool operator>(const pending& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>{0, 1}(rng_) < p; }

  static int open_any_udp(std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
  }

  void send_to(const sockaddr_in& a, const std::string& bytes, bool from_a) {
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    ++forwarded_;
    if (from_a)
      ++forwarded_a_;
  }

  void schedule(std::string bytes, const sockaddr_in& to, bool from_a) {
    fault_config f;
    bool on;
    hook h;
    {
      std::lock_guard g{mx_};
      f = faults_;
      on = enabled_;
      h = hook_;
    }
    if (h)
      if (auto changed = h(bytes, from_a))
        bytes = std::move(*changed);
    auto now = clock::now();
    int copies = 1;
    auto at = now;
    if (on) {
      if (chance(f.drop)) {
        ++dropped_;
        if (from_a)
          ++dropped_a_;
        return;
      }
      if (chance(f.duplicate)) {
        copies = 2;
        ++duplicated_;
      }
      if (chance(f.corrupt) && !bytes.empty())
        bytes[std::uniform_int_distribution<std::size_t>{0, bytes.size() - 1}(rng_)] ^= 0x20;
      at += f.delay;
      if (chance(f.reorder))
        at += std::chrono::microseconds{
          std::uniform_int_distribution<std::int64_t>{0, f.reorder_delay.count()}(rng_)};
      if (f.rate_bytes_per_s > 0) {
        auto& free_at = from_a ? pace_a_ : pace_b_;
        free_at = std::max(free_at, now) + std::chrono::duration_cast<clock::duration>(
                                             std::chrono::duration<double>(bytes.size() / f.rate_bytes_per_s));
        at = std::max(at, free_at);
      }
    }
    for (int i = 0; i < copies; ++i)
      queue_.push(pending{at, seq_++, bytes, to, from_a});
  }

  void run() {
    std::vector<char> buf(70000);
    while (!stop_) {
      auto now = clock::now();
      while (!queue_.empty() && queue_.top().at <= now) {
        send_to(queue_.top().to, queue_.top().bytes, queue_.top().from_a);
        queue_.pop();
      }
      int timeout_ms = 5;
      if (!queue_.empty())
        timeout_ms = static_cast<int>(std::clamp<std::int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(queue_.top().at - now).count(), 0, 5));
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0)
        continue;
      for (int burst = 0; burst < 256; ++burst) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        auto n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0)
          break;
        // B is 127.0.0.1:b_port exactly: across namespaces A may use the same port number on another address.
        const bool from_b = ntohs(from.sin_port) == b_port_ && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK);
        if (blocked_) {
          ++dropped_;
          if (!from_b)
            ++dropped_a_;
          continue;
        }
        std::string bytes{buf.data(), static_cast<std::size_t>(n)};
        if (from_b) {
          if (a_known_)
            schedule(std::move(bytes), a_, false);
        } else {
          a_ = from;
          a_known_ = true;
          schedule(std::move(bytes), loopback_address(b_port_), true);
        }
      }
    }
  }

  std::uint16_t b_port_;
  sockaddr_in a_{};
  bool a_known_ = false;
  std::uint16_t port_ = 0;
  int fd_ = -1;
  std::mt19937_64 rng_;
  std::mutex mx_;
  fault_config faults_;
  bool enabled_ = false;
  hook hook_;
  std::atomic<bool> blocked_{false};
  std::atomic<bool> stop_{false};
  std::priority_queue<pending, std::vector<pending>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  clock::time_point pace_a_{}, pace_b_{};
  std::atomic<std::uint64_t> forwarded_{0}, dropped_{0}, duplicated_{0}, dropped_a_{0}, forwarded_a_{0};
  std::thread thread_;
};

}  // namespace mk::test
