//===- rtml-data.cpp - Synthetic data sets and data set checks ------------===//
//
//   rtml-data synth --out DIR [--train N] [--test N] [--size 32] [--seed S]
//                   [--noise X]
//   rtml-data inspect DIR
//
// `inspect` checks a data set in any format the trainer reads (CIFAR-10
// binary or Python, IDX): CIFAR-10 binary file by file, the others through
// the runtime's readers.
//
// `synth` writes a learnable stand-in for CIFAR-10 in its binary format, so
// the trainers can be tested end to end where the real data set cannot be
// downloaded. Each record is 1 label byte followed by 32x32 red, then green,
// then blue bytes (row-major): 3073 bytes.
//
// Each of the 10 classes is a shape pattern (stripes of three orientations,
// disc, ring, cross, checkerboard, square, triangle, diamond) drawn in a
// colour near the class's own hue over a random background, with random
// position, size, phase and colour jitter plus Gaussian pixel noise. Colour
// alone is ambiguous (neighbouring hues overlap) and shape alone needs a
// few conv layers, so a small CNN learns it in a couple of epochs but a
// linear model on mean colour does not.
//
// Exit status: 0 success, 1 I/O or data errors, 2 usage errors.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Data.h"

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr int kSide = 32;
constexpr int kPixels = kSide * kSide;
constexpr int kRecord = 1 + 3 * kPixels; // 3073
constexpr int kClasses = 10;
constexpr int kTrainFiles = 5;

const std::array<const char *, kClasses> kClassNames = {"horizontal_stripes",
                                                        "vertical_stripes",
                                                        "diagonal_stripes",
                                                        "disc",
                                                        "ring",
                                                        "cross",
                                                        "checkerboard",
                                                        "square",
                                                        "triangle",
                                                        "diamond"};

const char *kTopUsage =
    "usage: rtml-data <command> [options]\n"
    "\n"
    "commands:\n"
    "  synth    write a synthetic 10-class data set in the CIFAR-10 binary "
    "format\n"
    "  inspect  check a data set (CIFAR-10, IDX, ImageFolder) and count its "
    "images\n"
    "\n"
    "Run 'rtml-data <command> --help' for the options of a command.\n";

const char *kSynthUsage =
    "usage: rtml-data synth --out DIR [--train N] [--test N] [--size 32]\n"
    "                       [--seed S] [--noise X]\n"
    "\n"
    "Writes DIR/data_batch_1.bin .. data_batch_5.bin (the training images,\n"
    "split as evenly as possible), DIR/test_batch.bin and\n"
    "DIR/batches.meta.txt (the 10 class names) in the CIFAR-10 binary\n"
    "format: records of 1 label byte and 32x32 R, G, B planes.\n"
    "\n"
    "options:\n"
    "  --out DIR    output directory (created if missing)\n"
    "  --train N    training images, N >= 1 (default 5000)\n"
    "  --test N     test images, N >= 1 (default 1000)\n"
    "  --size 32    image side; the format holds only 32x32 images\n"
    "  --seed S     random seed, an unsigned integer (default 0)\n"
    "  --noise X    standard deviation of the pixel noise, 0 <= X <= 1, as a\n"
    "               fraction of full scale (default 0.1)\n";

const char *kInspectUsage =
    "usage: rtml-data inspect DIR\n"
    "\n"
    "Any format the trainer reads: CIFAR-10 binary or Python, IDX (MNIST,\n"
    "Fashion-MNIST). For the CIFAR-10 binary format:\n"
    "Checks DIR/data_batch_1.bin .. data_batch_5.bin and DIR/test_batch.bin:\n"
    "each must hold a whole number of 3073-byte records with labels 0..9.\n"
    "Prints the records per file and per class; exits 1 naming the file if\n"
    "one is missing, unreadable or malformed.\n";

int usageError(const std::string &message, const char *usage) {
  std::cerr << "rtml-data: error: " << message << "\n\n" << usage;
  return 2;
}

