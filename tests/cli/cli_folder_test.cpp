// Issue 15 through the binary, in text mode: `file send <user> <folder> <file>` makes two offers; the folder is one
// question typed "y" to, shows as one line per folder (not a line per file), and `file list` groups it.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "cli/process.hpp"

using namespace mk::test;
namespace fs = std::filesystem;

TEST_CASE("cli folders: one question for a folder, one line for it, file list groups its files") {
  temp_dir downloads{"mk-cli-folder-dl"};
  node_process alice{config_for("alice")};
  node_process bob{config_for("bob", "accept",
                              "[network.file]\ndefault_action = \"prompt\"\ndownload_dir = \"" +
                                downloads.path().string() + "\"\n")};
  REQUIRE(alice->saw("Listening on UDP port"));
  REQUIRE(bob->saw("Listening on UDP port"));
  alice->write_line("connect hostname " + bob.address());
  REQUIRE_MESSAGE(bob->saw("Connection with alice is now encrypted"), bob->transcript());
  REQUIRE_MESSAGE(alice->saw("Connection with bob is now encrypted"), alice->transcript());

  auto src = alice.home.path() / "My Album";
  fs::create_directories(src / "disc 2");
  for (int i = 0; i < 30; ++i) {
    std::string name = "track ";  // (not "track " + to_string: GCC 12 -Wrestrict false positive)
    name += std::to_string(i);
    name += ".txt";
    write_all((i % 2 ? src / "disc 2" : src) / name, std::string(1000 + i, static_cast<char>('a' + i % 26)));
  }
  auto note = alice.home.path() / "note.txt";
  write_all(note, "a note\n");
  alice->write_line("file send bob \"" + src.string() + "\"");  // quoted: a path with a blank
  REQUIRE_MESSAGE(bob->saw("offers folder \"My Album/\" (30 files"), bob->transcript());
  bob->write_line("y");
  REQUIRE_MESSAGE(alice->saw("Offering folder My Album/ (30 files"), alice->transcript());
  alice->write_line("file send bob " + note.string() + " " + note.string() + ".missing");  // several paths
  CHECK_MESSAGE(alice->saw("note.txt.missing"), alice->transcript());  // the missing one fails on its own
  REQUIRE_MESSAGE(bob->saw("Accept a file of 0 KB (\"note.txt\")"), bob->transcript());
  bob->write_line("y");
  REQUIRE_MESSAGE(bob->saw("Received folder My Album/ from alice (30 files"), bob->transcript());
  REQUIRE_MESSAGE(alice->saw("Sent folder My Album/ to bob (30 files"), alice->transcript());
  REQUIRE_MESSAGE(bob->saw("Received note.txt from alice"), bob->transcript());
  // one question for the folder, and no line per file of it
  auto count = [&](const std::string& s) {
    auto& l = bob->lines();
    return std::count_if(l.begin(), l.end(), [&](auto& line) { return line.find(s) != std::string::npos; });
  };
  CHECK(count("offers folder") == 1);
  CHECK(count("Received track") == 0);
  CHECK(read_all(downloads.path() / "My Album" / "disc 2" / "track 1.txt") == std::string(1001, 'b'));
  CHECK(read_all(downloads.path() / "My Album" / "track 0.txt") == std::string(1000, 'a'));

  auto from = bob->lines().size();
  bob->write_line("file list");
  auto row = bob->wait_for("My Album/", 10s, from);
  REQUIRE_MESSAGE(row, bob->transcript());
  CHECK_MESSAGE(bob->lines()[*row].find("done (30/30 files)") != std::string::npos, bob->lines()[*row]);
  CHECK(bob->saw("... and 30 more file(s) of that folder, done", 10s, from));
}
