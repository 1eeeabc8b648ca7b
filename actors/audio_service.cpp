#include "actors/audio_service.hpp"

#include <optional>
#include <set>

#include <caf/all.hpp>

#include "actors/audio_io.hpp"
#include "actors/audio_pipeline.hpp"
#include "actors/call_media.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "core/config/policy_decision.hpp"
#include "core/limits.hpp"
#include "core/wire/messages.hpp"

namespace mk {

namespace {

using namespace std::chrono_literals;
namespace w = mk::wire;
using steady = std::chrono::steady_clock;
using fields_t = std::vector<std::pair<std::string, std::string>>;

// A device spec: "" or "device[:<id>]" (audio_io.hpp).
bool is_device_spec(const std::string& s) { return s.empty() || s == "device" || s.rfind("device:", 0) == 0; }

std::int64_t steady_us(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

struct media {
  std::unique_ptr<audio_io::source> src;
  std::unique_ptr<audio_io::sink> snk;
};

struct audio_state {
  static inline const char* name = "mk.audio";

  caf::stateful_actor<audio_state>* self = nullptr;
  std::shared_ptr<node_context> ctx;

  // §9: our outgoing request (no timeout; a new `voice start` overwrites it)
  std::string pending_user;
  caf::actor pending_session;
  std::optional<media> pending_media;

  // the call (one at a time, §9)
  std::string partner;
  caf::actor partner_session;
  std::shared_ptr<call_media> call;  // runs the pipeline on its own thread (call_media.hpp)

  // An actor system shutting down destroys us without a down message: the media thread must not outlive us.
  ~audio_state() {
    if (call) {
      ctx->calls->clear();
      call->stop();
    }
  }

  std::set<std::string, std::less<>> prompting;  // incoming requests waiting for the user's answer

  // -- helpers ------------------------------------------------------------------------------------------------

  void emit(const std::string& state, const std::string& peer, std::string text, fields_t fields = {}) {
    fields.insert(fields.begin(), {"state", state});
    self->send(ctx->node, event_atom::value, make_event(event_kind::call, peer, std::move(text), std::move(fields)));
  }

  void send_line(const caf::actor& session, std::string line) { self->send(session, send_line_atom::value, std::move(line)); }
  void send_stop(const caf::actor& session) { send_line(session, w::serialize(w::audio_stop_msg{})); }

  result<media> open_media() {
    auto src = audio_io::open_source(ctx->config.audio_input, limits::audio_sample_rate, limits::audio_device_frames);
    if (!src)
      return std::move(src).error();
    auto snk = audio_io::open_sink(ctx->config.audio_output, limits::audio_sample_rate, limits::audio_device_frames);
    if (!snk)
      return std::move(snk).error();
    return media{std::move(*src), std::move(*snk)};
  }

  void clear_pending() {
    pending_user.clear();
    pending_session = caf::actor{};
    pending_media.reset();  // an unused WAV output is removed
  }

  // -- the call -----------------------------------------------------------------------------------------------

  void start_call(const std::string& user, caf::actor session, bool mokaccino_peer, media m) {
    auto now = steady::now();
    auto p = audio_pipeline::create(std::move(m.src), std::move(m.snk), mokaccino_peer, ctx->config.threshold, now,
                                    ctx->config.complexity);
    if (!p) {
      send_stop(session);
      return emit("failed", user, "Call with " + user + " failed: " + p.error().message);
    }
    const auto text = "Call with " + user + " started (" + p->describe() + ")";
    const auto t0 = std::to_string(steady_us(p->t0()));
    call = std::make_shared<call_media>(std::move(*p), session);
    ctx->calls->set(user, call);
    partner = user;
    partner_session = std::move(session);
    emit("started", user, text,
         {{"profile", mokaccino_peer ? "modern" : "legacy"}, {"capture_t0_us", t0}, {"playback_t0_us", t0}});
  }

  void end_call(const std::string& text, bool send_audio_stop) {
    if (!call)
      return;
    if (send_audio_stop)
      send_stop(partner_session);
    ctx->calls->clear();
    auto& pipeline = call->stop();
    auto done = pipeline.finish();
    auto& s = pipeline.stats();
    auto j = pipeline.jitter();
    auto l = pipeline.legacy();
    auto ms = [](std::chrono::microseconds d) { return std::to_string(d.count() / 1000.0); };
    fields_t f{{"sent", std::to_string(s.packets_sent)},
               {"suppressed", std::to_string(s.frames_suppressed)},
               {"bytes_sent", std::to_string(s.bytes_sent)},
               {"received", std::to_string(s.packets_received)},
               {"rejected", std::to_string(s.packets_rejected)},
               {"frames_played", std::to_string(s.frames_played)},
               {"lost", std::to_string(j.lost)},
               {"concealed", std::to_string(j.concealed)},
               {"fec", std::to_string(j.fec)},
               {"late", std::to_string(j.late)},
               {"underruns", std::to_string(j.underruns + l.underruns)},
               {"dropped", std::to_string(j.dropped + l.dropped)},
               {"shed", std::to_string(l.shed)},
               {"jitter_ms", ms(j.jitter)},
               {"target_delay_ms", ms(j.target_delay)},
               {"skipped_samples", std::to_string(s.skipped_samples)}};
    auto peer = partner;
    partner.clear();
    partner_session = caf::actor{};
    call.reset();  // after the last use of its pipeline's stats
    emit("ended", peer, text, std::move(f));
    if (!done)
      emit("failed", peer, "Audio output: " + done.error().message);
  }

  // -- incoming protocol (§9) -----------------------------------------------------------------------------------

  void accept_incoming(const std::string& user, const caf::actor& session, bool mokaccino_peer) {
    if (call)
      return send_stop(session);
    // §14.1 FIX: the original accepted before opening its device and then dropped the call silently.
    auto m = open_media();
    if (!m) {
      send_stop(session);
      return emit("failed", user, "Cannot take the call from " + user + ": " + m.error().message);
    }
    if (!pending_user.empty()) {  // one call at a time: our own request to someone else is withdrawn
      send_stop(pending_session);
      clear_pending();
    }
    send_line(session, w::serialize(w::audio_accept_msg{}));
    start_call(user, session, mokaccino_peer, std::move(*m));
  }

  void on_audio_start(const std::string& user, const caf::actor& session, bool mokaccino_peer) {
    if (call)  // §9: already in a call
      return send_stop(session);
    if (pending_user == user) {  // both called each other at once: that is an accept
      send_line(session, w::serialize(w::audio_accept_msg{}));
      auto m = std::move(*pending_media);
      clear_pending();
      return start_call(user, session, mokaccino_peer, std::move(m));
    }
    const auto& pol = ctx->config.audio;
    auto decision = config::decide(pol, user);
    if (decision == config::action::accept)
      return accept_incoming(user, session, mokaccino_peer);
    if (decision == config::action::refuse) {
      send_stop(session);
      return emit("refused", user, "Refused a voice call from " + user);
    }
    if (!prompting.insert(user).second)
      return;  // already asking about this user
    emit("incoming", user, user + " is calling");
    self
      ->request(ctx->node, limits::call_prompt_timeout, prompt_atom::value, prompt_kind::call, user,
                "User \"" + user + "\" requested to start a voice call, accept? (y/n)")
      .then(
        [this, user, session, mokaccino_peer](bool yes) {
          if (prompting.erase(user) == 0)
            return;  // the peer left meanwhile
          if (!yes) {
            send_stop(session);
            return emit("refused", user, "Refused a voice call from " + user);
          }
          accept_incoming(user, session, mokaccino_peer);
        },
        [this, user, session](caf::error&) {
          if (prompting.erase(user) != 0)
            send_stop(session);
        });
  }

  void on_peer_msg(const std::string& user, const caf::actor& session, bool mokaccino_peer, const w::message& m) {
    const bool from_partner = call && partner == user;
    std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, w::audio_start_msg>) {
          on_audio_start(user, session, mokaccino_peer);
        } else if constexpr (std::is_same_v<T, w::audio_accept_msg>) {
          // §9: counts only from the pending peer
          if (!call && pending_user == user && pending_media) {
            auto md = std::move(*pending_media);
            clear_pending();
            start_call(user, session, mokaccino_peer, std::move(md));
          }
        } else if constexpr (std::is_same_v<T, w::audio_stop_msg>) {
          if (from_partner) {
            end_call(user + " ended the call", false);
          } else if (pending_user == user) {
            clear_pending();
            emit("refused", user, user + " refused the call");
          }
        } else if constexpr (std::is_same_v<T, w::audio_msg>) {
          // The session normally hands these to call_media itself (call_router); these were queued before the
          // call's router entry existed.
          if (from_partner)  // §9: AUDIO only from the partner
            call->deliver(msg);
        } else if constexpr (std::is_same_v<T, w::voice_msg>) {
          if (from_partner)
            call->deliver(msg);
        }
      },
      m);
  }

