//===- Transforms.cpp - The transform lists of data.train and data.eval ---===//
//
// Each list item is a transform name or {name: arguments}, read into a
// TransformSpec; the channels are followed along the list (normalize must
// match them, grayscale changes them) so that the list ends with the
// channels the network's input has.
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

namespace {

const std::vector<std::string> &transformKinds() {
  static const std::vector<std::string> kinds = {
      "resize", "random_horizontal_flip", "random_resized_crop", "normalize",
      "grayscale"};
  return kinds;
}

std::string transformKindList() {
  std::string list;
  for (const std::string &k : transformKinds())
    list += (list.empty() ? "" : ", ") + k;
  return list;
}

/// A transform's size: an integer or [h, w], positive.
const FieldSchema kSizeField{"size", FieldType::Pair, true,
                             0,      nullptr,         Constraint::Positive};

} // namespace

bool Loader::readNormalize(const YAML::Node &node, const std::string &section,
                           int64_t channels, TransformSpec &out) {
  if (!node.IsMap()) {
    std::string parent = section.substr(0, section.rfind('.'));
    error(node, "field 'normalize' of '" + parent +
                    "' expects a mapping {mean, std}, got " + describe(node));
    return false;
  }
  MapView nview = entriesOf(node, "in '" + section + "'");
  checkKeys(nview, {"mean", "std"}, "in '" + section + "'");
  bool ok =
      checkRequired(nview, {"mean", "std"}, loc(node), "'" + section + "'");
  std::vector<double> lists[2];
  const char *keys[2] = {"mean", "std"};
  for (int k = 0; k < 2; ++k) {
    const Entry *e = nview.find(keys[k]);
    if (!e)
      continue;
    std::string field =
        std::string("field '") + keys[k] + "' of '" + section + "'";
    if (!readNumberList(e->value, field, lists[k])) {
      ok = false;
      continue;
    }
    int64_t given = static_cast<int64_t>(lists[k].size());
    if (channels > 0 && given != channels) {
      error(e->value, field + " needs one value per input channel (" +
                          std::to_string(channels) + "), got " +
                          std::to_string(given));
      ok = false;
      continue;
    }
    if (channels <= 0 && given != 1 && given != 3) {
      error(e->value, field +
                          " before 'grayscale' needs one value per "
                          "channel of the data set (1 or 3), got " +
                          std::to_string(given));
      ok = false;
      continue;
    }
    if (k == 1) {
      for (double s : lists[k]) {
        if (s <= 0) {
          error(e->value,
                field + " values must be positive, got " + formatNumber(s));
          ok = false;
          break;
        }
      }
    }
  }
  out.kind = "normalize";
  out.location = loc(node);
  out.mean = lists[0];
  out.std = lists[1];
  return ok;
}

bool Loader::readResizedCropArgs(const YAML::Node &arg,
                                 const std::string &owner, TransformSpec &t) {
  FieldValue v;
  if (!arg.IsMap()) {
    if (!readField(arg, kSizeField, "the size of " + owner, v))
      return false;
    t.size = v.intList;
    return true;
  }
  MapView av = entriesOf(arg, "in " + owner);
  checkKeys(av, {"size", "scale", "ratio"}, "in " + owner);
  if (!checkRequired(av, {"size"}, loc(arg), owner))
    return false;
  bool ok = true;
  if (readField(av.find("size")->value, kSizeField, "field 'size' of " + owner,
                v))
    t.size = v.intList;
  else
    ok = false;
  const char *names[2] = {"scale", "ratio"};
  std::vector<double> *targets[2] = {&t.scale, &t.ratio};
  for (int k = 0; k < 2; ++k) {
    const Entry *e = av.find(names[k]);
    if (!e)
      continue;
    std::string field = std::string("field '") + names[k] + "' of " + owner;
    std::vector<double> range;
    if (!readNumberList(e->value, field, range)) {
      ok = false;
      continue;
    }
    if (range.size() != 2 || range[0] <= 0 || range[0] > range[1] ||
        (k == 0 && range[1] > 1)) {
      error(e->value, field + (k == 0 ? " expects [lo, hi] with 0 < lo "
                                        "<= hi <= 1"
                                      : " expects [lo, hi] with 0 < lo "
                                        "<= hi"));
      ok = false;
      continue;
    }
    *targets[k] = range;
  }
  return ok;
}

bool Loader::readOptionalArg(const YAML::Node &arg, const std::string &owner,
                             const FieldSchema &field, FieldValue &v,
                             bool &given) {
  given = false;
  if (!arg || arg.IsNull())
    return true;
  if (!arg.IsMap()) {
    error(arg, owner + " expects a mapping {" + field.name + "}, got " +
                   describe(arg));
    return false;
  }
  MapView av = entriesOf(arg, "in " + owner);
  checkKeys(av, {field.name}, "in " + owner);
  const Entry *e = av.find(field.name);
  if (!e)
    return true;
  given = true;
  v.location = loc(e->value);
  return readField(e->value, field,
                   "field " + quote(field.name) + " of " + owner, v);
}

