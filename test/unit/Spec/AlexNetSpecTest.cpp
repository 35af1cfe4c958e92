//===- AlexNetSpecTest.cpp - models/alexnet.yaml loads as the seed's model ===//
#include "rtml/Spec/Loader.h"
#include "rtml/Support/Shapes.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace rtml;
using namespace rtml::spec;

namespace {

const std::string alexnetPath = RTML_SOURCE_DIR "/models/alexnet.yaml";

class AlexNetSpec : public ::testing::Test {
protected:
  void SetUp() override {
    auto loaded = loadModelSpec(alexnetPath, diag);
    std::ostringstream os;
    diag.printAll(os);
    ASSERT_TRUE(loaded.has_value()) << os.str();
    EXPECT_EQ(diag.diagnostics().size(), 0u) << os.str();
    spec = *loaded;
  }
  DiagnosticEngine diag;
  ModelSpec spec;
};

TEST_F(AlexNetSpec, TopLevel) {
  EXPECT_EQ(spec.file, alexnetPath);
  EXPECT_EQ(spec.format, 1);
  EXPECT_EQ(spec.name, "alexnet");
  EXPECT_EQ(spec.input.channels, 3);
  EXPECT_EQ(spec.input.height, 224);
  EXPECT_EQ(spec.input.width, 224);
  EXPECT_EQ(spec.classes, 10);
  ASSERT_EQ(spec.layers.size(), 24u);
  EXPECT_EQ(spec.params.at("classes").intValue, 10);
}

TEST_F(AlexNetSpec, LayerSequenceMatchesTheSeed) {
  std::vector<std::string> ops;
  std::string previous = "input";
  for (const LayerSpec &l : spec.layers) {
    ops.push_back(l.op);
    // A chain: each layer reads the one before it.
    EXPECT_EQ(l.from, std::vector<std::string>{previous}) << l.name;
    previous = l.name;
  }
  std::vector<std::string> expected = {
      "conv2d",  "relu",    "lrn",        "max_pool2d",
      "conv2d",  "relu",    "lrn",        "max_pool2d",
      "conv2d",  "relu",    "conv2d",     "relu",
      "conv2d",  "relu",    "max_pool2d", "adaptive_avg_pool2d",
      "flatten", "dropout", "linear",     "relu",
      "dropout", "linear",  "relu",       "linear"};
  EXPECT_EQ(ops, expected);
}

TEST_F(AlexNetSpec, FieldsNormalized) {
  const LayerSpec *conv1 = spec.layer("features_1.0");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->field("out_channels").intValue, 64);
  EXPECT_EQ(conv1->field("kernel").intList, (std::vector<int64_t>{11, 11}));
  EXPECT_EQ(conv1->field("stride").intList, (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(conv1->field("padding").intList, (std::vector<int64_t>{2, 2}));
  // Defaults filled.
  EXPECT_EQ(conv1->field("dilation").intList, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(conv1->field("groups").intValue, 1);
  EXPECT_TRUE(conv1->field("bias").boolValue);

  const LayerSpec *lrn = spec.layer("lrn1");
  ASSERT_NE(lrn, nullptr);
  EXPECT_EQ(lrn->field("size").intValue, 5);
  EXPECT_DOUBLE_EQ(lrn->field("alpha").floatValue, 1e-4);
  EXPECT_DOUBLE_EQ(lrn->field("beta").floatValue, 0.75);
  EXPECT_DOUBLE_EQ(lrn->field("k").floatValue, 2.0);
  EXPECT_EQ(lrn->field("k").kind, FieldValue::Kind::Float);

  const LayerSpec *pool = spec.layer("features_2.0");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->field("stride").intList, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(pool->field("padding").intList, (std::vector<int64_t>{0, 0}));
  EXPECT_FALSE(pool->field("ceil_mode").boolValue);

  EXPECT_EQ(spec.layer("avgpool")->field("output_size").intList,
            (std::vector<int64_t>{6, 6}));
  EXPECT_DOUBLE_EQ(spec.layer("classifier.3")->field("p").floatValue, 0.5);
  // $classes substituted.
  EXPECT_EQ(spec.layer("classifier.6")->field("out_features").intValue, 10);
}

TEST_F(AlexNetSpec, Locations) {
  const LayerSpec *conv1 = spec.layer("features_1.0");
  // `  - {name: features_1.0, op: conv2d, out_channels: 64, kernel: 11, ...`
  EXPECT_EQ(conv1->location.file, alexnetPath);
  EXPECT_EQ(conv1->location.line, 28);
  EXPECT_EQ(conv1->location.column, 6);
  EXPECT_EQ(conv1->opLocation.line, 28);
  EXPECT_EQ(conv1->opLocation.column, 30);
  EXPECT_EQ(conv1->field("kernel").location.line, 28);
  EXPECT_EQ(conv1->field("kernel").location.column, 64);
  // A defaulted field is located at its layer.
  EXPECT_EQ(conv1->field("groups").location.line, 28);
  EXPECT_EQ(conv1->field("groups").location.column, 6);
  const LayerSpec *fc3 = spec.layer("classifier.6");
  EXPECT_EQ(fc3->field("out_features").location.line, 54);
  EXPECT_EQ(fc3->field("out_features").location.column, 52);
  EXPECT_EQ(spec.classesLocation.line, 24);
  EXPECT_EQ(spec.classesLocation.column, 10);
  EXPECT_EQ(spec.train.keyLocations.at("lr").line, 60);
}

TEST_F(AlexNetSpec, TrainingSetUp) {
  EXPECT_EQ(spec.train.epochs, 20);
  EXPECT_EQ(spec.train.batchSize, 128);
  EXPECT_EQ(spec.train.optimizer, Optimizer::Sgd);
  EXPECT_DOUBLE_EQ(spec.train.learningRate, 0.01);
  EXPECT_DOUBLE_EQ(spec.train.momentum, 0.9);
  EXPECT_DOUBLE_EQ(spec.train.weightDecay, 5e-4);
  EXPECT_EQ(spec.train.seed, 0);
  const std::vector<TransformSpec> &train = spec.data.trainTransforms;
  ASSERT_EQ(train.size(), 3u);
  EXPECT_EQ(train[0].size, (std::vector<int64_t>{224, 224}));
  EXPECT_EQ(train[1].kind, "random_horizontal_flip");
  EXPECT_EQ(train[2].mean, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(train[2].std, (std::vector<double>{0.5, 0.5, 0.5}));
}

/// Walks the layers with the shared shape arithmetic: the spec must describe
/// the seed's network exactly (57,044,810 parameters, as PyTorch counts).
TEST_F(AlexNetSpec, ParameterCountMatchesPyTorch) {
  int64_t c = spec.input.channels, h = spec.input.height, w = spec.input.width,
          features = -1, params = 0;
  std::vector<std::string> withParams;
  for (const LayerSpec &l : spec.layers) {
    if (l.op == "conv2d") {
      const auto &k = l.field("kernel").intList, &s = l.field("stride").intList,
                 &p = l.field("padding").intList,
                 &d = l.field("dilation").intList;
      int64_t out = l.field("out_channels").intValue;
      params += conv2dParams(c, out, k[0], k[1], l.field("groups").intValue,
                             l.field("bias").boolValue);
      h = convOutputSize(h, k[0], s[0], p[0], d[0]);
      w = convOutputSize(w, k[1], s[1], p[1], d[1]);
      c = out;
      withParams.push_back(l.name);
    } else if (l.op == "max_pool2d") {
      const auto &k = l.field("kernel").intList, &s = l.field("stride").intList,
                 &p = l.field("padding").intList;
      bool ceil = l.field("ceil_mode").boolValue;
      h = poolOutputSize(h, k[0], s[0], p[0], ceil);
      w = poolOutputSize(w, k[1], s[1], p[1], ceil);
    } else if (l.op == "adaptive_avg_pool2d") {
      h = l.field("output_size").intList[0];
      w = l.field("output_size").intList[1];
    } else if (l.op == "flatten") {
      features = c * h * w;
    } else if (l.op == "linear") {
      int64_t out = l.field("out_features").intValue;
      params += features * out + (l.field("bias").boolValue ? out : 0);
      features = out;
      withParams.push_back(l.name);
    }
    ASSERT_GT(h, 0) << l.name;
  }
  EXPECT_EQ(features, 10);
  EXPECT_EQ(groupDigits(params), "57,044,810");
  // The state-dict keys of the seed's AlexNet (checked with PyTorch 1.13).
  EXPECT_EQ(withParams, (std::vector<std::string>{
                            "features_1.0", "features_2.1", "features_3.1",
                            "features_3.3", "features_3.5", "classifier.1",
                            "classifier.4", "classifier.6"}));
}

TEST(AlexNetOverride, SetClasses) {
  DiagnosticEngine diag;
  auto spec = loadModelSpec(alexnetPath, diag, {{"classes", "100"}});
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->classes, 100);
  EXPECT_EQ(spec->layer("classifier.6")->field("out_features").intValue, 100);
}

} // namespace
