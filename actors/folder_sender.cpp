#include "actors/folder_sender.hpp"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/transfer_progress.hpp"
#include "core/limits.hpp"
#include "core/transfer/human_bytes.hpp"
#include "core/wire/messages.hpp"

namespace mk {

namespace {

namespace fs = std::filesystem;
namespace w = mk::wire;
using transfer::human_bytes;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct folder_file {
  fs::path path;
  std::string inside;  // '/'-separated path inside the folder
  std::uint64_t size = 0;
};

struct folder_sender_state {
  static inline const char* name = "mk.folder_sender";

  caf::stateful_actor<folder_sender_state>* self = nullptr;
  folder_sender_params p;
  std::string display;  // "photos/"
  std::vector<folder_file> files;
  std::uint64_t bytes = 0;
  std::size_t skipped = 0;  // symlinks and other non-regular entries: never followed
  std::size_t next = 0, in_flight = 0;
  std::uint64_t done = 0, failed = 0, bytes_done = 0;
  bool answered = false, ended = false;
  steady::time_point offered_at{}, started_at{}, last_event{};

  // -- walking ------------------------------------------------------------------------------------------------

  std::optional<std::string> walk() {
    auto root = p.root.lexically_normal();
    if (!root.has_filename())
      root = root.parent_path();
    display = root.filename().string() + "/";
    std::error_code ec;
    fs::recursive_directory_iterator it{root, fs::directory_options::skip_permission_denied, ec}, end;
    if (ec)
      return "Cannot read " + root.string() + ": " + ec.message();
    for (; it != end; it.increment(ec)) {
      if (ec)
        return "Cannot read " + root.string() + ": " + ec.message();
      const auto& e = *it;
      if (e.is_symlink(ec) || (!e.is_regular_file(ec) && !e.is_directory(ec))) {
        ++skipped;  // a symlink may point anywhere: never followed
        continue;
      }
      if (e.is_directory(ec)) {
        if (static_cast<std::size_t>(it.depth()) + 2 > limits::max_folder_depth)
          return root.string() + " is nested deeper than " + std::to_string(limits::max_folder_depth) + " levels";
        continue;
      }
      auto inside = e.path().lexically_relative(root).generic_string();
      if (inside.find('\n') != std::string::npos || inside.size() > limits::max_folder_path) {
        ++skipped;
        continue;
      }
      if (files.size() == limits::max_folder_files)
        return root.string() + " holds more than " + std::to_string(limits::max_folder_files) + " files";
      auto size = e.file_size(ec);
      files.push_back({e.path(), std::move(inside), ec ? 0 : size});
      bytes += files.back().size;
    }
    if (files.empty())
      return root.string() + " holds no file to send";
    std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.inside < b.inside; });
    return std::nullopt;
  }

  // -- offering -----------------------------------------------------------------------------------------------

  void send_offer() {
    self->send(p.session, send_line_atom::value,
               w::serialize(w::folder_offer_msg{p.id, files.size(), bytes, display.substr(0, display.size() - 1)}));
  }

  void on_tick() {
    if (ended)
      return;
    auto now = self->clock().now();
    if (!answered) {
      if (now - offered_at > limits::file_prompt_timeout + 15s)
        return end("failed", "no answer");
      send_offer();
    } else if (now - last_event >= limits::transfer_event_interval) {
      report("sending", display + " -> " + p.user + "  " + std::to_string(done + failed) + "/" +
                          std::to_string(files.size()) + " files  " + human_bytes(static_cast<double>(bytes_done)) +
                          "/" + human_bytes(static_cast<double>(bytes)));
    }
    self->delayed_send(self, 1s, tick_atom::value);
  }

  // FOLDERACCEPT, or FILESTOP <fid>: a no before the answer, a cancel after it.
  void on_peer(const w::message& m) {
    if (std::holds_alternative<w::folder_accept_msg>(m))
      on_answer(true);
    else if (std::holds_alternative<w::file_stop_msg>(m))
      answered ? end("failed", "cancelled by the peer") : on_answer(false);
  }

  void on_answer(bool yes) {
    if (answered || ended)
      return;
    if (!yes)
      return end("failed", "refused by the peer");
    answered = true;
    started_at = self->clock().now();
    launch();
  }

  // -- sending the files --------------------------------------------------------------------------------------

  std::size_t limit() const { return p.as_folder ? limits::folder_files_in_flight : 1; }

