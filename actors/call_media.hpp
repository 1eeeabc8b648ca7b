#pragma once
// The running media of one voice call: a thread of its own that owns the call's audio_pipeline, sleeps until the
// pipeline's next deadline and sends the lines it produces to the partner's session actor.
//
// Why a thread and not actor timers: a call ticks 50-400 times a second. Through CAF that was a clock-thread
// wake-up plus a mailbox wake-up per tick and another per received packet, which cost more CPU than Opus itself.
// Here a tick is one timed wait, and the partner's session hands received AUDIO/VOICE packets over through
// call_router (a mutex-guarded inbox the thread drains at its next tick), so packets wake nobody. The audio
// service actor still owns every decision about the call (start, accept, stop, policy); this is only its clock.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <caf/actor.hpp>

#include "actors/audio_pipeline.hpp"
#include "core/wire/messages.hpp"

namespace mk {

class call_media {
 public:
  using clock = audio_pipeline::clock;

  // Starts the media thread at once; lines to send go to `session` as (send_line_atom, std::string).
  call_media(audio_pipeline p, caf::actor session);
  ~call_media();
  call_media(const call_media&) = delete;
  call_media& operator=(const call_media&) = delete;

  // Any thread: a packet of the partner, stamped now, played from the next tick on. Past a bound (a media thread
  // that cannot keep up) packets are dropped and counted as rejected rather than queued without limit.
  void deliver(const wire::audio_msg& m);
  void deliver(const wire::voice_msg& m);

  // Stops and joins the thread; the pipeline is then the caller's (stats, finish). Idempotent.
  audio_pipeline& stop();

 private:
  struct packet {
    bool modern;
    std::uint32_t seq, ts;
    std::vector<std::uint8_t> bytes;
    clock::time_point arrival;
  };

  void push(packet p);
  void run();

  audio_pipeline pipeline_;
  caf::actor session_;
  std::mutex mx_;
  std::condition_variable cv_;
  bool stopping_ = false;           // guarded by mx_
  std::vector<packet> inbox_;       // guarded by mx_
  std::uint64_t inbox_dropped_ = 0; // guarded by mx_
  std::thread thread_;
};

// Which call's media the sessions hand AUDIO/VOICE to. One per node (node_context::calls); set by the audio
// service when a call starts, cleared when it ends.
class call_router {
 public:
  void set(std::string partner, std::shared_ptr<call_media> media);
  void clear();
  // True if `m` is AUDIO or VOICE from the current partner and was handed to the call; false otherwise (the
  // caller then forwards it to the audio service as any other message).
  bool deliver(std::string_view user, const wire::message& m);

 private:
  std::mutex mx_;
  std::string partner_;
  std::shared_ptr<call_media> media_;
};

}  // namespace mk
