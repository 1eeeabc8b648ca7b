// Issue 12: between mokaccino nodes no data datagram needs IP fragmentation on any IPv6 path (1232 bytes of UDP
// payload), and at least 90 % of a full one is file data — encrypted (the sealed envelope) and plain (unsealed
// binary records). Checked on the wire, through an on-path relay that records every datagram.
#include <doctest/doctest.h>

#include "core/crypto/secure_channel.hpp"
#include "core/wire/record.hpp"
#include "support/attacker.hpp"
#include "support/file_harness.hpp"

using namespace mk;
using namespace mk::test;

TEST_CASE("files: between mokaccino nodes every datagram fits 1232 bytes and a full chunk is >= 90 % file data") {
  for (bool encrypt : {true, false}) {
    CAPTURE(encrypt);
    caf::actor_system_config cfg;
    caf::actor_system sys{configure(cfg)};
    file_pair t{sys, encrypt};
    on_path_relay mitm{t.bob.port()};
    t.connect(sys, mitm.address(), encrypt);
    auto src = make_file(t.out_dir / "chunks.bin", 2 * 1024 * 1024 + 100, 3);
    REQUIRE(ask<command_reply>(sys, t.alice.handle.node, file_send_atom::value, std::string{"bob"}, src.string()).ok);
    auto got = wait_transfer_end(t.bob, "chunks.bin", "receive", 60s);
    REQUIRE(got);
    CHECK(event_field(*got, "state") == "done");
    CHECK(same_bytes(src, t.in_dir / "chunks.bin"));
    std::size_t largest = 0, data_datagrams = 0;
    for (auto& r : mitm.records(from_a())) {
      largest = std::max(largest, r.bytes.size());
      const bool binary = encrypt ? crypto::secure_channel::is_envelope(r.bytes) : wire::is_plain_record(r.bytes);
      if (r.bytes.size() > 1000) {
        CHECK_MESSAGE(binary, r.bytes.substr(0, 30));  // every big datagram is a binary data record
        ++data_datagrams;
      }
    }
    CHECK(data_datagrams >= 2048);
    CHECK(largest <= 1232);
    const std::size_t full = encrypt ? 1024 + wire::file_record_header + crypto::secure_channel::overhead
                                     : 1024 + wire::file_record_header + 1;
    CHECK(largest == full);
    CHECK(1024.0 / static_cast<double>(full) >= 0.9);
  }
}
