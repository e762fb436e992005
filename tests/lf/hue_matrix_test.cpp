// The constraint matrix and its explanations: the declarations a command table makes, the two
// bits derived from them, and the words a reviewer reads when asking "why can't these overlap?".
#include "lf/hue_table.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using lf::hue::HueId;
using lf::hue::HueMatrix;
using lf::hue::HueTable;
using lf::hue::kContextConflict;
using lf::hue::kGlobalConflict;
using lf::hue::Touches;

HueId add(HueTable& t, const std::string& name, const Touches& touches) {
  auto r = t.add(name, touches);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value() : 0;
}

// The slides' example: A conflicts with B through the context; C conflicts only with itself on
// a global; B conflicts with D on a global.
struct SlideTable {
  HueTable table;
  HueId a = add(table, "A", Touches().writes_context());
  HueId b = add(table, "B", Touches().reads_context().reads("sessions"));
  HueId c = add(table, "C", Touches().writes("counter"));
  HueId d = add(table, "D", Touches().writes("sessions"));
  HueMatrix m = table.build().value();
};

TEST(HueMatrix, SlideExampleBits) {
  SlideTable s;
  const HueMatrix& m = s.m;
  EXPECT_EQ(m.bits(s.a, s.a), kContextConflict);
  EXPECT_EQ(m.bits(s.a, s.b), kContextConflict);
  EXPECT_EQ(m.bits(s.b, s.a), kContextConflict);
  EXPECT_EQ(m.bits(s.a, s.c), 0);
  EXPECT_EQ(m.bits(s.a, s.d), 0);
  EXPECT_EQ(m.bits(s.b, s.b), 0);  // two readers of the context and of 'sessions'
  EXPECT_EQ(m.bits(s.b, s.c), 0);
  EXPECT_EQ(m.bits(s.b, s.d), kGlobalConflict);
  EXPECT_EQ(m.bits(s.d, s.b), kGlobalConflict);
  EXPECT_EQ(m.bits(s.c, s.c), kGlobalConflict);
  EXPECT_EQ(m.bits(s.c, s.d), 0);
  EXPECT_EQ(m.bits(s.d, s.d), kGlobalConflict);
  EXPECT_FALSE(m.is_free(s.c));
  EXPECT_TRUE(m.conflict_through_context(s.a, s.b));
  EXPECT_FALSE(m.conflict_on_global(s.a, s.b));
}

TEST(HueMatrix, SlideExampleExplanations) {
  SlideTable s;
  EXPECT_EQ(s.m.explain(s.a, s.b), "A and B conflict through the context: A writes it");
  EXPECT_EQ(s.m.explain(s.b, s.a), "B and A conflict through the context: A writes it");
  EXPECT_EQ(s.m.explain(s.a, s.a), "A and A conflict through the context: both write it");
  EXPECT_EQ(s.m.explain(s.c, s.c), "C and C conflict on global 'counter': both write it");
  EXPECT_EQ(s.m.explain(s.b, s.d),
            "B and D conflict on global 'sessions': D writes it, B reads it");
  EXPECT_EQ(s.m.explain(s.d, s.b),
            "D and B conflict on global 'sessions': D writes it, B reads it");
  EXPECT_EQ(s.m.explain(s.c, s.a), "C and A: no conflict");
}

TEST(HueMatrix, ServerCommandsExplainInWords) {
  HueTable t;
  HueId get = add(t, "GET", Touches().reads("keyspace").reads_context());
  HueId set = add(t, "SET", Touches().reads("keyspace").writes_context());
  HueId flushall = add(t, "FLUSHALL", Touches().writes("keyspace"));
  HueId dbsize = add(t, "DBSIZE", Touches().reads("keyspace"));
  HueId config_set = add(t, "CONFIG_SET", Touches().writes("config").reads("keyspace"));
  HueMatrix m = t.build().value();
  EXPECT_EQ(m.explain(set, flushall),
            "SET and FLUSHALL conflict on global 'keyspace': FLUSHALL writes it, SET reads it");
  EXPECT_EQ(m.explain(get, set), "GET and SET conflict through the context: SET writes it");
  EXPECT_EQ(m.explain(get, dbsize), "GET and DBSIZE: no conflict");
  EXPECT_EQ(m.explain(flushall, flushall),
            "FLUSHALL and FLUSHALL conflict on global 'keyspace': both write it");
  EXPECT_EQ(m.explain(config_set, flushall),
            "CONFIG_SET and FLUSHALL conflict on global 'keyspace': FLUSHALL writes it, "
            "CONFIG_SET reads it");
  EXPECT_EQ(m.bits(get, get), 0);
  EXPECT_EQ(m.bits(set, set), kContextConflict);
  EXPECT_EQ(m.bits(dbsize, set), 0);
  ASSERT_EQ(m.globals().size(), 2u);
  EXPECT_EQ(m.find("FLUSHALL"), flushall);
  EXPECT_FALSE(m.find("NOPE").has_value());
}

