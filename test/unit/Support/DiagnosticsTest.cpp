//===- DiagnosticsTest.cpp - Located errors, source lines, suggestions ----===//
#include "rtml/Support/Diagnostics.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace rtml;

TEST(Diagnostics, LocationString) {
  EXPECT_EQ((SourceLocation{"m.yaml", 3, 7}).str(), "m.yaml:3:7");
  EXPECT_EQ((SourceLocation{"m.yaml", 3, 0}).str(), "m.yaml:3");
  EXPECT_EQ((SourceLocation{"m.yaml", 0, 0}).str(), "m.yaml");
  EXPECT_EQ(SourceLocation{}.str(), "<unknown>");
  EXPECT_FALSE(SourceLocation{}.isKnown());
}

TEST(Diagnostics, PrintsSourceLineAndCaret) {
  DiagnosticEngine diag;
  diag.addSource("m.yaml", "name: m\nlayers:\n  - {name: c, kernal: 3}\n");
  diag.error({"m.yaml", 3, 17}, "unknown key 'kernal'");
  diag.note({"m.yaml", 1, 1}, "model starts here");
  diag.warning({"other.yaml", 2, 4}, "no source text for this file");
  EXPECT_EQ(diag.errorCount(), 1);
  EXPECT_TRUE(diag.hasErrors());
  ASSERT_EQ(diag.diagnostics().size(), 3u);
  std::ostringstream os;
  diag.printAll(os);
  EXPECT_EQ(os.str(), "m.yaml:3:17: error: unknown key 'kernal'\n"
                      "  - {name: c, kernal: 3}\n"
                      "                ^\n"
                      "m.yaml:1:1: note: model starts here\n"
                      "name: m\n"
                      "^\n"
                      "other.yaml:2:4: warning: no source text for this "
                      "file\n");
}

TEST(Diagnostics, CaretKeepsTabsAndCrLf) {
  DiagnosticEngine diag;
  diag.addSource("t.yaml", "a: 1\r\n\tb: x\r\n");
  diag.error({"t.yaml", 2, 5}, "bad");
  std::ostringstream os;
  diag.printAll(os);
  EXPECT_EQ(os.str(), "t.yaml:2:5: error: bad\n\tb: x\n\t   ^\n");
}

TEST(Diagnostics, LongLineShowsAWindowAroundTheColumn) {
  // 1000 digits cycling 0-9; the error is at column 501 (a '0').
  std::string line;
  for (int i = 0; i < 1000; ++i)
    line += static_cast<char>('0' + i % 10);
  DiagnosticEngine diag;
  diag.addSource("l.yaml", line + "\n");
  diag.error({"l.yaml", 1, 501}, "here");
  std::ostringstream os;
  diag.printAll(os);
  // 60 characters before the column, 160 in all, "..." on both cut sides.
  std::string shown = "..." + line.substr(440, 160) + "...";
  EXPECT_EQ(os.str(),
            "l.yaml:1:501: error: here\n" + shown + "\n" +
                std::string(3 + 60, ' ') + "^\n");
  // Near the start the window begins at column 1, with no leading "...".
  DiagnosticEngine start;
  start.addSource("l.yaml", line + "\n");
  start.error({"l.yaml", 1, 3}, "here");
  std::ostringstream os2;
  start.printAll(os2);
  EXPECT_EQ(os2.str(), "l.yaml:1:3: error: here\n" + line.substr(0, 160) +
                           "...\n  ^\n");
}

TEST(Diagnostics, SourceLineBounds) {
  DiagnosticEngine diag;
  diag.addSource("f", "one\ntwo");
  std::string line;
  ASSERT_TRUE(diag.sourceLine("f", 2, line));
  EXPECT_EQ(line, "two");
  EXPECT_FALSE(diag.sourceLine("f", 3, line));
  EXPECT_FALSE(diag.sourceLine("f", 0, line));
  EXPECT_FALSE(diag.sourceLine("g", 1, line));
}

TEST(Diagnostics, ClosestMatch) {
  std::vector<std::string> keys = {"kernel",   "stride", "padding",
                                   "dilation", "groups", "bias"};
  EXPECT_EQ(closestMatch("kernal", keys), "kernel");
  EXPECT_EQ(closestMatch("strides", keys), "stride");
  EXPECT_EQ(closestMatch("padding", keys), "padding");
  // A swap of adjacent letters is one edit.
  EXPECT_EQ(closestMatch("sdt", {"mean", "std"}), "std");
  EXPECT_EQ(closestMatch("rleu", {"relu", "lrn", "linear"}), "relu");
  // Too far from everything: no suggestion rather than a misleading one.
  EXPECT_EQ(closestMatch("zzz", keys), "");
  EXPECT_EQ(closestMatch("optimizer", keys), "");
  EXPECT_EQ(closestMatch("x", {}), "");
}
