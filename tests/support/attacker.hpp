#pragma once
// Test support: an attacker toolkit for real-node tests on loopback (issue 13).
//
//   on_path_relay mitm{b.port()};                  // A talks to mitm.address() as if it were B
//   ask<command_reply>(sys, a.handle.node, connect_host_atom_v, mitm.address());
//   auto m = mitm.wait_for(from_a_with("C "));      // every datagram is recorded, both directions
//   mitm.replay(m->index);                          // again toward its original destination (B)
//   mitm.reflect(m->index);                         // back to its sender (A), as if B sent it
//   mitm.inject_to_a("CRYPTSTOP\n");                // A sees it come from B's address
//   mitm.set_drop([](const recorded& r) { ... });   // or hold(...) then release_held(true) to reorder
//
//   if (auto why = spoof_unavailable()) MESSAGE(*why); else
//     spoof_udp({"127.0.0.1", 40001}, {"127.0.0.1", node.port()}, "CONNECT ...\n");  // forged source, root only
//
//   wire_capture cap{{a.port(), b.port()}};         // AF_PACKET on lo (root); cap.contains("secret") afterwards
//
// Everything runs on real sockets; the relay and the capture each have their own thread and are thread-safe.

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/loopback_udp.hpp"

namespace mk::test {

using attack_clock = std::chrono::steady_clock;

// -- on-path relay ----------------------------------------------------------------------------------------------

enum class direction { a_to_b, b_to_a };

struct recorded {
  std::uint64_t index = 0;  // 0, 1, 2 ... in arrival order, both directions together
  direction dir = direction::a_to_b;
  std::string bytes;
  attack_clock::time_point at;
  bool delivered = false;  // false if dropped or (still) held
};

using datagram_pred = std::function<bool(const recorded&)>;

inline datagram_pred from_a() {
  return [](const recorded& r) { return r.dir == direction::a_to_b; };
}
inline datagram_pred from_b() {
  return [](const recorded& r) { return r.dir == direction::b_to_a; };
}
// Datagrams of one direction whose bytes start with `prefix` (e.g. "C " for an encrypted line, "MSG ").
inline datagram_pred starting_with(direction d, std::string prefix) {
  return [d, prefix](const recorded& r) { return r.dir == d && r.bytes.rfind(prefix, 0) == 0; };
}
inline datagram_pred from_a_with(std::string prefix) { return starting_with(direction::a_to_b, std::move(prefix)); }
inline datagram_pred from_b_with(std::string prefix) { return starting_with(direction::b_to_a, std::move(prefix)); }

class on_path_relay {
 public:
  // `b_port`: node B on 127.0.0.1. Node A is the first source that is not B.
  explicit on_path_relay(std::uint16_t b_port) : b_port_(b_port) {
    fd_ = open_loopback_udp(port_);
    int buf = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    thread_ = std::thread([this] { run(); });
  }
  ~on_path_relay() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  on_path_relay(const on_path_relay&) = delete;
  on_path_relay& operator=(const on_path_relay&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t a_port() const { return a_port_; }  // 0 until A has sent something

  // -- what was seen --

  std::vector<recorded> records() const {
    std::lock_guard g{mx_};
    return log_;
  }
  std::vector<recorded> records(const datagram_pred& p) const {
    std::lock_guard g{mx_};
    std::vector<recorded> out;
    for (auto& r : log_)
      if (p(r))
        out.push_back(r);
    return out;
  }
  std::size_t count(const datagram_pred& p) const { return records(p).size(); }
  // True if any recorded datagram (either direction) contains `needle`.
  bool saw(std::string_view needle) const {
    std::lock_guard g{mx_};
    return std::any_of(log_.begin(), log_.end(),
                       [&](const recorded& r) { return r.bytes.find(needle) != std::string::npos; });
  }
  // Waits for the first datagram (already recorded or yet to come) that satisfies `p`.
  std::optional<recorded> wait_for(const datagram_pred& p, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock g{mx_};
    std::optional<recorded> found;
    cv_.wait_for(g, timeout, [&] {
      for (auto& r : log_)
        if (p(r)) {
          found = r;
          return true;
        }
      return false;
    });
    return found;
  }
  // Waits for a datagram that arrives after this call and satisfies `p`.
  std::optional<recorded> wait_next(const datagram_pred& p, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::uint64_t from;
    {
      std::lock_guard g{mx_};
      from = log_.size();
    }
    return wait_for([&](const recorded& r) { return r.index >= from && p(r); }, timeout);
  }

  // -- active attacks (each sends from the relay's socket, i.e. from the address the target believes is its peer) --

  void inject_to_a(std::string_view bytes) { send_raw(a_port_.load(), bytes); }
  void inject_to_b(std::string_view bytes) { send_raw(b_port_, bytes); }

  // Sends the n-th recorded datagram again toward its original destination. False if there is no such record.
  bool replay(std::uint64_t index) {
    auto r = record(index);
    if (!r)
      return false;
    send_raw(r->dir == direction::a_to_b ? b_port_ : a_port_.load(), r->bytes);
    return true;
  }
  // Replays every recorded datagram matching `p`, in order; returns how many.
  std::size_t replay_if(const datagram_pred& p) {
    std::size_t n = 0;
    for (auto& r : records(p))
      n += replay(r.index) ? 1 : 0;
    return n;
  }
  // Sends the n-th recorded datagram back to the node that sent it (from its peer's address, as it sees it).
  bool reflect(std::uint64_t index) {
    auto r = record(index);
    if (!r)
      return false;
    send_raw(r->dir == direction::a_to_b ? a_port_.load() : b_port_, r->bytes);
    return true;
  }

  // Datagrams matching the predicate are recorded but not forwarded (an empty function forwards everything).
  void set_drop(datagram_pred p) {
    std::lock_guard g{mx_};
    drop_ = std::move(p);
  }
  // Datagrams matching the predicate are recorded and held back until release_held (reordering, delay).
  void hold(datagram_pred p) {
    std::lock_guard g{mx_};
    hold_ = std::move(p);
  }
  std::size_t held() const {
    std::lock_guard g{mx_};
    return held_.size();
  }
  // Stops holding and forwards what was held, in arrival order or reversed; returns how many.
  std::size_t release_held(bool reversed = false) {
    std::vector<std::uint64_t> ids;
    {
      std::lock_guard g{mx_};
      hold_ = nullptr;
      ids.swap(held_);
    }
    if (reversed)
      std::reverse(ids.begin(), ids.end());
    for (auto id : ids) {
      replay(id);
      std::lock_guard g{mx_};
      log_[id].delivered = true;
    }
    return ids.size();
  }

 private:
  std::optional<recorded> record(std::uint64_t index) const {
    std::lock_guard g{mx_};
    if (index >= log_.size())
      return std::nullopt;
    return log_[index];
  }

  void send_raw(std::uint16_t to, std::string_view bytes) {
    if (to == 0)
      return;  // A has not shown itself yet
    auto a = loopback_address(to);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }

  void run() {
    std::vector<char> buf(70000);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5) <= 0)
        continue;
      for (int burst = 0; burst < 256; ++burst) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        auto n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0)
          break;
        auto src = ntohs(from.sin_port);
        if (src != b_port_ && a_port_ == 0)
          a_port_ = src;
        if (src != b_port_ && src != a_port_)
          continue;  // a third party: not on this path
        recorded r;
        r.dir = src == b_port_ ? direction::b_to_a : direction::a_to_b;
        r.bytes.assign(buf.data(), static_cast<std::size_t>(n));
        r.at = attack_clock::now();
        bool forward;
        {
          std::lock_guard g{mx_};
          r.index = log_.size();
          bool dropped = drop_ && drop_(r);
          bool held = !dropped && hold_ && hold_(r);
          forward = !dropped && !held;
          r.delivered = forward;
          if (held)
            held_.push_back(r.index);
          log_.push_back(r);
        }
        cv_.notify_all();
        if (forward)
          send_raw(r.dir == direction::a_to_b ? b_port_ : a_port_.load(), r.bytes);
      }
    }
  }

  std::uint16_t b_port_;
  std::atomic<std::uint16_t> a_port_{0};
  std::uint16_t port_ = 0;
  int fd_ = -1;
  mutable std::mutex mx_;
  std::condition_variable cv_;
  std::vector<recorded> log_;
  std::vector<std::uint64_t> held_;
  datagram_pred drop_, hold_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// -- forged source addresses (raw sockets, root only) -----------------------------------------------------------

