#include <doctest/doctest.h>

#include "core/transfer/range_set.hpp"

using mk::transfer::byte_range;
using mk::transfer::range_set;
using ir = range_set::insert_result;

TEST_CASE("range_set merges overlapping and adjacent ranges") {
  range_set s(8);
  CHECK(s.insert(2048, 3072) == ir::added);
  CHECK(s.insert(4096, 5120) == ir::added);
  CHECK(s.size() == 2);
  CHECK(s.insert(3072, 4096) == ir::added);  // fills the gap: one range
  CHECK(s.size() == 1);
  CHECK(s.lowest(16) == std::vector<byte_range>{{2048, 5120}});
  CHECK(s.insert(2048, 3072) == ir::duplicate);
  CHECK(s.contains(3000, 5000));
  CHECK_FALSE(s.contains(1000, 3000));
  CHECK(s.insert(1000, 6000) == ir::added);  // covers everything
  CHECK(s.lowest(16) == std::vector<byte_range>{{1000, 6000}});
  CHECK(s.bytes() == 5000);
}

TEST_CASE("range_set advance moves the cumulative point over held ranges") {
  range_set s(8);
  CHECK(s.insert(1024, 2048) == ir::added);
  CHECK(s.insert(3072, 4096) == ir::added);
  CHECK(s.advance(0) == 0);        // a hole at 0
  CHECK(s.advance(1024) == 2048);  // chunk 0 arrived: runs over [1024,2048)
  CHECK(s.size() == 1);
  CHECK(s.advance(3072) == 4096);
  CHECK(s.empty());
  CHECK(s.bytes() == 0);
}

TEST_CASE("range_set is bounded whatever is inserted") {
  range_set s(4);
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(s.insert(i * 2048, i * 2048 + 1024) == ir::added);
  CHECK(s.insert(100000, 101024) == ir::full);  // would need a fifth range
  CHECK(s.size() == 4);
  CHECK(s.insert(1024, 2048) == ir::added);  // merging needs no new range
  CHECK(s.size() == 3);
  for (std::uint64_t i = 0; i < 100000; ++i) (void)s.insert(1'000'000 + i * 4096, 1'000'000 + i * 4096 + 1);
  CHECK(s.size() == 4);
  CHECK(s.lowest(2).size() == 2);
  CHECK(s.lowest(2).front() == byte_range{0, 3072});
}
