#pragma once
// A real `mokaccino` process (--json) running inside a network namespace, with its own home and download
// directory, and the helpers the real-link tests share: connecting two of them, a random file, waiting for a
// transfer's end and reading its measured rate.

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "cli/process.hpp"
#include "support/netns.hpp"
#include "support/temp_dir.hpp"

namespace mk::test {

inline constexpr std::uint16_t ns_node_port = 23232;  // any port is free in a fresh namespace

struct ns_node {
  std::string user;
  std::string ns;
  temp_home home;
  temp_dir downloads{"mk-netns-dl"};
  std::unique_ptr<child_process> proc;

  ns_node(std::string ns_name, std::string name, bool encrypt) : user(std::move(name)), ns(std::move(ns_name)) {
    home.write_config("[network]\nusername = \"" + user + "\"\n[network.connection]\ndefault_action = \"accept\"\n" +
                      "encrypt_by_default = " + (encrypt ? "true" : "false") + "\nrequire_encryption = " +
                      (encrypt ? "true" : "false") + "\n[network.file]\n" +
                      "default_action = \"accept\"\ndownload_dir = \"" + downloads.path().string() + "\"\n");
    start();
  }
  // (Again after kill9: the same home, identity, pins, downloads and port.)
  void start() {
    proc = std::make_unique<child_process>(netns_link::wrap(
      ns, {mokaccino_binary(), "--home", home.path().string(), "-p", std::to_string(ns_node_port), "--json"}));
  }
  void kill9() {
    proc->signal(SIGKILL);
    REQUIRE(proc->wait_exit(std::chrono::seconds(10)));
  }
  child_process* operator->() { return proc.get(); }
};

// `from` connects to `to` at `address` ("10.200.0.2:23232" or "[fd00:200::2]:23232"); both report it (and
// encryption when asked).
inline void connect_nodes(ns_node& from, ns_node& to, const std::string& address, bool encrypted) {
  using namespace std::chrono_literals;
  REQUIRE_MESSAGE(from->saw("Listening on UDP port", 10s), from->transcript());
  REQUIRE_MESSAGE(to->saw("Listening on UDP port", 10s), to->transcript());
  from->write_line("connect hostname " + address);
  REQUIRE_MESSAGE(from->saw("\"type\":\"connected\"", 10s), from->transcript());
  REQUIRE_MESSAGE(to->saw("\"type\":\"connected\"", 10s), to->transcript());
  if (encrypted) {
    REQUIRE_MESSAGE(from->saw(R"("type":"encryption")", 10s), from->transcript());
    REQUIRE_MESSAGE(to->saw(R"("type":"encryption")", 10s), to->transcript());
  }
}

// alice in one namespace, bob in the other, joined by a veth at `mtu`, connected over IPv4 or IPv6.
struct ns_pair {
  netns_link link;  // declared first: the nodes end before their namespaces go
  ns_node alice, bob;
  ns_pair(int mtu, bool v6, bool encrypted)
      : link{mtu}, alice{link.a(), "alice", encrypted}, bob{link.b(), "bob", encrypted} {
    auto port = std::to_string(ns_node_port);
    connect_nodes(alice, bob,
                  v6 ? std::string{"["} + netns_link::v6_b + "]:" + port : std::string{netns_link::v4_b} + ":" + port,
                  encrypted);
  }
};

inline std::filesystem::path random_file(const std::filesystem::path& p, std::uint64_t size, std::uint32_t seed) {
  std::mt19937_64 rng{seed};
  std::string bytes(size, '\0');
  for (auto& c : bytes)
    c = static_cast<char>(rng() >> 56);
  write_all(p, bytes);
  return p;
}

// The value of `"key":"..."` or `"key":<number>` in a --json line ("" if absent). Numbers are JSON numbers since
// issue 16 (docs/json.md).
inline std::string json_field(const std::string& line, const std::string& key) {
  auto at = line.find("\"" + key + "\":");
  if (at == std::string::npos)
    return {};
  at += key.size() + 3;
  if (at < line.size() && line[at] == '"')
    return line.substr(at + 1, line.find('"', at + 1) - at - 1);
  return line.substr(at, line.find_first_of(",}", at) - at);
}

// Waits for the end of the transfer of `name` in `direction` ("send"/"receive"); returns its JSON line.
inline std::optional<std::string> transfer_end(child_process& p, const std::string& name, const std::string& direction,
                                               std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t from = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto i = p.wait_for("\"name\":\"" + name + "\",\"direction\":\"" + direction + "\"", left, from);
    if (!i)
      return std::nullopt;
    auto& line = p.lines()[*i];
    auto state = json_field(line, "state");
    if (state == "done" || state == "failed" || state == "cancelled" || state == "refused")
      return line;
    from = *i + 1;
  }
  return std::nullopt;
}

// Datagrams the namespace's kernel cut into IP fragments so far (IPv4 and IPv6).
inline std::uint64_t fragments_created(const std::string& ns) {
  auto r = netns_link::exec(ns, "cat /proc/net/snmp /proc/net/snmp6");
  std::uint64_t n = 0;
  std::istringstream in{r.output};
  std::string line, header;
  while (std::getline(in, line)) {
    if (line.starts_with("Ip6FragCreates"))
      n += std::stoull(line.substr(line.find_last_of(" \t") + 1));
    if (line.starts_with("Ip: ") && header.empty()) {
      header = line;  // the names; the next "Ip: " line has the values
    } else if (line.starts_with("Ip: ")) {
      std::istringstream names{header}, values{line};
      std::string name, value;
      while (names >> name && values >> value)
        if (name == "FragCreates")
          n += std::stoull(value);
    }
  }
  return n;
}

}  // namespace mk::test
