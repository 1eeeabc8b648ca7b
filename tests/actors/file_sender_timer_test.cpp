// One file sender actor under CAF's deterministic test coordinator, with a recording stand-in for the session, the
// service and the node: the offer's retransmission (between mokaccino nodes) or not (toward an original), the
// retransmission timer of the data with its backoff, and the end of a lazy-hash transfer, asserted line by line.
//
// The file actors read the actor clock (self->clock()), which under the test coordinator is virtual: time passes
// only when a test advances it, so every case runs in microseconds of real time and cannot race a busy machine.
#include <doctest/doctest.h>

#include <fstream>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/file_sender.hpp"
#include "actors/hash_pool.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "core/wire/messages.hpp"
#include "support/temp_dir.hpp"

using namespace mk;
using namespace std::chrono_literals;
namespace w = mk::wire;

namespace {

struct recorded {
  std::vector<std::string> lines;  // to the session, batches flattened, in order
  std::size_t path_suspects = 0;
  std::vector<std::string> hashed;  // transfer ids reported to the service
  std::vector<transfer_info> finals;
  std::vector<event> events;
};

// Plays the session, the service and the node at once.
caf::behavior stand_in(caf::event_based_actor*, std::shared_ptr<recorded> r) {
  return {
    [r](send_line_atom, std::string& line) { r->lines.push_back(std::move(line)); },
    [r](send_lines_atom, std::vector<std::string>& lines) {
      for (auto& l : lines)
        r->lines.push_back(std::move(l));
    },
    [r](path_suspect_atom) { ++r->path_suspects; },
    [r](xfer_hashed_atom, bool ok, const std::string& id) {
      if (ok)
        r->hashed.push_back(id);
    },
    [](xfer_report_atom, const transfer_info&) {},
    [r](xfer_final_atom, const transfer_info& i) { r->finals.push_back(i); },
    [r](event_atom, const event& e) { r->events.push_back(e); },
  };
}

struct sender_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  mk::test::temp_dir dir{"mk-sender-timer"};
  std::shared_ptr<recorded> rec = std::make_shared<recorded>();
  caf::actor peer;  // session, service and node
  caf::actor sender;

  static caf::actor_system_config& testing(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }

  // `extended`: a mokaccino receiver, with lazy hash. Otherwise an original: the file is "hashed" by the test
  // (a pool without threads never answers; nothing may reach the coordinator from another thread).
  sender_fixture(bool extended, std::size_t size)
    : sys(testing(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    auto path = dir.path() / "f.bin";
    std::ofstream{path, std::ios::binary} << std::string(size, 'x');
    auto ctx = std::make_shared<node_context>(crypto::identity::generate(rng()));
    peer = sys.spawn(stand_in, rec);
    ctx->node = peer;
    file_sender_params p;
    p.ctx = ctx;
    p.service = peer;
    p.session = peer;
    p.user = "carol";
    p.mokaccino_peer = extended;
    p.lazy_hash = extended;
    p.path = path;
    p.share = std::make_shared<peer_link_share>();
    p.hashing = std::make_shared<hash_pool>(0);
    sender = spawn_file_sender(sys, std::move(p));
    caf::anon_send(sender, xfer_prepare_atom::value);
    sched.run();
    if (!extended)
      caf::anon_send(sender, xfer_hash_atom::value, true, std::string(64, 'H'));
    sched.run();
    REQUIRE(rec->hashed.size() == 1);
    caf::anon_send(sender, xfer_offer_atom::value);
    sched.run();
  }

  ~sender_fixture() {
    caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
    sched.run();
    caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
    sched.run();
  }

  static Botan::RandomNumberGenerator& rng() {
    static Botan::AutoSeeded_RNG r;
    return r;
  }

  // Lets `total` pass on the virtual clock, 100 ms at a time (each step delivers the timers due by then).
  void elapse(std::chrono::milliseconds total) {
    for (auto t = 0ms; t < total; t += 100ms) {
      sched.advance_time(100ms);
      sched.run();
    }
  }

  void from_peer(w::message m) {
    caf::anon_send(sender, peer_msg_atom::value, std::move(m));
    sched.run();
  }

  // The lines to the session with this keyword, from index `from` on.
  std::vector<std::string> lines(const std::string& keyword, std::size_t from = 0) const {
    std::vector<std::string> out;
    for (auto i = from; i < rec->lines.size(); ++i)
      if (rec->lines[i].rfind(keyword + " ", 0) == 0)
        out.push_back(rec->lines[i]);
    return out;
  }

  // The offsets of the FILE lines from index `from` on.
  std::vector<std::uint64_t> file_offsets(std::size_t from = 0) const {
    std::vector<std::uint64_t> out;
    for (auto& l : lines("FILE", from))
      out.push_back(std::get<w::file_msg>(*w::parse_line(l)).offset);
    return out;
  }
};

}  // namespace

