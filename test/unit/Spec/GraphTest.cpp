//===- GraphTest.cpp - Blocks, heads, devices, variants, train and data ---===//
#include "rtml/Spec/Loader.h"

#include "SpecTestUtil.h"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fstream>
#include <sstream>

using namespace rtml;
using namespace rtml::spec;
using namespace rtml::spec::testing;

namespace {

const std::string header = "name: m\n"
                           "input: {channels: 3, height: 32, width: 32}\n"
                           "classes: 10\n";
const std::string tail = "  - {name: flat, op: flatten}\n"
                         "  - {name: fc, op: linear, out_features: 10}\n";

using Diags = std::vector<std::string>;
using Names = std::vector<std::string>;

std::vector<std::string> names(const ModelSpec &s) {
  std::vector<std::string> out;
  for (const LayerSpec &l : s.layers)
    out.push_back(l.name);
  return out;
}

const std::string inception =
    "blocks:\n"
    "  unit:\n"                 // 5
    "    args: [out, {k: 1}]\n" // 6
    "    layers:\n"             // 7
    "      - {name: conv, op: conv2d, out_channels: $out, kernel: $k}\n"
    "      - {name: relu, op: relu}\n"                    // 9
    "  inception:\n"                                      // 10
    "    args: [n1, n3r, n3, pp]\n"                       // 11
    "    layers:\n"                                       // 12
    "      - {name: b1, block: unit, args: {out: $n1}}\n" // 13
    "      - {name: b2.red, block: unit, args: {out: $n3r}, from: input}\n"
    "      - {name: b2, block: unit, args: [$n3, 3]}\n" // 15
    "      - {name: b3, op: max_pool2d, kernel: 3, stride: 1, padding: 1, "
    "from: input}\n" // 16
    "      - {name: b3.proj, block: unit, args: {out: $pp}}\n"
    "      - {name: cat, op: concat, from: [b1, b2, b3.proj]}\n";

TEST(Blocks, ExpandsWithQualifiedNamesAndResolvedInputs) {
  Result r = load(header + inception +
                  "layers:\n"
                  "  - {name: i3a, block: inception, args: {n1: 8, n3r: 4, "
                  "n3: 8, pp: 4}}\n"
                  "  - {name: i3b, block: inception, args: [16, 8, 16, 8]}\n" +
                  tail);
  ASSERT_TRUE(r.spec) << r.printed;
  const ModelSpec &s = *r.spec;
  EXPECT_EQ(s.layers.size(), 2u * 10u + 2u);
  EXPECT_EQ(names(s)[0], "i3a.b1.conv");
  const LayerSpec *red = s.layer("i3a.b2.red.conv");
  ASSERT_NE(red, nullptr);
  EXPECT_EQ(red->from, Names{"input"}); // the block's input = the model's
  const LayerSpec *b2 = s.layer("i3a.b2.conv");
  ASSERT_NE(b2, nullptr);
  EXPECT_EQ(b2->from, Names{"i3a.b2.red.relu"});
  EXPECT_EQ(b2->field("kernel").intList, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(b2->field("out_channels").intValue, 8);
  // The argument's value is located at the `$out` in the block text.
  EXPECT_EQ(b2->field("out_channels").location.line, 8);
  EXPECT_EQ(b2->location.line, 8);
  // Innermost use first: b2 (line 15), then i3a (line 20).
  ASSERT_EQ(b2->expansionLocations.size(), 2u);
  EXPECT_EQ(b2->expansionLocations[0].line, 15);
  EXPECT_EQ(b2->expansionLocations[1].line, 20);
  const LayerSpec *cat = s.layer("i3a.cat");
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->from,
            (Names{"i3a.b1.relu", "i3a.b2.relu", "i3a.b3.proj.relu"}));
  // The second use reads the first one's output (its last layer).
  EXPECT_EQ(s.layer("i3b.b1.conv")->from, Names{"i3a.cat"});
  EXPECT_EQ(s.layer("i3b.b1.conv")->field("out_channels").intValue, 16);
  EXPECT_EQ(s.layer("flat")->from, Names{"i3b.cat"});
  ASSERT_EQ(s.heads.size(), 1u);
  EXPECT_EQ(s.heads[0].name, "main");
  EXPECT_EQ(s.heads[0].output, "fc");
  EXPECT_TRUE(s.heads[0].main);
  EXPECT_DOUBLE_EQ(s.heads[0].lossWeight, 1.0);
}

TEST(Blocks, OutputInputsAndReferencesIntoUses) {
  Result r = load(header +
                  "blocks:\n"
                  "  res:\n"
                  "    inputs: [x, y]\n"
                  "    output: sum\n"
                  "    layers:\n"
                  "      - {name: sum, op: add, from: [x, y]}\n"
                  "      - {name: extra, op: relu}\n"
                  "layers:\n"
                  "  - {name: a, op: relu}\n"
                  "  - {name: b, op: relu, from: input}\n"
                  "  - {name: r, block: res, from: [a, b]}\n"
                  "  - {name: after, op: relu}\n"
                  "  - {name: side, op: relu, from: r.extra}\n" +
                  tail);
  ASSERT_TRUE(r.spec) << r.printed;
  EXPECT_EQ(r.spec->layer("r.sum")->from, (Names{"a", "b"}));
  // A use stands for its output, and the next item reads it by default.
  EXPECT_EQ(r.spec->layer("after")->from, Names{"r.sum"});
  EXPECT_EQ(r.spec->layer("side")->from, Names{"r.extra"});
}

TEST(Blocks, Errors) {
  Result r = load(header +
                  "blocks:\n"
                  "  a:\n"          // 5
                  "    args: [w]\n" // 6
                  "    layers:\n"   // 7
                  "      - {name: c, op: conv2d, out_channels: $w, kernel: "
                  "1}\n"                                           // 8
                  "      - {name: again, block: a, args: [1]}\n"   // 9
                  "layers:\n"                                      // 10
                  "  - {name: u1, block: a, args: {w: 4, x: 1}}\n" // 11
                  "  - {name: u2, block: a}\n"                     // 12
                  "  - {name: u3, block: b}\n" +                   // 13
                  tail);
  EXPECT_EQ(
      r.diags,
      (Diags{"11:39: error: block 'a' has no argument 'x'; did you mean "
             "'w'?",
             "12:6: error: block use 'u2' is missing argument 'w' of block "
             "'a'",
             "6:12: note: 'w' is declared here",
             "13:23: error: unknown block 'b' in block use 'u3'; did you mean "
             "'a'?"}))
      << r.printed;
}

TEST(Blocks, UseInsideItselfIsACycle) {
  Result r = load(header +
                  "blocks:\n"
                  "  a:\n"
                  "    layers: [{name: r, op: relu}, {name: x, block: b}]\n"
                  "  b:\n"
                  "    layers: [{name: y, block: a}]\n" // 8
                  "layers:\n"
                  "  - {name: u, block: a}\n" + // 10
                  tail);
  EXPECT_EQ(r.diags,
            (Diags{"8:31: error: block 'a' uses itself: 'a' uses 'b' uses 'a'",
                   "6:36: note: in 'u.x', a use of block 'b'",
                   "10:6: note: in 'u', a use of block 'a'"}))
      << r.printed;
}

TEST(Blocks, ErrorInBlockReportedOnceWithItsUse) {
  Result r = load(header +
                  "blocks:\n"
                  "  a:\n"
                  "    layers:\n"
                  "      - {name: c, op: conv2d, out_channels: 4, kernal: "
                  "1}\n" // 7
                  "layers:\n"
                  "  - {name: u1, block: a}\n" // 9
                  "  - {name: u2, block: a}\n" +
                  tail);
  EXPECT_EQ(r.diags,
            (Diags{"7:48: error: unknown key 'kernal' in layer 'c' of block "
                   "'a'; did you mean 'kernel'?",
                   "9:6: note: in 'u1', a use of block 'a'",
                   "7:10: error: layer 'c' of block 'a' (conv2d) is missing "
                   "required field 'kernel'",
                   "9:6: note: in 'u1', a use of block 'a'"}))
      << r.printed;
}

TEST(Blocks, ExponentialExpansionIsBounded) {
  // Each level uses the next ten times: 10^6 layers if nothing stopped it.
  std::string text = header + "blocks:\n";
  for (int i = 0; i < 6; ++i) {
    text += "  l" + std::to_string(i) + ":\n    layers:\n";
    for (int k = 0; k < 10; ++k)
      text += "      - {name: u" + std::to_string(k) +
              (i == 5 ? ", op: relu}\n"
                      : ", block: l" + std::to_string(i + 1) + "}\n");
  }
  text += "layers:\n  - {name: top, block: l0}\n" + tail;
  Result r = load(text);
  ASSERT_FALSE(r.spec);
  ASSERT_FALSE(r.diags.empty());
  EXPECT_NE(r.diags[0].find("error: the model expands to more than 10000 "
                            "layers and block uses"),
            std::string::npos)
      << r.diags[0];
}

TEST(Variants, EnabledRemovesLayersAndUses) {
  std::string text = header +
                     "params: {lrn: true, extra: true}\n"
                     "blocks:\n"
                     "  two:\n"
                     "    layers: [{name: r, op: relu}, {name: s, op: relu}]\n"
                     "layers:\n"
                     "  - {name: c, op: conv2d, out_channels: 4, kernel: 3}\n"
                     "  - {name: n, op: lrn, size: 5, enabled: $lrn}\n"
                     "  - {name: t, block: two, enabled: $extra}\n"
                     "  - {name: p, op: max_pool2d, kernel: 2}\n"
                     "  - {name: side, op: relu, from: n}\n" +
                     tail;
  Result on = load(text);
  ASSERT_TRUE(on.spec) << on.printed;
  EXPECT_EQ(names(*on.spec),
            (Names{"c", "n", "t.r", "t.s", "p", "side", "flat", "fc"}));
  Result off = load(text, {{"lrn", "false"}, {"extra", "False"}});
  ASSERT_TRUE(off.spec) << off.printed;
  EXPECT_EQ(names(*off.spec), (Names{"c", "p", "side", "flat", "fc"}));
  // Readers of a disabled layer read its input.
  EXPECT_EQ(off.spec->layer("p")->from, Names{"c"});
  EXPECT_EQ(off.spec->layer("side")->from, Names{"c"});
}

TEST(Devices, InheritedFromUsesAndOverridden) {
  Result r = load(header +
                  "devices: [gpu0, gpu1]\n"
                  "params: {side: gpu1}\n"
                  "blocks:\n"
                  "  tower:\n"
                  "    layers:\n"
                  "      - {name: c, op: conv2d, out_channels: 4, kernel: 3}\n"
                  "      - {name: r, op: relu, device: gpu0}\n"
                  "layers:\n"
                  "  - {name: t1, block: tower, device: $side}\n"
                  "  - {name: t2, block: tower, from: input}\n"
                  "  - {name: cat, op: concat, from: [t1, t2]}\n" +
                  tail);
  ASSERT_TRUE(r.spec) << r.printed;
  const ModelSpec &s = *r.spec;
  EXPECT_EQ(s.devices, (Names{"gpu0", "gpu1"}));
  EXPECT_EQ(s.deviceLocations[1].line, 4);
  EXPECT_EQ(s.layer("t1.c")->device, "gpu1");
  EXPECT_EQ(s.layer("t1.c")->deviceLocation.line, 12);
  EXPECT_EQ(s.layer("t1.r")->device, "gpu0"); // its own wins
  EXPECT_EQ(s.layer("t2.c")->device, "");     // nothing says
  EXPECT_EQ(s.layer("cat")->device, "");
}

TEST(Heads, MainFirstWithWeights) {
  Result r = load(header + "layers:\n"
                           "  - {name: f, op: flatten}\n"
                           "  - {name: aux, op: linear, out_features: 10}\n"
                           "  - {name: fc, op: linear, out_features: 10, "
                           "from: f}\n"
                           "heads:\n"
                           "  - {name: side, from: aux, loss_weight: 0.3}\n"
                           "  - {name: out, from: fc, main: true}\n");
  ASSERT_TRUE(r.spec) << r.printed;
  ASSERT_EQ(r.spec->heads.size(), 2u);
  EXPECT_EQ(r.spec->mainHead().name, "out");
  EXPECT_EQ(r.spec->heads[0].output, "fc");
  EXPECT_DOUBLE_EQ(r.spec->heads[0].lossWeight, 1.0);
  EXPECT_EQ(r.spec->heads[1].name, "side");
  EXPECT_FALSE(r.spec->heads[1].main);
  EXPECT_DOUBLE_EQ(r.spec->heads[1].lossWeight, 0.3);
  EXPECT_EQ(r.spec->heads[1].location.line, 9);
}

TEST(Train, ScheduleNesterovAndDefaults) {
  Result r = load(header + "layers:\n" + tail +
                  "train: {epochs: 30, momentum: 0.9, nesterov: true, "
                  "lr_schedule: {type: step, step_size: 10, gamma: 0.5}}\n");
  ASSERT_TRUE(r.spec) << r.printed;
  const TrainSpec &t = r.spec->train;
  EXPECT_TRUE(t.nesterov);
  EXPECT_EQ(t.lrSchedule, LrSchedule::Step);
  EXPECT_EQ(t.lrStepSize, 10);
  EXPECT_DOUBLE_EQ(t.lrGamma, 0.5);
  EXPECT_EQ(t.lrTMax, 30); // cosine's default, filled anyway

  Result c = load(header + "layers:\n" + tail +
                  "train: {epochs: 7, lr_schedule: cosine}\n");
  ASSERT_TRUE(c.spec) << c.printed;
  EXPECT_EQ(c.spec->train.lrSchedule, LrSchedule::Cosine);
  EXPECT_EQ(c.spec->train.lrTMax, 7);
  EXPECT_DOUBLE_EQ(c.spec->train.lrEtaMin, 0.0);

  Result d = load(header + "layers:\n" + tail);
  ASSERT_TRUE(d.spec);
  EXPECT_EQ(d.spec->train.lrSchedule, LrSchedule::Constant);
  EXPECT_FALSE(d.spec->train.nesterov);
}

TEST(Data, ShorthandFillsBothPipelines) {
  Result r = load(header + "layers:\n" + tail +
                  "train: {seed: 5}\n"
                  "data: {resize: 32, random_horizontal_flip: true, "
                  "normalize: {mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}, "
                  "split: {val: 5000}}\n");
  ASSERT_TRUE(r.spec) << r.printed;
  const DataSpec &d = r.spec->data;
  ASSERT_EQ(d.trainTransforms.size(), 3u);
  EXPECT_EQ(d.trainTransforms[0].kind, "resize");
  EXPECT_EQ(d.trainTransforms[1].kind, "random_horizontal_flip");
  EXPECT_EQ(d.trainTransforms[2].kind, "normalize");
  ASSERT_EQ(d.evalTransforms.size(), 2u);
  EXPECT_EQ(d.evalTransforms[1].std, (std::vector<double>{0.2, 0.2, 0.2}));
  EXPECT_EQ(d.splitVal, 5000);
  EXPECT_EQ(d.splitTrain, 0);
  EXPECT_EQ(d.splitSeed, 5); // train.seed
}

TEST(Data, PerPhaseLists) {
  Result r = load(header + "layers:\n" + tail +
                  "data:\n"
                  "  split: {train: 45000, val: 5000, seed: 1}\n"
                  "  train:\n"
                  "    - {random_resized_crop: {size: 32, scale: [0.5, 1]}}\n"
                  "    - {random_horizontal_flip: {p: 0.25}}\n"
                  "  eval:\n"
                  "    - {resize: [32, 32]}\n");
  ASSERT_TRUE(r.spec) << r.printed;
  const DataSpec &d = r.spec->data;
  ASSERT_EQ(d.trainTransforms.size(), 2u);
  EXPECT_EQ(d.trainTransforms[0].size, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(d.trainTransforms[0].scale, (std::vector<double>{0.5, 1.0}));
  EXPECT_NEAR(d.trainTransforms[0].ratio[1], 4.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(d.trainTransforms[1].p, 0.25);
  ASSERT_EQ(d.evalTransforms.size(), 1u);
  EXPECT_EQ(d.splitTrain, 45000);
  EXPECT_EQ(d.splitSeed, 1);
}

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every complete model in spec/FORMAT.md (a ```yaml block that starts with
// `format:` or `name:`) loads without a diagnostic.
TEST(FormatDoc, ExamplesLoad) {
  std::string doc = readFile(RTML_SOURCE_DIR "/spec/FORMAT.md");
  ASSERT_FALSE(doc.empty());
  size_t pos = 0;
  int examples = 0;
  while ((pos = doc.find("```yaml\n", pos)) != std::string::npos) {
    pos += 8;
    size_t end = doc.find("```", pos);
    ASSERT_NE(end, std::string::npos);
    std::string text = doc.substr(pos, end - pos);
    pos = end + 3;
    if (text.rfind("format:", 0) != 0 && text.rfind("name:", 0) != 0)
      continue;
    ++examples;
    DiagnosticEngine diag;
    auto spec = parseModelSpec(text, "FORMAT.md", diag);
    std::ostringstream os;
    diag.printAll(os);
    EXPECT_TRUE(spec.has_value()) << text << "\n" << os.str();
    EXPECT_TRUE(diag.diagnostics().empty()) << text << "\n" << os.str();
  }
  EXPECT_GE(examples, 4);
}

// The fuzzer's findings: each still fails cleanly with a located error.
TEST(FuzzRegressions, FailCleanly) {
  std::string dir = RTML_SOURCE_DIR "/test/fuzz/regressions";
  DIR *d = opendir(dir.c_str());
  ASSERT_NE(d, nullptr);
  int files = 0;
  while (dirent *e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() < 5 || name.substr(name.size() - 5) != ".yaml")
      continue;
    ++files;
    DiagnosticEngine diag;
    std::optional<ModelSpec> spec;
    EXPECT_NO_THROW(spec = loadModelSpec(dir + "/" + name, diag)) << name;
    EXPECT_FALSE(spec) << name;
    ASSERT_TRUE(diag.hasErrors()) << name;
    EXPECT_GT(diag.diagnostics()[0].location.line, 0) << name;
  }
  closedir(d);
  EXPECT_GE(files, 1);
}

} // namespace

namespace {

TEST(Limits, SizesAreBounded) {
  Result r = load("name: m\n"
                  "input: {channels: 3, height: 4000000, width: 32}\n"
                  "classes: 10\n"
                  "layers:\n"
                  "  - {name: c, op: conv2d, out_channels: 99999999999, "
                  "kernel: [3, 2000000]}\n"
                  "  - {name: flat, op: flatten}\n"
                  "  - {name: fc, op: linear, out_features: 10}\n"
                  "train: {seed: 123456789012}\n");
  EXPECT_EQ(r.diags,
            (Diags{"2:30: error: field 'height' of 'input' is too large, got "
                   "4000000 (at most 1048576)",
                   "5:41: error: field 'out_channels' of layer 'c' is too "
                   "large, got 99999999999 (at most 1048576)",
                   "5:66: error: field 'kernel' of layer 'c' is too large, got "
                   "2000000 (at most 1048576)"}))
      << r.printed;
}

} // namespace
