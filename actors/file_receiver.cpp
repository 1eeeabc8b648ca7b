#include "actors/file_receiver.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/transfer_progress.hpp"
#include "actors/transfer_service.hpp"
#include "core/crypto/file_hash.hpp"
#include "core/limits.hpp"
#include "core/transfer/file_name.hpp"
#include "core/transfer/receiver.hpp"
#include "core/wire/messages.hpp"

namespace mk {

namespace {

namespace w = mk::wire;
namespace t = mk::transfer;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

// unique_file_name() already tries many names; this only covers another process creating the chosen one first.
constexpr int name_races = 8;

struct receiver_state {
  static inline const char* name = "mk.file_receiver";

  caf::stateful_actor<receiver_state>* self = nullptr;
  file_receiver_params p;
  int fd = -1;
  fs::path part_path;
  fs::path final_path;
  std::optional<t::receiver> sm;
  crypto::sha384_stream hasher;
  std::uint64_t hashed = 0;  // the hash covers [0, hashed): data is hashed once it is contiguous
  std::vector<std::uint8_t> wbuf;  // coalesces contiguous chunks into one pwrite
  std::uint64_t wbuf_off = 0;
  std::size_t wbuf_len = 0;
  std::string digest;  // SHA-384 of the received data, once it is all in
  bool verified = false;
  bool ended = false;
  bool ack_due = false;
  std::uint64_t timer_gen = 0, armed_gen = 0;
  steady::time_point armed = steady::time_point::max();
  transfer_progress progress;

  ~receiver_state() { discard(); }

  // Closes the file and removes the .part unless it was already linked under its final name.
  void discard() {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
    if (!part_path.empty()) {
      ::unlink(part_path.c_str());
      part_path.clear();
    }
  }

  // -- disk ---------------------------------------------------------------------------------------------------

  std::optional<std::string> open_part() {
    std::error_code ec;
    fs::create_directories(p.dir, ec);
    for (int attempt = 0; attempt < name_races; ++attempt) {
      auto name = t::unique_file_name(p.name + ".part", [&](std::string_view n) { return fs::exists(p.dir / n, ec); });
      if (name.empty())
        break;
      auto path = p.dir / name;
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) {
        part_path = path;
        wbuf.resize(limits::transfer_io_block);
        return std::nullopt;
      }
      if (errno != EEXIST)
        return "cannot create " + path.string() + ": " + std::strerror(errno);
    }
    return "cannot find a free name for " + p.name + ".part in " + p.dir.string();
  }

  bool flush() {
    std::size_t done = 0;
    while (done < wbuf_len) {
      auto n = ::pwrite(fd, wbuf.data() + done, wbuf_len - done, static_cast<off_t>(wbuf_off + done));
      if (n < 0)
        return false;
      done += static_cast<std::size_t>(n);
    }
    wbuf_len = 0;
    return true;
  }

  bool write(std::uint64_t offset, std::span<const std::uint8_t> data) {
    if (wbuf_len > 0 && (offset != wbuf_off + wbuf_len || wbuf_len + data.size() > wbuf.size()))
      if (!flush())
        return false;
    if (wbuf_len == 0)
      wbuf_off = offset;
    std::memcpy(wbuf.data() + wbuf_len, data.data(), data.size());
    wbuf_len += data.size();
    return wbuf_len < wbuf.size() || flush();
  }

