// The udp_sender (actors/udp_socket.hpp): sends from whichever thread has datagrams, batching runs of equal-size
// datagrams with UDP GSO, and remembering the addresses whose path MTU refused a segment size. Split from the
// socket actor and its receive thread (udp_socket.cpp), which share only the descriptor.
#include "actors/udp_socket.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace mk {

namespace {

constexpr std::size_t messages_per_send = 64;        // GSO runs per sendmmsg call
constexpr std::size_t max_iov = 512;                 // datagrams per sendmmsg call
constexpr std::size_t gso_max_segments = 64;         // UDP_MAX_SEGMENTS on every kernel with UDP GSO (4.18+)
constexpr std::size_t gso_max_bytes = 65000;         // a GSO send is one UDP datagram to the stack: < 64 KiB
constexpr std::size_t max_refused_paths = 4096;      // addresses whose MTU refused a GSO segment size

struct gso_control {
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(std::uint16_t))];
};

void to_sockaddr(const endpoint& ep, bool dual_stack, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  if (dual_stack) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(ep.port);
    if (ep.v6) {
      std::memcpy(&s6->sin6_addr, ep.address.data(), 16);
    } else {  // v4-mapped ::ffff:a.b.c.d
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&s6->sin6_addr.s6_addr[12], ep.address.data(), 4);
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(ep.port);
    std::memcpy(&s4->sin_addr, ep.address.data(), 4);
    len = sizeof(sockaddr_in);
  }
}

}  // namespace

udp_sender::udp_sender(int fd, bool dual_stack) : fd_(::dup(fd)), dual_stack_(dual_stack) {}

udp_sender::~udp_sender() {
  if (fd_ >= 0)
    ::close(fd_);
}

udp_sender::counters udp_sender::stats() const noexcept {
  return {sent_.load(std::memory_order_relaxed), send_errors_.load(std::memory_order_relaxed),
          gso_sends_.load(std::memory_order_relaxed), gso_path_refusals_.load(std::memory_order_relaxed)};
}

void udp_sender::send(const endpoint& to, const std::string& bytes) noexcept {
  sockaddr_storage ss;
  socklen_t len;
  to_sockaddr(to, dual_stack_, ss, len);
  if (to.v6 && !dual_stack_) {
    send_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::shared_lock g{probe_mx_};
  auto rc = ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  // UDP is lossy anyway: the protocol's retransmission covers a full buffer
  (rc < 0 ? send_errors_ : sent_).fetch_add(1, std::memory_order_relaxed);
}

bool udp_sender::send_probe(const endpoint& to, const std::string& bytes) noexcept {
  sockaddr_storage ss;
  socklen_t len;
  to_sockaddr(to, dual_stack_, ss, len);
  if (to.v6 && !dual_stack_)
    return false;
  // IPv4 traffic (also v4-mapped on the dual-stack socket) follows IP_MTU_DISCOVER, IPv6 IPV6_MTU_DISCOVER.
  const bool v6_socket = dual_stack_;
  std::unique_lock g{probe_mx_};
  int old4 = IP_PMTUDISC_WANT, old6 = IPV6_PMTUDISC_WANT;
  socklen_t ol = sizeof old4;
  ::getsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &old4, &ol);
  int probe4 = IP_PMTUDISC_PROBE, probe6 = IPV6_PMTUDISC_PROBE;
  ::setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &probe4, sizeof probe4);
  if (v6_socket) {
    ol = sizeof old6;
    ::getsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &old6, &ol);
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe6, sizeof probe6);
  }
  auto rc = ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
  int err = rc < 0 ? errno : 0;
  ::setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &old4, sizeof old4);
  if (v6_socket)
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &old6, sizeof old6);
  (rc < 0 ? send_errors_ : sent_).fetch_add(1, std::memory_order_relaxed);
  return err != EMSGSIZE;
}

std::size_t udp_sender::path_gso_limit(const endpoint& to) const {
  if (!any_path_refused_.load(std::memory_order_acquire))
    return SIZE_MAX;
  auto key = to;
  key.port = 0;
  std::lock_guard g{paths_mx_};
  auto it = path_refused_.find(key);
  return it == path_refused_.end() ? SIZE_MAX : it->second;
}

void udp_sender::refuse_gso_on_path(const endpoint& to, std::size_t segment) {
  auto key = to;
  key.port = 0;
  std::lock_guard g{paths_mx_};
  if (path_refused_.size() >= max_refused_paths)  // bounded: forgetting only costs one more refused send
    path_refused_.clear();
  auto [it, fresh] = path_refused_.try_emplace(key, segment);
  if (!fresh)
    it->second = std::min(it->second, segment);  // another thread may have learned a lower one meanwhile
  any_path_refused_.store(true, std::memory_order_release);
}

