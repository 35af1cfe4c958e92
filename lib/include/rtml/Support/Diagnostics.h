//===- Diagnostics.h - Errors that point at a file, line and column -------===//
//
// Every user-facing error in rtml names the place it comes from:
//   FILE:LINE:COL: error: MESSAGE
//     <the source line>
//         ^
// The engine collects diagnostics so that several independent errors are
// reported in one run, and keeps the source text to show the offending line.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_SUPPORT_DIAGNOSTICS_H
#define RTML_SUPPORT_DIAGNOSTICS_H

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace rtml {

/// A position in a source file; line and column count from 1, 0 = unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  bool isKnown() const { return !file.empty(); }
  /// "FILE:LINE:COL", or "FILE" when the line is unknown.
  std::string str() const;
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLocation location;
  std::string message;
};

class DiagnosticEngine {
public:
  /// Remembers the text of FILE so that diagnostics in it show their line.
  void addSource(const std::string &file, std::string text);

  void error(const SourceLocation &loc, std::string message);
  void warning(const SourceLocation &loc, std::string message);
  void note(const SourceLocation &loc, std::string message);

  int errorCount() const { return errors; }
  bool hasErrors() const { return errors > 0; }
  const std::vector<Diagnostic> &diagnostics() const { return all; }

  /// Prints one diagnostic with its source line and a caret.
  void print(std::ostream &os, const Diagnostic &diag) const;
  /// Prints every diagnostic collected so far, in order.
  void printAll(std::ostream &os) const;

  /// The source line LINE (1-based) of FILE, if its text is known.
  bool sourceLine(const std::string &file, int line, std::string &out) const;

private:
  std::map<std::string, std::string> sources;
  std::vector<Diagnostic> all;
  int errors = 0;
};

/// The candidate closest to WORD by edit distance, or "" when none is close
/// enough to be a plausible typo ("did you mean ...").
std::string closestMatch(const std::string &word,
                         const std::vector<std::string> &candidates);

} // namespace rtml

#endif // RTML_SUPPORT_DIAGNOSTICS_H
