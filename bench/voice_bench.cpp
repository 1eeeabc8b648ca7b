// Voice benchmark (issue "Voice calls"; never run by ctest). Prints:
//   1. Opus encode/decode cost per frame, both wire profiles (PROTOCOL §9 legacy 2.5 ms / modern 20 ms);
//   2. CPU of the media path of one call (capture, VAD, Opus, serialize, parse, jitter buffer or FIFO, decode,
//      both ends) on a simulated clock, both profiles;
//   3. a real call between two in-process mokaccino nodes over loopback (20 ms VOICE, encrypted): process CPU
//      above idle, and the pipeline latency from the sender's source to the receiver's sink (excluding devices);
//   4. a real call between a mokaccino node and an emulated original (legacy AUDIO, 400 packets/s each way,
//      plaintext): process CPU above idle (the emulator's pre-encoded sending and its receiving included).
// Usage: voice_bench [seconds per measurement, default 10] [--stealing: CAF's work-stealing scheduler]
//                    [--only codec|pipeline|call|legacy: one part, e.g. to profile it]
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <botan/auto_rng.h>
#include <caf/all.hpp>
#include <fmt/format.h>

#include "actors/audio_io.hpp"
#include "actors/audio_pipeline.hpp"
#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "bench/scheduler_choice.hpp"
#include "core/audio/opus_codec.hpp"
#include "core/audio/signals.hpp"
#include "core/audio/wav.hpp"
#include "core/crypto/random.hpp"
#include "core/limits.hpp"
#include "core/wire/messages.hpp"

using namespace mk;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr int rate = limits::audio_sample_rate;
bool stealing = false;  // --stealing

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU seconds so far of this process's threads, summed by thread name (mk.call = a call's media thread, mk.udp =
// a socket's receive thread; CAF names its scheduler workers caf.multiplexer in 0.17 and its timer thread caf.clock).
std::map<std::string, double> cpu_by_thread_name() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (auto& t : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm{t.path() / "comm"}, stat{t.path() / "stat"};
    std::string name, text;
    std::getline(comm, name);
    std::getline(stat, text);
    auto close = text.rfind(')');  // fields after the name: state is field 3, utime 14, stime 15
    if (close == std::string::npos)
      continue;
    std::istringstream rest{text.substr(close + 2)};
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14)
        utime = std::stod(field);
      if (i == 15)
        stime = std::stod(field);
    }
    out[name] += (utime + stime) / tick;
  }
  return out;
}

std::string cpu_breakdown(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                          double seconds) {
  std::string out;
  for (auto& [name, cpu] : after) {
    auto it = before.find(name);
    const double pct = (cpu - (it == before.end() ? 0 : it->second)) / seconds * 100;
    if (pct >= 0.05)
      out += fmt::format("{}{} {:.2f}%", out.empty() ? "" : ", ", name, pct);
  }
  return out;
}

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

const char* name(audio::profile p) { return p == audio::profile::modern ? "modern 20 ms" : "legacy 2.5 ms"; }

void codec_bench(audio::profile p, double seconds) {
  auto input = audio::sweep(200, 4000, seconds, rate, 0.3);
  auto enc = audio::opus_encoder::create(p);
  auto dec = audio::opus_decoder::create(p);
  if (!enc || !dec)
    return (void)fmt::print("codec: cannot create Opus for {}\n", name(p));
  const auto fs = static_cast<std::size_t>(enc->frame_samples());
  const auto frames = input.size() / fs;
  std::vector<std::vector<std::uint8_t>> packets;
  packets.reserve(frames);
  auto t = thread_cpu_s();
  for (std::size_t k = 0; k < frames; ++k)
    packets.push_back(std::move(*enc->encode(std::span{input}.subspan(k * fs, fs))));
  const double enc_s = thread_cpu_s() - t;
  std::size_t bytes = 0;
  t = thread_cpu_s();
  for (auto& pk : packets) {
    bytes += pk.size();
    (void)dec->decode(pk);
  }
  const double dec_s = thread_cpu_s() - t;
  fmt::print("codec {:>13}: encode {:6.1f} us/frame, decode {:5.1f} us/frame, {:5.1f} B/packet, "
             "{:4.2f}% of a core per direction in real time\n",
             name(p), enc_s / frames * 1e6, dec_s / frames * 1e6, static_cast<double>(bytes) / frames,
             (enc_s + dec_s) / seconds * 100);
}

