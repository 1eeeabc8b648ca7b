#include <doctest/doctest.h>

#include "core/audio/standing_delay.hpp"

using mk::audio::standing_delay;

TEST_CASE("standing delay: sheds only when the tightest moment of a whole window kept more than wanted") {
  standing_delay s{4};
  // A window whose least depth is the wanted depth: nothing to shed.
  for (std::size_t d : {6, 5, 3, 7}) CHECK_FALSE(s.shed_due(d, 3));
  // A window that never came down to 3: one shed, at the window's last pop only.
  CHECK_FALSE(s.shed_due(6, 3));
  CHECK_FALSE(s.shed_due(5, 3));
  CHECK_FALSE(s.shed_due(4, 3));
  CHECK(s.shed_due(8, 3));
  // A restart forgets the pops so far: the window counts from zero again.
  CHECK_FALSE(s.shed_due(9, 3));
  CHECK_FALSE(s.shed_due(9, 3));
  s.restart();
  CHECK_FALSE(s.shed_due(9, 3));
  CHECK_FALSE(s.shed_due(9, 3));
  CHECK_FALSE(s.shed_due(9, 3));
  CHECK(s.shed_due(9, 3));
}
