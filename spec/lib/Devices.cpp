//===- Devices.cpp - The devices: section and a layer's device ------------===//
//
// The logical devices a model declares, the `device:` of a layer or block
// use, and `enabled:` (a variant switch), all resolved against parameters.
//
//===----------------------------------------------------------------------===//
#include "LoaderImpl.h"

namespace rtml::spec::detail {

void Loader::readDevices(const YAML::Node &node, ModelSpec &spec) {
  devicesGiven = true;
  if (!node.IsSequence() || node.size() == 0) {
    error(node, "key 'devices' expects a non-empty list of device names, got " +
                    describe(node));
    return;
  }
  std::map<std::string, SourceLocation> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    YAML::Node item = node[i];
    if (!isPlainScalar(item) || !isValidName(item.Scalar())) {
      error(item, "invalid device name " + describe(item) +
                      " in 'devices'; use letters, digits, '_', '-' and '.'");
      continue;
    }
    auto [prev, inserted] = seen.emplace(item.Scalar(), loc(item));
    if (!inserted) {
      error(item, "duplicate device " + quote(item.Scalar()) + " in 'devices'",
            {{prev->second, "first given here"}});
      continue;
    }
    deviceNames.insert(item.Scalar());
    spec.devices.push_back(item.Scalar());
    spec.deviceLocations.push_back(loc(item));
  }
}

bool Loader::readDevice(const YAML::Node &node, const std::string &owner,
                        std::string &device) {
  YAML::Node v;
  if (!resolve(node, v))
    return false;
  if (!isPlainScalar(v) || v.Scalar().empty()) {
    error(node, "key 'device' of " + owner + " expects a device name, got " +
                    describe(v));
    return false;
  }
  const std::string &name = v.Scalar();
  if (deviceNames.count(name)) {
    device = name;
    return true;
  }
  std::string message = "unknown device " + quote(name) + " in " + owner;
  if (!devicesGiven) {
    error(node, message + "; the model declares no devices (add 'devices: "
                          "[...]' at the top level)");
    return false;
  }
  std::vector<std::string> names(deviceNames.begin(), deviceNames.end());
  std::string suggested = withSuggestion(message, name, names);
  if (suggested == message) {
    suggested += "; the model declares";
    const char *sep = " ";
    for (const std::string &d : names) {
      suggested += sep + quote(d);
      sep = ", ";
    }
  }
  error(node, suggested);
  return false;
}

bool Loader::readEnabled(const YAML::Node &node, const std::string &owner,
                         bool &enabled) {
  YAML::Node v;
  if (!resolve(node, v))
    return false;
  if (!isPlainScalar(v) || !parseBool(v.Scalar(), enabled)) {
    error(node, "key 'enabled' of " + owner + " expects true or false, got " +
                    describe(v));
    return false;
  }
  return true;
}

} // namespace rtml::spec::detail
