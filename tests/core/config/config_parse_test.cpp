// PROTOCOL §12: every key, every default, and the error messages (file, line, dotted key).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/config/config.hpp"
#include "core/config/policy_decision.hpp"

using namespace mk::config;

namespace {

const char* const src = "mokaccino.cfg";

std::string error_of(const std::string& text) {
  auto r = parse_config(text, src);
  REQUIRE_MESSAGE(!r.ok(), text);
  CHECK(r.error().code == mk::errc::config_error);
  return r.error().message;
}

}  // namespace

TEST_CASE("config: empty text gives the original's defaults") {
  auto r = parse_config("", src);
  REQUIRE(r.ok());
  const auto& c = *r;
  CHECK(c.username.empty());
  CHECK(c.port == 23232);
  CHECK(c.autoconnect.empty());
  CHECK(c.connection.whitelist.empty());
  CHECK(c.connection.default_action == action::prompt);
  CHECK(c.encrypt_by_default);
  CHECK(c.require_encryption);
  CHECK(c.audio.whitelist.empty());
  CHECK(c.audio.default_action == action::prompt);
  CHECK(c.threshold == 40);
  CHECK(c.complexity == 1);
  CHECK(c.audio_input.empty());
  CHECK(c.audio_output.empty());
  CHECK(c.file.whitelist.empty());
  CHECK(c.file.default_action == action::prompt);
  CHECK(c.download_dir.empty());
  CHECK(c.max_size == 4ull * 1024 * 1024 * 1024);
  CHECK(c.keep_partial_days == 7);
  CHECK(c.startup_commands.empty());
  CHECK(c.time_format == "[%H:%M:%S] ");
  CHECK(c == node_config{});
}

TEST_CASE("config: every key is read") {
  auto text = R"(# a full configuration
[network]
username = "alice"
port = 40000
autoconnect = ["bob.example:23233", "10.0.0.2"]

[network.connection]
whitelist = ["bob", "carol"]
default_action = "refuse"
encrypt_by_default = false
require_encryption = false

[network.audio]
whitelist = ["bob"]
default_action = "accept"
threshold = 0
input = "tone:440"
output = "null"

[network.file]
whitelist = ["dave"]
default_action = "refuse"
download_dir = "/srv/incoming"
max_size = 1048576
keep_partial_days = 30

[terminal]
startup_commands = ["user list", "msg bob hi"]
time_format = "%T"
)";
  std::vector<std::string> warnings;
  auto r = parse_config(text, src, warnings);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(warnings.empty());
  const auto& c = *r;
  CHECK(c.username == "alice");
  CHECK(c.port == 40000);
  CHECK(c.autoconnect == std::vector<std::string>{"bob.example:23233", "10.0.0.2"});
  CHECK(c.connection.whitelist == std::vector<std::string>{"bob", "carol"});
  CHECK(c.connection.default_action == action::refuse);
  CHECK_FALSE(c.encrypt_by_default);
  CHECK_FALSE(c.require_encryption);
  CHECK(c.audio.whitelist == std::vector<std::string>{"bob"});
  CHECK(c.audio.default_action == action::accept);
  CHECK(c.threshold == 0);
  CHECK(c.audio_input == "tone:440");
  CHECK(c.audio_output == "null");
  CHECK(c.file.whitelist == std::vector<std::string>{"dave"});
  CHECK(c.file.default_action == action::refuse);
  CHECK(c.download_dir == "/srv/incoming");
  CHECK(c.max_size == 1048576);
  CHECK(c.keep_partial_days == 30);
  CHECK(c.startup_commands == std::vector<std::string>{"user list", "msg bob hi"});
  CHECK(c.time_format == "%T");
}

TEST_CASE("config: dotted keys and inline tables are the same keys") {
  auto r = parse_config(
    "network.port = 1\nnetwork.audio = { threshold = 32767, complexity = 10 }\nterminal.time_format = ''\n", src);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->port == 1);
  CHECK(r->threshold == 32767);
  CHECK(r->complexity == 10);
  CHECK(r->time_format.empty());
}

TEST_CASE("config: the documented error messages, verbatim") {
  CHECK(error_of("[network]\n# the port\nport = \"23232\"\n") ==
        "mokaccino.cfg:3: network.port: expected an integer in 1..65535, got a string");
  CHECK(error_of("[network]\nport = 1\n\n[network.connection]\ndefault_action = \"maybe\"\n") ==
        "mokaccino.cfg:5: network.connection.default_action: unknown action \"maybe\" (accept, refuse, prompt)");
}

