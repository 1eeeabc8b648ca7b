// The CLI's configuration file reaches the node through the public API: cli/startup.cpp maps it onto
// mokaccino::node_config, and the node maps that back onto its internal configuration (actors/embed_config.cpp).
// Every node setting of the file must survive both: a field added to one mapping and not the other (as
// network.audio.complexity once was) fails here.
#include <doctest/doctest.h>

#include "actors/embed_config.hpp"
#include "cli/startup.hpp"
#include "core/config/config.hpp"

using namespace mk;

TEST_CASE("config mapping: every node setting of the configuration file reaches the node unchanged") {
  config::node_config file;  // each field away from its default
  file.username = "zoë";
  file.port = 40404;
  file.connection = {{"alice", "bob"}, config::action::accept};
  file.encrypt_by_default = false;
  file.require_encryption = false;
  file.audio = {{"carol"}, config::action::refuse};
  file.threshold = 1234;
  file.complexity = 3;
  file.audio_input = "tone:440";
  file.audio_output = "null";
  file.file = {{"dave"}, config::action::accept};
  file.download_dir = "/srv/incoming";
  file.max_size = 123456789;
  file.keep_partial_days = 3;
  // CLI-only settings (the terminal's, and the autoconnect list it types as commands) and test-only knobs stay
  // in the CLI: they are not the node's.
  file.autoconnect = {"example.org"};
  file.startup_commands = {"user list"};
  file.time_format = "%H:%M ";

  config::paths paths{"/home/z/.config/Mokaccino", "/home/z/.config/Mokaccino/mokaccino.cfg",
                      "/home/z/.config/Mokaccino/private.pem", "/home/z/.config/Mokaccino/known_users.toml",
                      "/home/z/Downloads"};
  auto pub = cli::node_config_of(file, paths, true);
  CHECK(pub.private_key == paths.private_key);
  CHECK(pub.known_users == paths.known_users);
  CHECK(pub.debug);

  auto node = internal_config(pub);
  auto expected = file;
  expected.autoconnect = {};
  expected.startup_commands = {};
  expected.time_format = config::node_config{}.time_format;
  CHECK(node == expected);

  SUBCASE("no download_dir in the file: the default directory") {
    file.download_dir.clear();
    CHECK(internal_config(cli::node_config_of(file, paths, false)).download_dir == "/home/z/Downloads");
  }
}