  // Hashes [hashed, upto) from disk: the data became contiguous after a hole was filled.
  bool catch_up_hash(std::uint64_t upto) {
    if (hashed >= upto)
      return true;
    if (!flush())
      return false;
    std::vector<std::uint8_t> buf(limits::transfer_io_block);
    while (hashed < upto) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), upto - hashed));
      auto n = ::pread(fd, buf.data(), want, static_cast<off_t>(hashed));
      if (n <= 0)
        return false;
      hasher.update({buf.data(), static_cast<std::size_t>(n)});
      hashed += static_cast<std::uint64_t>(n);
    }
    return true;
  }

  // -- protocol ---------------------------------------------------------------------------------------------

  void send_line(std::string line) { self->send(p.session, send_atom::value, std::move(line)); }

  void send_ack(const t::ack_info& a) {
    if (p.extended)
      send_line(w::serialize(w::file_sack_msg{p.hash, a.next, a.ranges}));
    else
      send_line(w::serialize(w::file_ack_msg{p.hash, a.next}));
  }

  void emit(std::string text, steady::time_point now, bool error = false) {
    auto e = progress.make(std::move(text), now);
    if (error)
      e.fields.emplace_back("error", "1");
    self->send(p.ctx->node, event_atom::value, std::move(e));
  }

  void fail(std::string reason, bool tell_peer, const char* state = "failed") {
    if (ended)
      return;
    ended = true;
    auto now = steady::now();
    if (tell_peer)
      send_line(w::serialize(w::file_stop_msg{p.hash}));
    discard();
    progress.info.state = state;
    progress.info.eta_s = -1;
    emit(p.name + " from " + p.user + ": " + reason, now, std::string_view{state} != "cancelled");
    self->send(p.service, xfer_final_atom::value, progress.info);
    self->quit();
  }

  // PROTOCOL §10 FIX: the hash from FILEINIT (lazy hash: from FILEHASH) is verified before the file gets its final
  // name, which never replaces an existing file. Called once every byte is in, and (lazy) when FILEHASH comes;
  // false if the transfer ended.
  bool finalize(steady::time_point now) {
    if (verified)
      return true;
    progress.info.state = "verifying";
    if (digest.empty()) {
      if (!catch_up_hash(p.size) || !flush()) {
        fail(std::string{"cannot write the file: "} + std::strerror(errno), true);
        return false;
      }
      digest = hasher.final_base64();
    }
    if (p.lazy_hash) {
      if (!sm->verification_due())
        return true;  // FILEHASH has not come yet
      sm->on_computed_hash(digest, now);
      if (sm->state() == t::receiver_state::failed) {
        fail(sm->failure_reason(), true);  // FILESTOP after FILEHASH: the sender knows the file was discarded
        return false;
      }
    } else if (digest != p.hash) {
      fail("hash mismatch: the data received does not match the SHA-384 announced in FILEINIT; file discarded",
           true);
      return false;
    }
    ::close(fd);
    fd = -1;
    std::error_code ec;
    for (int attempt = 0; attempt < name_races; ++attempt) {
      auto name = t::unique_file_name(p.name, [&](std::string_view n) { return fs::exists(p.dir / n, ec); });
      if (name.empty())
        break;
      auto target = p.dir / name;
      if (::link(part_path.c_str(), target.c_str()) == 0) {  // link() never replaces an existing file
        ::unlink(part_path.c_str());
        part_path.clear();
        final_path = target;
        verified = true;
        if (p.lazy_hash) {
          // Our verdict, once the file has its name; the service remembers it to answer a late FILEHASH.
          send_line(w::serialize(w::file_hash_msg{p.hash, digest}));
          self->send(p.service, xfer_verified_atom::value, p.hash, digest);
        }
        progress.info.state = "done";
        progress.info.done = p.size;
        progress.info.eta_s = -1;
        progress.info.rate_bps = progress.average_rate(now);  // file list shows a finished transfer's average
        emit("Received " + p.name + " from " + p.user + " (" + human_bytes(static_cast<double>(p.size)) + ", " +
               human_bytes(progress.average_rate(now)) + "/s), saved as " + final_path.string(),
             now);
        progress.info.name = final_path.filename().string();
        self->send(p.service, xfer_report_atom::value, progress.info);
        return true;
      }
      if (errno != EEXIST)
        break;
    }
    fail(std::string{"cannot store the file in "} + p.dir.string() + ": " + std::strerror(errno), true);
    return false;
  }

  void on_chunk(w::file_msg& m, steady::time_point now) {
    auto v = sm->on_chunk(m.offset, m.data.size(), now);
    if (v.error)
      return;  // breaks §10 rules: neither stored nor acknowledged
    if (v.duplicate && p.extended && !sm->data_complete())
      send_line(w::serialize(w::file_dup_msg{p.hash, m.offset}));  // the sender learns its path's reordering
    if (v.store) {
      const std::uint64_t at = m.offset + v.skip;
      const auto bytes = std::span<const std::uint8_t>{m.data}.subspan(static_cast<std::size_t>(v.skip));
      if (!write(at, bytes))
        return fail(std::string{"cannot write the file: "} + std::strerror(errno), true);
      if (at == hashed) {
        hasher.update(bytes);
        hashed += bytes.size();
      }
      if (sm->next() > hashed && !catch_up_hash(sm->next()))
        return fail(std::string{"cannot read back the file: "} + std::strerror(errno), true);
    }
    if (sm->data_complete() && !verified && !finalize(now))
      return;
    ack_due = ack_due || v.ack_now;
  }

  // One ACK per batch of chunks: the last state says all that the earlier ones would have.
  void flush_ack() {
    if (ack_due && !ended)
      send_ack(sm->ack_state());
    ack_due = false;
  }

  // Routed traffic, one message or a batch: handled at one instant, then one reaction for all of it
  // (one ACK for all the chunks).
  void on_messages(std::span<w::message> msgs) {
    if (ended || !sm)
      return;
    auto now = steady::now();
    for (auto& m : msgs)
      on_message(m, now);
    flush_ack();
    after_input(now);
  }

  void on_message(w::message& m, steady::time_point now) {
    if (ended)
      return;
    if (auto* f = std::get_if<w::file_msg>(&m)) {
      on_chunk(*f, now);
    } else if (std::holds_alternative<w::file_init_msg>(m) || std::holds_alternative<w::file_offer_msg>(m)) {
      ack_due = true;  // a retransmitted offer: our accept was lost
    } else if (auto* h = std::get_if<w::file_hash_msg>(&m)) {
      if (!p.lazy_hash)
        return;
      if (verified)  // our answer was lost: repeat it
        return send_line(w::serialize(w::file_hash_msg{p.hash, digest}));
      sm->on_hash_announced(h->sha384, now);
      if (sm->data_complete())
        finalize(now);
    } else if (std::holds_alternative<w::file_stop_msg>(m)) {
      if (verified) {  // the sender is done with us: nothing left to repeat
        ended = true;
        self->send(p.service, xfer_final_atom::value, progress.info);
        return self->quit();
      }
      fail("cancelled by the sender", false, "cancelled");
    }
  }

  void arm(steady::time_point now) {
    auto deadline = std::min(sm->next_deadline(), now + limits::transfer_report_interval);
    if (deadline >= armed)
      return;
    armed = deadline;
    armed_gen = ++timer_gen;
    auto delay = deadline > now ? deadline - now : steady::duration::zero();
    self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(delay), tick_atom::value, armed_gen);
  }

  void after_input(steady::time_point now) {
    if (ended)
      return;
    if (sm->state() == t::receiver_state::failed)
      return fail(sm->failure_reason(), true);
    if (sm->finished()) {  // verified, and the final ACK repeats are out
      ended = true;
      self->send(p.service, xfer_final_atom::value, progress.info);
      return self->quit();
    }
    if (!verified) {
      progress.info.state = sm->data_complete() ? "verifying" : "receiving";
      if (progress.update(sm->next(), now))
        self->send(p.service, xfer_report_atom::value, progress.info);
      if (progress.event_due(now))
        emit(progress.line(), now);
    }
    arm(now);
  }

  void start() {
    auto now = steady::now();
    progress.info = transfer_info{p.hash, p.name, p.user, false, "receiving", p.size, 0, 0, -1};
    progress.begin(now);
    if (auto err = open_part())
      return fail(*err, true);
    sm.emplace(p.size, p.extended ? t::peer_mode::extended : t::peer_mode::legacy, now, p.lazy_hash);
    if (sm->data_complete() && !finalize(now))  // zero bytes: complete at once (§10 FIX: no endless FILEACK 0)
      return;
    send_ack(sm->ack_state());  // FILEACK 0 accepts the transfer (§10)
    after_input(now);
  }
};

