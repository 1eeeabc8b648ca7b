#pragma once
// Internal to the terminal actor (terminal.cpp) and its command handlers (command_exec.cpp).

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include "cli/vocabulary.hpp"
#include "cli/command_table.hpp"
#include "cli/output.hpp"
#include "cli/terminal.hpp"

namespace mk::cli {

// The node's public types and atoms and the terminal's own atoms: cli/vocabulary.hpp.

inline constexpr auto command_timeout = std::chrono::seconds{10};  // brief: node commands answer within 10 s
inline constexpr auto shutdown_grace = std::chrono::seconds{4};    // node quits within ~2 s; then we kill it

struct terminal_state;
using terminal_actor = caf::stateful_actor<terminal_state>;

struct pending_prompt {
  std::uint64_t id = 0;
  std::string question;
};

struct terminal_state {
  static inline const char* name = "mk.terminal";

  terminal_actor* self = nullptr;
  terminal_options opts;
  std::deque<pending_prompt> prompts;  // §12: FIFO; the next input line answers the head
  std::deque<std::string> queue;       // command lines not yet run
  bool busy = false;                   // a command is waiting for the node or a `sleep` timer
  bool stopping = false;
  std::uint64_t sleep_generation = 0;

  output& out() { return *opts.out; }

  void on_line(std::string line);
  void on_event(const event& e);
  void run_queue();
  void execute(const std::string& line);
  void done();  // the running command finished: run the next one
  void update_prompt();
  void shutdown();

  // Sends a command to the node; `on_reply` gets the reply (of type Reply), then the next command runs.
  template <class Reply, class F, class... Ts>
  void ask_node(F on_reply, Ts&&... xs) {
    busy = true;
    self->request(opts.node, command_timeout, std::forward<Ts>(xs)...)
      .then(
        [this, on_reply](Reply& reply) mutable {
          on_reply(reply);
          done();
        },
        [this](caf::error& e) {
          out().print(tag::error, "The node did not answer: " + self->system().render(e));
          done();
        });
  }
};

// command_exec.cpp: runs one parsed command (the handler table lives there).
void run_command(terminal_state& st, const parsed_command& cmd);

}  // namespace mk::cli
