// ParameterSet (host/core/params.hpp): packing, views by name, like(), layout text, errors.
#include <gtest/gtest.h>

#include "host/core/params.hpp"

using namespace naqs;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ParameterSet, PacksInOrderAndViewsShareTheFlatBuffer) {
  ParameterSet p;
  EXPECT_EQ(p.add("conv0.w", {4, 2, 3}), 0);
  EXPECT_EQ(p.add("conv0.b", {4}), 24);
  EXPECT_EQ(p.add("head.w", {2, 4}), 28);
  EXPECT_EQ(p.size(), 36);
  p.allocate(DType::f64, Device::cpu());
  Tensor flat = p.flat();
  EXPECT_EQ(flat.shape(), Shape({36}));
  for (double v : flat.to_vector<double>()) EXPECT_EQ(v, 0.0);  // zeroed

  Tensor b = p.get("conv0.b");
  EXPECT_EQ(b.shape(), Shape({4}));
  b.data<double>()[2] = 7.5;
  EXPECT_EQ(flat.to_vector<double>()[26], 7.5);
  flat.data<double>()[28 + 5] = -1;  // head.w[1,1]
  EXPECT_EQ(p.get("head.w").to_vector<double>()[5], -1);
  EXPECT_EQ(p.get("conv0.w").shape(), Shape({4, 2, 3}));

  ASSERT_EQ(p.layout().size(), 3u);
  EXPECT_EQ(p.layout()[2].name, "head.w");
  EXPECT_EQ(p.layout()[2].offset, 28);
  EXPECT_TRUE(p.contains("head.w"));
  EXPECT_FALSE(p.contains("head.b"));
}

TEST(ParameterSet, LikeHasTheSameLayoutAndAFreshZeroedBuffer) {
  ParameterSet p;
  p.add("a", {3});
  p.add("b", {2, 2});
  p.allocate(DType::f64, Device::cpu());
  p.get("a").data<double>()[0] = 1;
  ParameterSet g = p.like(DType::f32, Device::cpu());
  EXPECT_EQ(g.size(), 7);
  EXPECT_EQ(g.flat().dtype(), DType::f32);
  EXPECT_EQ(g.layout_text(), p.layout_text());
  for (float v : g.flat().to_vector<float>()) EXPECT_EQ(v, 0.0f);
  g.get("a").data<float>()[0] = 3;
  EXPECT_EQ(p.get("a").to_vector<double>()[0], 1.0);  // independent buffers
}

TEST(ParameterSet, LayoutTextRoundTrips) {
  ParameterSet p;
  p.add("emb", {5, 2});
  p.add("scalar", {1});
  p.add("w3", {2, 1, 3, 1});
  EXPECT_EQ(p.layout_text(), "emb 0 [5,2]\nscalar 10 [1]\nw3 11 [2,1,3,1]\n");
  ParameterSet q = ParameterSet::from_layout_text(p.layout_text());
  EXPECT_EQ(q.layout_text(), p.layout_text());
  EXPECT_EQ(q.size(), 17);
  EXPECT_FALSE(q.allocated());
  EXPECT_THROW(ParameterSet::from_layout_text("a 0 [2]\nb 3 [1]\n"), Error);  // gap
  EXPECT_THROW(ParameterSet::from_layout_text("a 0 2\n"), Error);             // no brackets
  EXPECT_THROW(ParameterSet::from_layout_text("a 0 [x]\n"), Error);
  EXPECT_THROW(ParameterSet::from_layout_text("a 0 [2] extra\n"), Error);
}

TEST(ParameterSet, ErrorsAreClear) {
  ParameterSet p;
  p.add("w", {2, 3});
  std::string dup = error_of([&] { p.add("w", {4}); });
  EXPECT_NE(dup.find("duplicate"), std::string::npos) << dup;
  EXPECT_NE(dup.find("'w'"), std::string::npos) << dup;
  EXPECT_NE(error_of([&] { p.add("", {1}); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { p.add("a b", {1}); }).find("whitespace"), std::string::npos);
  EXPECT_NE(error_of([&] { p.get("w"); }).find("allocate"), std::string::npos);
  EXPECT_THROW(p.flat(), Error);

  p.allocate(DType::f32, Device::cpu());
  std::string late = error_of([&] { p.add("b", {2}); });
  EXPECT_NE(late.find("already allocated"), std::string::npos) << late;
  std::string unknown = error_of([&] { p.get("bias"); });
  EXPECT_NE(unknown.find("unknown parameter 'bias'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("known: w"), std::string::npos) << unknown;
  EXPECT_THROW(p.allocate(DType::f32, Device::cpu()), Error);
  EXPECT_THROW(ParameterSet().allocate(DType::i32, Device::cpu()), Error);
}
