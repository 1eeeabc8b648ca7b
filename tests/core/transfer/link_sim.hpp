#pragma once
// A deterministic in-memory network for the transfer state machines: virtual time, a seeded RNG, and per direction
// loss, duplication, reordering, propagation delay and an optional bottleneck (bandwidth + drop-tail queue).
// Also small models of the ORIGINAL sender and receiver, written from PROTOCOL.md §10, to check interop logic.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/transfer/receiver.hpp"
#include "core/transfer/sender.hpp"

namespace mk::transfer::sim {

using namespace std::chrono_literals;

inline const time_point t0 = time_point{} + std::chrono::hours(1);

struct data_msg {
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> bytes;
};
struct ack_msg {
  std::uint64_t next = 0;
  std::vector<byte_range> ranges;
  bool sack = false;  // FILESACK (extended) rather than FILEACK
  std::optional<std::uint64_t> duplicate;  // FILEDUP sent just before this ACK (the actor sends both at once)
};

struct link_config {
  double loss = 0, duplicate = 0, reorder = 0;
  duration delay = 5ms;           // one-way propagation
  duration reorder_extra = 10ms;  // a reordered datagram is held up to this much longer
  double bytes_per_second = 0;    // 0: no bottleneck
  std::size_t queue_bytes = 256 * 1024;  // drop-tail buffer in front of the bottleneck
};

template <class Msg>
class link {
 public:
  link(link_config cfg, std::mt19937_64& rng) : cfg_(cfg), rng_(rng) {}

  void send(Msg m, std::size_t bytes, time_point now) {
    ++sent_;
    if (chance(cfg_.loss)) return;
    time_point at = now;
    if (cfg_.bytes_per_second > 0) {
      time_point start = std::max(now, busy_until_);
      auto backlog = static_cast<double>((start - now).count()) * 1e-9 * cfg_.bytes_per_second;
      if (backlog > static_cast<double>(cfg_.queue_bytes)) {
        ++queue_drops_;
        return;
      }
      queue_delay_sum_ += start - now;
      ++queue_samples_;
      max_queue_delay_ = std::max(max_queue_delay_, start - now);
      busy_until_ = start + std::chrono::nanoseconds(
                                static_cast<std::int64_t>(static_cast<double>(bytes) / cfg_.bytes_per_second * 1e9));
      at = busy_until_;
    }
    at += cfg_.delay;
    if (chance(cfg_.reorder)) at += jitter();
    if (chance(cfg_.duplicate)) queue_.emplace(at + jitter(), m);
    queue_.emplace(at, std::move(m));
  }

  // The path changes (delay, loss, ...) for what is sent from now on; what is in flight keeps its arrival time.
  void reconfigure(const link_config& c) { cfg_ = c; }

  std::optional<Msg> pop(time_point now) {
    if (queue_.empty() || queue_.begin()->first > now) return std::nullopt;
    Msg m = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    return m;
  }
  time_point next_time() const { return queue_.empty() ? time_point::max() : queue_.begin()->first; }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t queue_drops() const { return queue_drops_; }
  duration mean_queue_delay() const { return queue_samples_ ? queue_delay_sum_ / static_cast<duration::rep>(queue_samples_) : duration{}; }
  duration max_queue_delay() const { return max_queue_delay_; }

 private:
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  duration jitter() {
    return duration(std::uniform_int_distribution<duration::rep>(1, std::max<duration::rep>(1, cfg_.reorder_extra.count()))(rng_));
  }

