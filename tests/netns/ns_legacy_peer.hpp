#pragma once
// The project's emulation of an original node (PROTOCOL §5, §10, §11) on a raw UDP socket opened inside a
// network namespace: it connects to a node (CONNECT/HANDSHAKE/CONNECTED), answers PINGs, takes part in the
// CRYPT exchange with the pure state machine the node itself uses (core/session/crypt_negotiation), opens the
// node's `C` lines and seals its own lines while encrypting, and ignores the mokaccino extensions (MKCAPS).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <botan/auto_rng.h>
#include <doctest/doctest.h>

#include "core/crypto/identity.hpp"
#include "core/crypto/random.hpp"
#include "core/session/crypt_negotiation.hpp"
#include "core/wire/messages.hpp"
#include "support/netns.hpp"

namespace mk::test {

class ns_legacy_peer {
 public:
  std::uint64_t opened = 0;  // C lines opened (proves the transfer ran encrypted)

  // A socket on 0.0.0.0:any inside `ns`, talking to the node at `node_v4`:`node_port`.
  ns_legacy_peer(const std::string& ns, const std::string& node_v4, std::uint16_t node_port)
      : id_(crypto::identity::generate(rng_)) {
    fd_ = in_netns(ns, [] {
      int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("raw peer socket");
      return fd;
    });
    int buf = 4 << 20;  // the node's bursts must not overflow us: losses here would be ours, not the link's
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    timeval tv{0, 5000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    node_.sin_family = AF_INET;
    node_.sin_port = htons(node_port);
    ::inet_pton(AF_INET, node_v4.c_str(), &node_.sin_addr);
  }
  ~ns_legacy_peer() { ::close(fd_); }
  ns_legacy_peer(const ns_legacy_peer&) = delete;
  ns_legacy_peer& operator=(const ns_legacy_peer&) = delete;

  bool encrypting() const { return crypt_ && crypt_->encrypting(); }

  // §5: CONNECT as `user`; the node (default_action accept) answers HANDSHAKE; we finish with CONNECTED.
  void connect(const std::string& user) {
    wire::connect_msg c{user, crypto::make_nonce(rng_), id_.public_key().base64(), {}};
    c.signature = id_.sign(wire::signed_text(c), rng_);
    send_plain(wire::serialize(c));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = receive_line();
      if (!line)
        continue;
      auto m = wire::parse_line(*line);
      if (!m.ok())
        continue;
      if (auto* h = std::get_if<wire::handshake_msg>(&*m)) {
        auto key = crypto::public_key::from_base64(h->pubkey);
        REQUIRE(key.ok());
        crypt_.emplace(id_, *key);
        wire::connected_msg done{h->nonce, {}};
        done.signature = id_.sign(wire::signed_text(done), rng_);
        send_plain(wire::serialize(done));
        return;
      }
    }
    FAIL("no HANDSHAKE from the node");
  }

  // Sends a line as the original does: sealed in a C while encrypting.
  void send(const std::string& line) {
    if (encrypting())
      send_datagram(crypt_->seal(line, rng_));  // the whole datagram, LF included
    else
      send_plain(line);
  }

  // The next line that is not PING, CRYPT* or MKCAPS (handled here), opened if it came as a C; nullopt when
  // nothing came within `timeout`.
  std::optional<wire::message> next(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      auto line = receive_line();
      if (!line)
        continue;
      auto m = wire::parse_line(*line);
      if (!m.ok())
        continue;
      if (auto* c = std::get_if<wire::crypt_msg>(&*m)) {
        if (!crypt_)
          continue;
        std::string text;
        if (crypt_->open(*c, text).why != session::crypt_negotiation::refusal::none)
          continue;  // a forged or stale C: the original drops it too
        ++opened;
        if (!text.empty() && text.back() == '\n')
          text.pop_back();
        m = wire::parse_line(text);
        if (!m.ok())
          continue;
      }
      if (auto* p = std::get_if<wire::ping_msg>(&*m)) {
        send(wire::serialize(wire::pong_msg{p->id}));
        continue;
      }
      if (crypt_ && handle_crypt(*m, *line))
        continue;
      if (std::holds_alternative<wire::caps_msg>(*m))
        continue;  // an original does not know MKCAPS
      return std::move(*m);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
  }

 private:
  bool handle_crypt(const wire::message& m, const std::string& raw) {
    session::crypt_negotiation::output out;
    if (auto* s = std::get_if<wire::crypt_start_msg>(&m))
      out = crypt_->on_crypt_start(*s, raw, false, rng_);
    else if (auto* a = std::get_if<wire::crypt_accept_msg>(&m))
      out = crypt_->on_crypt_accept(*a, raw, false);
    else if (std::holds_alternative<wire::crypt_ack_msg>(m))
      out = crypt_->on_crypt_ack(false);
    else if (std::holds_alternative<wire::crypt_stop_msg>(m))
      out = crypt_->on_crypt_stop(false);
    else
      return false;
    for (auto& l : out.plaintext_lines)
      send_plain(l);  // §11: negotiation lines are always plaintext
    return true;
  }

  void send_plain(const std::string& line) { send_datagram(line + "\n"); }

  void send_datagram(const std::string& bytes) {
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&node_), sizeof node_);
  }

  std::optional<std::string> receive_line() {
    char buf[70000];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return std::nullopt;
    std::string line{buf, static_cast<std::size_t>(n)};
    if (!line.empty() && line.back() == '\n')
      line.pop_back();
    return line;
  }

  Botan::AutoSeeded_RNG rng_;
  crypto::identity id_;
  std::optional<session::crypt_negotiation> crypt_;
  int fd_ = -1;
  sockaddr_in node_{};
};

}  // namespace mk::test