  void on_peer_gone(const std::string& user) {
    prompting.erase(user);
    if (call && partner == user)
      end_call("Call with " + user + " ended: " + user + " disconnected", false);
    if (pending_user == user) {
      clear_pending();
      emit("ended", user, "Call request to " + user + " dropped: " + user + " disconnected");
    }
  }

  // -- commands ------------------------------------------------------------------------------------------------

  caf::result<command_reply> voice_start(const std::string& user) {
    if (call)
      return reply_error("Already in a call with " + partner + " (voice stop first)");
    auto rp = self->make_response_promise<command_reply>();
    self->request(ctx->node, 5s, session_of_atom::value, user)
      .then(
        [this, rp, user](caf::actor& session, bool) mutable {
          if (!session) {
            rp.deliver(reply_error("User " + user + " is not connected"));
            return;
          }
          if (call) {
            rp.deliver(reply_error("Already in a call with " + partner + " (voice stop first)"));
            return;
          }
          auto m = open_media();
          if (!m) {
            rp.deliver(reply_error("Cannot start a call: " + m.error().message));
            return;
          }
          if (!pending_user.empty() && pending_user != user)
            send_stop(pending_session);  // §9: a new start overwrites the pending one
          pending_user = user;
          pending_session = session;
          pending_media = std::move(*m);
          send_line(session, w::serialize(w::audio_start_msg{}));
          emit("calling", user, "Calling " + user + "...");
          rp.deliver(reply_ok("Calling " + user + "..."));
        },
        [rp](caf::error&) mutable { rp.deliver(reply_error("voice start: the node did not answer")); });
    return rp;
  }

