// Issue 16, the pure parts of the terminal: Tab completion, the live progress line, typed answers and event fields.

#include <doctest/doctest.h>

#include <map>

#include "cli/answers.hpp"
#include "cli/completion.hpp"
#include "cli/event_fields.hpp"
#include "cli/json.hpp"
#include "cli/progress_view.hpp"

using namespace mk::cli;
using mokaccino::audio_device;
using mokaccino::audio_devices;
using mokaccino::command_reply;
using mokaccino::event;
using mokaccino::event_kind;
using mokaccino::peer_info;
using mokaccino::transfer_info;

namespace {

// A fake file system: directory -> entries.
dir_lister fake_fs(std::map<std::string, std::vector<dir_entry>> dirs) {
  return [dirs = std::move(dirs)](const std::string& dir) {
    auto it = dirs.find(dir);
    return it == dirs.end() ? std::vector<dir_entry>{} : it->second;
  };
}

const std::vector<std::string> users{"bob", "bobby", "carol"};
const auto no_fs = fake_fs({});

}  // namespace

TEST_CASE("completion: command words, second words, then a space") {
  CHECK(complete("ms", users, no_fs).insert == "g ");
  CHECK(complete("conn", users, no_fs).insert == "ect ");
  CHECK(complete("connect h", users, no_fs).insert == "ostname ");
  auto both = complete("connect ", users, no_fs);
  CHECK(both.insert.empty());
  CHECK(both.candidates == std::vector<std::string>{"hostname", "name"});
  auto e = complete("e", users, no_fs);  // encrypt, exit
  CHECK(e.insert.empty());
  CHECK(e.candidates == std::vector<std::string>{"encrypt", "exit"});
  CHECK(complete("zz", users, no_fs).insert.empty());
  CHECK(complete("zz", users, no_fs).candidates.empty());
}

TEST_CASE("completion: user names where a command takes a user, never in the text of a message") {
  auto b = complete("msg b", users, no_fs);
  CHECK(b.insert == "ob");
  CHECK(b.candidates == std::vector<std::string>{"bob", "bobby"});
  CHECK(complete("msg c", users, no_fs).insert == "arol ");
  CHECK(complete("user info ca", users, no_fs).insert == "rol ");
  CHECK(complete("file send c", users, no_fs).insert == "arol ");
  CHECK(complete("disconnect bobb", users, no_fs).insert == "y ");
  CHECK(complete("msg carol b", users, no_fs).insert.empty());  // the message text is not completed
  CHECK(complete("connect hostname b", users, no_fs).insert.empty());
}

TEST_CASE("completion: file paths for file send, directories end with a slash, hidden files only when asked") {
  auto fs = fake_fs({{"", {{"docs", true}, {"data.bin", false}, {".secret", false}}},
                     {"docs/", {{"report final.pdf", false}, {"report draft.txt", false}}},
                     {"/tmp/", {{"big.bin", false}}}});
  CHECK(complete("file send bob do", users, fs).insert == "cs/");
  CHECK(complete("file send bob /tmp/b", users, fs).insert == "ig.bin");
  auto d = complete("file send bob docs/", users, fs);
  CHECK(d.insert == "report ");
  auto spaced = complete("file send bob docs/report f", users, fs);  // the path is the rest of the line
  CHECK(spaced.insert == "inal.pdf");
  auto all = complete("file send bob ", users, fs);
  CHECK(all.insert == "d");
  CHECK(all.candidates == std::vector<std::string>{"data.bin", "docs/"});
  CHECK(complete("file send bob .s", users, fs).insert == "ecret");
}

TEST_CASE("user names: follow adds and removes without duplicates") {
  user_names n;
  n.add("bob");
  n.add("bob");
  n.add("carol");
  n.remove("bob");
  CHECK(n.snapshot() == std::vector<std::string>{"carol"});
}

TEST_CASE("progress line: name, direction, peer, bar, percent, rate and ETA within the width") {
  progress_view p{"k", "big.bin", "bob", "sending", true, 45, 100, 2.5e6, 7.2};
  auto line = progress_line(p, 80);
  CHECK(line.find("big.bin -> bob") == 0);
  CHECK(line.find("[#############-----------------]") != std::string::npos);  // 45% of 30 cells
  CHECK(line.find("45%") != std::string::npos);
  CHECK(line.find("/s") != std::string::npos);
  CHECK(line.find("ETA 8 s") != std::string::npos);
  CHECK(display_width(line) <= 79);
  for (int cols : {20, 30, 40, 50, 60, 200}) {
    auto l = progress_line(p, cols);
    CHECK_MESSAGE(display_width(l) <= static_cast<std::size_t>(cols - 1), cols << ": " << l);
  }
  CHECK(progress_line(p, 40).find('[') == std::string::npos);  // too narrow for a bar: the numbers stay
  CHECK(progress_line(p, 40).find("45%") != std::string::npos);
  p.outgoing = false;
  p.name = std::string(100, 'n');
  auto narrow = progress_line(p, 50);
  CHECK(display_width(narrow) <= 49);
  CHECK(narrow.find("~ <- bob") != std::string::npos);  // a long name is shortened, the rest stays
  progress_view wait{"k", "a.bin", "bob", "pending", true, 0, 10, 0, -1};
  CHECK(progress_line(wait, 80) == "a.bin -> bob  waiting for bob to accept");
}

