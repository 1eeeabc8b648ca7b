#pragma once
// The terminal actor: the front end of the node (DESIGN.md "front ends"). It subscribes to the node's events and
// prints them, keeps the prompt FIFO (PROTOCOL §12), runs command lines one at a time (a command waits for the
// node's reply, `sleep` for its timer), and shuts the node down cleanly on `exit` or an interrupt.

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "mokaccino/node.hpp"

namespace mk::cli {

class output;
class line_editor;
class user_names;

struct terminal_options {
  mokaccino::node_actor node;             // local (spawn_node) or remote (attach_node): the public interface only
  output* out = nullptr;                  // outlives the actor system
  line_editor* editor = nullptr;          // interactive mode only
  std::vector<std::string> first_lines;   // autoconnect and startup_commands, run before any input
  std::shared_ptr<int> exit_code;         // set when the terminal ends
  bool detach_on_exit = false;            // `mokaccino attach`: exit leaves the (remote) node running
  std::shared_ptr<user_names> users;      // connected users, for Tab completion (kept up to date from events)
};

caf::actor spawn_terminal(caf::actor_system& sys, terminal_options opts);

// What the input thread hands to the terminal.
void send_line(const caf::actor& terminal, std::string line);
void send_end_of_input(const caf::actor& terminal);
void send_interrupt(const caf::actor& terminal);

}  // namespace mk::cli
