// Issue 13: the real binary's terminal output, its --json output and its --log file never carry a peer's raw
// escapes, OSC 52, bidi overrides or CR, whichever field the peer put them in.

#include <doctest/doctest.h>

#include "cli/json_check.hpp"
#include "cli/process.hpp"
#include "support/hostile_text.hpp"

using namespace mk::test;

namespace {

std::string bob_config() {
  return config_for("bob", "accept", "encrypt_by_default = false\nrequire_encryption = false\n[network.file]\nmax_size = 1000\n");
}

}  // namespace

TEST_CASE("cli: a hostile peer's name, MSG, file name and reason reach the terminal and the --log file sanitised") {
  temp_dir dir{"mk-peer-text"};
  auto log_file = dir.path() / "bob.log";
  node_process bob{bob_config(), {"--log", log_file.string()}};
  REQUIRE(bob->saw("Listening on UDP port"));
  hostile::say_everything(bob.port);
  REQUIRE_MESSAGE(bob->saw(hostile::reason_shown), bob->transcript());
  CHECK_MESSAGE(bob->saw(hostile::name_shown + " >> " + hostile::message_shown, 0ms), bob->transcript());
  CHECK_MESSAGE(bob->saw("Refused " + hostile::file_name_shown + " from " + hostile::name_shown, 0ms),
                bob->transcript());
  bob->write_line("exit");
  CHECK(bob->wait_exit(10s) == 0);
  for (auto& l : bob->lines())
    CHECK_MESSAGE(hostile::first_forbidden(l, hostile::forbidden_raw).empty(), l);
  auto logged = read_all(log_file);
  CHECK(logged.find(hostile::file_name_shown) != std::string::npos);
  CHECK(logged.find(hostile::message_shown) != std::string::npos);
  CHECK_MESSAGE(hostile::first_forbidden(logged, hostile::forbidden_raw).empty(), logged);
}

TEST_CASE("cli: a hostile peer's name, MSG, file name and reason reach --json output sanitised and valid") {
  node_process bob{bob_config(), {"--json"}};
  REQUIRE(bob->saw("Listening on UDP port"));
  hostile::say_everything(bob.port);
  REQUIRE_MESSAGE(bob->saw(hostile::reason_shown), bob->transcript());
  CHECK_MESSAGE(bob->saw("\"text\":\"" + hostile::message_shown + "\"", 0ms), bob->transcript());
  CHECK_MESSAGE(bob->saw("\"name\":\"" + hostile::file_name_shown + "\"", 0ms), bob->transcript());
  CHECK_MESSAGE(bob->saw("\"peer\":\"" + hostile::name_shown + "\"", 0ms), bob->transcript());
  bob->write_line("exit");
  CHECK(bob->wait_exit(10s) == 0);
  for (auto& l : bob->lines()) {
    CHECK_MESSAGE(json_check::is_object(l), l);
    CHECK_MESSAGE(hostile::first_forbidden(l, hostile::forbidden_json).empty(), l);
  }
}