// Runs of equal-size datagrams (a shorter one may end a run) go out as one UDP GSO send (UDP_SEGMENT): the kernel
// cuts it into the same datagrams, but the stack is walked once per run instead of once per datagram. Several runs
// share one sendmmsg call. If the kernel refuses GSO for a size (no GSO support: everywhere; a segment above the
// path MTU: toward that address), that size and larger ones go out one by one from then on. A refused send puts
// nothing on the wire, so the run is sent again at once, one datagram per message; those cross a small MTU as IP
// fragments, as the original's own datagrams do.
void udp_sender::send(const endpoint& to, const std::vector<std::string>& all) noexcept {
  sockaddr_storage ss;
  socklen_t len;
  to_sockaddr(to, dual_stack_, ss, len);
  if (to.v6 && !dual_stack_) {
    send_errors_.fetch_add(all.size(), std::memory_order_relaxed);
    return;
  }
  std::shared_lock g{probe_mx_};
  std::size_t done = 0;
  while (done < all.size()) {
    mmsghdr msgs[messages_per_send];
    std::size_t covers[messages_per_send];  // datagrams in each message
    iovec iov[max_iov];
    gso_control ctl[messages_per_send];
    unsigned n = 0;
    std::size_t used = 0;
    const std::size_t refused = std::min(gso_refused_.load(std::memory_order_relaxed), path_gso_limit(to));
    for (std::size_t i = done; n < messages_per_send && i < all.size() && used < max_iov; ++n) {
      const std::size_t seg = all[i].size();
      const bool gso = seg > 0 && seg < refused;
      std::size_t k = 0, bytes = 0;
      while (i + k < all.size() && used + k < max_iov && k < gso_max_segments) {
        const auto& d = all[i + k];
        if (k > 0 && (!gso || d.size() > seg || bytes + d.size() > gso_max_bytes))
          break;
        iov[used + k] = {const_cast<char*>(d.data()), d.size()};
        bytes += d.size();
        ++k;
        if (d.size() < seg)
          break;  // a shorter datagram may only end a run
      }
      auto& h = msgs[n].msg_hdr;
      std::memset(&h, 0, sizeof(msghdr));
      h.msg_iov = &iov[used];
      h.msg_iovlen = k;
      h.msg_name = &ss;
      h.msg_namelen = len;
      if (k > 1) {
        h.msg_control = ctl[n].buf;
        h.msg_controllen = sizeof ctl[n].buf;
        auto* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        auto size16 = static_cast<std::uint16_t>(seg);
        std::memcpy(CMSG_DATA(c), &size16, sizeof size16);
      }
      covers[n] = k;
      used += k;
      i += k;
    }
    int rc = ::sendmmsg(fd_, msgs, n, 0);
    int err = rc < 0 ? errno : 0;
    unsigned ok = rc > 0 ? static_cast<unsigned>(rc) : 0;
    std::uint64_t sent = 0, gso = 0;
    for (unsigned m = 0; m < ok; ++m) {
      sent += covers[m];
      gso += covers[m] > 1;
      done += covers[m];
    }
    sent_.fetch_add(sent, std::memory_order_relaxed);
    gso_sends_.fetch_add(gso, std::memory_order_relaxed);
    if (ok > 0)  // all sent, or a later message failed: sendmmsg reports that on the next call
      continue;
    if (covers[0] > 1 && err == EMSGSIZE) {  // segments above this path's MTU: send this run again, one by one
      gso_path_refusals_.fetch_add(1, std::memory_order_relaxed);
      refuse_gso_on_path(to, all[done].size());
      continue;
    }
    if (covers[0] > 1 && (err == EINVAL || err == EIO || err == ENOPROTOOPT || err == EOPNOTSUPP)) {
      // no GSO for this size anywhere: send this run again, one by one (keep the lowest size any thread saw)
      auto cur = gso_refused_.load(std::memory_order_relaxed);
      while (all[done].size() < cur && !gso_refused_.compare_exchange_weak(cur, all[done].size()))
        ;
      continue;
    }
    if (err == EMSGSIZE) {  // this one datagram cannot be sent at all (over 64 KiB): count it, send the rest
      send_errors_.fetch_add(covers[0], std::memory_order_relaxed);
      done += covers[0];
      continue;
    }
    send_errors_.fetch_add(all.size() - done, std::memory_order_relaxed);  // e.g. a full buffer: retransmission
    return;
  }
}

}  // namespace mk