/// splitmix64: tiny, fast, and the same on every platform and standard
/// library (std::normal_distribution is not), so a seed names one data set.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return next() % n; }
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300)
      u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

private:
  uint64_t state;
};

struct Rgb {
  double r, g, b;
};

Rgb hsv(double h, double s, double v) {
  h = h - std::floor(h);
  double x = h * 6.0;
  int i = static_cast<int>(x) % 6;
  double f = x - std::floor(x);
  double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (i) {
  case 0:
    return {v, t, p};
  case 1:
    return {q, v, p};
  case 2:
    return {p, v, t};
  case 3:
    return {p, q, v};
  case 4:
    return {t, p, v};
  default:
    return {v, p, q};
  }
}

/// Draws one image of class LABEL into RECORD (3073 bytes).
void drawImage(int label, double noise, Rng &rng, uint8_t *record) {
  record[0] = static_cast<uint8_t>(label);
  // Colours: the class hue, jittered by up to one class spacing, so that
  // neighbouring classes share colours and the shape has to be used too.
  double hue = label / static_cast<double>(kClasses) + rng.uniform(-0.1, 0.1);
  Rgb fg = hsv(hue, rng.uniform(0.5, 1.0), rng.uniform(0.6, 1.0));
  Rgb bg = hsv(rng.uniform(), rng.uniform(0.0, 0.6), rng.uniform(0.05, 0.45));
  // Position, size and phase jitter.
  double cx = 15.5 + rng.uniform(-5, 5), cy = 15.5 + rng.uniform(-5, 5);
  double size = rng.uniform(6, 10);
  double period = rng.uniform(5, 8), phase = rng.uniform(0, 6.283185307);
  double width = rng.uniform(1.5, 3.0);
  for (int y = 0; y < kSide; ++y) {
    for (int x = 0; x < kSide; ++x) {
      double dx = x - cx, dy = y - cy;
      double r = std::sqrt(dx * dx + dy * dy);
      bool on = false;
      switch (label) {
      case 0:
        on = std::sin(6.283185307 * y / period + phase) > 0;
        break;
      case 1:
        on = std::sin(6.283185307 * x / period + phase) > 0;
        break;
      case 2:
        on = std::sin(6.283185307 * (x + y) / (period * 1.4142) + phase) > 0;
        break;
      case 3:
        on = r < size;
        break;
      case 4:
        on = std::fabs(r - size - 1) < width * 0.8;
        break;
      case 5:
        on = (std::fabs(dx) < width || std::fabs(dy) < width) &&
             std::fabs(dx) < size + 2 && std::fabs(dy) < size + 2;
        break;
      case 6: {
        int cell = static_cast<int>(period * 0.8);
        int ox = static_cast<int>(phase * 10);
        on = (((x + ox) / cell) + ((y + ox / 3) / cell)) % 2 == 0;
        break;
      }
      case 7:
        on = std::fabs(dx) < size * 0.85 && std::fabs(dy) < size * 0.85;
        break;
      case 8: // upward triangle: apex at the top, base at cy + size
        on = dy < size * 0.8 && dy > -size && std::fabs(dx) < (dy + size) * 0.6;
        break;
      case 9:
        on = std::fabs(dx) + std::fabs(dy) < size * 1.1;
        break;
      }
      Rgb c = on ? fg : bg;
      double rgb[3] = {c.r, c.g, c.b};
      for (int ch = 0; ch < 3; ++ch) {
        double v = rgb[ch] + noise * rng.normal();
        v = std::min(1.0, std::max(0.0, v));
        record[1 + ch * kPixels + y * kSide + x] =
            static_cast<uint8_t>(std::lround(v * 255.0));
      }
    }
  }
}

