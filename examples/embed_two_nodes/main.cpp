// Two mokaccino nodes in one CAF actor system: alice connects to bob (bob's application accepts the prompt),
// they chat, alice sends bob a file and then a folder (one prompt for all of it), and every event is printed. Only <mokaccino/node.hpp> and CAF are used.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include <unistd.h>

#include <caf/all.hpp>
#include <mokaccino/node.hpp>

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// One line at a time on stdout: the event printers run on CAF's threads while main() prints too, and a line
// must never run into another (the install test reads them).
template <class... Ts>
void say(const Ts&... xs) {
  static std::mutex mx;
  std::ostringstream line;
  (line << ... << xs);
  std::lock_guard<std::mutex> g{mx};
  std::cout << line.str() << std::endl;
}

// Prints the events of one node and answers its prompts with "yes" (a real application would ask its user).
// Every event is also forwarded to `watcher`, so main() can wait for what it expects.
caf::behavior event_printer(caf::event_based_actor* self, std::string name, mokaccino::node_actor node,
                            caf::actor watcher) {
  return {
    [=](mokaccino::event_atom, const mokaccino::event& e) {
      std::string line = name + ": " + mokaccino::to_string(e.kind);
      if (!e.peer.empty())
        line += " [" + e.peer + "]";
      line += " " + e.text;
      for (auto& [k, v] : e.fields)
        line += " " + k + "=" + v;
      say(line);
      if (e.kind == mokaccino::event_kind::prompt) {
        say(name, ": answering prompt ", e.id, " with yes");
        self->send(node, mokaccino::answer_atom::value, e.id, true);
      }
      self->send(watcher, mokaccino::event_atom::value, name, e);
    },
  };
}

// Waits (at most `timeout`) for an event of node `who` that satisfies `pred`.
template <class Pred>
bool wait_for(caf::scoped_actor& self, const std::string& who, Pred pred, caf::timespan timeout = 15s) {
  bool found = false, timed_out = false;
  while (!found && !timed_out)
    self->receive(
      [&](mokaccino::event_atom, const std::string& name, const mokaccino::event& e) {
        found = name == who && pred(e);
      },
      caf::after(timeout) >> [&] { timed_out = true; });
  return found;
}

template <class... Ts>
mokaccino::command_reply command(caf::scoped_actor& self, const mokaccino::node_actor& node, Ts&&... xs) {
  mokaccino::command_reply out{false, "no answer"};
  self->request(node, 30s, std::forward<Ts>(xs)...)
    .receive([&](mokaccino::command_reply& r) { out = std::move(r); },
             [&](caf::error& e) { out.message = self->system().render(e); });
  return out;
}

int fail(const std::string& what) {
  say("FAILED: ", what);
  return 1;
}

