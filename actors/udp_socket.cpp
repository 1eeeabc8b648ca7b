#include "actors/udp_socket.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>

#include <caf/all.hpp>

#include "actors/asio.hpp"
#include "actors/messages.hpp"
#include "actors/session_table.hpp"
#include "core/limits.hpp"

namespace mk {

namespace {

constexpr int batch_size = 64;                       // datagrams per recvmmsg wake-up
constexpr std::int64_t max_backlog = 1 << 16;        // datagrams queued toward the receiver before we drop
constexpr int socket_buffer = 8 * 1024 * 1024;       // bursts of a fast transfer fit in the kernel buffers
constexpr std::size_t max_iov = 512;                 // datagrams per sendmmsg call
constexpr std::size_t gso_max_segments = 64;         // UDP_MAX_SEGMENTS on every kernel with UDP GSO (4.18+)
constexpr std::size_t gso_max_bytes = 65000;         // a GSO send is one UDP datagram to the stack: < 64 KiB
constexpr std::size_t max_refused_paths = 4096;      // addresses whose MTU refused a GSO segment size

struct gro_control {
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))];
};

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

endpoint from_sockaddr(const sockaddr_storage& ss) {
  endpoint ep;
  if (ss.ss_family == AF_INET6) {
    auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ep.port = ntohs(s6->sin6_port);
    const auto* a = s6->sin6_addr.s6_addr;
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, mapped, 12) == 0) {
      std::memcpy(ep.address.data(), a + 12, 4);
    } else {
      ep.v6 = true;
      std::memcpy(ep.address.data(), a, 16);
    }
  } else {
    auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    ep.port = ntohs(s4->sin_port);
    std::memcpy(ep.address.data(), &s4->sin_addr, 4);
  }
  return ep;
}

// The Asio side: an io_context on its own thread that only waits for readability and drains the socket.
// Sends are plain sendto/sendmmsg calls on the descriptor from the actor (concurrent send and receive on one
// UDP descriptor are safe at the OS level; the Asio socket object itself is only touched by the io thread).
class udp_io : public std::enable_shared_from_this<udp_io> {
 public:
  udp_io(caf::actor receiver, std::shared_ptr<inbound_backlog> backlog, std::shared_ptr<session_table> routes)
    : receiver_(std::move(receiver)), backlog_(std::move(backlog)), routes_(std::move(routes)), socket_(ioc_),
      guard_(boost::asio::make_work_guard(ioc_)) {}

  mk::result<void> open(std::uint16_t port, bool ipv6) {
    namespace ip = boost::asio::ip;
    boost::system::error_code ec;
    if (ipv6) {
      socket_.open(ip::udp::v6(), ec);
      if (!ec)
        socket_.set_option(ip::v6_only(false), ec);
      if (!ec)
        socket_.bind(ip::udp::endpoint(ip::address_v6::any(), port), ec);
      if (!ec) {
        dual_stack_ = true;
      } else {
        boost::system::error_code ignore;
        socket_.close(ignore);
        ec.clear();
      }
    }
    if (!dual_stack_) {
      socket_.open(ip::udp::v4(), ec);
      if (!ec)
        socket_.bind(ip::udp::endpoint(ip::address_v4::any(), port), ec);
      if (ec)
        return mk::make_error(errc::io_error, "cannot bind UDP port " + std::to_string(port) + ": " + ec.message());
    }
    socket_.set_option(boost::asio::socket_base::receive_buffer_size(socket_buffer), ec);
    socket_.set_option(boost::asio::socket_base::send_buffer_size(socket_buffer), ec);
    socket_.non_blocking(true, ec);
    int on = 1;  // receive runs of a sender's datagrams glued together (split again in drain); optional
    ::setsockopt(socket_.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on);
    port_ = socket_.local_endpoint(ec).port();
    fd_ = socket_.native_handle();
    return {};
  }

  void start() {
    arm();
    thread_ = std::thread([self = shared_from_this()] {
      ::pthread_setname_np(::pthread_self(), "mk.udp");  // shows in top -H and perf
      self->ioc_.run();
    });
  }

  void stop() {
    boost::asio::post(ioc_, [self = shared_from_this()] {
      boost::system::error_code ec;
      self->socket_.close(ec);
      self->guard_.reset();
    });
    if (thread_.joinable())
      thread_.join();
  }

  std::uint16_t port() const { return port_; }
  bool dual_stack() const { return dual_stack_; }
  int fd() const { return fd_; }