/// Writes COUNT images with balanced, shuffled labels to FILES (split as
/// evenly as possible, earlier files one larger).
bool writeSplit(const std::vector<fs::path> &files, int64_t count, double noise,
                Rng &rng) {
  std::vector<uint8_t> labels(count);
  for (int64_t i = 0; i < count; ++i)
    labels[i] = static_cast<uint8_t>(i % kClasses);
  for (int64_t i = count - 1; i > 0; --i)
    std::swap(labels[i], labels[rng.below(i + 1)]);
  int64_t next = 0, n = static_cast<int64_t>(files.size());
  std::vector<uint8_t> record(kRecord);
  for (int64_t f = 0; f < n; ++f) {
    int64_t inFile = count / n + (f < count % n ? 1 : 0);
    std::ofstream out(files[f], std::ios::binary | std::ios::trunc);
    if (!out) {
      std::cerr << "rtml-data: error: cannot write " << files[f].string()
                << ": " << std::strerror(errno) << "\n";
      return false;
    }
    for (int64_t i = 0; i < inFile; ++i, ++next) {
      drawImage(labels[next], noise, rng, record.data());
      out.write(reinterpret_cast<const char *>(record.data()), kRecord);
    }
    out.close();
    if (!out) {
      std::cerr << "rtml-data: error: cannot write " << files[f].string()
                << "\n";
      return false;
    }
  }
  return true;
}

/// Parses a whole decimal integer in [lo, hi].
bool parseInt(const std::string &text, int64_t lo, int64_t hi, int64_t &out) {
  if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) ||
                        text[0] == '-' || text[0] == '+'))
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

/// Edit distance, for "did you mean" hints.
size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

/// " (did you mean '--train'?)" when an option of APP is close to ARG.
std::string didYouMean(const CLI::App &app, const std::string &arg) {
  std::string name = arg.substr(0, arg.find('='));
  std::string best;
  size_t bestDistance = 3; // farther than two edits is no hint
  for (const CLI::Option *opt : app.get_options())
    for (const std::string &longName : opt->get_lnames()) {
      size_t d = editDistance(name, "--" + longName);
      if (d < bestDistance) {
        bestDistance = d;
        best = "--" + longName;
      }
    }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

/// Parses ARGS into APP's options. Returns -1 to go on, else the exit
/// status: 0 after --help (USAGE printed), 2 for a usage error.
int parseArgs(CLI::App &app, std::vector<std::string> args, const char *usage) {
  bool help = false;
  app.set_help_flag();
  app.add_flag("-h,--help", help);
  std::reverse(args.begin(), args.end()); // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ExtrasError &) {
    // The first argument CLI11 left: an unknown option or a surplus value.
    std::vector<std::string> extras = app.remaining();
    std::string arg = extras.empty() ? "" : extras[0];
    if (!arg.empty() && arg[0] == '-')
      return usageError("unknown argument '" + arg + "'" + didYouMean(app, arg),
                        usage);
    return usageError("unexpected argument '" + arg + "'", usage);
  } catch (const CLI::ParseError &e) {
    return usageError(e.what(), usage);
  }
  if (help) {
    std::cout << usage;
    return 0;
  }
  return -1;
}

