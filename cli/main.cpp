// mokaccino: the terminal front end of a node (PROTOCOL §12).

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <unistd.h>

#include "actors/node.hpp"
#include "cli/input.hpp"
#include "cli/line_editor.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/startup.hpp"
#include "cli/terminal.hpp"
#include "core/wire/tokens.hpp"

namespace {

int run(const mk::cli::cli_options& o) {
  using namespace mk::cli;
  const bool interactive = isatty(STDIN_FILENO) == 1;
  output out{{o.json, interactive && !o.json && isatty(STDOUT_FILENO) == 1, "[%H:%M:%S] "}};
  if (o.log) {
    std::string err;
    if (!out.open_log(*o.log, err)) {
      out.print(tag::error, err);
      return 1;
    }
  }
  auto prep = prepare(o, interactive, out);
  if (!prep)
    return 1;

  // STACK-NOTES §2: at least two workers, and no polling spin of idle workers; never cfg.parse(argc, argv).
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::max<std::size_t>(2, std::thread::hardware_concurrency()));
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  caf::actor_system sys{cfg};

  mk::node_options nopts{prep->config, prep->identity, std::move(prep->known_users), prep->known_users_file,
                         prep->download_dir, o.debug};
  auto node = mk::spawn_node(sys, std::move(nopts));
  if (!node) {
    out.print(tag::error, "Cannot start the node: " + node.error().message);
    return 1;
  }
  out.print(tag::message, "Listening on UDP port " + std::to_string(node->port) + " as \"" + prep->config.username +
                            "\" (key " + prep->identity.public_key().fingerprint() + ")");

  terminal_options topts;
  topts.node = node->node;
  topts.out = &out;
  topts.exit_code = std::make_shared<int>(0);
  for (auto& peer : prep->config.autoconnect)  // §12: autoconnect first, then startup_commands
    topts.first_lines.push_back("connect hostname " + mk::wire::escape_token(peer));
  for (auto& line : prep->config.startup_commands)
    topts.first_lines.push_back(line);

  std::optional<line_editor> editor;
  if (interactive) {
    editor.emplace(STDIN_FILENO, STDOUT_FILENO, isatty(STDOUT_FILENO) == 1);
    topts.editor = &*editor;
  }
  auto exit_code = topts.exit_code;
  auto terminal = spawn_terminal(sys, std::move(topts));
  if (editor && editor->start())
    out.attach_editor(&*editor);

  input_reader input{editor ? &*editor : nullptr,
                     {[terminal](std::string line) { send_line(terminal, std::move(line)); },
                      [terminal, interactive] {
                        if (interactive)  // Ctrl+D on an empty line: leave like `exit`
                          send_interrupt(terminal);
                        else
                          send_end_of_input(terminal);
                      },
                      [terminal] { send_interrupt(terminal); }}};
  std::string err;
  if (!input.start(err)) {
    out.print(tag::error, err);
    send_interrupt(terminal);
  }
  sys.await_all_actors_done();
  input.stop();
  out.attach_editor(nullptr);
  if (editor)
    editor->restore();
  return *exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  mk::cli::block_termination_signals();  // before any thread: only the input thread's signalfd sees them
  auto parsed = mk::cli::parse_options(argc, argv);
  if (!parsed.options)
    return parsed.exit_code;
  return run(*parsed.options);
}
