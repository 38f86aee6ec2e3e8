// Slow ED checks (kept out of the unit tier): the N = 20 periodic TFIM chain against the
// closed form.
#include <gtest/gtest.h>

#include "tests/support/ed_checks.hpp"

namespace naqs {
namespace {

TEST(EdSlow, TfimChain20MatchesClosedForm) {
  for (double h : {0.5, 1.0, 2.0}) testing::expect_tfim_chain_matches_closed_form(20, h);
}

}  // namespace
}  // namespace naqs