  void launch() {
    while (!ended && in_flight < limit() && next < files.size()) {
      auto& f = files[next++];
      ++in_flight;
      self->request(p.service, caf::infinite, folder_file_atom::value, p.user, f.path.string(), display,
                    p.as_folder ? p.id : std::string{}, f.inside)
        .then(
          [this](const command_reply& r) {
            if (!r.ok)
              file_ended(false, 0);
          },
          [this](caf::error&) { file_ended(false, 0); });
    }
    if (!ended && in_flight == 0 && next == files.size())
      end(failed == 0 ? "done" : "failed", failed == 0 ? "" : std::to_string(failed) + " file(s) failed");
  }

  void file_ended(bool ok, std::uint64_t size) {
    if (in_flight > 0)
      --in_flight;
    if (ok) {
      ++done;
      bytes_done += size;
    } else {
      ++failed;
    }
    launch();
  }

  // -- ending -------------------------------------------------------------------------------------------------

  transfer_info info(const std::string& state) const {
    transfer_info i{p.id, display, p.user, true, state, bytes, bytes_done, 0, -1, 0};
    auto s = std::chrono::duration<double>(self->clock().now() - started_at).count();
    i.rate_bps = answered && s > 0 ? static_cast<double>(bytes_done) / s : 0;
    i.folder = display;
    i.files = files.size();
    i.files_done = done;
    i.files_failed = failed;
    return i;
  }

  void report(const std::string& state, std::string text) {
    last_event = self->clock().now();
    auto i = info(state);
    self->send(p.service, xfer_report_atom::value, i);
    self->send(p.ctx->node, event_atom::value, folder_event(i, std::move(text)));
  }

  void end(const std::string& state, const std::string& why) {
    if (ended)
      return;
    ended = true;
    auto i = info(state);
    std::string text;
    if (state == "done")
      text = "Sent folder " + display + " to " + p.user + " (" + std::to_string(files.size()) + " files, " +
             human_bytes(static_cast<double>(bytes)) + ", " + human_bytes(i.rate_bps) + "/s)";
    else
      text = "Folder " + display + " to " + p.user + ": " + (state == "cancelled" ? "cancelled" : "failed") +
             (why.empty() ? "" : " (" + why + ")") + ", " + std::to_string(done) + " of " +
             std::to_string(files.size()) + " files sent";
    report(state, text);
    self->send(p.service, xfer_final_atom::value, i);
    self->quit();
  }
};

caf::behavior folder_sender(caf::stateful_actor<folder_sender_state>* self, folder_sender_params p) {
  auto& st = self->state;
  st.self = self;
  st.p = std::move(p);
  return {
    [self](xfer_prepare_atom) -> command_reply {
      auto& st = self->state;
      if (auto problem = st.walk()) {
        st.ended = true;
        self->quit();
        return reply_error(*problem);
      }
      auto what = st.display + " (" + std::to_string(st.files.size()) + " files, " +
                  human_bytes(static_cast<double>(st.bytes)) + ")" +
                  (st.skipped == 0 ? "" : ", leaving out " + std::to_string(st.skipped) + " symlink(s) or special file(s)");
      st.offered_at = self->clock().now();
      if (st.p.as_folder) {
        st.send_offer();
        self->delayed_send(self, 1s, tick_atom::value);
        return reply_ok("Offering folder " + what + " to " + st.p.user);
      }
      // An original node has no folders: its files one by one, each its own question there.
      self->delayed_send(self, 1s, tick_atom::value);
      st.on_answer(true);
      return reply_ok("Sending the files of " + what + " to " + st.p.user + " one by one (it has no folders)");
    },
    [self](tick_atom) { self->state.on_tick(); },
    [self](peer_msg_atom, const w::message& m) { self->state.on_peer(m); },
    [self](peer_msg_atom, const wire_batch& batch) {  // the service batches what one datagram brought
      for (auto& m : batch)
        self->state.on_peer(m);
    },
    [self](xfer_final_atom, const transfer_info& i) { self->state.file_ended(i.state == "done", i.size); },
    [self](file_cancel_atom, const std::string& why) {
      if (self->state.p.as_folder)
        self->send(self->state.p.session, send_line_atom::value, w::serialize(w::file_stop_msg{self->state.p.id}));
      self->state.end("cancelled", why);
    },
    [self](peer_gone_atom, const std::string&) { self->state.end("failed", self->state.p.user + " disconnected"); },
  };
}

}  // namespace

caf::actor spawn_folder_sender(caf::actor_system& sys, folder_sender_params p) {
  return sys.spawn(folder_sender, std::move(p));
}

}  // namespace mk