TEST_CASE("progress events: periodic lines, starts and ends are told apart") {
  auto ev = [](std::string state, bool with_rate) {
    event e;
    e.kind = event_kind::transfer;
    e.peer = "bob";
    e.fields = {{"hash", "h1"}, {"name", "f"}, {"direction", "send"}, {"state", state}, {"size", "10"}, {"bytes", "4"}};
    if (with_rate)
      e.fields.emplace_back("rate", "100");
    return e;
  };
  CHECK(periodic_progress(ev("sending", true)));
  CHECK_FALSE(periodic_progress(ev("receiving", false)));  // "Receiving ..." announcement
  CHECK_FALSE(periodic_progress(ev("pending", true)));
  CHECK(periodic_progress(ev("verifying", true)));  // all bytes in, the hash being checked: still a live line
  REQUIRE(progress_of(ev("verifying", true)));
  CHECK(progress_line(*progress_of(ev("verifying", true)), 80).find("40%  verifying") != std::string::npos);
  REQUIRE(progress_of(ev("sending", true)));
  CHECK(progress_of(ev("sending", true))->done == 4);
  CHECK(progress_of(ev("sending", true))->rate_bps == 100);
  CHECK_FALSE(progress_of(ev("done", true)));
  CHECK(ended_transfer(ev("done", true)) == progress_of(ev("sending", true))->key);
  CHECK_FALSE(ended_transfer(ev("sending", true)));
}

TEST_CASE("progress events: a folder's files stay quiet in the terminal unless one fails, the folder shows") {
  auto ev = [](std::string name, std::string state) {
    event e;
    e.kind = event_kind::transfer;
    e.peer = "bob";
    e.fields = {{"hash", "h1"}, {"name", name}, {"folder", "photos/"}, {"direction", "send"}, {"state", state}};
    return e;
  };
  CHECK(quiet_folder_member(ev("a.jpg", "sending")));
  CHECK(quiet_folder_member(ev("a.jpg", "done")));
  CHECK_FALSE(quiet_folder_member(ev("a.jpg", "failed")));
  CHECK_FALSE(quiet_folder_member(ev("a.jpg", "refused")));
  CHECK_FALSE(quiet_folder_member(ev("photos/", "sending")));  // the folder offer itself
  CHECK_FALSE(quiet_folder_member(ev("photos/", "done")));
  auto lone = ev("a.jpg", "sending");
  lone.fields.erase(lone.fields.begin() + 2);  // no folder: a file of its own
  CHECK_FALSE(quiet_folder_member(lone));
}

TEST_CASE("answers: file list puts a folder's files under its row, the done ones counted, not listed") {
  transfer_info lone{"aa", "lone.bin", "bob", true, "done", 10, 10, 5, -1};
  transfer_info folder{"ff", "photos/", "bob", true, "sending", 300, 200, 50, -1};
  folder.folder = "photos/";
  folder.files = 3;
  folder.files_done = 2;
  folder.files_failed = 1;
  auto member = [](std::string name, std::string state) {
    transfer_info t{"m" + name, name, "bob", true, state, 100, 100, 5, -1};
    t.folder = "photos/";
    return t;
  };
  auto l = file_list_answer({member("a.jpg", "done"), folder, member("b.jpg", "failed"), lone, member("c.jpg", "done")});
  auto at = [&](const std::string& s) { return l.text.find(s); };
  REQUIRE(at("lone.bin") != std::string::npos);
  REQUIRE(at("photos/") != std::string::npos);
  CHECK(at("lone.bin") < at("photos/"));                      // files of their own first
  CHECK(at("sending (2/3 files, 1 failed)") != std::string::npos);
  CHECK(at("  b.jpg") > at("photos/"));                       // the failed file under its folder, indented
  CHECK(at("a.jpg") == std::string::npos);                    // done ones only counted
  CHECK(at("... and 2 more file(s) of that folder, done") > at("  b.jpg"));
  CHECK(l.fields.str().find(R"("name":"a.jpg")") != std::string::npos);  // --json lists every file
  CHECK(l.fields.str().find(R"("folder":"photos/","files":3,"files_done":2,"files_failed":1})") != std::string::npos);
}

TEST_CASE("answers: file list shows a kept (resumable) folder as one row with its number of files") {
  transfer_info kept{"", "album/", "alice", false, "resumable", 3000000, 1500000, 0, -1};
  kept.folder = "album/";
  kept.files = 49;
  auto l = file_list_answer({kept});
  CHECK(l.text.find("album/") != std::string::npos);
  CHECK(l.text.find("resumable (49 files)") != std::string::npos);
  CHECK(l.text.find("0/49") == std::string::npos);
  CHECK(l.text.find("50%") != std::string::npos);  // what it holds
}

