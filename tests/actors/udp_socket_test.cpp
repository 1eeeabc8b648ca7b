// The UDP socket actor over real loopback sockets: batches of datagrams go out as GSO runs (equal sizes, a
// shorter one may end a run) and come back split from GRO buffers; every datagram must arrive intact, once, in
// order, whatever the mix of sizes.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/udp_socket.hpp"

using namespace mk;
using namespace std::chrono_literals;

namespace {

struct inbox {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::string> got;

  bool wait_for(std::size_t n) {
    std::unique_lock g{mx};
    return cv.wait_for(g, 10s, [&] { return got.size() >= n; });
  }
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

// Datagram i of `size` bytes whose content names it, so a split in the wrong place or a reordering shows.
std::string numbered(std::size_t i, std::size_t size) {
  std::string s = std::to_string(i) + ":";
  while (s.size() < size)
    s.push_back(static_cast<char>('a' + (i + s.size()) % 26));
  s.resize(size);
  return s;
}

struct pair_of_sockets {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<inbox> in = std::make_shared<inbox>();
  std::shared_ptr<inbound_backlog> backlog = std::make_shared<inbound_backlog>();
  udp_socket_handle rx, tx;

  pair_of_sockets() {
    auto c = sys.spawn(collector, in, backlog);
    auto r = spawn_udp_socket(sys, 0, c, backlog, false);
    REQUIRE(r.ok());
    rx = *r;
    auto t = spawn_udp_socket(sys, 0, c, std::make_shared<inbound_backlog>(), false);
    REQUIRE(t.ok());
    tx = *t;
  }
  ~pair_of_sockets() {
    caf::anon_send_exit(rx.actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(tx.actor, caf::exit_reason::user_shutdown);
  }

  std::vector<std::string> send(std::vector<std::string> all) {
    auto expect = all;
    caf::anon_send(tx.actor, send_batch_to_atom::value, endpoint::v4(0x7f000001, rx.port), std::move(all));
    REQUIRE(in->wait_for(expect.size()));
    std::this_thread::sleep_for(50ms);  // nothing more may come
    std::lock_guard g{in->mx};
    auto got = std::move(in->got);
    in->got.clear();
    return got;
  }
};

}  // namespace

TEST_CASE("udp socket: a batch of equal datagrams (more than one GSO send holds) arrives intact and in order") {
  pair_of_sockets s;
  std::vector<std::string> all;
  for (std::size_t i = 0; i < 300; ++i)  // 1450-byte FILE lines: 44 fit one GSO send, so several sends
    all.push_back(numbered(i, 1450));
  auto expect = all;
  CHECK(s.send(std::move(all)) == expect);
  // ...and went out as GSO runs (every kernel since 4.18 has UDP_SEGMENT), not one send per datagram.
  caf::scoped_actor self{s.sys};
  self->request(s.tx.actor, 5s, stats_atom::value)
    .receive([](std::uint64_t sent, std::uint64_t errors, std::uint64_t gso_sends) {
      CHECK(sent == 300);
      CHECK(errors == 0);
      CHECK(gso_sends >= 300 / 44);
    }, [](caf::error& e) { FAIL("no stats: " << caf::to_string(e)); });
}

TEST_CASE("udp socket: mixed sizes, a shorter datagram ending a run, and single datagrams all arrive") {
  pair_of_sockets s;
  std::vector<std::string> all;
  std::size_t i = 0;
  for (std::size_t k = 0; k < 10; ++k)
    all.push_back(numbered(i++, 1970));
  all.push_back(numbered(i++, 700));  // shorter: may end the run
  all.push_back(numbered(i++, 1970));  // larger than the one before: a new run
  all.push_back(numbered(i++, 2000));  // larger again
  for (std::size_t k = 0; k < 5; ++k)
    all.push_back(numbered(i++, 100 + k));  // growing: every one its own message
  all.push_back(numbered(i++, 30000));  // two of these exceed one GSO send
  all.push_back(numbered(i++, 30000));
  all.push_back(numbered(i++, 30000));
  auto expect = all;
  CHECK(s.send(std::move(all)) == expect);
}

TEST_CASE("udp socket: a lone datagram and a batch of one go out as plain sends") {
  pair_of_sockets s;
  caf::anon_send(s.tx.actor, send_to_atom::value, endpoint::v4(0x7f000001, s.rx.port), std::string{"PING 1"});
  REQUIRE(s.in->wait_for(1));
  {
    std::lock_guard g{s.in->mx};
    CHECK(s.in->got == std::vector<std::string>{"PING 1"});
    s.in->got.clear();
  }
  CHECK(s.send({numbered(7, 1450)}) == std::vector<std::string>{numbered(7, 1450)});
}

TEST_CASE("udp sender: sessions on several threads send at once, every datagram arrives intact, in order per thread") {
  pair_of_sockets s;
  const auto to = endpoint::v4(0x7f000001, s.rx.port);
  constexpr std::size_t threads = 4, per_thread = 100;
  std::vector<std::thread> senders;
  for (std::size_t t = 0; t < threads; ++t)
    senders.emplace_back([&, t] {
      for (std::size_t k = 0; k < per_thread; k += 10) {
        std::vector<std::string> batch;
        for (std::size_t i = k; i < k + 9; ++i)
          batch.push_back(std::to_string(t) + "/" + numbered(i, 900));
        s.tx.sender->send(to, batch);                                   // a GSO batch
        s.tx.sender->send(to, std::to_string(t) + "/" + numbered(k + 9, 300));  // and a single datagram
        std::this_thread::sleep_for(1ms);  // stay within the receive buffer
      }
    });
  for (auto& th : senders)
    th.join();
  REQUIRE(s.in->wait_for(threads * per_thread));
  std::lock_guard g{s.in->mx};
  CHECK(s.in->got.size() == threads * per_thread);
  std::vector<std::size_t> next(threads, 0);
  for (auto& d : s.in->got) {
    const auto t = static_cast<std::size_t>(d[0] - '0');
    REQUIRE(t < threads);
    const auto i = next[t]++;
    CHECK(d == std::to_string(t) + "/" + numbered(i, i % 10 == 9 ? 300 : 900));
  }
  auto c = s.tx.sender->stats();
  CHECK(c.sent == threads * per_thread);
  CHECK(c.send_errors == 0);
  CHECK(c.gso_sends >= 1);
}