  link_config cfg_;
  std::mt19937_64& rng_;
  std::multimap<time_point, Msg> queue_;  // equal times keep their sending order
  time_point busy_until_{};
  std::uint64_t sent_ = 0, queue_drops_ = 0, queue_samples_ = 0;
  duration queue_delay_sum_{}, max_queue_delay_{};
};

// -- the two ends, behind one small interface each --

struct sender_end {
  virtual ~sender_end() = default;
  virtual void on_ack(const ack_msg& a, time_point now) = 0;
  virtual void tick(time_point now) = 0;
  virtual std::optional<data_msg> next(time_point now) = 0;
  virtual time_point deadline() const = 0;
  virtual bool terminal() const = 0;
  virtual bool done() const = 0;
};

struct receiver_end {
  virtual ~receiver_end() = default;
  virtual std::optional<ack_msg> accept(time_point now) = 0;  // the user said yes: FILEACK 0
  virtual std::optional<ack_msg> on_data(const data_msg& d, time_point now) = 0;
  virtual std::optional<ack_msg> tick(time_point now) = 0;
  virtual time_point deadline() const = 0;
  virtual bool terminal() const = 0;
  virtual bool complete() const = 0;
  virtual const std::vector<std::uint8_t>& content() const = 0;
};

inline std::vector<std::uint8_t> make_file(std::uint64_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> v(size);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

// Our sender, reading from an in-memory "file".
class our_sender final : public sender_end {
 public:
  our_sender(const std::vector<std::uint8_t>& file, peer_mode mode, time_point now)
      : file_(file), s_(file.size(), mode, now) {}
  void on_ack(const ack_msg& a, time_point now) override {
    if (a.duplicate) s_.on_duplicate(*a.duplicate, now);
    if (a.sack)
      (void)s_.on_sack(a.next, a.ranges, now);
    else
      (void)s_.on_ack(a.next, now);
  }
  void tick(time_point now) override { s_.on_tick(now); }
  std::optional<data_msg> next(time_point now) override {
    auto c = s_.next_chunk(now);
    if (!c) return std::nullopt;
    auto first = file_.begin() + static_cast<std::ptrdiff_t>(c->offset);
    return data_msg{c->offset, {first, first + static_cast<std::ptrdiff_t>(c->length)}};
  }
  time_point deadline() const override { return s_.next_deadline(); }
  bool terminal() const override { return s_.state() == sender_state::done || s_.state() == sender_state::failed; }
  bool done() const override { return s_.state() == sender_state::done; }
  const sender& machine() const { return s_; }

 private:
  const std::vector<std::uint8_t>& file_;
  sender s_;
};

// Our receiver, writing into an in-memory "file".
class our_receiver final : public receiver_end {
 public:
  our_receiver(std::uint64_t size, peer_mode mode) : size_(size), mode_(mode), buf_(size) {}
  std::optional<ack_msg> accept(time_point now) override {
    r_.emplace(size_, mode_, now);
    return to_msg(r_->ack_state());
  }
  std::optional<ack_msg> on_data(const data_msg& d, time_point now) override {
    if (!r_) return std::nullopt;
    auto v = r_->on_chunk(d.offset, d.bytes.size(), now);
    if (v.error) ++errors_;
    if (v.store) {
      ++stores_;
      std::copy(d.bytes.begin(), d.bytes.end(), buf_.begin() + static_cast<std::ptrdiff_t>(d.offset));
    }
    if (!v.ack_now) return std::nullopt;
    auto a = to_msg(r_->ack_state());
    if (v.duplicate && mode_ == peer_mode::extended && !r_->data_complete()) a.duplicate = d.offset;
    return a;
  }
  std::optional<ack_msg> tick(time_point now) override {
    if (!r_) return std::nullopt;
    auto a = r_->on_tick(now);
    return a ? std::optional(to_msg(*a)) : std::nullopt;
  }
  time_point deadline() const override { return r_ ? r_->next_deadline() : time_point::max(); }
  bool terminal() const override { return r_ && (r_->finished() || r_->state() == receiver_state::failed); }
  bool complete() const override { return r_ && r_->complete(); }
  const std::vector<std::uint8_t>& content() const override { return buf_; }
  const receiver& machine() const { return *r_; }
  std::uint64_t errors() const { return errors_; }

 private:
  ack_msg to_msg(const ack_info& a) const { return {a.next, a.ranges, mode_ == peer_mode::extended, {}}; }
  std::uint64_t size_;
  peer_mode mode_;
  std::vector<std::uint8_t> buf_;
  std::optional<receiver> r_;
  std::uint64_t errors_ = 0, stores_ = 0;
};

// The ORIGINAL sender, from PROTOCOL §10: fixed 10-chunk window, a 10 ms loop, the chunk at last_acked resent on a
// duplicate ACK and on every pass when the window is full and no ACK came for 200 ms.
class original_sender final : public sender_end {
 public:
  original_sender(const std::vector<std::uint8_t>& file, time_point now) : file_(file), next_tick_(now) {}
  void on_ack(const ack_msg& a, time_point now) override {
    std::uint64_t n = a.next, size = file_.size();
    if (done_ || !(n == size || n % 1024 == 0) || n > next_) return;
    last_ack_time_ = now;
    if (pending_) {
      if (n == 0) pending_ = false;
      return;
    }
    if (n == size) {
      done_ = true;
    } else if (n == last_acked_) {
      out_.push_back(last_acked_);  // duplicate ACK: resend one chunk
    } else {
      last_acked_ = n;
    }
  }
  void tick(time_point now) override {
    if (now < next_tick_) return;
    next_tick_ = now + 10ms;
    if (pending_ || done_) return;
    while (next_ < file_.size() && next_ - last_acked_ < 10240) {
      out_.push_back(next_);
      next_ += chunk_length(file_.size(), next_);
    }
    if (next_ - last_acked_ >= 10240 && now - last_ack_time_ > 200ms) out_.push_back(last_acked_);
  }
  std::optional<data_msg> next(time_point) override {
    if (out_.empty() || done_) return std::nullopt;
    std::uint64_t off = out_.front();
    out_.pop_front();
    auto first = file_.begin() + static_cast<std::ptrdiff_t>(off);
    return data_msg{off, {first, first + static_cast<std::ptrdiff_t>(chunk_length(file_.size(), off))}};
  }
  time_point deadline() const override { return done_ ? time_point::max() : next_tick_; }
  bool terminal() const override { return done_; }
  bool done() const override { return done_; }

 private:
  const std::vector<std::uint8_t>& file_;
  bool pending_ = true, done_ = false;
  std::uint64_t next_ = 0, last_acked_ = 0;
  time_point last_ack_time_{}, next_tick_;
  std::deque<std::uint64_t> out_;
};

// The ORIGINAL receiver, from PROTOCOL §10: stores out of order, ACKs at once on a duplicate, on completion or when
// next >= last ACK + 10240, and every 100 ms even if nothing changed; once complete it forgets the transfer.
class original_receiver final : public receiver_end {
 public:
  explicit original_receiver(std::uint64_t size) : buf_(size), have_((size + 1023) / 1024) {}
  std::optional<ack_msg> accept(time_point now) override {
    accepted_ = true;
    return ack(now);
  }
  std::optional<ack_msg> on_data(const data_msg& d, time_point now) override {
    if (!accepted_ || done_) return std::nullopt;  // completed transfers are gone
    std::uint64_t size = buf_.size();
    if (d.offset % 1024 != 0 || d.offset >= size || d.bytes.size() != chunk_length(size, d.offset)) return std::nullopt;
    if (have_[d.offset / 1024]) return ack(now);
    have_[d.offset / 1024] = true;
    std::copy(d.bytes.begin(), d.bytes.end(), buf_.begin() + static_cast<std::ptrdiff_t>(d.offset));
    while (next_ < size && have_[next_ / 1024]) next_ += chunk_length(size, next_);
    if (next_ == size) {
      done_ = true;
      return ack(now);
    }
    if (next_ >= last_sent_ + 10240) return ack(now);
    return std::nullopt;
  }
  std::optional<ack_msg> tick(time_point now) override {
    if (!accepted_ || done_ || now - last_time_ <= 100ms) return std::nullopt;
    return ack(now);
  }
  time_point deadline() const override { return accepted_ && !done_ ? last_time_ + 100ms + 1ns : time_point::max(); }
  bool terminal() const override { return done_; }
  bool complete() const override { return done_; }
  const std::vector<std::uint8_t>& content() const override { return buf_; }

 private:
  ack_msg ack(time_point now) {
    last_sent_ = next_;
    last_time_ = now;
    return {next_, {}, false, {}};
  }
  std::vector<std::uint8_t> buf_;
  std::vector<bool> have_;
  bool accepted_ = false, done_ = false;
  std::uint64_t next_ = 0, last_sent_ = 0;
  time_point last_time_{};
};

// -- the run loop --

struct run_result {
  bool sender_terminal = false, receiver_terminal = false;
  time_point end;
  std::uint64_t data_datagrams = 0, ack_datagrams = 0;
  duration mean_queue_delay{}, max_queue_delay{};
  std::uint64_t queue_drops = 0;
};

// A path change `after` the start of the run: both directions take the new configurations.
struct path_change {
  duration after{};
  link_config fwd, back;
};

inline run_result run(sender_end& s, receiver_end& r, link_config fwd, link_config back, std::uint64_t seed,
                      duration limit, duration accept_after = 50ms, std::optional<path_change> change = {}) {
  std::mt19937_64 rng(seed);
  link<data_msg> data(fwd, rng);
  link<ack_msg> acks(back, rng);
  time_point now = t0;
  time_point accept_at = t0 + accept_after;
  bool accepted = false;
  auto send_ack = [&](std::optional<ack_msg> a) {
    if (a) acks.send(std::move(*a), 80, now);
  };
  while (now < t0 + limit) {
    if (change && now >= t0 + change->after) {
      data.reconfigure(change->fwd);
      acks.reconfigure(change->back);
      change.reset();
    }
    if (!accepted && now >= accept_at) {
      accepted = true;
      send_ack(r.accept(now));
    }
    while (auto d = data.pop(now)) send_ack(r.on_data(*d, now));
    while (auto a = acks.pop(now)) s.on_ack(*a, now);
    s.tick(now);
    send_ack(r.tick(now));
    while (auto d = s.next(now)) {
      std::size_t bytes = d->bytes.size() + 100;  // FILE header + base64 growth, roughly
      data.send(std::move(*d), bytes, now);
    }
    if (s.terminal() && accepted && r.terminal()) break;
    if (s.terminal() && !s.done()) break;  // a failed sender: nothing more will come
    time_point next = std::min({data.next_time(), acks.next_time(), s.deadline(), r.deadline(),
                                accepted ? time_point::max() : accept_at,
                                change ? t0 + change->after : time_point::max()});
    now = std::max(next, now + 1us);
  }
  run_result res;
  res.sender_terminal = s.terminal();
  res.receiver_terminal = r.terminal();
  res.end = now;
  res.data_datagrams = data.sent();
  res.ack_datagrams = acks.sent();
  res.mean_queue_delay = data.mean_queue_delay();
  res.max_queue_delay = data.max_queue_delay();
  res.queue_drops = data.queue_drops();
  return res;
}

}  // namespace mk::transfer::sim
