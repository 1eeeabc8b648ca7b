// Introductions (§7) through the node under the deterministic coordinator (virtual time): the node as the middle
// peer (REQUEST -> KEY and REQUESTED, signed by it; FAIL), and as the asking peer (connect name -> REQUEST, then
// KEY/REQUESTED -> a CONNECT to the introduced address; no answer -> timed out after 10 s).
#include <doctest/doctest.h>

#include "support/node_actor_fixture.hpp"

using namespace mk;
using namespace mk::test;

namespace {

caf::behavior front_end(caf::event_based_actor* self, caf::actor node, caf::message m,
                        std::shared_ptr<command_reply> out) {
  self->request(node, caf::infinite, std::move(m)).then([self, out](command_reply& r) {
    *out = std::move(r);
    self->quit();
  });
  return {[](int) {}};
}

// Sends a front-end command to the node and returns its reply (the coordinator runs everything in between).
command_reply command(node_fixture& f, caf::message msg) {
  auto out = std::make_shared<command_reply>(command_reply{false, "no reply"});
  f.sys.spawn(front_end, f.node, std::move(msg), out);
  f.sched.run();
  return *out;
}

}  // namespace

TEST_CASE("node introductions: a REQUEST is answered with KEY to the asker and REQUESTED to the target, both signed") {
  node_fixture f{config::action::accept};
  remote_peer carol{"carol", f.rng}, dave{"dave", f.rng};
  f.establish(carol);
  f.establish(dave);
  f.from(carol, "MKCAPS 1 sack,env1");  // carol is a mokaccino node: she gets the reverse REQUESTED too
  auto carol_before = carol.all().size(), dave_before = dave.all().size();

  f.from(carol, "REQUEST dave");
  std::vector<std::string> to_carol(carol.all().begin() + carol_before, carol.all().end());
  std::vector<std::string> to_dave(dave.all().begin() + dave_before, dave.all().end());
  REQUIRE(to_carol.size() == 2);
  REQUIRE(to_dave.size() == 1);
  auto key = std::get<w::key_msg>(*w::parse_line(to_carol[0].substr(0, to_carol[0].size() - 1)));
  CHECK(key.username == "dave");
  CHECK(key.pubkey == dave.id.public_key().base64());
  CHECK(f.identity.public_key().verify(w::signed_text(key), key.signature));
  auto back = std::get<w::requested_msg>(*w::parse_line(to_carol[1].substr(0, to_carol[1].size() - 1)));
  CHECK(back.username == "dave");
  CHECK(back.endpoint == dave.sock.ep().to_string());
  CHECK(f.identity.public_key().verify(w::signed_text(back), back.signature));
  auto req = std::get<w::requested_msg>(*w::parse_line(to_dave[0].substr(0, to_dave[0].size() - 1)));
  CHECK(req.username == "carol");
  CHECK(req.endpoint == carol.sock.ep().to_string());
  CHECK(req.pubkey == carol.id.public_key().base64());
  CHECK(f.identity.public_key().verify(w::signed_text(req), req.signature));
  CHECK(f.has_event(event_kind::info, "Introduced \"carol\" to \"dave\""));

  // dave is an original (no MKCAPS): no reverse REQUESTED for him, only KEY
  dave_before = dave.all().size();
  carol_before = carol.all().size();
  f.from(dave, "REQUEST carol");
  CHECK(dave.lines("KEY").size() == 1);
  CHECK(dave.lines("REQUESTED").size() == 1);  // still only the one from carol's request
  CHECK(carol.all().size() == carol_before + 1);

  // nobody by that name, or the asker itself, or us: FAIL, and nothing to anyone else
  dave_before = dave.all().size();
  f.from(carol, "REQUEST zoe");
  f.from(carol, "REQUEST carol");
  f.from(carol, "REQUEST bob");
  CHECK(carol.lines("FAIL") == std::vector<std::string>{"FAIL zoe", "FAIL carol", "FAIL bob"});
  CHECK(dave.all().size() == dave_before);
}