// Both ends of a call in one loop: A's lines are parsed and fed to B and back, on a clock stepped every 5 ms.
void pipeline_bench(bool modern, double seconds) {
  auto make = [&](steady::time_point t0) {
    auto src = audio_io::open_source("tone:440", rate, limits::audio_device_frames);
    auto snk = audio_io::open_sink("null", rate, limits::audio_device_frames);
    return audio_pipeline::create(std::move(*src), std::move(*snk), modern, 40, t0);
  };
  const auto t0 = steady::now();
  auto a = make(t0);
  auto b = make(t0);
  if (!a || !b)
    return (void)fmt::print("pipeline: cannot create\n");
  std::vector<std::string> lines;
  auto deliver = [&](audio_pipeline& to, steady::time_point now) {
    for (auto& l : lines) {
      auto m = wire::parse_line(l);
      if (!m)
        continue;
      if (auto* v = std::get_if<wire::voice_msg>(&*m))
        to.on_voice(v->seq, v->timestamp, v->packet, now);
      else if (auto* au = std::get_if<wire::audio_msg>(&*m))
        to.on_audio(au->packet, now);
    }
    lines.clear();
  };
  const auto cpu0 = thread_cpu_s();
  for (auto now = t0; now < t0 + std::chrono::duration<double>(seconds); now += limits::audio_tick_floor) {
    a->tick(now, lines);
    deliver(*b, now);
    b->tick(now, lines);
    deliver(*a, now);
  }
  const double cpu = thread_cpu_s() - cpu0;
  fmt::print("media path {:>13}: {:.2f}% of a core per call (both ends; {:.2f}% per end), {} packets each way, "
             "played {} frames, lost {}\n",
             modern ? "modern 20 ms" : "legacy 2.5 ms", cpu / seconds * 100, cpu / seconds * 50,
             a->stats().packets_sent, b->stats().frames_played, b->jitter().lost);
}

// -- a real call between two nodes --------------------------------------------------------------------------------

struct recorder {
  std::mutex mx;
  std::vector<event> events;
  std::optional<event> find_call(const std::string& state) {
    std::lock_guard<std::mutex> g{mx};
    for (auto& e : events)
      if (e.kind == event_kind::call && field(e, "state") == state)
        return e;
    return std::nullopt;
  }
};