TEST_CASE("config: a wrong type for each key names file, line and key") {
  struct wrong {
    const char* table;  // section header, "" for the root
    const char* key;
    const char* value;
    const char* got;
  };
  const wrong cases[] = {
      {"", "network", "5", "an integer"},
      {"", "terminal", "'x'", "a string"},
      {"network", "username", "5", "an integer"},
      {"network", "port", "'23232'", "a string"},
      {"network", "port", "23232.0", "a floating-point number"},
      {"network", "autoconnect", "'host'", "a string"},
      {"network", "connection", "true", "a boolean"},
      {"network", "audio", "[]", "an array"},
      {"network", "file", "1979-05-27", "a date"},
      {"network.connection", "whitelist", "'bob'", "a string"},
      {"network.connection", "default_action", "1", "an integer"},
      {"network.connection", "encrypt_by_default", "'yes'", "a string"},
      {"network.audio", "whitelist", "{}", "a table"},
      {"network.audio", "default_action", "true", "a boolean"},
      {"network.audio", "threshold", "'40'", "a string"},
      {"network.audio", "input", "1", "an integer"},
      {"network.audio", "output", "false", "a boolean"},
      {"network.file", "whitelist", "1", "an integer"},
      {"network.file", "default_action", "[]", "an array"},
      {"network.file", "download_dir", "07:32:00", "a time"},
      {"network.file", "max_size", "4.5", "a floating-point number"},
      {"terminal", "startup_commands", "'help'", "a string"},
      {"terminal", "time_format", "1979-05-27T07:32:00Z", "a date-time"},
  };
  for (const auto& w : cases) {
    std::string dotted = *w.table ? fmt::format("{}.{}", w.table, w.key) : w.key;
    // Lines: 1 comment, 2 blank, 3 header (or blank), 4 the key.
    auto text = fmt::format("# config\n\n{}\n{} = {}\n", *w.table ? fmt::format("[{}]", w.table) : "", w.key,
                            w.value);
    auto msg = error_of(text);
    CAPTURE(text);
    CHECK(msg.starts_with(fmt::format("mokaccino.cfg:4: {}: expected ", dotted)));
    CHECK(msg.ends_with(fmt::format(", got {}", w.got)));
  }
}

TEST_CASE("config: array elements of the wrong type name their index and line") {
  auto msg = error_of("[network]\nautoconnect = [\n  'a',\n  5,\n]\n");
  CHECK(msg == "mokaccino.cfg:4: network.autoconnect[1]: expected a string, got an integer");
  msg = error_of("[terminal]\nstartup_commands = ['a', ['b']]\n");
  CHECK(msg == "mokaccino.cfg:2: terminal.startup_commands[1]: expected a string, got an array");
  msg = error_of("[network.connection]\nwhitelist = [true]\n");
  CHECK(msg == "mokaccino.cfg:2: network.connection.whitelist[0]: expected a string, got a boolean");
}

TEST_CASE("config: ranges") {
  CHECK(error_of("[network]\nport = 0\n") == "mokaccino.cfg:2: network.port: expected an integer in 1..65535, got 0");
  CHECK(error_of("[network]\nport = 65536\n") ==
        "mokaccino.cfg:2: network.port: expected an integer in 1..65535, got 65536");
  CHECK(error_of("[network]\nport = -23232\n") ==
        "mokaccino.cfg:2: network.port: expected an integer in 1..65535, got -23232");
  CHECK(parse_config("network.port = 65535", src)->port == 65535);

  CHECK(error_of("[network.audio]\nthreshold = -1\n") ==
        "mokaccino.cfg:2: network.audio.threshold: expected an integer in 0..32767, got -1");
  CHECK(error_of("\n[network.audio]\nthreshold = 32768\n") ==
        "mokaccino.cfg:3: network.audio.threshold: expected an integer in 0..32767, got 32768");
  CHECK(error_of("[network.audio]\ncomplexity = 11\n") ==
        "mokaccino.cfg:2: network.audio.complexity: expected an integer in 0..10, got 11");

  CHECK(error_of("[network.file]\nmax_size = -1\n") ==
        "mokaccino.cfg:2: network.file.max_size: expected a non-negative integer (bytes), got -1");
  auto big = parse_config("network.file.max_size = 9223372036854775807", src);
  REQUIRE(big.ok());
  CHECK(big->max_size == 9223372036854775807ull);
  CHECK(parse_config("network.file.max_size = 0", src)->max_size == 0);
  CHECK(error_of("[network.file]\nkeep_partial_days = -1\n") ==
        "mokaccino.cfg:2: network.file.keep_partial_days: expected an integer in 0..3650 (days), got -1");
  CHECK(parse_config("network.file.keep_partial_days = 0", src)->keep_partial_days == 0);
}

