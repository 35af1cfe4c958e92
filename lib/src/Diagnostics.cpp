//===- Diagnostics.cpp ----------------------------------------------------===//
#include "rtml/Support/Diagnostics.h"
#include "rtml/Support/EnumNames.h"

#include <algorithm>
#include <sstream>

namespace rtml {

std::string SourceLocation::str() const {
  std::ostringstream os;
  os << (file.empty() ? "<unknown>" : file);
  if (line > 0) {
    os << ':' << line;
    if (column > 0)
      os << ':' << column;
  }
  return os.str();
}

void DiagnosticEngine::addSource(const std::string &file, std::string text) {
  sources[file] = std::move(text);
}

void DiagnosticEngine::error(const SourceLocation &loc, std::string message) {
  all.push_back({Severity::Error, loc, std::move(message)});
  ++errors;
}

void DiagnosticEngine::warning(const SourceLocation &loc, std::string message) {
  all.push_back({Severity::Warning, loc, std::move(message)});
}

void DiagnosticEngine::note(const SourceLocation &loc, std::string message) {
  all.push_back({Severity::Note, loc, std::move(message)});
}

bool DiagnosticEngine::sourceLine(const std::string &file, int line,
                                  std::string &out) const {
  auto it = sources.find(file);
  if (it == sources.end() || line <= 0)
    return false;
  const std::string &text = it->second;
  size_t begin = 0;
  for (int i = 1; i < line; ++i) {
    begin = text.find('\n', begin);
    if (begin == std::string::npos)
      return false;
    ++begin;
  }
  size_t end = text.find('\n', begin);
  out = text.substr(begin,
                    end == std::string::npos ? std::string::npos : end - begin);
  if (!out.empty() && out.back() == '\r')
    out.pop_back();
  return true;
}

static const char *severityName(Severity s) {
  static constexpr const char *kNames[] = {"error", "warning", "note"};
  static_assert(std::size(kNames) == size_t(Severity::Note) + 1);
  return enumName(kNames, s, "error");
}

void DiagnosticEngine::print(std::ostream &os, const Diagnostic &diag) const {
  os << diag.location.str() << ": " << severityName(diag.severity) << ": "
     << diag.message << '\n';
  std::string line;
  if (!sourceLine(diag.location.file, diag.location.line, line))
    return;
  size_t column = std::max(diag.location.column, 1) - 1;
  // A hostile or generated file may hold a line of megabytes: show a window
  // of it around the column, marked with "..." where it is cut.
  constexpr size_t kShownBefore = 60, kShownWidth = 160;
  std::string shown = line, lead;
  if (line.size() > kShownWidth) {
    size_t begin = column > kShownBefore ? column - kShownBefore : 0;
    begin = std::min(begin, line.size() - kShownWidth);
    shown = line.substr(begin, kShownWidth);
    if (begin + kShownWidth < line.size())
      shown += "...";
    if (begin > 0) {
      lead = "...";
      column = column - begin + lead.size();
    }
  }
  shown = lead + shown;
  os << shown << '\n';
  std::string pad;
  // Keep tabs so the caret lines up under the same column in a terminal.
  for (size_t i = 0; i < column && i < shown.size(); ++i)
    pad += shown[i] == '\t' ? '\t' : ' ';
  os << pad << "^\n";
}

void DiagnosticEngine::printAll(std::ostream &os) const {
  for (const Diagnostic &d : all)
    print(os, d);
}

/// Optimal string alignment distance: Levenshtein plus the swap of two
/// adjacent characters as one edit, the commonest typo ("sdt" for "std").
static size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, subst});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string closestMatch(const std::string &word,
                         const std::vector<std::string> &candidates) {
  std::string best;
  size_t bestDistance = std::string::npos;
  for (const std::string &c : candidates) {
    size_t d = editDistance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  // A typo changes a few characters; beyond a third of the word it is a
  // different word and a suggestion would mislead.
  size_t limit = std::max<size_t>(1, (word.size() + 2) / 3);
  return bestDistance <= limit ? best : std::string();
}

} // namespace rtml