TEST_CASE("answers: text as before, typed members for --json") {
  peer_info p{"bob", "127.0.0.1:5", true, true, true, 0.5, 1.25, 3, 4, 0, "ff00"};
  auto a = user_info_answer("bob", p);
  CHECK(a.type == "user_info");
  CHECK(a.text.find("User: bob\nEncryption: on\nAddress: 127.0.0.1:5\nPing: 0.50 ms") == 0);
  CHECK(a.fields.str() == R"({"user":"bob","connected":true,"encrypted":true,"address":"127.0.0.1:5","ping_ms":0.5,)"
                          R"("rtt_ms":1.25,"sent":3,"received":4,"dropped":0,"fingerprint":"ff00","mokaccino":true})");
  auto gone = user_info_answer("zed", peer_info{});
  CHECK(gone.t == tag::error);
  CHECK(gone.fields.str() == R"({"user":"zed","connected":false})");

  transfer_info done{"abcdef0123456789", "f.bin", "bob", true, "done", 1000, 1000, 512.5, 3};
  transfer_info running{"99", "g.bin", "bob", false, "receiving", 1000, 250, 100, 7.5};
  auto l = file_list_answer({done, running});
  CHECK(l.text.find("512 B/s avg") != std::string::npos);
  CHECK(l.fields.str().find(R"("rate":512.5,"rate_kind":"average","eta_s":-1,"resumed_from":0,"folder":"","files":0,)"
                             R"("files_done":0,"files_failed":0})") != std::string::npos);
  CHECK(l.fields.str().find(R"("percent":25,"rate":100,"rate_kind":"current","eta_s":7.5,"resumed_from":0,"folder":"",)") != std::string::npos);

  auto none = voice_devices_answer(audio_devices{"", {}, "No audio device found; use a file"});
  CHECK(none.type == "voice_devices");
  CHECK(none.text == "No audio device found; use a file");
  CHECK(none.fields.str() == R"({"api":"","devices":[],"note":"No audio device found; use a file"})");
  auto one = voice_devices_answer(audio_devices{"ALSA", {audio_device{3, "hw:0", 2, 0, true, false}}, ""});
  CHECK(one.text == "Audio devices (ALSA; pick one with network.audio.input/output = \"device:<id>\"):\n"
                    "  3: hw:0 (in 2, out 0) default-input");
  CHECK(one.fields.str() == R"({"api":"ALSA","devices":[{"id":3,"name":"hw:0","inputs":2,"outputs":0,)"
                            R"("default_input":true,"default_output":false}],"note":""})");

  auto r = reply_answer("msg", command_reply{false, ""});
  CHECK(r.t == tag::error);
  CHECK(r.fields.str() == R"({"command":"msg","ok":false,"text":"Failed"})");
  CHECK(help_answer("nosuch").type == "error");

  std::vector<mokaccino::key_entry> keys{{"bob", "not a key"}, {"mallory", ""}};
  auto shown = key_show_answer("bob", keys);
  CHECK(shown.type == "key");
  CHECK(shown.t == tag::message);
  CHECK(shown.text == "bob: not a key");  // no fingerprint line for a key that does not parse
  CHECK(shown.fields.str() ==
        R"({"user":"bob","known":true,"blacklisted":false,"key":"not a key","fingerprint":""})");
  auto banned = key_show_answer("mallory", keys);
  CHECK(banned.text == "mallory is blacklisted");
  CHECK(banned.fields.str() == R"({"user":"mallory","known":true,"blacklisted":true,"key":"","fingerprint":""})");
  auto unknown = key_show_answer("zed", keys);
  CHECK(unknown.t == tag::error);
  CHECK(unknown.text == "No key pinned for zed");
  CHECK(unknown.fields.str() == R"({"user":"zed","known":false,"blacklisted":false,"key":"","fingerprint":""})");
}

TEST_CASE("event fields: numbers as numbers, the error flag as a boolean, text as strings") {
  event e;
  e.kind = event_kind::transfer;
  e.fields = {{"name", "123"}, {"bytes", "42"}, {"eta", "-1"}, {"error", "1"}, {"rate", "not a number"}};
  CHECK(event_fields_json(e) == R"({"name":"123","bytes":42,"eta":-1,"error":true,"rate":"not a number"})");
  event c;
  c.kind = event_kind::call;
  c.fields = {{"state", "ended"}, {"jitter_ms", "0.250000"}, {"sent", "7"}};
  CHECK(event_fields_json(c) == R"({"state":"ended","jitter_ms":0.25,"sent":7})");
  event m;
  m.kind = event_kind::message;
  m.fields = {{"bytes", "42"}};  // only transfer and call fields are numbers
  CHECK(event_fields_json(m) == R"({"bytes":"42"})");
  CHECK(json_number(1.0 / 3) == "0.333");
  CHECK(json_number(-0.0001) == "0");
  CHECK(json_number(2e6) == "2000000");
}