 private:
  void arm() {
    socket_.async_wait(boost::asio::ip::udp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (!ec)
                           self->drain();
                       });
  }

  void drain() {
    datagram_batch batch;
    for (;;) {
      mmsghdr msgs[batch_size];
      iovec iov[batch_size];
      sockaddr_storage addrs[batch_size];
      gro_control ctl[batch_size];
      for (int i = 0; i < batch_size; ++i) {
        iov[i] = {buffers_[i].data(), buffers_[i].size()};
        std::memset(&msgs[i].msg_hdr, 0, sizeof(msghdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &addrs[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs[i].msg_hdr.msg_control = ctl[i].buf;
        msgs[i].msg_hdr.msg_controllen = sizeof ctl[i].buf;
      }
      int n = ::recvmmsg(fd_, msgs, batch_size, MSG_DONTWAIT, nullptr);
      if (n <= 0)
        break;
      for (int i = 0; i < n; ++i) {
        const auto* data = reinterpret_cast<const char*>(buffers_[i].data());
        std::size_t len = msgs[i].msg_len;
        // MSG_TRUNC means the datagram was larger than our buffer: keep the truncated size (plus one byte) so the
        // parser rejects it as oversize instead of reading a clipped line.
        bool truncated = msgs[i].msg_hdr.msg_flags & MSG_TRUNC;
        // With UDP_GRO the kernel may hand over several datagrams of one sender glued together, each `segment`
        // bytes long except a shorter last one.
        std::size_t segment = gro_segment(msgs[i].msg_hdr);
        if (segment == 0 || truncated)
          segment = len;
        auto from = from_sockaddr(addrs[i]);
        for (std::size_t at = 0; at < len || (len == 0 && at == 0); at += segment) {
          if (backlog_->queued.load(std::memory_order_relaxed) + static_cast<std::int64_t>(batch.size()) >= max_backlog) {
            backlog_->dropped.fetch_add(1, std::memory_order_relaxed);
          } else {
            batch.push_back({from, std::string(data + at, std::min(segment, len - at))});
            if (truncated)
              batch.back().bytes.append(1, '\0');
          }
          if (segment == 0)
            break;
        }
      }
      if (n < batch_size || batch.size() >= 4 * batch_size)
        break;
    }
    if (!batch.empty()) {
      backlog_->queued.fetch_add(static_cast<std::int64_t>(batch.size()), std::memory_order_relaxed);
      if (routes_) {  // a known peer's lines go straight to its session
        session_table::routed direct;
        routes_->split(batch, direct);
        for (auto& [session, lines] : direct)
          caf::anon_send(session, peer_lines_atom::value, std::move(lines));
      }
      if (!batch.empty())
        caf::anon_send(receiver_, datagram_atom::value, std::move(batch));
    }
    arm();
  }

  static std::size_t gro_segment(msghdr& h) {
    for (auto* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c))
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof size);
        return size > 0 ? static_cast<std::size_t>(size) : 0;
      }
    return 0;
  }

  caf::actor receiver_;
  std::shared_ptr<inbound_backlog> backlog_;
  std::shared_ptr<session_table> routes_;
  boost::asio::io_context ioc_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  bool dual_stack_ = false;
  int fd_ = -1;
  std::array<std::array<std::uint8_t, limits::max_datagram>, batch_size> buffers_{};
};

struct udp_state {
  std::shared_ptr<udp_io> io;
  std::shared_ptr<udp_sender> sender;
  static inline const char* name = "mk.udp_socket";

  ~udp_state() {
    if (io)
      io->stop();
  }
};

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
    mmsghdr msgs[batch_size];
    std::size_t covers[batch_size];  // datagrams in each message
    iovec iov[max_iov];
    gso_control ctl[batch_size];
    unsigned n = 0;
    std::size_t used = 0;
    const std::size_t refused = std::min(gso_refused_.load(std::memory_order_relaxed), path_gso_limit(to));
    for (std::size_t i = done; n < batch_size && i < all.size() && used < max_iov; ++n) {
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

namespace {

caf::behavior udp_socket_actor(caf::stateful_actor<udp_state>* self, std::shared_ptr<udp_io> io,
                               std::shared_ptr<udp_sender> sender) {
  self->state.io = std::move(io);
  self->state.sender = std::move(sender);
  return {
    [self](send_to_atom, const endpoint& to, const std::string& bytes) { self->state.sender->send(to, bytes); },
    [self](send_batch_to_atom, const endpoint& to, const std::vector<std::string>& all) {
      self->state.sender->send(to, all);
    },
    [self](stats_atom) {
      auto c = self->state.sender->stats();
      return std::make_tuple(c.sent, c.send_errors, c.gso_sends);
    },
  };
}

}  // namespace

mk::result<udp_socket_handle> spawn_udp_socket(caf::actor_system& sys, std::uint16_t port, caf::actor receiver,
                                               std::shared_ptr<inbound_backlog> backlog, bool ipv6,
                                               std::shared_ptr<session_table> routes) {
  auto io = std::make_shared<udp_io>(std::move(receiver), std::move(backlog), std::move(routes));
  if (auto r = io->open(port, ipv6); !r)
    return r.error();
  io->start();
  udp_socket_handle h;
  h.port = io->port();
  h.dual_stack = io->dual_stack();
  h.sender = std::make_shared<udp_sender>(io->fd(), io->dual_stack());
  h.actor = sys.spawn(udp_socket_actor, io, h.sender);
  return h;
}

std::optional<endpoint> resolve_host(const std::string& host, std::uint16_t port) {
  if (auto literal = endpoint::numeric(host, port))
    return literal;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr)
    return std::nullopt;
  std::optional<endpoint> v4, v6;
  for (auto* p = res; p != nullptr; p = p->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, p->ai_addr, p->ai_addrlen);
    auto ep = from_sockaddr(ss);
    ep.port = port;
    if (!ep.v6 && !v4)
      v4 = ep;
    else if (ep.v6 && !v6)
      v6 = ep;
  }
  ::freeaddrinfo(res);
  return v4 ? v4 : v6;  // PROTOCOL §1: the original takes the first IPv4 address
}

}  // namespace mk
