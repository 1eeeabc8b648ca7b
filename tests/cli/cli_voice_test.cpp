// The voice commands of the terminal (issue "Voice calls"): rows of the command table, parsed like every command.
#include <doctest/doctest.h>

#include "cli/command_table.hpp"

using namespace mk::cli;

TEST_CASE("voice commands: start <user>, stop, devices, a wrong arity shows the voice usages") {
  auto p = parse_command("voice start bob");
  REQUIRE(p.spec != nullptr);
  CHECK(p.spec->name == "voice start");
  CHECK(p.args == std::vector<std::string>{"bob"});
  for (std::string_view name : {"voice stop", "voice devices"}) {
    auto q = parse_command(name);
    REQUIRE(q.spec != nullptr);
    CHECK(q.spec->name == name);
    CHECK(q.args.empty());
  }
  auto missing = parse_command("voice start");
  CHECK(missing.syntax_error());
  CHECK(missing.usage.size() == 3);  // the three voice commands
  CHECK(parse_command("voice stop now").syntax_error());
  CHECK(parse_command("voice call bob").syntax_error());
}