struct ip_port {
  std::string ip;  // "127.0.0.1", "::1"
  std::uint16_t port = 0;
};

namespace detail {

inline std::uint32_t checksum_add(std::uint32_t sum, const void* data, std::size_t len) {
  auto p = static_cast<const std::uint8_t*>(data);
  for (std::size_t i = 0; i + 1 < len; i += 2)
    sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (len % 2 != 0)
    sum += static_cast<std::uint32_t>(p[len - 1] << 8);
  return sum;
}
inline std::uint16_t checksum_fold(std::uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xFFFF) + (sum >> 16);
  auto c = static_cast<std::uint16_t>(~sum & 0xFFFF);
  return c == 0 ? 0xFFFF : c;  // a UDP checksum of 0 means "none": send its one's-complement twin
}

// UDP header + payload with the checksum over the pseudo header (`pseudo` = addresses, as the family defines).
inline std::string udp_segment(std::uint16_t sport, std::uint16_t dport, std::string_view payload,
                               const void* src, const void* dst, std::size_t addr_len) {
  std::string seg(sizeof(udphdr) + payload.size(), '\0');
  udphdr u{};
  u.source = htons(sport);
  u.dest = htons(dport);
  u.len = htons(static_cast<std::uint16_t>(seg.size()));
  std::memcpy(seg.data(), &u, sizeof u);
  std::memcpy(seg.data() + sizeof u, payload.data(), payload.size());
  std::uint32_t sum = 0;
  sum = checksum_add(sum, src, addr_len);
  sum = checksum_add(sum, dst, addr_len);
  sum += IPPROTO_UDP;
  sum += static_cast<std::uint32_t>(seg.size());
  sum = checksum_add(sum, seg.data(), seg.size());
  u.check = htons(checksum_fold(sum));
  std::memcpy(seg.data(), &u, sizeof u);
  return seg;
}

