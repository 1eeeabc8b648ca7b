#pragma once
// Test support: a UDP relay on loopback between a "client" (who sends to front_port()) and one server port, that
// drops a fraction of the datagrams and delays each by a random time (which also reorders them). Faults can be
// switched on and off while it runs, so a handshake can pass cleanly and only the media see loss.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/loopback_udp.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace mk::test {

class voice_relay {
 public:
  using clock = std::chrono::steady_clock;

  explicit voice_relay(std::uint16_t server_port, std::uint32_t seed = 1234) : server_port_(server_port), rng_(seed) {
    front_ = open_socket(front_port_);
    back_ = open_socket(back_port_);
    thread_ = std::thread([this] { run(); });
  }
  ~voice_relay() {
    stop_ = true;
    thread_.join();
    ::close(front_);
    ::close(back_);
  }
  voice_relay(const voice_relay&) = delete;
  voice_relay& operator=(const voice_relay&) = delete;

  std::uint16_t front_port() const { return front_port_; }

  // loss in [0,1]; each datagram is delayed by a uniform time in [0, max_delay].
  void set_faults(double loss, std::chrono::milliseconds max_delay) {
    std::lock_guard<std::mutex> g{mx_};
    loss_ = loss;
    max_delay_ = max_delay;
  }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t forwarded() const { return forwarded_; }

 private:
  struct pending {
    clock::time_point due;
    std::uint64_t order;
    int fd;
    std::uint16_t to;
    std::string bytes;
    bool operator>(const pending& o) const { return due != o.due ? due > o.due : order > o.order; }
  };

  static int open_socket(std::uint16_t& port) { return open_loopback_udp(port); }

  void send_to(int fd, std::uint16_t port, const std::string& b) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ++forwarded_;
  }

  void take(int from_fd, int out_fd, bool from_client) {
    char buf[70000];
    sockaddr_in src{};
    socklen_t len = sizeof src;
    auto n = ::recvfrom(from_fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&src), &len);
    if (n < 0)
      return;
    if (from_client)
      client_port_ = ntohs(src.sin_port);
    std::uint16_t to = from_client ? server_port_ : client_port_;
    if (to == 0)
      return;
    double loss;
    std::chrono::milliseconds max_delay;
    {
      std::lock_guard<std::mutex> g{mx_};
      loss = loss_;
      max_delay = max_delay_;
    }
    if (std::uniform_real_distribution<double>{0, 1}(rng_) < loss) {
      ++dropped_;
      return;
    }
    auto delay = std::chrono::microseconds{
      std::uniform_int_distribution<std::int64_t>{0, std::chrono::microseconds{max_delay}.count()}(rng_)};
    queue_.push(pending{clock::now() + delay, order_++, out_fd, to, std::string{buf, static_cast<std::size_t>(n)}});
  }

  void run() {
    while (!stop_) {
      auto now = clock::now();
      while (!queue_.empty() && queue_.top().due <= now) {
        send_to(queue_.top().fd, queue_.top().to, queue_.top().bytes);
        queue_.pop();
      }
      int timeout_ms = 5;
      if (!queue_.empty()) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(queue_.top().due - now).count();
        timeout_ms = static_cast<int>(std::clamp<std::int64_t>(wait, 0, 5));
      }
      pollfd p[2] = {{front_, POLLIN, 0}, {back_, POLLIN, 0}};
      if (::poll(p, 2, timeout_ms) <= 0)
        continue;
      if (p[0].revents & POLLIN)
        take(front_, back_, true);
      if (p[1].revents & POLLIN)
        take(back_, front_, false);
    }
  }

  std::uint16_t server_port_;
  std::uint16_t front_port_ = 0, back_port_ = 0, client_port_ = 0;
  int front_ = -1, back_ = -1;
  std::mt19937_64 rng_;
  std::mutex mx_;
  double loss_ = 0;
  std::chrono::milliseconds max_delay_{0};
  std::priority_queue<pending, std::vector<pending>, std::greater<>> queue_;
  std::uint64_t order_ = 0;
  std::atomic<std::uint64_t> dropped_{0}, forwarded_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mk::test