int synth(const std::vector<std::string> &args) {
  CLI::App app("rtml-data synth");
  std::string out, trainText, testText, sizeText, seedText, noiseText;
  for (auto [name, value] :
       {std::pair<const char *, std::string *>{"--out", &out},
        {"--train", &trainText},
        {"--test", &testText},
        {"--size", &sizeText},
        {"--seed", &seedText},
        {"--noise", &noiseText}})
    app.add_option(name, *value);
  app.allow_extras(false);
  if (int rc = parseArgs(app, args, kSynthUsage); rc >= 0)
    return rc;
  int64_t train = 5000, test = 1000, size = 32, seed = 0;
  double noise = 0.1;
  for (const char *name :
       {"--out", "--train", "--test", "--size", "--seed", "--noise"}) {
    if (app.count(name) == 0)
      continue;
    std::string value = app.get_option(name)->as<std::string>();
    if (std::string(name) == "--out") {
      if (value.empty())
        return usageError("--out needs a directory", kSynthUsage);
    } else if (std::string(name) == "--train" ||
               std::string(name) == "--test") {
      int64_t &n = std::string(name) == "--train" ? train : test;
      if (!parseInt(value, 1, 10000000, n))
        return usageError(std::string(name) +
                              " expects a whole number of images from 1 "
                              "to 10000000, got '" +
                              value + "'",
                          kSynthUsage);
    } else if (std::string(name) == "--size") {
      if (!parseInt(value, 1, 1 << 16, size))
        return usageError("--size expects an integer, got '" + value + "'",
                          kSynthUsage);
      if (size != kSide)
        return usageError("--size " + value +
                              ": the CIFAR-10 binary format holds 32x32 "
                              "images only; use --size 32",
                          kSynthUsage);
    } else if (std::string(name) == "--seed") {
      if (!parseInt(value, 0, INT64_MAX, seed))
        return usageError("--seed expects a non-negative integer, got '" +
                              value + "'",
                          kSynthUsage);
    } else {
      char *end = nullptr;
      noise = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(noise >= 0 && noise <= 1))
        return usageError("--noise expects a number from 0 to 1, got '" +
                              value + "'",
                          kSynthUsage);
    }
  }
  if (out.empty())
    return usageError("synth needs --out DIR", kSynthUsage);

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    std::cerr << "rtml-data: error: cannot create " << out << ": "
              << ec.message() << "\n";
    return 1;
  }
  fs::path dir(out);
  std::vector<fs::path> trainFiles;
  for (int i = 1; i <= kTrainFiles; ++i)
    trainFiles.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
  // Separate streams: the test set does not change with --train.
  Rng trainRng(static_cast<uint64_t>(seed) * 2 + 1);
  Rng testRng(static_cast<uint64_t>(seed) * 2 + 2);
  if (!writeSplit(trainFiles, train, noise, trainRng) ||
      !writeSplit({dir / "test_batch.bin"}, test, noise, testRng))
    return 1;
  std::ofstream meta(dir / "batches.meta.txt", std::ios::trunc);
  for (const char *name : kClassNames)
    meta << name << "\n";
  meta.close();
  if (!meta) {
    std::cerr << "rtml-data: error: cannot write "
              << (dir / "batches.meta.txt").string() << "\n";
    return 1;
  }
  std::cout << "wrote " << train << " training images in " << kTrainFiles
            << " files and " << test << " test images to " << out << "\n";
  return 0;
}

using Counts = std::array<int64_t, kClasses>;

std::string countsString(const Counts &c) {
  std::string s;
  for (int i = 0; i < kClasses; ++i)
    s += (i ? " " : "") + std::to_string(c[i]);
  return s;
}