inline bool spoof_v4(const in_addr& src, std::uint16_t sport, const in_addr& dst, std::uint16_t dport,
                     std::string_view payload, std::string& err) {
  int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) {
    err = std::string{"raw IPv4 socket: "} + std::strerror(errno);
    return false;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
  auto seg = udp_segment(sport, dport, payload, &src, &dst, 4);
  std::string pkt(sizeof(iphdr) + seg.size(), '\0');
  iphdr ip{};
  ip.version = 4;
  ip.ihl = 5;
  ip.ttl = 64;
  ip.protocol = IPPROTO_UDP;
  ip.tot_len = htons(static_cast<std::uint16_t>(pkt.size()));
  ip.saddr = src.s_addr;
  ip.daddr = dst.s_addr;  // the kernel fills id and the header checksum
  std::memcpy(pkt.data(), &ip, sizeof ip);
  std::memcpy(pkt.data() + sizeof ip, seg.data(), seg.size());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = dst;
  auto n = ::sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (n < 0)
    err = std::string{"raw IPv4 sendto: "} + std::strerror(errno);
  ::close(fd);
  return n == static_cast<ssize_t>(pkt.size());
}

inline bool spoof_v6(const in6_addr& src, std::uint16_t sport, const in6_addr& dst, std::uint16_t dport,
                     std::string_view payload, std::string& err) {
  int fd = ::socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    err = std::string{"raw IPv6 socket: "} + std::strerror(errno);
    return false;
  }
  int one = 1;
  if (::setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) != 0) {
    err = std::string{"IPV6_HDRINCL: "} + std::strerror(errno);
    ::close(fd);
    return false;
  }
  auto seg = udp_segment(sport, dport, payload, &src, &dst, 16);
  std::string pkt(sizeof(ip6_hdr) + seg.size(), '\0');
  ip6_hdr ip{};
  ip.ip6_flow = htonl(6u << 28);
  ip.ip6_plen = htons(static_cast<std::uint16_t>(seg.size()));
  ip.ip6_nxt = IPPROTO_UDP;
  ip.ip6_hlim = 64;
  ip.ip6_src = src;
  ip.ip6_dst = dst;
  std::memcpy(pkt.data(), &ip, sizeof ip);
  std::memcpy(pkt.data() + sizeof ip, seg.data(), seg.size());
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_addr = dst;  // sin6_port stays 0: with IPPROTO_RAW a port would be read as a protocol number
  auto n = ::sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (n < 0)
    err = std::string{"raw IPv6 sendto: "} + std::strerror(errno);
  ::close(fd);
  return n == static_cast<ssize_t>(pkt.size());
}

}  // namespace detail

