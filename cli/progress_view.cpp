#include "cli/progress_view.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "cli/answers.hpp"
#include "core/transfer/human_bytes.hpp"

namespace mk::cli {

namespace {

template <class T>
T number(const event& e, const char* name, T fallback) {
  auto s = field(e, name);
  T v = fallback;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size() ? v : fallback;
}

// The states a transfer reports progress in; "verifying": every byte is in, the hash is being checked (receiver)
// or awaited (sender). Its reports update the live line like the others instead of scrolling.
bool running(std::string_view state) { return state == "sending" || state == "receiving" || state == "verifying"; }

std::string key_of(const event& e) { return field(e, "hash") + "|" + field(e, "direction") + "|" + e.peer; }

// The first `n` code points of `s`.
std::string first_columns(std::string_view s, std::size_t n) {
  std::size_t i = 0, cols = 0;
  while (i < s.size() && cols < n) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
      ++i;
    ++cols;
  }
  return std::string{s.substr(0, i)};
}

}  // namespace

std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(
    std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool periodic_progress(const event& e) {
  if (e.kind != event_kind::transfer || !field(e, "error").empty() || field(e, "rate").empty())
    return false;
  return running(field(e, "state"));
}

std::optional<progress_view> progress_of(const event& e) {
  if (e.kind != event_kind::transfer || !field(e, "error").empty() || field(e, "hash").empty())
    return std::nullopt;
  auto state = field(e, "state");
  if (!running(state) && state != "pending")
    return std::nullopt;
  progress_view p;
  p.key = key_of(e);
  p.name = field(e, "name");
  p.peer = e.peer;
  p.state = state;
  p.outgoing = field(e, "direction") == "send";
  p.done = number<std::uint64_t>(e, "bytes", 0);
  p.size = number<std::uint64_t>(e, "size", 0);
  p.rate_bps = number<double>(e, "rate", 0);
  p.eta_s = number<double>(e, "eta", -1);
  return p;
}

bool quiet_folder_member(const event& e) {
  if (e.kind != event_kind::transfer)
    return false;
  auto folder = field(e, "folder");
  if (folder.empty() || field(e, "name") == folder)
    return false;  // a file of its own, or the folder offer itself
  auto state = field(e, "state");
  return field(e, "error") != "1" && state != "failed" && state != "refused" && state != "cancelled";
}

std::optional<std::string> ended_transfer(const event& e) {
  if (e.kind != event_kind::transfer || field(e, "hash").empty() || !transfer_finished(field(e, "state")))
    return std::nullopt;
  return key_of(e);
}

std::string progress_line(const progress_view& p, int columns) {
  const std::size_t width = static_cast<std::size_t>(std::max(columns, 20) - 1);
  std::string who = std::string{p.outgoing ? " -> " : " <- "} + p.peer;
  std::string tail;
  double frac = p.size == 0 ? 1.0 : std::clamp(static_cast<double>(p.done) / static_cast<double>(p.size), 0.0, 1.0);
  if (p.state == "pending") {
    tail = "  waiting for " + p.peer + " to accept";
  } else if (p.state == "verifying") {
    tail = "  " + std::to_string(static_cast<int>(std::floor(frac * 100))) + "%  verifying";
  } else {
    tail = "  " + std::to_string(static_cast<int>(std::floor(frac * 100))) + "%  " +
           transfer::human_bytes(p.rate_bps) + "/s";
    tail += p.eta_s >= 0 ? "  ETA " + std::to_string(static_cast<long>(std::ceil(p.eta_s))) + " s" : "  ETA -";
  }
  // The bar takes what the name, peer and numbers leave, between 10 and 30 cells; none if even 10 do not fit.
  auto fixed = display_width(p.name) + display_width(who) + display_width(tail);
  std::size_t bar_cells = 0;
  if (p.state != "pending" && width > fixed + 2 + 2 + 10)
    bar_cells = std::min<std::size_t>(30, width - fixed - 4);
  std::string bar;
  if (bar_cells > 0) {
    auto full = static_cast<std::size_t>(std::floor(frac * static_cast<double>(bar_cells)));
    bar = "  [" + std::string(full, '#') + std::string(bar_cells - full, '-') + "]";
  }
  std::string line = p.name + who + bar + tail;
  if (display_width(line) <= width)
    return line;
  // Too narrow even without a bar: shorten the name, then cut the end.
  auto rest = display_width(who) + display_width(tail);
  if (rest + 2 < width)
    return first_columns(p.name, width - rest - 1) + "~" + who + tail;
  return first_columns(line, width);
}

}  // namespace mk::cli