/// Checks one file; adds its per-class counts to TOTAL. False (reported) on
/// any problem.
bool inspectFile(const fs::path &file, Counts &total, int64_t &records) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "rtml-data: error: " << file.string() << ": "
              << (fs::exists(file) ? "cannot read" : "missing") << "\n";
    return false;
  }
  std::vector<char> data((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  if (in.bad()) {
    std::cerr << "rtml-data: error: " << file.string() << ": read error\n";
    return false;
  }
  int64_t size = static_cast<int64_t>(data.size());
  if (size % kRecord != 0) {
    std::cerr << "rtml-data: error: " << file.string() << ": size " << size
              << " is not a whole number of " << kRecord << "-byte records ("
              << size / kRecord << " records and " << size % kRecord
              << " bytes left over)\n";
    return false;
  }
  records = size / kRecord;
  Counts counts{};
  int64_t bad = 0, firstBad = -1;
  int firstLabel = 0;
  for (int64_t r = 0; r < records; ++r) {
    int label = static_cast<uint8_t>(data[r * kRecord]);
    if (label >= kClasses) {
      if (bad++ == 0) {
        firstBad = r;
        firstLabel = label;
      }
      continue;
    }
    ++counts[label];
  }
  if (bad) {
    std::cerr << "rtml-data: error: " << file.string() << ": " << bad
              << " record" << (bad == 1 ? " has a label" : "s have labels")
              << " outside 0..9 (first: record " << firstBad << ", label "
              << firstLabel << ")\n";
    return false;
  }
  std::cout << file.filename().string() << ": " << records
            << " records, per class: " << countsString(counts) << "\n";
  for (int i = 0; i < kClasses; ++i)
    total[i] += counts[i];
  return true;
}

/// One split of a data set in any format the trainer reads: its images'
/// shape and per-class counts.
void describeSplit(const char *split, const rtml::Dataset &set) {
  std::vector<int64_t> shape = set.imageShape();
  std::cout << split << ": " << set.size() << " images of " << shape[0] << "x"
            << shape[1] << "x" << shape[2] << " (channels x height x width)"
            << (set.streamed() ? ", streamed from their files" : "")
            << ", per class:";
  at::Tensor counts = at::bincount(set.labels);
  for (int64_t c = 0; c < counts.size(0); ++c)
    std::cout << " " << counts[c].item<int64_t>();
  std::cout << "\n";
}

/// Formats other than CIFAR-10 binary: read as the trainer reads them.
int inspectThroughRuntime(const std::string &dir) {
  try {
    rtml::DataLocation at = rtml::locateData(dir);
    std::cout << "format: " << rtml::formatName(at.format) << " in " << at.dir
              << "\n";
    describeSplit("train", rtml::readTrainSet(dir));
    describeSplit("test", rtml::readTestSet(dir));
  } catch (const std::exception &e) {
    std::cerr << "rtml-data: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

int inspect(const std::vector<std::string> &args) {
  CLI::App app("rtml-data inspect");
  std::string dir;
  app.add_option("dir", dir);
  app.allow_extras(false);
  if (int rc = parseArgs(app, args, kInspectUsage); rc >= 0)
    return rc;
  if (dir.empty())
    return usageError("inspect needs a directory", kInspectUsage);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "rtml-data: error: " << dir << ": not a directory\n";
    return 1;
  }
  // CIFAR-10 binary keeps its per-file report; every other format is read
  // as the trainer reads it.
  bool cifarBinary = false;
  try {
    cifarBinary = rtml::locateData(dir).format == rtml::DataFormat::CifarBinary;
  } catch (const std::exception &) {
  }
  if (!cifarBinary && !fs::exists(fs::path(dir) / "data_batch_1.bin"))
    return inspectThroughRuntime(dir);
  bool ok = true;
  Counts train{}, test{};
  int64_t trainRecords = 0, testRecords = 0, n = 0;
  for (int i = 1; i <= kTrainFiles; ++i) {
    if (inspectFile(fs::path(dir) /
                        ("data_batch_" + std::to_string(i) + ".bin"),
                    train, n))
      trainRecords += n;
    else
      ok = false;
  }
  if (inspectFile(fs::path(dir) / "test_batch.bin", test, n))
    testRecords = n;
  else
    ok = false;
  if (!ok)
    return 1;
  std::cout << "train: " << trainRecords
            << " records, per class: " << countsString(train) << "\n"
            << "test: " << testRecords
            << " records, per class: " << countsString(test) << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    return usageError("no command given", kTopUsage);
  std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kTopUsage;
      return 0;
    }
    if (command == "synth")
      return synth(args);
    if (command == "inspect")
      return inspect(args);
  } catch (const std::exception &e) {
    // bad_alloc for a huge --train, filesystem errors: no stack traces.
    std::cerr << "rtml-data: error: " << e.what() << "\n";
    return 1;
  }
  return usageError("unknown command '" + command + "'", kTopUsage);
}