// Sends one UDP datagram with a forged source address. Both addresses must be of the same family. Returns an
// error text, or nullopt once the datagram left.
inline std::optional<std::string> spoof_udp(const ip_port& src, const ip_port& dst, std::string_view payload) {
  std::string err;
  in_addr s4{}, d4{};
  in6_addr s6{}, d6{};
  if (::inet_pton(AF_INET, src.ip.c_str(), &s4) == 1 && ::inet_pton(AF_INET, dst.ip.c_str(), &d4) == 1)
    return detail::spoof_v4(s4, src.port, d4, dst.port, payload, err) ? std::nullopt : std::optional{err};
  if (::inet_pton(AF_INET6, src.ip.c_str(), &s6) == 1 && ::inet_pton(AF_INET6, dst.ip.c_str(), &d6) == 1)
    return detail::spoof_v6(s6, src.port, d6, dst.port, payload, err) ? std::nullopt : std::optional{err};
  return "spoof_udp: " + src.ip + " and " + dst.ip + " are not two addresses of one family";
}

// Why forging is impossible here (not root, no raw sockets), or nullopt when spoof_udp works for `family`
// (AF_INET or AF_INET6). Tests skip with this text: if (auto why = spoof_unavailable()) { MESSAGE(*why); return; }
inline std::optional<std::string> spoof_unavailable(int family = AF_INET) {
  int fd = ::socket(family, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0)
    return std::string{"forged datagrams need a raw socket (root / CAP_NET_RAW): "} + std::strerror(errno) +
           " -- skipped";
  int one = 1;
  bool ok = family == AF_INET || ::setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) == 0;
  ::close(fd);
  if (!ok)
    return std::string{"IPV6_HDRINCL is not supported by this kernel -- skipped"};
  return std::nullopt;
}

// -- wire capture -----------------------------------------------------------------------------------------------

struct captured {
  std::uint16_t src_port = 0, dst_port = 0;
  std::string payload;
};

