// The UDP socket actor across a real veth link with a small MTU (issue 12). A GSO send whose segments exceed the
// path MTU is refused by the kernel (EMSGSIZE: it cannot fragment a GSO segment); the sender must then send
// those datagrams one per message, which cross the link as IP fragments, and keep GSO where the path allows.
// Before the fix the refused run and the rest of the batch were dropped on every (re)transmission: the stalls.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/udp_socket.hpp"
#include "support/netns.hpp"

using namespace mk;
using namespace mk::test;
using namespace std::chrono_literals;

namespace {

struct inbox {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::string> got;
};

caf::behavior collector(caf::event_based_actor*, std::shared_ptr<inbox> in, std::shared_ptr<inbound_backlog> b) {
  return {[in, b](datagram_atom, datagram_batch& batch) {
    b->queued.fetch_sub(static_cast<std::int64_t>(batch.size()));
    std::lock_guard g{in->mx};
    for (auto& d : batch)
      in->got.push_back(std::move(d.bytes));
    in->cv.notify_all();
  }};
}

std::string numbered(std::size_t i, std::size_t size) {
  std::string s = std::to_string(i) + ":";
  while (s.size() < size)
    s.push_back(static_cast<char>('a' + (i + s.size()) % 26));
  s.resize(size);
  return s;
}

// A socket actor in each namespace of a veth link: tx in a, rx in b (both dual-stack, as the node's).
struct sockets_across {
  netns_link link;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<inbox> in = std::make_shared<inbox>();
  std::shared_ptr<inbound_backlog> backlog = std::make_shared<inbound_backlog>();
  udp_socket_handle rx, tx;

  explicit sockets_across(int mtu) : link(mtu) {
    auto c = sys.spawn(collector, in, backlog);
    // spawn_udp_socket opens its socket on the calling thread: inside the namespace.
    auto r = in_netns(link.b(), [&] { return spawn_udp_socket(sys, 0, c, backlog, true); });
    REQUIRE(r.ok());
    rx = *r;
    auto t = in_netns(link.a(), [&] { return spawn_udp_socket(sys, 0, c, std::make_shared<inbound_backlog>(), true); });
    REQUIRE(t.ok());
    tx = *t;
  }
  ~sockets_across() {
    caf::anon_send_exit(rx.actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tx.actor, caf::exit_reason::user_shutdown);
  }

  endpoint to_b(bool v6) const {
    return *endpoint::parse(v6 ? std::string{"["} + netns_link::v6_b + "]:" + std::to_string(rx.port)
                               : std::string{netns_link::v4_b} + ":" + std::to_string(rx.port));
  }

  // Sends `count` datagrams of `size` bytes in batches of 50 (as a transfer's window would); returns what arrived.
  std::vector<std::string> send(bool v6, std::size_t size, std::size_t count, std::vector<std::string>& expect) {
    // First one datagram, as a node's handshake would: until the neighbour (ARP/NDP) is resolved the kernel
    // holds only ~200 KB of packets for it and drops the rest, which would be the test's loss, not the link's.
    tx.sender->send(to_b(v6), std::string{"hello"});
    {
      std::unique_lock g{in->mx};
      REQUIRE(in->cv.wait_for(g, 10s, [&] { return !in->got.empty(); }));
      in->got.clear();
    }
    auto before = tx.sender->stats().sent;
    std::vector<std::string> batch;
    for (std::size_t i = 0; i < count; ++i) {
      expect.push_back(numbered(i, size));
      batch.push_back(expect.back());
      if (batch.size() == 50 || i + 1 == count) {
        tx.sender->send(to_b(v6), batch);
        batch.clear();
      }
    }
    std::unique_lock g{in->mx};
    in->cv.wait_for(g, 10s, [&] { return in->got.size() >= count; });
    g.unlock();
    std::this_thread::sleep_for(100ms);  // nothing more may come
    g.lock();
    auto got = std::move(in->got);
    in->got.clear();
    sent = tx.sender->stats().sent - before;
    return got;
  }
  std::uint64_t sent = 0;  // datagrams of the last send() the kernel took
};

void check_crosses(int mtu, bool v6, std::size_t size, bool expect_refusal) {
  skip_unless_netns();
  sockets_across s{mtu};
  std::vector<std::string> expect;
  auto got = s.send(v6, size, 300, expect);
  std::sort(got.begin(), got.end());
  std::sort(expect.begin(), expect.end());
  CHECK_MESSAGE(got.size() == expect.size(), "arrived " << got.size() << " of " << expect.size());
  CHECK(got == expect);
  auto st = s.tx.sender->stats();
  CHECK(st.send_errors == 0);
  CHECK(s.sent == 300);
  if (expect_refusal) {
    CHECK(st.gso_path_refusals >= 1);  // the kernel refused GSO on this path once...
    CHECK(st.gso_path_refusals <= 2);  // ...and the sender remembered it for this address
  } else {
    CHECK(st.gso_path_refusals == 0);
    CHECK(st.gso_sends >= 300 / 50);  // GSO stays on where the segments fit the path
  }
}

}  // namespace

TEST_CASE("netns udp: 1900-byte datagrams (encrypted FILE lines) cross a veth at MTU 1500 over IPv4, none lost") {
  check_crosses(1500, false, 1900, true);
}

TEST_CASE("netns udp: 1900-byte datagrams cross a veth at MTU 1500 over IPv6, none lost") {
  check_crosses(1500, true, 1900, true);
}

TEST_CASE("netns udp: 1450-byte datagrams (plain FILE lines) cross a veth at MTU 1280 over IPv4 and IPv6") {
  check_crosses(1280, false, 1450, true);
  check_crosses(1280, true, 1450, true);
}

TEST_CASE("netns udp: datagrams that fit the MTU keep going out as GSO runs") {
  check_crosses(1500, false, 1450, false);
  check_crosses(1280, true, 1200, false);
}
