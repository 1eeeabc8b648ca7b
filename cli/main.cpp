// mokaccino: the terminal front end of a node (PROTOCOL §12). It starts and drives its node through the public
// embedding API (include/mokaccino/), like any other application.

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <unistd.h>

#include "mokaccino/node.hpp"
#include "cli/answers.hpp"
#include "cli/completion.hpp"
#include "cli/input.hpp"
#include "cli/line_editor.hpp"
#include "cli/options.hpp"
#include "cli/output.hpp"
#include "cli/startup.hpp"
#include "cli/terminal.hpp"
#include "core/config/config.hpp"
#include "core/wire/tokens.hpp"

namespace {

// Work sharing, at least two workers (mokaccino::configure_scheduler); never cfg.parse(argc, argv).
void configure(caf::actor_system_config& cfg, bool remote) {
  mokaccino::configure_scheduler(cfg);
  mokaccino::add_message_types(cfg);  // events and replies cross caf::io for --publish / attach
  if (remote)
    cfg.load<caf::io::middleman>();
}

// The remote-control secret: --token-file, else remote.token in the configuration directory.
std::filesystem::path token_path(const mk::cli::cli_options& o) {
  if (o.token_file)
    return *o.token_file;
  return mk::config::default_paths(mk::cli::home_directory(o)).root / "remote.token";
}

// Colours only on a terminal, and never against --no-color or NO_COLOR (https://no-color.org: any non-empty value).
bool use_colour(const mk::cli::cli_options& o, bool interactive) {
  const char* no_color = std::getenv("NO_COLOR");
  return interactive && !o.json && !o.no_color && isatty(STDOUT_FILENO) == 1 &&
         (no_color == nullptr || *no_color == '\0');
}

// The output both modes use: colours on a terminal, JSON with --json, the -l log. Null if the log cannot open.
std::unique_ptr<mk::cli::output> open_output(const mk::cli::cli_options& o, bool interactive) {
  using namespace mk::cli;
  const bool live = interactive && !o.json && isatty(STDOUT_FILENO) == 1;
  auto out = std::make_unique<output>(output::options{o.json, use_colour(o, interactive), "[%H:%M:%S] ", live});
  if (o.log) {
    std::string err;
    if (!out->open_log(*o.log, err)) {
      out->print(tag::error, err);
      return nullptr;
    }
  }
  return out;
}

// Runs the terminal actor against `topts.node` (local or remote) until it ends, with the input thread feeding it.
int run_terminal(caf::actor_system& sys, mk::cli::output& out, mk::cli::terminal_options topts, bool interactive,
                 bool colour) {
  using namespace mk::cli;
  std::optional<line_editor> editor;
  topts.users = std::make_shared<user_names>();
  // The input line needs a terminal on both ends: with the output piped (`mokaccino | tee`) the terminal echoes the
  // typed line itself and the pipe gets plain lines, never a cursor movement.
  if (interactive && isatty(STDOUT_FILENO) == 1) {
    editor.emplace(STDIN_FILENO, STDOUT_FILENO, colour);
    editor->set_completer([users = topts.users](std::string_view before_cursor) {
      return complete(before_cursor, users->snapshot(), list_directory);
    });
    topts.editor = &*editor;
  }
  topts.out = &out;
  topts.exit_code = std::make_shared<int>(0);
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

int run(const mk::cli::cli_options& o) {
  using namespace mk::cli;
  const bool interactive = isatty(STDIN_FILENO) == 1;
  auto out_ptr = open_output(o, interactive);
  if (!out_ptr)
    return 1;
  auto& out = *out_ptr;
  auto prep = prepare(o, interactive, out);
  if (!prep)
    return 1;

  caf::actor_system_config cfg;
  configure(cfg, o.publish.has_value());
  caf::actor_system sys{cfg};

  auto node = mokaccino::spawn_node(sys, prep->node, prep->files);
  if (!node) {
    out.print(tag::error, "Cannot start the node: " + error_text(node.error()));
    return 1;
  }
  out.print_answer(listening_answer(node->port, prep->node.username, node->fingerprint));
  if (o.publish) {
    // Issue 13: a fresh secret at every start, or nothing is published.
    auto file = token_path(o);
    auto token = mokaccino::write_token_file(file);
    if (!token) {
      out.print(tag::error, "Cannot publish the node: " + sys.render(token.error()));
      caf::anon_send_exit(node->handle, caf::exit_reason::user_shutdown);
      return 1;
    }
    auto port = mokaccino::publish_node(sys, node->handle, *o.publish, *token);
    if (!port) {
      out.print(tag::error, "Cannot publish the node on 127.0.0.1:" + std::to_string(*o.publish) + ": " +
                              sys.render(port.error()));
      caf::anon_send_exit(node->handle, caf::exit_reason::user_shutdown);
      return 1;
    }
    out.print(tag::message, "Remote control on 127.0.0.1:" + std::to_string(*port) + " (mokaccino attach 127.0.0.1:" +
                              std::to_string(*port) + "; the token is in " + file.string() + ")");
  }

  terminal_options topts;
  topts.node = node->handle;
  for (auto& peer : prep->config.autoconnect)  // §12: autoconnect first, then startup_commands
    topts.first_lines.push_back("connect hostname " + mk::wire::escape_token(peer));
  for (auto& line : prep->config.startup_commands)
    topts.first_lines.push_back(line);
  return run_terminal(sys, out, std::move(topts), interactive, use_colour(o, interactive));
}

// `mokaccino attach host:port`: the same terminal, against a node published by another process.
int run_attach(const mk::cli::cli_options& o) {
  using namespace mk::cli;
  const bool interactive = isatty(STDIN_FILENO) == 1;
  auto out_ptr = open_output(o, interactive);
  if (!out_ptr)
    return 1;
  auto& out = *out_ptr;
  const auto& address = *o.attach;
  auto colon = address.rfind(':');
  unsigned long port = 0;
  std::string host = colon == std::string::npos ? std::string{} : address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')  // [::1]:port
    host = host.substr(1, host.size() - 2);
  try {
    port = colon == std::string::npos ? 0 : std::stoul(address.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (host.empty() || port == 0 || port > 65535) {
    out.print(tag::error, "attach: expected <host:port>, got \"" + address + "\"");
    return 1;
  }

  caf::actor_system_config cfg;
  configure(cfg, true);
  caf::actor_system sys{cfg};
  auto file = token_path(o);
  auto token = mokaccino::read_token_file(file);
  if (!token) {
    out.print(tag::error, "Cannot attach to " + address + ": " + sys.render(token.error()));
    return 1;
  }
  auto node = mokaccino::attach_node(sys, host, static_cast<std::uint16_t>(port), *token);
  if (!node) {
    out.print(tag::error, "Cannot attach to " + address + ": " + sys.render(node.error()) +
                            " (token read from " + file.string() + ")");
    return 1;
  }
  out.print(tag::message, "Attached to the node at " + address + " (exit leaves it running)");
  terminal_options topts;
  topts.node = *node;
  topts.detach_on_exit = true;
  return run_terminal(sys, out, std::move(topts), interactive, use_colour(o, interactive));
}

}  // namespace

int main(int argc, char** argv) {
  mk::cli::block_termination_signals();  // before any thread: only the input thread's signalfd sees them
  auto parsed = mk::cli::parse_options(argc, argv);
  if (!parsed.options)
    return parsed.exit_code;
  return parsed.options->attach ? run_attach(*parsed.options) : run(*parsed.options);
}