caf::behavior file_receiver(caf::stateful_actor<receiver_state>* self, file_receiver_params p) {
  auto& st = self->state;
  st.self = self;
  st.p = std::move(p);
  self->monitor(st.p.service);
  self->set_down_handler([self](caf::down_msg&) { self->state.fail("the node stopped", true); });
  self->send(self, start_atom::value);
  return {
    [self](start_atom) { self->state.start(); },
    [self](peer_msg_atom, w::message& m) { self->state.on_messages({&m, 1}); },
    [self](peer_msg_atom, wire_batch& batch) { self->state.on_messages(batch); },
    [self](tick_atom, std::uint64_t gen) {
      auto& st = self->state;
      if (st.ended || !st.sm)
        return;
      if (gen == st.armed_gen)
        st.armed = steady::time_point::max();
      auto now = steady::now();
      if (auto a = st.sm->on_tick(now))
        st.send_ack(*a);
      st.after_input(now);
    },
    [self](file_cancel_atom, const std::string& reason) {
      auto& st = self->state;
      if (st.verified)
        return;  // already saved
      st.fail(reason, true, "cancelled");
    },
    [self](peer_gone_atom, const std::string&) {
      auto& st = self->state;
      if (st.verified) {
        st.ended = true;
        self->send(st.p.service, xfer_final_atom::value, st.progress.info);
        return self->quit();
      }
      st.fail("the peer disconnected", false);
    },
  };
}

}  // namespace

caf::actor spawn_file_receiver(caf::actor_system& sys, file_receiver_params p) {
  return sys.spawn(file_receiver, std::move(p));
}

}  // namespace mk