std::optional<event> wait_call(recorder& r, const std::string& state) {
  for (int i = 0; i < 500; ++i) {
    if (auto e = r.find_call(state))
      return e;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

struct bench_node {
  node_handle h;
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  caf::actor sink;
};

bench_node start(caf::actor_system& sys, const std::string& user, const std::filesystem::path& dir,
                 bool encrypt = true) {
  static Botan::AutoSeeded_RNG rng;
  config::node_config c;
  c.username = user;
  c.port = 0;
  c.connection.default_action = config::action::accept;
  c.audio.default_action = config::action::accept;
  c.encrypt_by_default = encrypt;
  c.require_encryption = encrypt;
  c.audio_input = "wav:" + (dir / (user + "-in.wav")).string();
  c.audio_output = "wav:" + (dir / (user + "-out.wav")).string();
  node_options o{c, crypto::identity::generate(rng), {}, {}, {}, false, true};
  auto h = spawn_node(sys, std::move(o));
  if (!h) {
    fmt::print("cannot start a node: {}\n", h.error().message);
    std::exit(1);
  }
  bench_node n;
  n.h = *h;
  auto r = n.rec;
  // CAF 0.17 dereferences a null argument tuple when a function actor takes no arguments (UBSan): pass r in.
  n.sink = sys.spawn([](caf::event_based_actor*, decltype(r) r) -> caf::behavior {
    return {[r](event_atom, const event& e) {
      std::lock_guard<std::mutex> g{r->mx};
      r->events.push_back(e);
    }};
  }, r);
  caf::anon_send(n.h.node, subscribe_atom::value, n.sink);
  return n;
}

template <class Reply, class... Ts>
std::optional<Reply> ask(caf::actor_system& sys, const caf::actor& dst, Ts&&... xs) {
  caf::scoped_actor self{sys};
  std::optional<Reply> out;
  self->request(dst, 10s, std::forward<Ts>(xs)...).receive([&](Reply r) { out = std::move(r); }, [](caf::error&) {});
  return out;
}

void call_bench(double seconds) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("mk-voice-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);
  // The signal: a sweep (unambiguous alignment) then speech-like loudness all along (VAD always sends).
  auto input = audio::sweep(300, 3400, seconds, rate, 0.3);
  for (auto u : {"alice", "bob"})
    (void)audio::write_wav_file(dir / (std::string{u} + "-in.wav"), audio::wav_audio{rate, input});
  caf::actor_system_config cfg;
  configure_bench_scheduler(cfg, stealing);
  {
    caf::actor_system sys{cfg};
    auto alice = start(sys, "alice", dir);
    auto bob = start(sys, "bob", dir);
    ask<command_reply>(sys, alice.h.node, connect_host_atom::value, fmt::format("127.0.0.1:{}", bob.h.port));
    for (int i = 0; i < 200; ++i) {
      auto info = ask<peer_info>(sys, alice.h.node, user_info_atom::value, std::string{"bob"});
      if (info && info->mokaccino && info->encrypted)
        break;
      std::this_thread::sleep_for(20ms);
    }
    auto c0 = process_cpu_s();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double idle = process_cpu_s() - c0;
    ask<command_reply>(sys, alice.h.node, voice_start_atom::value, std::string{"bob"});
    auto a_start = wait_call(*alice.rec, "started");
    auto b_start = wait_call(*bob.rec, "started");
    c0 = process_cpu_s();
    const auto threads0 = cpu_by_thread_name();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double busy = process_cpu_s() - c0;
    const auto threads1 = cpu_by_thread_name();
    ask<command_reply>(sys, alice.h.node, voice_stop_atom::value);
    auto b_end = wait_call(*bob.rec, "ended");
    wait_call(*alice.rec, "ended");
    fmt::print("call, two nodes, modern, encrypted: process CPU idle {:.2f}%, in a call {:.2f}% of a core -> "
               "{:.2f}% per call ({:.2f}% per node)\n",
               idle / seconds * 100, busy / seconds * 100, (busy - idle) / seconds * 100,
               (busy - idle) / seconds * 50);
    fmt::print("  by thread, both nodes (10 ms clock ticks): {}\n", cpu_breakdown(threads0, threads1, seconds));
    if (a_start && b_start && b_end) {
      auto out = audio::read_wav_file(dir / "bob-out.wav");
      if (out) {
        auto al = audio::best_alignment(input, out->samples, rate);
        const double t_cap = std::stod(field(*a_start, "capture_t0_us")) / 1000;
        const double t_play = std::stod(field(*b_start, "playback_t0_us")) / 1000;
        fmt::print("call latency alice -> bob (source to sink, no device buffers): {:.1f} ms (correlation {:.3f}; "
                   "jitter-buffer target {} ms, measured jitter {} ms, lost {}, underruns {}, dropped {})\n",
                   t_play + static_cast<double>(al.lag) * 1000 / rate - t_cap, al.correlation,
                   field(*b_end, "target_delay_ms"), field(*b_end, "jitter_ms"), field(*b_end, "lost"),
                   field(*b_end, "underruns"), field(*b_end, "dropped"));
      }
    }
    for (auto* n : {&alice, &bob}) {
      caf::anon_send_exit(n->sink, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(n->h.node, caf::exit_reason::user_shutdown);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// A plain UDP socket playing the original program: handshake (§5), then legacy AUDIO (§9).
struct fake_original {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  fake_original(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    timeval tv{0, 20000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    to = a;
    to.sin_port = htons(port);
  }
  ~fake_original() { ::close(fd); }
  void send(const std::string& line) {
    auto b = line + "\n";
    ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  std::optional<std::string> wait_for(const std::string& kw, std::chrono::milliseconds t) {
    char buf[70000];
    for (auto end = steady::now() + t; steady::now() < end;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        continue;
      std::string l{buf, static_cast<std::size_t>(n)};
      if (!l.empty() && l.back() == '\n')
        l.pop_back();
      if (l.rfind("PING ", 0) == 0)
        send("PONG " + l.substr(5));
      if (l == kw || l.rfind(kw + " ", 0) == 0)
        return l;
    }
    return std::nullopt;
  }
};

void legacy_call_bench(double seconds) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("mk-voice-bench-l-{}", ::getpid());
  std::filesystem::create_directories(dir);
  auto input = audio::sweep(300, 3400, seconds, rate, 0.3);
  (void)audio::write_wav_file(dir / "bob-in.wav", audio::wav_audio{rate, input});
  // the original's packets, encoded before the measurement
  std::vector<std::string> lines;
  {
    auto enc = audio::opus_encoder::create(audio::profile::legacy);
    for (std::size_t k = 0; (k + 1) * 120 <= input.size(); ++k)
      lines.push_back(wire::serialize(wire::audio_msg{std::move(*enc->encode(std::span{input}.subspan(k * 120, 120)))}));
  }
  caf::actor_system_config cfg;
  configure_bench_scheduler(cfg, stealing);
  {
    caf::actor_system sys{cfg};
    auto bob = start(sys, "bob", dir, false);  // plaintext, as the original by default
    Botan::AutoSeeded_RNG rng;
    auto id = crypto::identity::generate(rng);
    fake_original carol{bob.h.port};
    wire::connect_msg c{"carol", crypto::make_nonce(rng), id.public_key().base64(), {}};
    c.signature = id.sign(wire::signed_text(c), rng);
    carol.send(wire::serialize(c));
    auto hs = carol.wait_for("HANDSHAKE", 5s);
    auto m = hs ? wire::parse_line(*hs) : mk::result<wire::message>{mk::make_error(errc::malformed, "none")};
    if (!m || !std::holds_alternative<wire::handshake_msg>(*m))
      return (void)fmt::print("legacy call: no HANDSHAKE\n");
    wire::connected_msg done{std::get<wire::handshake_msg>(*m).nonce, {}};
    done.signature = id.sign(wire::signed_text(done), rng);
    carol.send(wire::serialize(done));
    std::this_thread::sleep_for(300ms);
    auto c0 = process_cpu_s();
    for (auto end = steady::now() + std::chrono::duration<double>(seconds); steady::now() < end;)
      carol.wait_for("-", 100ms);  // idle, answering PINGs
    const double idle = process_cpu_s() - c0;
    carol.send("AUDIOSTART");
    if (!carol.wait_for("AUDIOACCEPT", 5s))
      return (void)fmt::print("legacy call: no AUDIOACCEPT\n");
    std::atomic<bool> stop{false};
    std::thread listener([&] {
      while (!stop)
        carol.wait_for("-", 50ms);  // receive and drop bob's AUDIO, answer PINGs
    });
    c0 = process_cpu_s();
    const auto t0 = steady::now();
    for (std::size_t k = 0; k < lines.size(); ++k) {
      std::this_thread::sleep_until(t0 + std::chrono::microseconds{static_cast<std::int64_t>((k + 1) * 2500)});
      carol.send(lines[k]);
    }
    const double busy = process_cpu_s() - c0;
    const double secs = std::chrono::duration<double>(steady::now() - t0).count();
    stop = true;
    listener.join();
    carol.send("AUDIOSTOP");
    auto end = wait_call(*bob.rec, "ended");
    fmt::print("call, mokaccino node <-> emulated original, legacy, plaintext: process CPU idle {:.2f}%, in a call "
               "{:.2f}% of a core -> {:.2f}% for the call (node + emulator); node received {}, sent {}\n",
               idle / seconds * 100, busy / secs * 100, busy / secs * 100 - idle / seconds * 100,
               end ? field(*end, "received") : "?", end ? field(*end, "sent") : "?");
    caf::anon_send_exit(bob.sink, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bob.h.node, caf::exit_reason::user_shutdown);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10.0;  // voice_bench [seconds] [--stealing] [--only codec|pipeline|call|legacy]
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    if (a == "--stealing")
      stealing = true;
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else
      seconds = std::max(1.0, std::atof(argv[i]));
  }
  auto want = [&](const char* part) { return only.empty() || only == part; };
  if (want("codec"))
    for (auto p : {audio::profile::legacy, audio::profile::modern})
      codec_bench(p, seconds);
  if (want("pipeline")) {
    pipeline_bench(false, seconds);
    pipeline_bench(true, seconds);
  }
  if (want("call"))
    call_bench(seconds);
  if (want("legacy"))
    legacy_call_bench(seconds);
  return 0;
}
