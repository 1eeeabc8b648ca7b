// Issue 16: a transfer's rate counts from the acceptance to the verified end on both sides; the time an offer waited
// for the receiver's answer is not part of it. Two real nodes; the receiver answers the question late.

#include <doctest/doctest.h>

#include <thread>

#include "cli/json_value.hpp"
#include "cli/process.hpp"

using namespace mk::test;

namespace {

// The object of --json line `i` of `p`.
json_value object_at(const child_process& p, std::size_t i) {
  auto v = json_parser::parse(p.lines().at(i));
  REQUIRE_MESSAGE(v, p.lines().at(i));
  return *v;
}

double number_at(const json_value& v, std::string_view outer, std::string_view name) {
  auto* o = outer.empty() ? &v : v.get(outer);
  REQUIRE(o != nullptr);
  auto* n = o->get(name);
  REQUIRE_MESSAGE(n != nullptr, name);
  return n->num;
}

// The end event of the transfer in `direction` ("send"/"receive").
json_value transfer_done(child_process& p, std::string_view direction) {
  std::size_t from = 0;
  for (;;) {
    auto i = p.wait_for("\"state\":\"done\"", 30s, from);
    REQUIRE_MESSAGE(i, p.transcript());
    auto v = object_at(p, *i);
    if (v.get("fields") && v.get("fields")->get("direction")->str == direction)
      return v;
    from = *i + 1;
  }
}

// The one finished transfer of a `file list` answer.
json_value listed(child_process& p) {
  auto from = p.lines().size();
  p.write_line("file list");
  auto i = p.wait_for("\"type\":\"file_list\"", 10s, from);
  REQUIRE_MESSAGE(i, p.transcript());
  auto v = object_at(p, *i);
  auto* list = v.get("transfers");
  REQUIRE(list != nullptr);
  REQUIRE(list->items.size() == 1);
  return list->items[0];
}

}  // namespace

TEST_CASE("rates: sender and receiver measure from the acceptance when the receiver answers the offer late") {
  constexpr auto answer_after = 4s;
  constexpr std::uint64_t size = 8 << 20;
  node_process alice{config_for("alice"), {"--json"}};
  node_process bob{config_for("bob", "accept", "[network.file]\ndefault_action = \"prompt\"\n"), {"--json"}};
  REQUIRE(alice->saw("\"type\":\"listening\""));
  REQUIRE(bob->saw("\"type\":\"listening\""));
  alice->write_line("connect hostname " + bob.address());
  REQUIRE_MESSAGE(alice->saw("\"type\":\"encryption\""), alice->transcript());
  REQUIRE_MESSAGE(bob->saw("\"type\":\"encryption\""), bob->transcript());

  auto file = alice.home.path() / "late.bin";
  write_all(file, std::string(size, 'r'));
  alice->write_line("file send bob " + file.string());
  REQUIRE_MESSAGE(bob->saw("\"kind\":\"file\""), bob->transcript());
  std::this_thread::sleep_for(answer_after);  // the offer waits for its answer
  bob->write_line("y");

  auto sent = transfer_done(*alice.proc, "send");
  auto received = transfer_done(*bob.proc, "receive");
  auto sent_ms = number_at(sent, "fields", "elapsed_ms");
  auto received_ms = number_at(received, "fields", "elapsed_ms");
  MESSAGE("8 MiB answered after 4 s: sender ", sent_ms, " ms at ", number_at(sent, "fields", "average_rate"),
          " B/s, receiver ", received_ms, " ms at ", number_at(received, "fields", "average_rate"), " B/s");
  // The sender's clock starts at the acceptance: it cannot include the 4 s the question waited.
  CHECK(sent_ms < 4000);
  CHECK(received_ms < 4000);  // nor the receiver's: it starts when its user says yes
  CHECK(sent_ms <= received_ms + 1500);  // both sides measure about the same span
  CHECK(number_at(sent, "fields", "average_rate") > static_cast<double>(size) / 4.0);

  // file list: a finished transfer shows its average (the same as its end event), not a last sample.
  auto a = listed(*alice.proc);
  CHECK(a.get("state")->str == "done");
  CHECK(a.get("rate_kind")->str == "average");
  CHECK(a.get("rate")->num == doctest::Approx(number_at(sent, "fields", "average_rate")).epsilon(0.01));
  auto b = listed(*bob.proc);
  CHECK(b.get("rate_kind")->str == "average");
  CHECK(b.get("rate")->num == doctest::Approx(number_at(received, "fields", "average_rate")).epsilon(0.01));
}