  command_reply voice_stop() {
    if (call) {
      auto text = "Call with " + partner + " ended";
      end_call(text, true);
      return reply_ok(text);
    }
    if (!pending_user.empty()) {  // the original cannot cancel a pending request; we can
      auto text = "Call request to " + pending_user + " cancelled";
      send_stop(pending_session);
      auto user = pending_user;
      clear_pending();
      emit("ended", user, text);
      return reply_ok(text);
    }
    return reply_error("Not in a call");
  }

  void probe_devices() {
    if (!is_device_spec(ctx->config.audio_input) && !is_device_spec(ctx->config.audio_output))
      return;
    if (!audio_io::have_devices())
      self->send(ctx->node, event_atom::value,
                 make_event(event_kind::info, {},
                            "No audio device found: voice calls need a device or a file source (set "
                            "network.audio.input to \"wav:<path>\", \"tone:<hz>\" or \"silence\" and "
                            "network.audio.output to \"wav:<path>\" or \"null\")"));
  }
};

caf::behavior audio_actor(caf::stateful_actor<audio_state>* self, std::shared_ptr<node_context> ctx) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  // The service lives as long as its node (the context holds our handle, so nothing else would end us).
  self->monitor(st.ctx->node);
  self->set_down_handler([self](caf::down_msg&) {
    self->state.end_call("Call ended: the node stopped", true);
    self->quit();
  });
  self->delayed_send(self, limits::audio_probe_delay, audio_probe_atom::value);
  return {
    [self](peer_msg_atom, const std::string& user, const caf::actor& session, bool mokaccino_peer, const w::message& m) {
      self->state.on_peer_msg(user, session, mokaccino_peer, m);
    },
    [self](peer_gone_atom, const std::string& user) { self->state.on_peer_gone(user); },
    [self](voice_start_atom, const std::string& user) { return self->state.voice_start(user); },
    [self](voice_stop_atom) { return self->state.voice_stop(); },
    [](voice_devices_atom) { return audio_io::list_devices(); },
    [self](audio_probe_atom) { self->state.probe_devices(); },
  };
}

}  // namespace

caf::actor spawn_audio_service(caf::actor_system& sys, std::shared_ptr<node_context> ctx) {
  return sys.spawn<caf::detached>(audio_actor, std::move(ctx));
}

}  // namespace mk
