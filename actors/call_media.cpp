#include "actors/call_media.hpp"

#include <pthread.h>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "core/limits.hpp"

namespace mk {

call_media::call_media(audio_pipeline p, caf::actor session)
    : pipeline_(std::move(p)), session_(std::move(session)), thread_([this] { run(); }) {}

call_media::~call_media() { stop(); }

void call_media::deliver(const wire::audio_msg& m) { push({false, 0, 0, m.packet, clock::now()}); }

void call_media::deliver(const wire::voice_msg& m) { push({true, m.seq, m.timestamp, m.packet, clock::now()}); }

void call_media::push(packet p) {
  std::lock_guard<std::mutex> g{mx_};
  if (stopping_)
    return;
  if (inbox_.size() >= limits::call_inbox_max) {
    ++inbox_dropped_;
    return;
  }
  inbox_.push_back(std::move(p));  // no notify: the thread takes it at its next tick
}

audio_pipeline& call_media::stop() {
  {
    std::lock_guard<std::mutex> g{mx_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
  return pipeline_;
}

void call_media::run() {
  ::pthread_setname_np(::pthread_self(), "mk.call");  // shows in top -H and perf
  std::vector<packet> batch;
  std::vector<std::string> lines;
  std::uint64_t dropped = 0;
  std::unique_lock<std::mutex> lk{mx_};
  while (!stopping_) {
    batch.swap(inbox_);
    dropped = std::exchange(inbox_dropped_, 0);
    lk.unlock();

    pipeline_.count_rejected(dropped);
    for (auto& p : batch) {
      if (p.modern)
        pipeline_.on_voice(p.seq, p.ts, p.bytes, p.arrival);
      else
        pipeline_.on_audio(p.bytes, p.arrival);
    }
    batch.clear();
    lines.clear();
    const auto now = clock::now();
    pipeline_.tick(now, lines);
    for (auto& l : lines)
      caf::anon_send(session_, send_line_atom::value, std::move(l));
    const auto wake = pipeline_.next_wake(now);

    lk.lock();
    cv_.wait_until(lk, wake, [this] { return stopping_; });
  }
}

void call_router::set(std::string partner, std::shared_ptr<call_media> media) {
  std::lock_guard<std::mutex> g{mx_};
  partner_ = std::move(partner);
  media_ = std::move(media);
}

void call_router::clear() {
  std::lock_guard<std::mutex> g{mx_};
  partner_.clear();
  media_.reset();
}

bool call_router::deliver(std::string_view user, const wire::message& m) {
  auto* audio = std::get_if<wire::audio_msg>(&m);
  auto* voice = std::get_if<wire::voice_msg>(&m);
  if (!audio && !voice)
    return false;
  std::shared_ptr<call_media> media;
  {
    std::lock_guard<std::mutex> g{mx_};
    if (!media_ || partner_ != user)
      return false;
    media = media_;
  }
  if (audio)
    media->deliver(*audio);
  else
    media->deliver(*voice);
  return true;
}

}  // namespace mk
