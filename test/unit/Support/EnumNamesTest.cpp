//===- EnumNamesTest.cpp - enumName reads a table, out of range too -------===//
#include "rtml/Support/EnumNames.h"

#include <gtest/gtest.h>

#include <string>

namespace {
enum class Colour { Red, Green, Blue };
constexpr const char *kColourNames[] = {"red", "green", "blue"};
} // namespace

TEST(EnumNames, NamesEachEnumeratorByItsPosition) {
  EXPECT_EQ(std::string(rtml::enumName(kColourNames, Colour::Red)), "red");
  EXPECT_EQ(std::string(rtml::enumName(kColourNames, Colour::Blue)), "blue");
}

TEST(EnumNames, AValueOutsideTheTableGetsTheFallback) {
  EXPECT_EQ(std::string(rtml::enumName(kColourNames, static_cast<Colour>(3))),
            "?");
  EXPECT_EQ(std::string(rtml::enumName(kColourNames, static_cast<Colour>(-1),
                                       "unknown")),
            "unknown");
}
