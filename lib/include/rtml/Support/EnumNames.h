//===- EnumNames.h - An enumeration's names, as a table ------------------===//
//
// How rtml names the enumerators of an enumeration whose values are 0, 1,
// 2, ... (what messages, the emitter and the file writers print): one array
// of names in enumerator order, read by enumName, rather than a switch
// that spells every case again. The settings' enumerations do the same
// through settings::EnumInfo (TrainSettings.h), which adds their C++ names.
//
//   constexpr const char *kSeverityNames[] = {"error", "warning", "note"};
//   static_assert(std::size(kSeverityNames) == size_t(Severity::Note) + 1);
//   enumName(kSeverityNames, Severity::Warning) // "warning"
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SUPPORT_ENUMNAMES_H
#define RTML_SUPPORT_ENUMNAMES_H

#include <cstddef>
#include <iterator>

namespace rtml {

/// NAMES[VALUE], or FALLBACK for a value outside the table (a cast from a
/// corrupt integer).
template <class Enum, std::size_t N>
constexpr const char *enumName(const char *const (&names)[N], Enum value,
                               const char *fallback = "?") {
  auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : fallback;
}

} // namespace rtml

#endif // RTML_SUPPORT_ENUMNAMES_H
