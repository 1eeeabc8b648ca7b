#include "cli/terminal.hpp"

#include "cli/answers.hpp"
#include "cli/completion.hpp"
#include "cli/line_editor.hpp"
#include "cli/terminal_state.hpp"

namespace mk::cli {

void terminal_state::on_line(std::string line) {
  if (stopping)
    return;
  if (!prompts.empty()) {
    // §12: the next line answers the question at the head of the FIFO: y/Y = yes, anything else = no.
    auto head = prompts.front();
    prompts.pop_front();
    auto first = line.find_first_not_of(' ');
    auto last = line.find_last_not_of(' ');
    bool yes = first != std::string::npos && first == last && (line[first] == 'y' || line[first] == 'Y');
    self->send(opts.node, answer_atom::value, head.id, yes);
    update_prompt();
    return;
  }
  queue.push_back(std::move(line));
  run_queue();
}

void terminal_state::on_event(const event& e) {
  if (e.kind == event_kind::prompt) {
    if (stopping) {
      self->send(opts.node, answer_atom::value, e.id, false);
      return;
    }
    prompts.push_back({e.id, e.text});
  } else if (e.kind == event_kind::prompt_closed) {
    // The node answered it itself (10 s timeout): it no longer waits for us.
    std::erase_if(prompts, [&](const pending_prompt& p) { return p.id == e.id; });
  } else if (e.kind == event_kind::connected) {
    opts.users->add(e.peer);
  } else if (e.kind == event_kind::disconnected) {
    opts.users->remove(e.peer);
  }
  out().print_event(e);
  if (e.kind == event_kind::prompt || e.kind == event_kind::prompt_closed)
    update_prompt();
}

void terminal_state::update_prompt() {
  if (opts.editor == nullptr)
    return;
  if (prompts.empty())
    opts.editor->set_prompt("Command: ", false);
  else
    opts.editor->set_prompt(prompts.front().question + " ", true);
}

void terminal_state::run_queue() {
  while (!busy && !stopping && !queue.empty()) {
    auto line = std::move(queue.front());
    queue.pop_front();
    execute(line);
  }
}

void terminal_state::done() {
  busy = false;
  run_queue();
}

void terminal_state::execute(const std::string& line) {
  auto cmd = parse_command(line);
  if (cmd.empty())
    return;
  if (cmd.syntax_error())
    return out().print_answer(syntax_error_answer(cmd.usage));
  run_command(*this, cmd);
}

void terminal_state::shutdown() {
  if (stopping)
    return;
  stopping = true;
  if (opts.detach_on_exit) {
    // An attached terminal leaves the node as it found it: its questions stay open for other front ends (or
    // expire), and the node keeps its peers. The node drops our subscription when it sees us go.
    prompts.clear();
    queue.clear();
    update_prompt();
    self->quit();
    return;
  }
  // §12: pending questions are answered "no"; the node then sends DISCONNECT to every peer and stops.
  for (auto& p : prompts)
    self->send(opts.node, answer_atom::value, p.id, false);
  prompts.clear();
  queue.clear();
  update_prompt();
  self->send(opts.node, shutdown_atom::value);
  self->delayed_send(self, shutdown_grace, force_quit_atom::value);
}

namespace {

caf::behavior terminal(terminal_actor* self, terminal_options opts) {
  auto& st = self->state;
  st.self = self;
  st.opts = std::move(opts);
  if (!st.opts.users)
    st.opts.users = std::make_shared<user_names>();
  self->monitor(st.opts.node);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.opts.node.address())
      return;
    if (!st.stopping) {
      st.out().print(tag::error, "The node stopped unexpectedly: " + self->system().render(dm.reason));
      *st.opts.exit_code = 1;
    }
    self->quit();
  });
  self->send(st.opts.node, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
  // The users already connected (an attached terminal joins a running node): completion knows them from the start.
  self->request(st.opts.node, command_timeout, user_list_atom::value)
    .then(
      [self](std::vector<peer_info>& peers) {
        for (auto& p : peers)
          self->state.opts.users->add(p.user);
      },
      [](caf::error&) {});
  for (auto& line : st.opts.first_lines)
    st.queue.push_back(line);
  st.opts.first_lines.clear();
  self->send(self, wake_atom::value, std::uint64_t{0});  // run the first lines once the subscription is in
  return {
    [self](line_atom, std::string& line) { self->state.on_line(std::move(line)); },
    [](eof_atom) {
      // Non-interactive: keep running until `exit` or a signal (the brief, PROTOCOL §12 scripts).
    },
    [self](interrupt_atom) { self->state.shutdown(); },
    [self](event_atom, const event& e) { self->state.on_event(e); },
    [self](wake_atom, std::uint64_t generation) {
      auto& st = self->state;
      if (generation == 0) {
        st.run_queue();
      } else if (generation == st.sleep_generation && st.busy) {
        st.done();
      }
    },
    [self](force_quit_atom) {
      self->state.out().print(tag::error, "The node did not stop in time: killed");
      self->send_exit(self->state.opts.node, caf::exit_reason::kill);
      self->quit();
    },
  };
}

}  // namespace

caf::actor spawn_terminal(caf::actor_system& sys, terminal_options opts) {
  return sys.spawn(terminal, std::move(opts));
}

void send_line(const caf::actor& terminal, std::string line) {
  caf::anon_send(terminal, line_atom::value, std::move(line));
}
void send_end_of_input(const caf::actor& terminal) { caf::anon_send(terminal, eof_atom::value); }
void send_interrupt(const caf::actor& terminal) { caf::anon_send(terminal, interrupt_atom::value); }

}  // namespace mk::cli
