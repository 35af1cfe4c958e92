//===- LoaderTest.cpp - Validation and diagnostics of the spec loader -----===//
#include "rtml/Spec/Loader.h"

#include "SpecTestUtil.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace rtml;
using namespace rtml::spec;
using namespace rtml::spec::testing;

namespace {

/// A valid model whose layer list is LAYERS (each line indented 2).
std::string model(const std::string &layers, const std::string &extra = "") {
  return "name: m\n"
         "input: {channels: 3, height: 32, width: 32}\n"
         "classes: 10\n" +
         extra + "layers:\n" + layers;
}

using Diags = std::vector<std::string>;

TEST(Loader, MinimalModelDefaults) {
  Result r = load(model("  - {name: c, op: conv2d, out_channels: 8, "
                        "kernel: [3, 5]}\n"
                        "  - {name: p, op: max_pool2d, kernel: 2}\n"
                        "  - {name: d, op: dropout}\n"
                        "  - {name: f, op: flatten}\n"
                        "  - {name: fc, op: linear, out_features: 10, "
                        "bias: false}\n"));
  ASSERT_TRUE(r.spec) << r.printed;
  EXPECT_TRUE(r.diags.empty());
  const ModelSpec &s = *r.spec;
  EXPECT_EQ(s.format, 1);
  const LayerSpec &c = s.layers[0];
  EXPECT_EQ(c.field("kernel").intList, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(c.field("stride").intList, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(c.field("padding").intList, (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(c.field("dilation").intList, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(c.field("groups").intValue, 1);
  EXPECT_EQ(c.field("groups").location.line, 5);
  EXPECT_EQ(c.field("groups").location.column, 6);
  EXPECT_TRUE(c.field("bias").boolValue);
  EXPECT_EQ(c.fields.size(), 7u);
  // max_pool2d's stride defaults to its kernel.
  EXPECT_EQ(s.layers[1].field("stride").intList, (std::vector<int64_t>{2, 2}));
  EXPECT_FALSE(s.layers[1].field("ceil_mode").boolValue);
  EXPECT_DOUBLE_EQ(s.layers[2].field("p").floatValue, 0.5);
  EXPECT_TRUE(s.layers[3].fields.empty());
  EXPECT_FALSE(s.layers[4].field("bias").boolValue);
  // Train and data defaults as in ModelSpec.h.
  EXPECT_EQ(s.train.epochs, 1);
  EXPECT_EQ(s.train.batchSize, 32);
  EXPECT_EQ(s.train.optimizer, Optimizer::Sgd);
  EXPECT_TRUE(s.data.trainTransforms.empty());
  EXPECT_TRUE(s.data.evalTransforms.empty());
}

TEST(Loader, LrnDefaultsAndFloatsFromIntegers) {
  Result r = load(model("  - {name: n, op: lrn, size: 3, k: 2}\n"));
  ASSERT_TRUE(r.spec) << r.printed;
  const LayerSpec &n = r.spec->layers[0];
  EXPECT_DOUBLE_EQ(n.field("alpha").floatValue, 1e-4);
  EXPECT_DOUBLE_EQ(n.field("beta").floatValue, 0.75);
  EXPECT_DOUBLE_EQ(n.field("k").floatValue, 2.0);
  EXPECT_EQ(n.field("k").location.line, 5);
  EXPECT_EQ(n.field("k").location.column, 36);
}

TEST(Loader, FromScalarAndList) {
  Result r = load(model("  - {name: a, op: relu}\n"
                        "  - {name: b, op: relu, from: input}\n"
                        "  - {name: c, op: relu, from: [a]}\n"));
  ASSERT_TRUE(r.spec) << r.printed;
  // The default input is resolved too: the model input for the first layer.
  EXPECT_EQ(r.spec->layers[0].from, (std::vector<std::string>{"input"}));
  EXPECT_EQ(r.spec->layers[0].fromLocations[0].line, 5);
  EXPECT_EQ(r.spec->layers[0].fromLocations[0].column, 6);
  EXPECT_EQ(r.spec->layers[1].from, (std::vector<std::string>{"input"}));
  EXPECT_EQ(r.spec->layers[2].from, (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.spec->layers[2].fromLocations[0].line, 7);
  EXPECT_EQ(r.spec->layers[2].fromLocations[0].column, 32);
}

TEST(Loader, SyntaxError) {
  Result r = load("name: m\nlayers: [\n  {name: a, op: relu\n");
  ASSERT_EQ(r.diags.size(), 1u) << r.printed;
  EXPECT_EQ(r.diags[0].rfind("4:1: error: invalid YAML: ", 0), 0u)
      << r.diags[0];
}

TEST(Loader, EmptyAndNonMappingDocuments) {
  EXPECT_EQ(load("").diags,
            Diags{"1:1: error: expected a mapping with keys 'name', 'input', "
                  "'classes' and 'layers' at the top level, got an empty "
                  "document"});
  EXPECT_EQ(load("- a\n").diags,
            Diags{"1:1: error: expected a mapping with keys 'name', 'input', "
                  "'classes' and 'layers' at the top level, got a list of 1 "
                  "value"});
}

TEST(Loader, UnknownKeyInLayerWithSuggestion) {
  Result r = load(model("  - {name: conv1, op: conv2d, out_channels: 8, "
                        "kernal: 3}\n"));
  EXPECT_EQ(r.diags,
            (Diags{"5:48: error: unknown key 'kernal' in layer 'conv1'; did "
                   "you mean 'kernel'?",
                   "5:6: error: layer 'conv1' (conv2d) is missing required "
                   "field 'kernel'"}));
  // The printed form shows the line and a caret under the key.
  EXPECT_NE(r.printed.find("m.yaml:5:48: error: unknown key 'kernal'"),
            std::string::npos);
  EXPECT_NE(r.printed.find("\n  - {name: conv1, op: conv2d, out_channels: 8, "
                           "kernal: 3}\n" +
                           std::string(47, ' ') + "^\n"),
            std::string::npos)
      << r.printed;
}

TEST(Loader, UnknownKeysAtEveryLevel) {
  Result r = load("name: m\n"
                  "inputs: {channels: 3}\n"
                  "input: {channels: 3, height: 32, widht: 32}\n"
                  "classes: 10\n"
                  "layers: [{name: a, op: relu, form: input}]\n"
                  "train: {epoch: 3}\n"
                  "data: {normalize: {mean: [1, 1, 1], sdt: [1, 1, 1]}}\n"
                  "zzz: 1\n");
  EXPECT_EQ(
      r.diags,
      (Diags{
          "2:1: error: unknown key 'inputs' at the top level; did you mean "
          "'input'?",
          "8:1: error: unknown key 'zzz' at the top level",
          "3:34: error: unknown key 'widht' in 'input'; did you mean 'width'?",
          "3:8: error: 'input' is missing required key 'width'",
          "5:30: error: unknown key 'form' in layer 'a'; did you mean 'from'?",
          "6:9: error: unknown key 'epoch' in 'train'; did you mean 'epochs'?",
          "7:37: error: unknown key 'sdt' in 'data.normalize'; did you mean "
          "'std'?",
          "7:19: error: 'data.normalize' is missing required key 'std'"}))
      << r.printed;
}

TEST(Loader, WrongValueTypes) {
  Result r = load(model("  - {name: conv1, op: conv2d, out_channels: 8, "
                        "kernel: abc}\n"
                        "  - {name: c2, op: conv2d, out_channels: 2.5, "
                        "kernel: [1, 2, 3], bias: yes}\n"
                        "  - {name: n, op: lrn, size: 3, alpha: fast}\n"
                        "  - {name: p, op: max_pool2d, kernel: [2, x]}\n"
                        "  - {name: q, op: max_pool2d, kernel: {h: 2}}\n"
                        "  - {name: fc, op: linear, out_features: '10'}\n"));
  EXPECT_EQ(
      r.diags,
      (Diags{"5:56: error: field 'kernel' of layer 'conv1' expects an integer "
             "or a pair of integers, got 'abc'",
             "6:42: error: field 'out_channels' of layer 'c2' expects an "
             "integer, got '2.5'",
             "6:55: error: field 'kernel' of layer 'c2' expects an integer or "
             "a pair of integers, got a list of 3 values",
             "6:72: error: field 'bias' of layer 'c2' expects true or false, "
             "got 'yes'",
             "7:40: error: field 'alpha' of layer 'n' expects a number, got "
             "'fast'",
             "8:43: error: field 'kernel' of layer 'p' expects an integer or a "
             "pair of integers, got 'x'",
             "9:39: error: field 'kernel' of layer 'q' expects an integer or a "
             "pair of integers, got a mapping",
             "10:42: error: field 'out_features' of layer 'fc' expects an "
             "integer, got the quoted string '10'"}))
      << r.printed;
}

TEST(Loader, MissingRequired) {
  Result r = load("name: m\nclasses: 10\nlayers:\n"
                  "  - {op: relu}\n"
                  "  - {name: x}\n"
                  "  - {name: fc, op: linear}\n");
  EXPECT_EQ(r.diags,
            (Diags{"1:1: error: the model is missing required key 'input'",
                   "4:5: error: layer #1 is missing required key 'name'",
                   "5:6: error: layer 'x' is missing required key 'op'",
                   "6:6: error: layer 'fc' (linear) is missing required field "
                   "'out_features'"}))
      << r.printed;
}

TEST(Loader, DuplicateLayerNameWithNote) {
  Result r = load(model("  - {name: a, op: relu}\n"
                        "  - {name: b, op: relu}\n"
                        "  - {name: a, op: relu}\n"));
  EXPECT_EQ(r.diags, (Diags{"7:12: error: duplicate layer name 'a'",
                            "5:12: note: first defined here"}))
      << r.printed;
}

TEST(Loader, DuplicateKey) {
  Result r = load(model("  - {name: a, op: dropout, p: 0.1, p: 0.2}\n"));
  EXPECT_EQ(r.diags, (Diags{"5:36: error: duplicate key 'p' in layer #1",
                            "5:28: note: first given here"}))
      << r.printed;
}

TEST(Loader, UnknownOp) {
  Result r = load(model("  - {name: a, op: conv}\n"
                        "  - {name: b, op: softmax_xyz}\n"));
  EXPECT_EQ(r.diags,
            (Diags{"5:19: error: unknown op 'conv' in layer 'a'; did you mean "
                   "'conv2d'?",
                   "6:19: error: unknown op 'softmax_xyz' in layer 'b'"}))
      << r.printed;
}

TEST(Loader, FromErrors) {
  Result r = load(model("  - {name: a, op: relu, from: b}\n"
                        "  - {name: b, op: relu, from: bb}\n"
                        "  - {name: c, op: relu, from: c}\n"
                        "  - {name: d, op: relu, from: [a, b]}\n"
                        "  - {name: e, op: relu, from: {x: 1}}\n"));
  EXPECT_EQ(
      r.diags,
      (Diags{"5:31: error: layer 'a' reads from 'b', which is defined later; "
             "a layer may only read earlier layers",
             "6:12: note: 'b' is defined here",
             "6:31: error: layer 'b' reads from unknown layer 'bb'",
             "7:31: error: layer 'c' reads from itself",
             "8:31: error: op 'relu' takes 1 input, but layer 'd' names 2 in "
             "'from'",
             "9:31: error: key 'from' of layer 'e' expects a layer name or a "
             "list of layer names, got a mapping"}))
      << r.printed;
}

TEST(Loader, NonPositiveSizesAndRanges) {
  Result r =
      load("name: m\n"
           "input: {channels: 0, height: -1, width: 32}\n"
           "classes: 0\n"
           "layers:\n"
           "  - {name: c, op: conv2d, out_channels: 0, kernel: [3, 0], "
           "padding: -1}\n"
           "  - {name: d, op: dropout, p: 1}\n"
           // Groups that do not divide the channels are conv2d's shape
           // check, in the compiler: nothing for the loader to say.
           "  - {name: g, op: conv2d, out_channels: 6, kernel: 3, groups: 4}\n"
           "  - {name: p, op: max_pool2d, kernel: 2, padding: 2}\n"
           "train: {epochs: 0, lr: -0.1, batch_size: 8}\n");
  EXPECT_EQ(
      r.diags,
      (Diags{
          "3:10: error: key 'classes' must be positive, got 0",
          "2:19: error: field 'channels' of 'input' must be positive, got 0",
          "2:30: error: field 'height' of 'input' must be positive, got -1",
          "5:41: error: field 'out_channels' of layer 'c' must be positive, "
          "got 0",
          "5:56: error: field 'kernel' of layer 'c' must be positive, got 0",
          "5:69: error: field 'padding' of layer 'c' must not be negative, got "
          "-1",
          "6:31: error: field 'p' of layer 'd' must be in [0, 1), got 1",
          "8:51: error: field 'padding' of layer 'p' (2) must be at most half "
          "of field 'kernel' (2)",
          "9:17: error: field 'epochs' of 'train' must be positive, got 0",
          "9:24: error: field 'lr' of 'train' must be positive, got -0.1"}))
      << r.printed;
}

TEST(Loader, FormatVersionAndOptimizer) {
  Result r = load(model("  - {name: a, op: relu}\n",
                        "format: 2\ntrain: {optimizer: sdg}\n"));
  EXPECT_EQ(r.diags,
            (Diags{"4:9: error: format 2 is newer than this rtmlc supports "
                   "(1..1)",
                   "5:20: error: unknown optimizer 'sdg' in 'train'; did "
                   "you mean 'sgd'?"}))
      << r.printed;
}

TEST(Loader, DataNormalize) {
  Result ok = load(model("  - {name: a, op: relu}\n",
                         "data: {resize: 32, random_horizontal_flip: true, "
                         "normalize: {mean: [0.4, 0.5, 0.6], std: [1, 2, "
                         "3]}}\n"));
  ASSERT_TRUE(ok.spec) << ok.printed;
  const std::vector<TransformSpec> &train = ok.spec->data.trainTransforms;
  ASSERT_EQ(train.size(), 3u);
  EXPECT_EQ(train[0].size, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(train[1].kind, "random_horizontal_flip");
  EXPECT_EQ(train[2].mean, (std::vector<double>{0.4, 0.5, 0.6}));
  EXPECT_EQ(train[2].std, (std::vector<double>{1, 2, 3}));

  Result bad = load(model("  - {name: a, op: relu}\n",
                          "data: {normalize: {mean: [0.5, 0.5], std: [1, 0, "
                          "1]}}\n"));
  EXPECT_EQ(bad.diags,
            (Diags{"4:26: error: field 'mean' of 'data.normalize' needs one "
                   "value per input channel (3), got 2",
                   "4:43: error: field 'std' of 'data.normalize' values must "
                   "be positive, got 0"}))
      << bad.printed;
}

TEST(Loader, InvalidNames) {
  Result r = load(model("  - {name: 'a b', op: relu}\n"
                        "  - {name: input, op: relu}\n"));
  EXPECT_EQ(r.diags,
            (Diags{"5:12: error: invalid layer name 'a b'; use letters, "
                   "digits, '_', '-' and '.' (not at either end)",
                   "6:12: error: layer name 'input' is reserved for the model "
                   "input"}))
      << r.printed;
}

TEST(Loader, AllIndependentErrorsInOneRun) {
  // Errors in several layers and sections: every one is reported, and a bad
  // layer does not make its readers fail.
  Result r = load(model("  - {name: c1, op: conv2d, out_channels: 8, "
                        "kernal: 3}\n"
                        "  - {name: r1, op: rleu}\n"
                        "  - {name: p1, op: max_pool2d, kernel: 2, from: "
                        "r1}\n"
                        "  - {name: c1, op: relu}\n",
                        "train: {epochs: -1}\n"));
  EXPECT_EQ(r.diags,
            (Diags{"9:12: error: duplicate layer name 'c1'",
                   "6:12: note: first defined here",
                   "6:45: error: unknown key 'kernal' in layer 'c1'; did you "
                   "mean 'kernel'?",
                   "6:6: error: layer 'c1' (conv2d) is missing required field "
                   "'kernel'",
                   "7:20: error: unknown op 'rleu' in layer 'r1'; did you "
                   "mean 'relu'?",
                   "4:17: error: field 'epochs' of 'train' must be positive, "
                   "got -1"}))
      << r.printed;
}

TEST(Loader, ParamsAndOverrides) {
  std::string text = model("  - {name: c, op: conv2d, out_channels: $width, "
                           "kernel: $k}\n"
                           "  - {name: fc, op: linear, out_features: "
                           "$classes}\n",
                           "params: {width: 16, k: [3, 5]}\n");
  Result r = load(text);
  ASSERT_TRUE(r.spec) << r.printed;
  EXPECT_EQ(r.spec->layers[0].field("out_channels").intValue, 16);
  // The value is located at the `$width` that brought it.
  EXPECT_EQ(r.spec->layers[0].field("out_channels").location.line, 6);
  EXPECT_EQ(r.spec->layers[0].field("out_channels").location.column, 41);
  EXPECT_EQ(r.spec->layers[0].field("kernel").intList,
            (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(r.spec->params.at("width").intValue, 16);

  Result o = load(text, {{"width", "32"}, {"classes", "100"}, {"k", "7"}});
  ASSERT_TRUE(o.spec) << o.printed;
  EXPECT_EQ(o.spec->layers[0].field("out_channels").intValue, 32);
  EXPECT_EQ(o.spec->layers[0].field("kernel").intList,
            (std::vector<int64_t>{7, 7}));
  EXPECT_EQ(o.spec->classes, 100);
  EXPECT_EQ(o.spec->layers[1].field("out_features").intValue, 100);
  EXPECT_EQ(o.spec->params.at("classes").intValue, 100);

  Result bad = load(text, {{"widht", "32"}, {"classes", "ten"}});
  EXPECT_EQ(bad.diags,
            (Diags{"0:0: error: --set 'widht': the model has no parameter of "
                   "that name; did you mean 'width'?",
                   "0:0: error: key 'classes' expects an integer, got 'ten'"}))
      << bad.printed;
  EXPECT_NE(bad.printed.find("<command line>: error: --set 'widht'"),
            std::string::npos)
      << bad.printed;
}

TEST(Loader, UnknownParameterReference) {
  Result r = load(model("  - {name: fc, op: linear, out_features: $clases}\n"));
  EXPECT_EQ(r.diags, (Diags{"5:42: error: unknown parameter '$clases'; did "
                            "you mean '$classes'?"}))
      << r.printed;
}

TEST(Loader, ParseParamOverride) {
  ParamOverride o;
  ASSERT_TRUE(parseParamOverride("classes=100", o));
  EXPECT_EQ(o.name, "classes");
  EXPECT_EQ(o.value, "100");
  ASSERT_TRUE(parseParamOverride("k=[3, 3]", o));
  EXPECT_EQ(o.value, "[3, 3]");
  EXPECT_FALSE(parseParamOverride("classes", o));
  EXPECT_FALSE(parseParamOverride("=3", o));
}

TEST(Loader, MissingFile) {
  DiagnosticEngine diag;
  auto spec = loadModelSpec("/nonexistent/m.yaml", diag);
  EXPECT_FALSE(spec);
  ASSERT_EQ(diag.diagnostics().size(), 1u);
  EXPECT_EQ(diag.diagnostics()[0].location.file, "/nonexistent/m.yaml");
  EXPECT_EQ(diag.diagnostics()[0].message,
            "cannot open model file: no such file or directory");
}

TEST(Loader, NeverThrowsOnOddInput) {
  // Anchors, tags, deep nesting, binary junk: diagnostics, not exceptions.
  for (const char *text :
       {"a: &x [*x]\n", "name: !!binary AAAA\n", "{{{{{{{{{{", "\t- x",
        "name: m\nlayers: *undefined\n", "\xff\xfe\x00",
        "layers: [[[[[[[[[[[[[[]]]]]]]]]]]]]]\n"}) {
    DiagnosticEngine diag;
    std::optional<ModelSpec> spec;
    EXPECT_NO_THROW(spec = parseModelSpec(text, "m.yaml", diag)) << text;
    EXPECT_FALSE(spec) << text;
    EXPECT_TRUE(diag.hasErrors()) << text;
  }
}

} // namespace