TEST_CASE("node introductions: connect name sends REQUEST to the middle peer, its REQUESTED makes the node connect") {
  node_fixture f{config::action::prompt};
  remote_peer carol{"carol", f.rng}, dave{"dave", f.rng, 0x7f000002};
  // carol is let in by the user
  f.from(carol, carol.connect_line(f.rng));
  REQUIRE(f.events_of(event_kind::prompt).size() == 1);
  caf::anon_send(f.node, answer_atom::value, f.events_of(event_kind::prompt).front().id, true);
  f.sched.run();
  auto h = std::get<w::handshake_msg>(*w::parse_line(carol.lines("HANDSHAKE").front()));
  w::connected_msg c{h.nonce, {}};
  c.signature = carol.id.sign(w::signed_text(c), f.rng);
  f.from(carol, w::serialize(c));
  REQUIRE(f.has_event(event_kind::connected, "Connected to \"carol\""));

  auto r = command(f, caf::make_message(connect_name_atom::value, std::string{"dave"}, std::string{"carol"}));
  CHECK_MESSAGE(r.ok, r.message);
  CHECK(carol.lines("REQUEST") == std::vector<std::string>{"REQUEST dave"});

  // carol introduces dave (signed by carol, as the middle peer signs): the node pins dave's key and, as it asked
  // for him, connects without a question.
  w::key_msg k{"dave", dave.id.public_key().base64(), {}};
  k.signature = carol.id.sign(w::signed_text(k), f.rng);
  f.from(carol, w::serialize(k));
  w::requested_msg rq{"dave", dave.sock.ep().to_string(), dave.id.public_key().base64(), {}};
  rq.signature = carol.id.sign(w::signed_text(rq), f.rng);
  f.from(carol, w::serialize(rq));
  CHECK(f.events_of(event_kind::prompt).size() == 1);  // only carol's
  auto connects = dave.lines("CONNECT");
  REQUIRE(connects.size() == 1);
  auto cm = std::get<w::connect_msg>(*w::parse_line(connects.front()));
  CHECK(cm.username == "bob");
  CHECK(f.identity.public_key().verify(w::signed_text(cm), cm.signature));

  // A second connect name nobody answers: timed out after 10 s of virtual time, not before.
  r = command(f, caf::make_message(connect_name_atom::value, std::string{"zoe"}, std::string{"carol"}));
  CHECK_MESSAGE(r.ok, r.message);
  CHECK(carol.lines("REQUEST") == std::vector<std::string>{"REQUEST dave", "REQUEST zoe"});
  f.advance(9500ms);
  CHECK_FALSE(f.has_event(event_kind::error, "User \"zoe\" timed out"));
  f.advance(1s);
  CHECK(f.has_event(event_kind::error, "User \"zoe\" timed out"));
}

TEST_CASE("node introductions: a KEY with a bad signature or an unusable key, or a REQUESTED with a bad address, is reported and not acted on") {
  node_fixture f{config::action::accept};
  remote_peer carol{"carol", f.rng}, dave{"dave", f.rng, 0x7f000002};
  f.establish(carol);
  auto r = command(f, caf::make_message(connect_name_atom::value, std::string{"dave"}, std::string{"carol"}));
  REQUIRE_MESSAGE(r.ok, r.message);

  w::key_msg forged{"dave", dave.id.public_key().base64(), {}};
  forged.signature = dave.id.sign(w::signed_text(forged), f.rng);  // not carol's signature
  f.from(carol, w::serialize(forged));
  CHECK(f.has_event(event_kind::error, "\"carol\" sent a key for \"dave\" with a bad signature: ignored"));

  w::key_msg unusable{"dave", "QUJDREVGR0g=", {}};
  unusable.signature = carol.id.sign(w::signed_text(unusable), f.rng);
  f.from(carol, w::serialize(unusable));
  CHECK(f.has_event(event_kind::error, "\"carol\" sent an unusable key for \"dave\""));

  w::requested_msg nowhere{"dave", "nowhere", dave.id.public_key().base64(), {}};
  nowhere.signature = carol.id.sign(w::signed_text(nowhere), f.rng);
  f.from(carol, w::serialize(nowhere));
  CHECK(f.has_event(event_kind::error, "\"carol\" sent an unusable introduction for \"dave\""));
  CHECK(dave.lines("CONNECT").empty());
  CHECK(f.events_of(event_kind::key_changed).empty());
}
