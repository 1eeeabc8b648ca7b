// The asking side of introductions alone (actors/introduction_book.hpp): time passed in, nothing else.
#include <doctest/doctest.h>

#include "actors/introduction_book.hpp"
#include "core/limits.hpp"

using namespace mk;
using namespace std::chrono_literals;

namespace {
const introduction_book::time_point t0{};
}  // namespace

TEST_CASE("introduction book: a request is pending 10 s, then reported once as timed out") {
  introduction_book b;
  b.requested("carol", t0);
  b.requested("dave", t0 + 4s);
  CHECK(b.asked_for("carol"));
  CHECK(b.expire(t0 + limits::request_timeout - 1ms).empty());
  CHECK(b.expire(t0 + limits::request_timeout) == std::vector<std::string>{"carol"});
  CHECK_FALSE(b.asked_for("carol"));
  CHECK(b.asked_for("dave"));
  CHECK(b.expire(t0 + limits::request_timeout + 1s).empty());
  CHECK(b.expire(t0 + limits::request_timeout + 4s) == std::vector<std::string>{"dave"});
  CHECK(b.requests() == 0);
}

TEST_CASE("introduction book: a FAIL ends our own request only, and only once") {
  introduction_book b;
  CHECK_FALSE(b.failed("carol"));  // we never asked: ignored
  b.requested("carol", t0);
  CHECK(b.failed("carol"));
  CHECK_FALSE(b.failed("carol"));
  CHECK(b.expire(t0 + 1h).empty());  // nothing left to time out
}

TEST_CASE("introduction book: a pre-approval lasts the handshake timeout, a connection ends it and the request") {
  introduction_book b;
  b.preapprove("carol", t0);
  b.preapprove("dave", t0);
  b.requested("dave", t0);
  CHECK(b.preapproved("carol"));
  b.established("dave");
  CHECK_FALSE(b.preapproved("dave"));
  CHECK_FALSE(b.asked_for("dave"));
  CHECK(b.expire(t0 + limits::handshake_timeout - 1ms).empty());
  CHECK(b.preapproved("carol"));
  CHECK(b.expire(t0 + limits::handshake_timeout).empty());  // a lapsed approval is not reported
  CHECK_FALSE(b.preapproved("carol"));
}

TEST_CASE("introduction book: at most 64 requests in flight") {
  introduction_book b;
  for (std::size_t i = 0; i < limits::max_pending_requests; ++i) {
    REQUIRE(b.can_request());
    std::string user = "u";
    user += std::to_string(i);
    b.requested(user, t0);
  }
  CHECK_FALSE(b.can_request());
  b.requested("u0", t0 + 1s);  // asked again: still one request
  CHECK(b.requests() == limits::max_pending_requests);
  CHECK(b.failed("u0"));
  CHECK(b.can_request());
}