int run(caf::actor_system& sys, const fs::path& dir) {
  mokaccino::node_config a;
  a.username = "alice";
  a.port = 0;  // any free UDP port
  a.private_key = dir / "alice.pem";  // created now, reused on the next start
  a.known_users = dir / "alice_known_users.toml";
  a.audio_input = "silence";
  a.audio_output = "null";
  mokaccino::node_config b = a;
  b.username = "bob";
  b.private_key = dir / "bob.pem";
  b.known_users = dir / "bob_known_users.toml";
  b.download_dir = dir / "bob_downloads";
  b.connection.default_action = mokaccino::policy_action::prompt;  // answered by bob's event printer
  b.file.default_action = mokaccino::policy_action::prompt;
  fs::create_directories(b.download_dir);

  auto alice = mokaccino::spawn_node(sys, a);
  if (!alice)
    return fail("alice: " + sys.render(alice.error()));
  auto bob = mokaccino::spawn_node(sys, b);
  if (!bob)
    return fail("bob: " + sys.render(bob.error()));
  say("alice listens on UDP ", alice->port, ", key ", alice->fingerprint);
  say("bob listens on UDP ", bob->port, ", key ", bob->fingerprint);

  caf::scoped_actor self{sys};
  auto watcher = caf::actor_cast<caf::actor>(self);
  auto a_printer = sys.spawn(event_printer, std::string{"alice"}, alice->handle, watcher);
  auto b_printer = sys.spawn(event_printer, std::string{"bob"}, bob->handle, watcher);
  self->send(alice->handle, mokaccino::subscribe_atom::value, a_printer);
  self->send(bob->handle, mokaccino::subscribe_atom::value, b_printer);

  auto r = command(self, alice->handle, mokaccino::connect_host_atom::value, "127.0.0.1:" + std::to_string(bob->port));
  say("connect: ", r.message);
  auto connected = [](const mokaccino::event& e) { return e.kind == mokaccino::event_kind::connected; };
  if (!r.ok || !wait_for(self, "alice", connected))
    return fail("alice did not connect to bob");

  r = command(self, alice->handle, mokaccino::msg_atom::value, std::string{"bob"}, std::string{"Hello, bob!"});
  if (!r.ok || !wait_for(self, "bob", [](auto& e) { return e.kind == mokaccino::event_kind::message; }))
    return fail("bob did not get alice's message: " + r.message);
  r = command(self, bob->handle, mokaccino::msg_atom::value, std::string{"alice"}, std::string{"Hi alice."});
  if (!r.ok || !wait_for(self, "alice", [](auto& e) { return e.kind == mokaccino::event_kind::message; }))
    return fail("alice did not get bob's message: " + r.message);

  auto file = dir / "greeting.txt";
  std::ofstream{file} << "A file from alice to bob.\n";
  r = command(self, alice->handle, mokaccino::file_send_atom::value, std::string{"bob"}, file.string());
  say("file send: ", (r.ok ? "ok" : "refused"), " ", r.message);
  if (r.ok) {
    auto finished = [](const mokaccino::event& e) {
      auto state = mokaccino::field(e, "state");
      return e.kind == mokaccino::event_kind::transfer && (state == "done" || state == "failed" || state == "cancelled");
    };
    if (!wait_for(self, "bob", finished, 60s))
      return fail("the transfer did not finish");
    std::ifstream got{b.download_dir / "greeting.txt"};
    std::string text;
    std::getline(got, text);
    say("bob's copy: ", (got ? text : std::string{"(missing)"}));
  }

  // A folder is one offer: bob's application is asked once, the tree arrives under bob's download directory.
  auto album = dir / "album";
  fs::create_directories(album / "2026");
  std::ofstream{album / "cover.txt"} << "cover\n";
  std::ofstream{album / "2026" / "track 1.txt"} << "track one\n";
  r = command(self, alice->handle, mokaccino::file_send_atom::value, std::string{"bob"}, album.string());
  say("folder send: ", (r.ok ? "ok" : "refused"), " ", r.message);
  if (r.ok) {
    auto folder_done = [](const mokaccino::event& e) {  // the folder's own event: its name is the folder's
      auto state = mokaccino::field(e, "state");
      return e.kind == mokaccino::event_kind::transfer && mokaccino::field(e, "name") == "album/" &&
             (state == "done" || state == "failed" || state == "cancelled");
    };
    if (!wait_for(self, "bob", folder_done, 60s))
      return fail("the folder did not finish");
    self->request(bob->handle, 10s, mokaccino::file_list_atom::value)
      .receive(
        [](std::vector<mokaccino::transfer_info>& list) {
          for (auto& t : list)
            if (t.files > 0)
              say("bob's folder: ", t.name, " ", t.state, ", ", t.files_done, " of ", t.files, " files");
        },
        [](caf::error&) {});
    std::ifstream track{b.download_dir / "album" / "2026" / "track 1.txt"};
    std::string text;
    std::getline(track, text);
    say("bob's album/2026/track 1.txt: ", (track ? text : std::string{"(missing)"}));
  }

  self->request(alice->handle, 10s, mokaccino::user_list_atom::value)
    .receive(
      [](std::vector<mokaccino::peer_info>& peers) {
        for (auto& p : peers)
          say("alice's peer: ", p.user, " at ", p.address, (p.encrypted ? ", encrypted" : ""));
      },
      [](caf::error&) {});

  // Shut both nodes down (each says goodbye to its peers) and wait until they are gone.
  for (auto* n : {&*alice, &*bob}) {
    self->monitor(n->handle);
    self->send(n->handle, mokaccino::shutdown_atom::value);
  }
  for (int down = 0; down < 2;)
    self->receive([&](caf::down_msg&) { ++down; }, [](mokaccino::event_atom, const std::string&, const mokaccino::event&) {},
                  caf::after(10s) >> [&] { down = 2; });
  self->send_exit(a_printer, caf::exit_reason::user_shutdown);
  self->send_exit(b_printer, caf::exit_reason::user_shutdown);
  say("example done");
  return 0;
}

}  // namespace

int main() {
  caf::actor_system_config cfg;
  mokaccino::add_message_types(cfg);
  mokaccino::configure_scheduler(cfg);  // work sharing: workers wake at once for UDP traffic
  caf::actor_system sys{cfg};

  auto dir = fs::temp_directory_path() / ("embed_two_nodes-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int rc = run(sys, dir);
  fs::remove_all(dir);
  return rc;
}
