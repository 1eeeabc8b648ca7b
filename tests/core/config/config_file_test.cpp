// PROTOCOL §3, §12: loading the config file, command-line overrides, writing the username back, default paths.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include "core/config/config.hpp"
#include "core/config/file_io.hpp"
#include "core/config/temp_dir.hpp"

using namespace mk::config;
using mk::test::read_all;
using mk::test::temp_dir;
using mk::test::write_all;

TEST_CASE("config file: a missing file gives defaults and says so") {
  temp_dir dir;
  auto r = load_config(dir / "mokaccino.cfg");
  REQUIRE(r.ok());
  CHECK(r->file_missing);
  CHECK(r->config == node_config{});
  CHECK(r->warnings.empty());
  CHECK(dir.entry_count() == 0);  // loading never creates the file
}

TEST_CASE("config file: values, warnings and errors name the file") {
  temp_dir dir;
  auto file = dir / "my.cfg";
  write_all(file, "[network]\nusername = 'bob'\nport = 23233\nfoo = 1\n");
  auto r = load_config(file);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK_FALSE(r->file_missing);
  CHECK(r->config.username == "bob");
  CHECK(r->config.port == 23233);
  REQUIRE(r->warnings.size() == 1);
  CHECK(r->warnings[0] == file.string() + ":4: network.foo: unknown key, ignored");

  write_all(file, "[network]\n\nport = 'x'\n");
  auto bad = load_config(file);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == mk::errc::config_error);
  CHECK(bad.error().message == file.string() + ":3: network.port: expected an integer in 1..65535, got a string");

  write_all(file, "[network\n");
  bad = load_config(file);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.starts_with(file.string() + ":1:"));
}

TEST_CASE("config file: a directory in place of the file is an I/O error") {
  temp_dir dir;
  std::filesystem::create_directory(dir / "mokaccino.cfg");
  auto r = load_config(dir / "mokaccino.cfg");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::io_error);
  CHECK(r.error().message.find("mokaccino.cfg") != std::string::npos);
}

TEST_CASE("config: command-line overrides win over the file (§12 FIX)") {
  auto cfg = parse_config("[network]\nusername = 'file-user'\nport = 1111\n", "c");
  REQUIRE(cfg.ok());
  node_config c = *cfg;
  apply(c, overrides{});
  CHECK(c.username == "file-user");
  CHECK(c.port == 1111);
  apply(c, overrides{std::string{"cli-user"}, std::nullopt});
  CHECK(c.username == "cli-user");
  CHECK(c.port == 1111);
  apply(c, overrides{std::nullopt, std::uint16_t{2222}});
  CHECK(c.username == "cli-user");
  CHECK(c.port == 2222);
}

TEST_CASE("store_username: creates a missing file that then loads") {
  temp_dir dir;
  auto file = dir / "sub" / "mokaccino.cfg";  // the parent is created too
  REQUIRE(store_username(file, "alice").ok());
  CHECK(read_all(file) == "[network]\nusername = \"alice\"\n");
  auto r = load_config(file);
  REQUIRE(r.ok());
  CHECK(r->config.username == "alice");
  CHECK(std::distance(std::filesystem::directory_iterator{dir / "sub"}, {}) == 1);  // no temp file left
}

TEST_CASE("store_username: replaces the value in place, keeping comments and other keys") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  const std::string before =
      "# my settings\n[network]\n# who I am\nusername = \"\"  # asked at start\nport = 4000\n\n"
      "[network.connection]\nwhitelist = ['bob'] # friends\n\n[terminal]\ntime_format = '%T'\n";
  write_all(file, before);
  REQUIRE(store_username(file, "carol").ok());
  CHECK(read_all(file) ==
        "# my settings\n[network]\n# who I am\nusername = \"carol\"\nport = 4000\n\n"
        "[network.connection]\nwhitelist = ['bob'] # friends\n\n[terminal]\ntime_format = '%T'\n");
  auto r = load_config(file);
  REQUIRE(r.ok());
  CHECK(r->config.username == "carol");
  CHECK(r->config.port == 4000);
  CHECK(r->config.connection.whitelist == std::vector<std::string>{"bob"});
  CHECK(r->config.time_format == "%T");
  CHECK(dir.entry_count() == 1);
}

TEST_CASE("store_username: a multi-line value is replaced whole") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  write_all(file, "[network]\nusername = \"\"\"\nold\n\"\"\"\nport = 4000\n");
  REQUIRE(store_username(file, "dave").ok());
  CHECK(read_all(file) == "[network]\nusername = \"dave\"\nport = 4000\n");
}

