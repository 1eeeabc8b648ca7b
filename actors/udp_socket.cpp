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

struct gro_control {
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))];
};


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