TEST_CASE("config: unknown actions are errors, not a silent prompt (§12 FIX)") {
  for (const char* table : {"network.connection", "network.audio", "network.file"}) {
    auto msg = error_of(fmt::format("[{}]\ndefault_action = 'Accept'\n", table));
    CHECK(msg == fmt::format("mokaccino.cfg:2: {}.default_action: unknown action \"Accept\" (accept, refuse, prompt)",
                             table));
  }
}

TEST_CASE("config: syntax errors give line and column") {
  auto msg = error_of("[network]\nport = = 5\n");
  CHECK(msg.starts_with("mokaccino.cfg:2:"));
  CHECK(msg.size() > std::string{"mokaccino.cfg:2:7: "}.size());
  // The column is the one toml++ reports: the second '=' is at column 8.
  CHECK(msg.starts_with("mokaccino.cfg:2:8: "));

  msg = error_of("[network]\nport = 1\nport = 2\n");  // duplicate key
  CHECK(msg.starts_with("mokaccino.cfg:3:"));
  msg = error_of("[network\n");
  CHECK(msg.starts_with("mokaccino.cfg:1:"));
}

TEST_CASE("config: usernames and autoconnect entries are validated") {
  CHECK(parse_config("network.username = 'ünïcode name'", src)->username == "ünïcode name");
  auto long_name = std::string(mk::limits::max_username, 'x');
  CHECK(parse_config(fmt::format("network.username = '{}'", long_name), src)->username == long_name);
  CHECK(error_of(fmt::format("network.username = '{}x'", long_name)) ==
        fmt::format("mokaccino.cfg:1: network.username: longer than {} bytes", mk::limits::max_username));
  CHECK(error_of("network.username = \"a\\u001bb\"") ==
        "mokaccino.cfg:1: network.username: contains a control character");

  auto ok = parse_config("network.autoconnect = ['a', 'b:1', 'c.d:65535', '127.0.0.1:23232']", src);
  REQUIRE(ok.ok());
  CHECK(ok->autoconnect.size() == 4);
  for (const char* bad : {"", ":23232", "host:", "host:0", "host:65536", "host:x", "host:+5", "host:5 "}) {
    CAPTURE(bad);
    auto msg = error_of(fmt::format("[network]\nautoconnect = ['ok', '{}']\n", bad));
    CHECK(msg.starts_with("mokaccino.cfg:2: network.autoconnect[1]: expected \"host[:port]\""));
  }
}

TEST_CASE("config: unknown keys are accepted and reported as warnings") {
  std::vector<std::string> warnings;
  auto r = parse_config("colour = 'red'\n[network]\nport = 5\nnickname = 'x'\n[network.audio]\ngain = 2\n"
                        "[plugins.x]\ny = 1\n[network.\"odd key\"]\n",
                        src, warnings);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->port == 5);
  REQUIRE(warnings.size() == 5);
  // Tables are walked in key order.
  CHECK(warnings[0] == "mokaccino.cfg:1: colour: unknown key, ignored");
  CHECK(warnings[1] == "mokaccino.cfg:6: network.audio.gain: unknown key, ignored");
  CHECK(warnings[2] == "mokaccino.cfg:4: network.nickname: unknown key, ignored");
  CHECK(warnings[3] == "mokaccino.cfg:9: network.\"odd key\": unknown key, ignored");
  CHECK(warnings[4].starts_with("mokaccino.cfg:7: plugins: unknown key, ignored"));
}

TEST_CASE("config: actions and policies") {
  for (auto a : {action::accept, action::refuse, action::prompt})
    CHECK(parse_action(to_string(a)) == a);
  CHECK(to_string(action::accept) == "accept");
  CHECK_FALSE(parse_action("ACCEPT").has_value());
  CHECK_FALSE(parse_action("").has_value());

  policy p;
  p.whitelist = {"bob", "carol smith"};
  CHECK(p.allows("bob"));
  CHECK(p.allows("carol smith"));
  CHECK_FALSE(p.allows("Bob"));
  CHECK_FALSE(p.allows("bo"));
  CHECK_FALSE(p.allows(""));
  // The one decision every question (connection, file, call) takes: whitelisted, else the default.
  for (auto a : {action::accept, action::refuse, action::prompt}) {
    p.default_action = a;
    CHECK(decide(p, "bob") == action::accept);
    CHECK(decide(p, "mallory") == a);
  }
}