TEST(HueMatrix, SeveralReasonsAreAllNamed) {
  HueTable t;
  HueId x = add(t, "X", Touches().writes("a").reads("b").writes_context());
  HueId y = add(t, "Y", Touches().reads("a").writes("b").reads_context());
  HueMatrix m = t.build().value();
  EXPECT_EQ(m.bits(x, y), kGlobalConflict | kContextConflict);
  EXPECT_EQ(m.explain(x, y),
            "X and Y conflict on global 'a': X writes it, Y reads it; on global 'b': Y writes "
            "it, X reads it; through the context: X writes it");
}

TEST(HueMatrix, UndeclaredConflictsWithEverything) {
  HueTable t;
  HueId get = add(t, "GET", Touches().reads_context());
  HueId ping = add(t, "PING", Touches());
  auto debug = t.add_undeclared("DEBUG");
  auto script = t.add_undeclared("SCRIPT");
  ASSERT_TRUE(debug.ok() && script.ok());
  HueMatrix m = t.build().value();
  for (HueId h : {get, ping, debug.value(), script.value()}) {
    EXPECT_EQ(m.bits(debug.value(), h), kGlobalConflict) << m.name(h);
    EXPECT_EQ(m.bits(h, debug.value()), kGlobalConflict) << m.name(h);
    EXPECT_FALSE(m.is_free(h));
  }
  EXPECT_EQ(m.bits(get, ping), 0);
  EXPECT_EQ(m.explain(get, debug.value()),
            "GET and DEBUG conflict on every global: DEBUG is undeclared (an undeclared handler "
            "conflicts with everything)");
  EXPECT_EQ(m.explain(debug.value(), debug.value()),
            "DEBUG and DEBUG conflict on every global: DEBUG is undeclared (an undeclared "
            "handler conflicts with everything)");
  EXPECT_EQ(m.explain(debug.value(), script.value()),
            "DEBUG and SCRIPT conflict on every global: both are undeclared");
}

TEST(HueMatrix, HueThatTouchesNothingContestedIsFree) {
  HueTable t;
  HueId ping = add(t, "PING", Touches());
  HueId echo = add(t, "ECHO", Touches().reads_context().reads("motd"));
  HueMatrix m = t.build().value();
  EXPECT_TRUE(m.is_free(ping));
  EXPECT_TRUE(m.is_free(echo));  // nobody writes the context or 'motd'
}

TEST(HueMatrix, RejectsDuplicateAndEmptyNames) {
  HueTable t;
  ASSERT_TRUE(t.add("GET", Touches()).ok());
  auto dup = t.add("GET", Touches());
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "hue: handler 'GET' is already declared");
  EXPECT_FALSE(t.add_undeclared("GET").ok());
  EXPECT_FALSE(t.add("", Touches()).ok());
}

TEST(HueMatrix, RejectsTooManyGlobals) {
  HueTable t;
  Touches many;
  for (std::size_t i = 0; i <= lf::hue::kMaxGlobals; ++i) many.reads("g" + std::to_string(i));
  ASSERT_TRUE(t.add("WIDE", many).ok());
  auto m = t.build();
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("at most 63"), std::string::npos);
}

TEST(HueMatrix, ReadingAndWritingTheSameGlobalCountsAsWriting) {
  HueTable t;
  HueId incr = add(t, "INCRSTAT", Touches().reads("stats").writes("stats"));
  HueId info = add(t, "INFO", Touches().reads("stats"));
  HueMatrix m = t.build().value();
  EXPECT_TRUE(m.hue(incr).reads.empty());
  EXPECT_EQ(m.explain(info, incr),
            "INFO and INCRSTAT conflict on global 'stats': INCRSTAT writes it, INFO reads it");
}

TEST(HueMatrix, PrintsTheLowerTriangleLikeTheSlides) {
  SlideTable s;
  const std::string expected =
      "    A   B   C   D\n"
      "A   10\n"
      "B   10  00\n"
      "C   00  00  01\n"
      "D   00  01  00  01\n";
  const std::string out = s.m.to_string();
  EXPECT_EQ(out.substr(0, expected.size()), expected) << out;
  EXPECT_NE(out.find("bit 0: conflict on a global"), std::string::npos);
}

}  // namespace
