//===- Data.cpp - The data: section ---------------------------------------===//
//
// The shorthand keys (resize, random_horizontal_flip, normalize) describe
// both pipelines and are expanded here, once, into the train and eval
// transform lists (Transforms.cpp reads lists given in full); both must end
// at the network's input size. `split:` is read through the data settings
// table (rtml/Support/TrainSettings.h).
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

namespace {

std::string sizeString(const std::vector<int64_t> &hw) {
  return std::to_string(hw[0]) + "x" + std::to_string(hw[1]);
}

} // namespace

void Loader::readData(const YAML::Node &node, ModelSpec &spec) {
  DataSpec &data = spec.data;
  int64_t channels = spec.input.channels;
  data.location = loc(node);
  if (!node.IsMap()) {
    error(node, "key 'data' expects a mapping, got " + describe(node));
    return;
  }
  MapView view = entriesOf(node, "in 'data'");
  checkKeys(view,
            {"resize", "random_horizontal_flip", "normalize", "train", "eval",
             "split"},
            "in 'data'");

  // The shorthand keys describe both pipelines; `train:` / `eval:` replace
  // them.
  const Entry *trainList = view.find("train");
  const Entry *evalList = view.find("eval");
  bool ok = true;
  if (trainList || evalList) {
    for (const char *key : {"resize", "random_horizontal_flip", "normalize"}) {
      if (const Entry *e = view.find(key)) {
        error(e->keyNode,
              "key " + quote(key) +
                  " in 'data' is shorthand for both pipelines; with "
                  "'data.train' or 'data.eval' given, put it in their lists");
        ok = false;
      }
    }
  }
  std::vector<TransformSpec> shorthandTrain, shorthandEval;
  FieldValue v;
  if (const Entry *e = view.find("resize")) {
    data.keyLocations["resize"] = loc(e->value);
    if (readField(e->value,
                  {"resize", FieldType::Pair, false, 0, nullptr,
                   Constraint::Positive},
                  "field 'resize' of 'data'", v)) {
      TransformSpec t;
      t.kind = "resize";
      t.size = v.intList;
      t.location = loc(e->keyNode);
      shorthandTrain.push_back(t);
      shorthandEval.push_back(t);
    }
  }
  if (const Entry *e = view.find("random_horizontal_flip")) {
    data.keyLocations["random_horizontal_flip"] = loc(e->value);
    if (readField(e->value,
                  {"random_horizontal_flip", FieldType::Bool, false, 0, nullptr,
                   Constraint::None},
                  "field 'random_horizontal_flip' of 'data'", v) &&
        v.boolValue) {
      TransformSpec t;
      t.kind = "random_horizontal_flip";
      t.location = loc(e->keyNode);
      shorthandTrain.push_back(t);
    }
  }
  if (const Entry *e = view.find("normalize")) {
    data.keyLocations["normalize"] = loc(e->value);
    if (const YAML::Node &n = e->value; n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it)
        if (it->first.IsScalar() &&
            (it->first.Scalar() == "mean" || it->first.Scalar() == "std"))
          data.keyLocations["normalize." + it->first.Scalar()] =
              loc(it->second);
    }
    TransformSpec t;
    if (readNormalize(e->value, "data.normalize", channels, t)) {
      shorthandTrain.push_back(t);
      shorthandEval.push_back(t);
    }
  }
  data.trainTransforms = shorthandTrain;
  data.evalTransforms = shorthandEval;
  if (trainList) {
    data.trainTransforms.clear();
    ok &= readTransforms(trainList->value, "data.train", true, channels,
                         data.trainTransforms);
  }
  if (evalList) {
    data.evalTransforms.clear();
    ok &= readTransforms(evalList->value, "data.eval", false, channels,
                         data.evalTransforms);
  }

  // The images a pipeline ends with are what the network sees.
  std::vector<int64_t> inputSize = {spec.input.height, spec.input.width};
  for (const auto *pipeline : {&data.trainTransforms, &data.evalTransforms}) {
    const TransformSpec *last = nullptr;
    for (const TransformSpec &t : *pipeline)
      if (!t.size.empty())
        last = &t;
    if (last && spec.input.height > 0 && spec.input.width > 0 &&
        last->size != inputSize) {
      error(last->location,
            quote(last->kind) + " makes " + sizeString(last->size) +
                " images but 'input' is " + sizeString(inputSize) +
                " (height x width); the network sees what the pipeline "
                "makes");
      ok = false;
    }
  }

  if (const Entry *e = view.find("split")) {
    data.keyLocations["split"] = loc(e->value);
    if (!e->value.IsMap()) {
      error(e->value, "field 'split' of 'data' expects a mapping {train, "
                      "val, seed}, got " +
                          describe(e->value));
      return;
    }
    MapView sv = entriesOf(e->value, "in 'data.split'");
    const std::vector<settings::SettingInfo> &table = settings::dataSettings();
    std::vector<std::string> keys;
    for (const settings::SettingInfo &info : table)
      keys.push_back(info.yamlKey);
    checkKeys(sv, keys, "in 'data.split'");
    checkRequired(sv, {"val"}, loc(e->value), "'data.split'");
    for (size_t i = 0; i < table.size(); ++i) {
      const Entry *fe = sv.find(table[i].yamlKey);
      if (!fe)
        continue;
      data.keyLocations[table[i].key] = loc(fe->value);
      if (readField(fe->value, fieldSchemaOf(table[i]),
                    "field " + quote(table[i].yamlKey) + " of 'data.split'", v))
        settings::set(data, i, v.intValue);
    }
  }
  (void)ok;
}

} // namespace rtml::spec::detail