TEST_CASE("file sender timers: FILEOFFER resent every second until accepted, then RTO retransmissions back off") {
  sender_fixture f{true, 3000};
  const auto& id = f.rec->hashed.front();
  auto offer = f.lines("FILEOFFER");
  REQUIRE(offer.size() == 1);
  CHECK(offer.front() == w::serialize(w::file_offer_msg{id, 3000, "f.bin"}));
  f.elapse(700ms);
  CHECK(f.lines("FILEOFFER").size() == 1);
  f.elapse(500ms);  // 1.2 s: resent once, the same offer
  CHECK(f.lines("FILEOFFER") == std::vector<std::string>(2, offer.front()));

  // Accepted: the three chunks go out at once, then (lazy hash) the file's SHA-384.
  auto at_accept = f.rec->lines.size();
  f.from_peer(w::file_ack_msg{id, 0});
  CHECK(f.file_offsets(at_accept) == std::vector<std::uint64_t>{0, 1024, 2048});
  REQUIRE(f.lines("FILEHASH", at_accept).size() == 1);
  auto announced = std::get<w::file_hash_msg>(*w::parse_line(f.lines("FILEHASH", at_accept).front()));
  CHECK(announced.id == id);

  // No ACK: nothing is resent before the initial RTO (1 s), then the first chunk, once, and the session is asked
  // to check its path; no more offers.
  auto sent = f.rec->lines.size();
  f.elapse(800ms);
  CHECK(f.file_offsets(sent).empty());
  CHECK(f.rec->path_suspects == 0);
  f.elapse(400ms);
  CHECK(f.file_offsets(sent) == std::vector<std::uint64_t>{0});
  CHECK(f.rec->path_suspects == 1);
  CHECK(f.lines("FILEOFFER").size() == 2);

  // Backoff: the next retransmission waits twice as long (2 s), not another 1 s.
  sent = f.rec->lines.size();
  f.elapse(1500ms);
  CHECK(f.file_offsets(sent).empty());
  f.elapse(700ms);
  CHECK(f.file_offsets(sent) == std::vector<std::uint64_t>{0});
  CHECK(f.rec->path_suspects == 2);

  // Everything acknowledged, then the receiver's SHA-384 matches: done, and reported as such.
  f.from_peer(w::file_sack_msg{id, 3000, {}});
  CHECK(f.rec->finals.empty());  // verifying: waits for the receiver's verdict
  f.from_peer(w::file_hash_msg{id, announced.sha384});
  REQUIRE(f.rec->finals.size() == 1);
  CHECK(f.rec->finals.front().state == "done");
  CHECK(f.lines("FILESTOP").empty());
}

TEST_CASE("file sender timers: toward an original the FILEINIT goes exactly once, and data is resent after the RTO") {
  sender_fixture f{false, 2048};
  const auto hash = std::string(64, 'H');
  CHECK(f.lines("FILEINIT") == std::vector<std::string>{w::serialize(w::file_init_msg{hash, 2048, "f.bin"})});
  f.elapse(2500ms);  // an original asks its user once per FILEINIT: never again
  CHECK(f.lines("FILEINIT").size() == 1);
  f.from_peer(w::file_ack_msg{hash, 0});
  auto sent = f.rec->lines.size();
  CHECK(f.file_offsets().size() == 2);
  f.from_peer(w::file_ack_msg{hash, 1024});  // the first chunk arrived; the second is lost
  f.elapse(1500ms);
  auto resent = f.file_offsets(sent);
  REQUIRE_FALSE(resent.empty());
  CHECK(std::all_of(resent.begin(), resent.end(), [](auto o) { return o == 1024 || o == 0; }));
  CHECK(std::count(resent.begin(), resent.end(), 1024u) >= 1);
  CHECK(f.rec->path_suspects == 0);  // only asked of mokaccino sessions
  f.from_peer(w::file_ack_msg{hash, 2048});
  REQUIRE(f.rec->finals.size() == 1);
  CHECK(f.rec->finals.front().state == "done");
}