bool Loader::readTransformArgs(const YAML::Node &kindNode,
                               const YAML::Node &arg, const std::string &what,
                               int64_t &channels, TransformSpec &t) {
  std::string owner = "'" + what + "." + t.kind + "'";
  bool hasArg = arg && !arg.IsNull();
  FieldValue v;
  bool given = false;
  if (t.kind == "resize") {
    if (!hasArg) {
      error(kindNode, "transform 'resize' in '" + what +
                          "' needs a size: {resize: 224} or {resize: "
                          "[h, w]}");
      return false;
    }
    if (!readField(arg, kSizeField, "the size of " + owner, v))
      return false;
    t.size = v.intList;
    return true;
  }
  if (t.kind == "random_horizontal_flip") {
    if (!readOptionalArg(arg, owner,
                         {"p", FieldType::Float, false, 0, nullptr,
                          Constraint::ClosedUnitInterval},
                         v, given))
      return false;
    if (given)
      t.p = v.floatValue;
    return true;
  }
  if (t.kind == "random_resized_crop") {
    if (!hasArg) {
      error(kindNode, "transform 'random_resized_crop' in '" + what +
                          "' needs a size: {random_resized_crop: 224} or "
                          "{random_resized_crop: {size: 224, scale: "
                          "[0.08, 1.0], ratio: [0.75, 1.333]}}");
      return false;
    }
    return readResizedCropArgs(arg, owner, t);
  }
  if (t.kind == "normalize") {
    if (!hasArg) {
      error(kindNode, "transform 'normalize' in '" + what +
                          "' needs {mean: [...], std: [...]}");
      return false;
    }
    TransformSpec n;
    if (!readNormalize(arg, what + ".normalize", channels, n))
      return false;
    t.mean = n.mean;
    t.std = n.std;
    channels = static_cast<int64_t>(t.mean.size());
    return true;
  }
  // grayscale
  if (!readOptionalArg(arg, owner,
                       {"num_output_channels", FieldType::Int, false, 0,
                        nullptr, Constraint::Positive},
                       v, given))
    return false;
  if (given && v.intValue != 1 && v.intValue != 3) {
    error(v.location, "field 'num_output_channels' of " + owner +
                          " must be 1 or 3, got " + std::to_string(v.intValue));
    return false;
  }
  if (given)
    t.numOutputChannels = v.intValue;
  if (channels > 0 && channels != 1 && channels != 3) {
    error(kindNode, "transform 'grayscale' in '" + what +
                        "' takes 1- or 3-channel images, got " +
                        std::to_string(channels));
    return false;
  }
  channels = t.numOutputChannels;
  return true;
}

bool Loader::readTransforms(const YAML::Node &node, const std::string &what,
                            bool training, int64_t channels,
                            std::vector<TransformSpec> &out) {
  const std::vector<std::string> &kinds = transformKinds();
  if (!node.IsSequence()) {
    error(node, "'" + what + "' expects a list of transforms (" +
                    transformKindList() + "), got " + describe(node));
    return false;
  }
  // The data set's channels are what the network takes unless a grayscale
  // step makes them so; before it, they are unknown (1 or 3).
  bool makesChannels = false;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    YAML::Node name =
        item.IsMap() && item.size() == 1 ? item.begin()->first : item;
    makesChannels |= name.IsScalar() && name.Scalar() == "grayscale";
  }
  int64_t inputChannels = channels;
  if (makesChannels)
    channels = -1;
  std::optional<size_t> lastGrayscale;
  bool ok = true;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    YAML::Node kindNode, arg;
    if (isPlainScalar(item)) {
      kindNode.reset(item);
    } else if (item.IsMap() && item.size() == 1 &&
               item.begin()->first.IsScalar()) {
      kindNode.reset(item.begin()->first);
      arg.reset(item.begin()->second);
    } else {
      error(item, "transform #" + std::to_string(i + 1) + " of '" + what +
                      "' expects a transform name or '{name: arguments}', "
                      "got " +
                      describe(item));
      ok = false;
      continue;
    }
    TransformSpec t;
    t.kind = kindNode.Scalar();
    t.location = loc(kindNode);
    if (std::find(kinds.begin(), kinds.end(), t.kind) == kinds.end()) {
      error(kindNode, withSuggestion("unknown transform " + quote(t.kind) +
                                         " in '" + what + "'",
                                     t.kind, kinds) +
                          (closestMatch(t.kind, kinds).empty()
                               ? "; supported: " + transformKindList()
                               : ""));
      ok = false;
      continue;
    }
    if (!training && t.kind.rfind("random_", 0) == 0) {
      error(kindNode, "transform " + quote(t.kind) + " in '" + what +
                          "' is random; evaluation transforms must be "
                          "deterministic");
      ok = false;
      continue;
    }
    if (!readTransformArgs(kindNode, arg, what, channels, t)) {
      ok = false;
      continue;
    }
    if (t.kind == "grayscale")
      lastGrayscale = out.size();
    out.push_back(t);
  }
  // What the last grayscale makes is what the network sees.
  if (ok && lastGrayscale && channels != inputChannels) {
    error(out[*lastGrayscale].location,
          "'grayscale' makes " + std::to_string(channels) +
              "-channel images but 'input' has " +
              std::to_string(inputChannels) +
              " channels; set num_output_channels to match");
    ok = false;
  }
  return ok;
}

} // namespace rtml::spec::detail