TEST_CASE("store_username: inserts after [network] or appends the table") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  write_all(file, "[terminal]\ntime_format = '%T'\n\n[network] # main\nport = 4000\n");
  REQUIRE(store_username(file, "erin").ok());
  CHECK(read_all(file) == "[terminal]\ntime_format = '%T'\n\n[network] # main\nusername = \"erin\"\nport = 4000\n");

  write_all(file, "[terminal]\ntime_format = '%T'");  // no trailing newline
  REQUIRE(store_username(file, "frank").ok());
  CHECK(read_all(file) == "[terminal]\ntime_format = '%T'\n\n[network]\nusername = \"frank\"\n");

  // [network] defined implicitly by a sub-table header: a later [network] header is legal TOML.
  write_all(file, "[network.audio]\nthreshold = 7\n");
  REQUIRE(store_username(file, "gina").ok());
  auto r = load_config(file);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->config.username == "gina");
  CHECK(r->config.threshold == 7);
}

TEST_CASE("store_username: dotted keys and inline tables fall back to a rewrite that keeps every key") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  for (const char* text : {
           "network.username = 'old'\nnetwork.port = 4001\nterminal.time_format = 'x'\n",
           "network.port = 4001\nterminal.time_format = 'x'\n",
           "network = { username = 'old', port = 4001 }\nterminal = { time_format = 'x' }\n",
           "network = { port = 4001 }\nterminal = { time_format = 'x' }\n",
       }) {
    CAPTURE(text);
    write_all(file, text);
    REQUIRE(store_username(file, "hal 9000 \"quoted\" \\ ü").ok());
    auto r = load_config(file);
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r->config.username == "hal 9000 \"quoted\" \\ ü");
    CHECK(r->config.port == 4001);
    CHECK(r->config.time_format == "x");
    CHECK(r->warnings.empty());
    CHECK(dir.entry_count() == 1);
  }
}

TEST_CASE("store_username: an unparsable or mis-shaped file is left untouched") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  const std::string broken = "[network\nusername = 'x'\n";
  write_all(file, broken);
  auto r = store_username(file, "ivan");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::config_error);
  CHECK(r.error().message.starts_with(file.string() + ":1:"));
  CHECK(read_all(file) == broken);

  const std::string wrong = "network = 5\n";
  write_all(file, wrong);
  r = store_username(file, "ivan");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == file.string() + ":1: network: expected a table, got an integer");
  CHECK(read_all(file) == wrong);
  CHECK(dir.entry_count() == 1);
}

TEST_CASE("store_username: refuses a name the config could not load back") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  auto r = store_username(file, std::string(mk::limits::max_username + 1, 'x'));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::config_error);
  CHECK(r.error().message.find("network.username") != std::string::npos);
  CHECK_FALSE(store_username(file, "bad\xff").ok());
  CHECK_FALSE(store_username(file, "line\nbreak").ok());
  CHECK(dir.entry_count() == 0);
}

TEST_CASE("store_username: keeps the file's mode") {
  temp_dir dir;
  auto file = dir / "mokaccino.cfg";
  write_all(file, "[network]\n");
  REQUIRE(::chmod(file.c_str(), 0640) == 0);
  REQUIRE(store_username(file, "jo").ok());
  struct stat st{};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("write_file_atomic: a failed rename leaves no temp file and changes nothing") {
  temp_dir dir;
  auto target = dir / "known_users.toml";
  std::filesystem::create_directory(target);  // rename(file, dir) fails with EISDIR, even for root
  write_all(target / "inside", "keep");
  auto r = write_file_atomic(target, "new");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::io_error);
  CHECK(r.error().message.find("known_users.toml") != std::string::npos);
  CHECK(read_all(target / "inside") == "keep");
  CHECK(dir.entry_count() == 1);

  // A parent that is a regular file cannot be created.
  write_all(dir / "plain", "x");
  r = write_file_atomic(dir / "plain" / "f", "new");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == mk::errc::io_error);
  CHECK(read_all(dir / "plain") == "x");
}

TEST_CASE("paths: the original's locations under HOME (§3)") {
  auto p = default_paths("/home/u");
  CHECK(p.root == "/home/u/.config/Mokaccino");
  CHECK(p.config == "/home/u/.config/Mokaccino/mokaccino.cfg");
  CHECK(p.private_key == "/home/u/.config/Mokaccino/private.pem");
  CHECK(p.known_users == "/home/u/.config/Mokaccino/known_users.toml");
  CHECK(p.downloads == "/home/u/Downloads");

  node_config c;
  CHECK(download_dir(c, p) == "/home/u/Downloads");
  c.download_dir = "/srv/in";
  CHECK(download_dir(c, p) == "/srv/in");
}
