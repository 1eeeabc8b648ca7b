#pragma once
// Test support for file transfers: nodes with a download directory, temp dirs, random files, and waiting for
// transfer events.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>

#include "support/node_harness.hpp"

namespace mk::test {

namespace fs = std::filesystem;

class scratch_dir {
 public:
  scratch_dir() {
    auto tmpl = (fs::temp_directory_path() / "mk-files-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& n) const { return path_ / n; }

 private:
  fs::path path_;
};

// A file of `size` pseudo-random bytes (seeded: reproducible).
inline fs::path make_file(const fs::path& p, std::uint64_t size, std::uint32_t seed = 1) {
  std::mt19937_64 gen{seed};
  std::ofstream out{p, std::ios::binary};
  std::vector<std::uint64_t> block(8192);
  std::uint64_t left = size;
  while (left > 0) {
    for (auto& w : block)
      w = gen();
    auto n = std::min<std::uint64_t>(left, block.size() * 8);
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  return p;
}

inline bool same_bytes(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (!fs::exists(a, ec) || !fs::exists(b, ec) || fs::file_size(a) != fs::file_size(b))
    return false;
  std::ifstream x{a, std::ios::binary}, y{b, std::ios::binary};
  std::vector<char> bx(1 << 16), by(1 << 16);
  while (x && y) {
    x.read(bx.data(), static_cast<std::streamsize>(bx.size()));
    y.read(by.data(), static_cast<std::streamsize>(by.size()));
    if (x.gcount() != y.gcount() || !std::equal(bx.begin(), bx.begin() + x.gcount(), by.begin()))
      return false;
  }
  return true;
}

inline std::size_t entries(const fs::path& dir) {
  std::error_code ec;
  return static_cast<std::size_t>(std::distance(fs::directory_iterator{dir, ec}, {}));
}

inline config::node_config file_config(const std::string& user, bool encrypt,
                                       config::action files = config::action::accept) {
  auto c = make_config(user);
  c.encrypt_by_default = encrypt;
  c.require_encryption = encrypt;
  c.file.default_action = files;
  return c;
}

// start_node() with a download directory.
inline test_node start_file_node(caf::actor_system& sys, config::node_config cfg, const fs::path& downloads) {
  return start_node(sys, std::move(cfg), std::nullopt, {}, downloads);
}

// `file send <user> <path>` (a file or a folder).
inline command_reply send_file(caf::actor_system& sys, test_node& from, const std::string& user, const fs::path& p) {
  return ask<command_reply>(sys, from.handle.node, file_send_atom::value, user, p.string());
}

inline std::string event_field(const event& e, const std::string& key) { return mokaccino::field(e, key); }

// The final event of a transfer of `name` in `direction` ("send"/"receive"): state done, failed or cancelled.
inline std::optional<event> wait_transfer_end(test_node& n, const std::string& name, const std::string& direction,
                                              std::chrono::milliseconds timeout = 60s) {
  return n.events->wait_for(
    [&](const event& e) {
      if (e.kind != event_kind::transfer || event_field(e, "direction") != direction || event_field(e, "name") != name)
        return false;
      auto s = event_field(e, "state");
      return s == "done" || s == "failed" || s == "cancelled" || s == "refused";
    },
    timeout);
}

// "state bytes/size rate" of every progress event of `name`: what a failing test prints.
inline std::string progress_trace(test_node& n, const std::string& name) {
  std::string out;
  n.events->any([&](const event& e) {
    if (e.kind == event_kind::transfer && event_field(e, "name") == name)
      out += event_field(e, "direction") + " " + event_field(e, "state") + " " + event_field(e, "bytes") + "/" +
             event_field(e, "size") + " rate " + event_field(e, "rate") + " rtx " + event_field(e, "retransmits") +
             " rto " + event_field(e, "timeouts") + " cwnd " + event_field(e, "cwnd") + " srtt " + event_field(e, "srtt_us") + " " + e.text + "\n";
    return false;
  });
  return out;
}

// Two nodes, alice -> (relay) -> bob, connected; waits for encryption when asked.
// A plain chunk between mokaccino nodes is a binary record: 0x02 'F' id(48) offset(8, big-endian) data. For a relay
// hook: the first chunk at or past `offset` with byte `at` of its data flipped (same length, wrong content), once (counted in
// `done`); nullopt (forward unchanged) for every other datagram.
inline std::optional<std::string> flip_plain_chunk(const std::string& d, std::uint64_t offset, std::size_t at,
                                                   std::atomic<int>& done) {
  constexpr std::size_t data_at = 2 + 48 + 8;
  if (d.size() <= data_at + at || d[0] != 0x02 || d[1] != 'F')
    return std::nullopt;
  std::uint64_t o = 0;
  for (std::size_t i = 50; i < data_at; ++i)
    o = (o << 8) | static_cast<std::uint8_t>(d[i]);
  if (o < offset || done.exchange(1) != 0)  // the first chunk at or past `offset` (chunk sizes vary with the path)
    return std::nullopt;
  auto bad = d;
  bad[data_at + at] = static_cast<char>(bad[data_at + at] ^ 0xff);
  return bad;
}

// Both ends of a transfer whose data was corrupted on the way failed it: the receiver for a hash mismatch.
inline void check_hash_mismatch(test_node& sender, test_node& receiver, const std::string& name) {
  auto got = wait_transfer_end(receiver, name, "receive", 30s);
  REQUIRE(got);
  CHECK(event_field(*got, "state") == "failed");
  CHECK_MESSAGE(got->text.find("hash mismatch") != std::string::npos, got->text);
  auto sent = wait_transfer_end(sender, name, "send", 30s);
  REQUIRE(sent);
  CHECK(event_field(*sent, "state") == "failed");
}

struct file_pair {
  scratch_dir dir;
  fs::path out_dir = dir / "out";
  fs::path in_dir = dir / "in";
  test_node alice, bob;

  file_pair(caf::actor_system& sys, bool encrypt, config::action bob_files = config::action::accept)
      : alice(start_file_node(sys, file_config("alice", encrypt), dir / "alice-downloads")),
        bob(start_file_node(sys, file_config("bob", encrypt, bob_files), dir / "in")) {
    fs::create_directories(out_dir);
  }
  // Connects alice to `address` (bob, or a relay in front of bob).
  void connect(caf::actor_system& sys, const std::string& address, bool encrypt) {
    ask<command_reply>(sys, alice.handle.node, connect_host_atom::value, address);
    REQUIRE(alice.events->wait_kind(event_kind::connected));
    REQUIRE(bob.events->wait_kind(event_kind::connected));
    if (encrypt) {
      REQUIRE(alice.events->wait_for([](const event& e) { return e.kind == event_kind::encryption; }, 15s));
      REQUIRE(bob.events->wait_for([](const event& e) { return e.kind == event_kind::encryption; }, 15s));
    }
    // MKCAPS has been exchanged once both are up: wait until alice sees bob as a mokaccino node.
    for (int i = 0; i < 100; ++i) {
      auto info = ask<peer_info>(sys, alice.handle.node, user_info_atom::value, std::string{"bob"});
      if (info.mokaccino)
        break;
      std::this_thread::sleep_for(20ms);
    }
  }
  ~file_pair() {
    stop_node(alice);
    stop_node(bob);
  }
};

}  // namespace mk::test