// Records the UDP payloads that cross `lo` to or from any of `ports` (AF_PACKET, root only; IPv4 and IPv6).
// Each datagram is recorded once (the outgoing copy loopback also shows is skipped).
class wire_capture {
 public:
  explicit wire_capture(std::set<std::uint16_t> ports) : ports_(std::move(ports)) {
    fd_ = ::socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
    if (fd_ < 0) {
      error_ = std::string{"AF_PACKET socket: "} + std::strerror(errno);
      return;
    }
    int buf = 16 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_ALL);
    ll.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ll), sizeof ll) != 0) {
      error_ = std::string{"bind to lo: "} + std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      return;
    }
    thread_ = std::thread([this] { run(); });
  }
  ~wire_capture() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
    if (fd_ >= 0)
      ::close(fd_);
  }
  wire_capture(const wire_capture&) = delete;
  wire_capture& operator=(const wire_capture&) = delete;

  // Why the capture does not run (nullopt when it does).
  std::optional<std::string> unavailable() const {
    return error_.empty() ? std::nullopt : std::optional{error_ + " -- capture needs root"};
  }
  void add_port(std::uint16_t p) {
    std::lock_guard g{mx_};
    ports_.insert(p);
  }
  std::vector<captured> datagrams() const {
    std::lock_guard g{mx_};
    return seen_;
  }
  std::size_t size() const {
    std::lock_guard g{mx_};
    return seen_.size();
  }
  // True if any captured payload contains `needle`.
  bool contains(std::string_view needle) const {
    std::lock_guard g{mx_};
    return std::any_of(seen_.begin(), seen_.end(),
                       [&](const captured& c) { return c.payload.find(needle) != std::string::npos; });
  }
  // Waits until the kernel has handed over everything sent before this call (a datagram sent to a marker port
  // is seen last), so contains() covers all earlier traffic.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds{2}) {
    std::uint16_t port = 0;
    int fd = open_loopback_udp(port);
    add_port(port);
    auto a = loopback_address(port);
    static constexpr char marker[] = "mk-capture-flush";
    ::sendto(fd, marker, sizeof marker - 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(fd);
    std::unique_lock g{mx_};
    return cv_.wait_for(g, timeout, [&] {
      return std::any_of(seen_.begin(), seen_.end(), [&](const captured& c) { return c.dst_port == port; });
    });
  }

 private:
  void run() {
    std::vector<std::uint8_t> buf(70000);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5) <= 0)
        continue;
      for (;;) {
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        auto n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0)
          break;
        if (from.sll_pkttype == PACKET_OUTGOING)
          continue;
        parse(buf.data(), static_cast<std::size_t>(n), ntohs(from.sll_protocol));
      }
    }
  }

  void parse(const std::uint8_t* p, std::size_t n, std::uint16_t proto) {
    std::size_t off;
    if (proto == ETH_P_IP && n >= sizeof(iphdr)) {
      auto* ip = reinterpret_cast<const iphdr*>(p);
      if (ip->protocol != IPPROTO_UDP || (ntohs(ip->frag_off) & 0x1FFF) != 0)
        return;
      off = static_cast<std::size_t>(ip->ihl) * 4;
    } else if (proto == ETH_P_IPV6 && n >= sizeof(ip6_hdr)) {
      if (reinterpret_cast<const ip6_hdr*>(p)->ip6_nxt != IPPROTO_UDP)
        return;  // extension headers: not produced by loopback UDP
      off = sizeof(ip6_hdr);
    } else {
      return;
    }
    if (n < off + sizeof(udphdr))
      return;
    udphdr u;
    std::memcpy(&u, p + off, sizeof u);
    captured c{ntohs(u.source), ntohs(u.dest), {}};
    auto end = std::min(n, off + ntohs(u.len));
    if (end < off + sizeof u)
      return;
    c.payload.assign(reinterpret_cast<const char*>(p + off + sizeof u), end - off - sizeof u);
    {
      std::lock_guard g{mx_};
      if (ports_.count(c.src_port) == 0 && ports_.count(c.dst_port) == 0)
        return;
      seen_.push_back(std::move(c));
    }
    cv_.notify_all();
  }

  std::set<std::uint16_t> ports_;
  int fd_ = -1;
  std::string error_;
  mutable std::mutex mx_;
  std::condition_variable cv_;
  std::vector<captured> seen_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mk::test
