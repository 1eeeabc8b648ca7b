// The transfer service's routing under CAF's deterministic test coordinator: FILE* traffic goes to the transfer of
// the same (peer, hash) only. Another peer naming that hash reaches nothing (it is told FILESTOP), a finished
// transfer still answers a late chunk with the final FILEACK. Two recording stand-ins play carol's and dave's
// sessions; the receiver and its file on disk are real.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <botan/auto_rng.h>
#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/transfer_service.hpp"
#include "core/crypto/file_hash.hpp"
#include "core/wire/messages.hpp"
#include "support/temp_dir.hpp"

using namespace mk;
namespace w = mk::wire;

namespace {

caf::behavior session_stand_in(caf::event_based_actor*, std::shared_ptr<std::vector<std::string>> lines) {
  return {[lines](send_line_atom, std::string& line) { lines->push_back(std::move(line)); }};
}

caf::behavior node_stand_in(caf::event_based_actor*, std::shared_ptr<std::vector<event>> events) {
  return {
    [events](event_atom, const event& e) { events->push_back(e); },
    [](prompt_atom, const std::string&, const std::string&, const std::string&) { return false; },
  };
}

struct routing_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  mk::test::temp_dir dir{"mk-routing"};
  std::shared_ptr<std::vector<std::string>> to_carol = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::vector<std::string>> to_dave = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::vector<event>> events = std::make_shared<std::vector<event>>();
  caf::actor carol, dave, node, service;

  static caf::actor_system_config& testing(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    return c;
  }

  routing_fixture() : sys(testing(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    Botan::AutoSeeded_RNG rng;
    auto ctx = std::make_shared<node_context>(crypto::identity::generate(rng));
    ctx->username = "bob";
    ctx->config.file.default_action = config::action::accept;
    ctx->download_dir = dir.path();
    carol = sys.spawn(session_stand_in, to_carol);
    dave = sys.spawn(session_stand_in, to_dave);
    node = sys.spawn(node_stand_in, events);
    ctx->node = node;
    service = spawn_transfer_service(sys, ctx);
    sched.run();
  }

  ~routing_fixture() {
    caf::anon_send_exit(service, caf::exit_reason::user_shutdown);
    sched.run();
    for (auto& a : {carol, dave, node})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // A line from an original peer's session (no MKCAPS), as the session hands it to the service.
  void from(const std::string& user, const caf::actor& session, const std::string& line) {
    caf::anon_send(service, peer_msg_atom::value, user, session, false, *w::parse_line(line));
    sched.run();
  }
};

std::string file_line(const std::string& hash, std::uint64_t offset, const std::string& data) {
  return w::serialize(w::file_msg{hash, offset, std::vector<std::uint8_t>(data.begin(), data.end())});
}

}  // namespace

TEST_CASE("transfer routing: FILE traffic reaches only the transfer of the same peer and hash") {
  routing_fixture f;
  const std::string content = std::string(1024, 'a') + std::string(976, 'b');
  crypto::sha384_stream sha;
  sha.update({reinterpret_cast<const std::uint8_t*>(content.data()), content.size()});
  const auto hash = sha.final_base64();

  f.from("carol", f.carol, w::serialize(w::file_init_msg{hash, content.size(), "a.bin"}));
  REQUIRE(f.to_carol->size() == 1);
  CHECK(f.to_carol->front() == w::serialize(w::file_ack_msg{hash, 0}));  // accepted by policy

  // dave names carol's transfer: each of his lines gets FILESTOP, and carol's transfer neither hears nor stops
  f.from("dave", f.dave, file_line(hash, 0, std::string(1024, 'X')));
  f.from("dave", f.dave, w::serialize(w::file_stop_msg{hash}));
  f.from("dave", f.dave, w::serialize(w::file_ack_msg{hash, 0}));
  CHECK(*f.to_dave == std::vector<std::string>{w::serialize(w::file_stop_msg{hash}),
                                               w::serialize(w::file_stop_msg{hash})});  // (a FILESTOP is not answered)
  CHECK(f.to_carol->size() == 1);

  // carol's chunks arrive: the file is complete, verified and acknowledged in full
  f.from("carol", f.carol, file_line(hash, 0, content.substr(0, 1024)));
  f.from("carol", f.carol, file_line(hash, 1024, content.substr(1024)));
  REQUIRE_FALSE(f.to_carol->empty());
  CHECK(f.to_carol->back() == w::serialize(w::file_ack_msg{hash, content.size()}));
  std::ifstream in{f.dir.path() / "a.bin", std::ios::binary};
  CHECK(std::string{std::istreambuf_iterator<char>{in}, {}} == content);  // dave's X's never reached it

  // after the end: carol's late chunk is answered from memory with the final ACK; dave's still with FILESTOP
  auto carol_lines = f.to_carol->size(), dave_lines = f.to_dave->size();
  f.from("carol", f.carol, file_line(hash, 1024, content.substr(1024)));
  REQUIRE(f.to_carol->size() == carol_lines + 1);
  CHECK(f.to_carol->back() == w::serialize(w::file_ack_msg{hash, content.size()}));
  f.from("dave", f.dave, file_line(hash, 1024, content.substr(1024)));
  REQUIRE(f.to_dave->size() == dave_lines + 1);
  CHECK(f.to_dave->back() == w::serialize(w::file_stop_msg{hash}));
}
