// The mokaccino binary's options, files and configuration (PROTOCOL §3, §12), driven as a real process.

#include <doctest/doctest.h>

#include "cli/process.hpp"

using namespace mk::test;

namespace {

int run_to_exit(const std::vector<std::string>& args, std::vector<std::string>& lines) {
  child_process p{args};
  p.close_stdin();
  auto code = p.wait_exit(20s);
  lines = p.lines();
  REQUIRE(code.has_value());
  return *code;
}

}  // namespace

TEST_CASE("cli: --help lists every option") {
  std::vector<std::string> lines;
  CHECK(run_to_exit({mokaccino_binary(), "--help"}, lines) == 0);
  std::string all;
  for (auto& l : lines)
    all += l + "\n";
  for (auto opt : {"-h,--help", "-p,--port", "-u,--username", "-c,--config", "-l,--log", "--debug", "--json", "--no-color",
                   "--home", "-v,--version"})
    CHECK_MESSAGE(all.find(opt) != std::string::npos, opt);
  CHECK(all.find("23232") != std::string::npos);
  CHECK(all.find("mokaccino.cfg") != std::string::npos);
}

TEST_CASE("cli: --version") {
  for (auto flag : {"-v", "--version"}) {
    std::vector<std::string> lines;
    CHECK(run_to_exit({mokaccino_binary(), flag}, lines) == 0);
    REQUIRE(lines.size() >= 4);
    CHECK(lines[0].rfind("Mokaccino ", 0) == 0);
    CHECK(lines[0].size() > std::string_view{"Mokaccino "}.size());
    CHECK(lines[1].empty());
    CHECK(lines[2] == "Copyright (c) 2022 Ettore Ricci");
    CHECK(lines[3].find("re-implementation") != std::string::npos);
  }
}

TEST_CASE("cli: a bad option or port value exits non-zero") {
  std::vector<std::string> lines;
  CHECK(run_to_exit({mokaccino_binary(), "--no-such-option"}, lines) != 0);
  CHECK(run_to_exit({mokaccino_binary(), "-p", "70000"}, lines) != 0);
}

TEST_CASE("cli: a bad config names file and line and key then exits 1") {
  temp_home home;
  home.write_config("[network]\nusername = \"alice\"\nport = \"high\"\n");
  std::vector<std::string> lines;
  CHECK(run_to_exit({mokaccino_binary(), "--home", home.path().string()}, lines) == 1);
  std::string all;
  for (auto& l : lines)
    all += l + "\n";
  CHECK_MESSAGE(all.find("mokaccino.cfg:3") != std::string::npos, all);
  CHECK_MESSAGE(all.find("network.port") != std::string::npos, all);
  CHECK(all.find("[ERROR]") != std::string::npos);
}

TEST_CASE("cli: -c names the config file and -p -u win over it") {
  temp_home home;
  auto cfg = home.path() / "other.cfg";
  std::ofstream{cfg} << "[network]\nusername = \"from_config\"\nport = " << free_udp_port() << "\n";
  auto port = free_udp_port();
  child_process p{{mokaccino_binary(), "--home", home.path().string(), "-c", cfg.string(), "-u", "from_cli", "-p",
                   std::to_string(port)}};
  auto expected = "Listening on UDP port " + std::to_string(port) + " as \"from_cli\"";
  CHECK_MESSAGE(p.saw(expected), p.transcript());
  CHECK(p.saw("Generated a new identity key"));
  CHECK(std::filesystem::exists(home.root() / "private.pem"));
  p.write_line("exit");
  CHECK(p.wait_exit(10s) == 0);
}

TEST_CASE("cli: a missing config means defaults and no username without a terminal is an error naming the key") {
  temp_home home;
  std::vector<std::string> lines;
  CHECK(run_to_exit({mokaccino_binary(), "--home", home.path().string(), "-p", std::to_string(free_udp_port())},
                    lines) == 1);
  std::string all;
  for (auto& l : lines)
    all += l + "\n";
  CHECK_MESSAGE(all.find("No configuration file") != std::string::npos, all);
  CHECK_MESSAGE(all.find("network.username") != std::string::npos, all);
  CHECK(std::filesystem::is_directory(home.root()));  // §3: root created at startup
}

TEST_CASE("cli: an unparsable known_users.toml is kept with a warning and pins stay in memory") {
  temp_home home;
  home.write_config(config_for("alice"));
  std::ofstream{home.root() / "known_users.toml"} << "[broken\nkey = \n";
  child_process p{{mokaccino_binary(), "--home", home.path().string(), "-p", std::to_string(free_udp_port())}};
  CHECK_MESSAGE(p.saw("WARNING"), p.transcript());
  CHECK(p.saw("Listening on UDP port"));
  p.write_line("key list");
  CHECK(p.saw("loopback:"));
  p.write_line("exit");
  CHECK(p.wait_exit(10s) == 0);
  std::ifstream in{home.root() / "known_users.toml"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  CHECK(text == "[broken\nkey = \n");  // never rewritten
}

TEST_CASE("cli: -l appends every output line to a log file and syntax errors show the usage") {
  temp_home home;
  home.write_config(config_for("alice"));
  auto log = home.path() / "out.log";
  child_process p{{mokaccino_binary(), "--home", home.path().string(), "-p", std::to_string(free_udp_port()), "-l",
                   log.string()}};
  p.write_line("frobnicate");
  p.write_line("msg bob");
  p.write_line("help msg");
  p.write_line("exit");
  CHECK(p.wait_exit(10s) == 0);
  auto err = p.wait_for("[ERROR] Syntax error", 0ms);
  REQUIRE_MESSAGE(err, p.transcript());
  CHECK(p.saw("Usage: connect hostname <host[:port]>", 0ms));
  auto err2 = p.wait_for("[ERROR] Syntax error", 0ms, *err + 1);
  REQUIRE(err2);
  CHECK(p.lines().at(*err2 + 1).find("Usage: msg <user> <text...>") != std::string::npos);
  CHECK(p.saw("msg <user> <text...>", 0ms, *err2 + 2));
  std::ifstream in{log};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  CHECK(text.find("[ERROR] Syntax error") != std::string::npos);
  CHECK(text.find("Listening on UDP port") != std::string::npos);
}
