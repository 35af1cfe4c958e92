//===- StateDictLoading.cpp - State dicts and checkpoints into the model --===//
//
// What the pickle machine rebuilt, checked for the shape the caller expects
// (a dict of tensors, a nested checkpoint dict, one tensor), and the one
// loader that copies a state dict into a model's parameters per a policy.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"

#include "PickleReader.h"
#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <set>
#include <sstream>
#include <stdexcept>

namespace rtml {

namespace {

std::string shapeOf(at::IntArrayRef sizes) {
  return shapeString(std::vector<int64_t>(sizes.begin(), sizes.end()));
}

bool isTensorDict(const PyRef &obj) {
  if (obj->kind != PyObject::Kind::Dict)
    return false;
  for (const auto &kv : obj->entries)
    if (kv.first->kind != PyObject::Kind::String ||
        kv.second->kind != PyObject::Kind::Tensor)
      return false;
  return true;
}

/// Dict entries one checkpoint may flatten to: a sub-dict shared under many
/// keys (no cycle, but exponentially many paths) must not run forever.
constexpr size_t kMaxCheckpointEntries = size_t(1) << 20;

/// Recursion is bounded by the pickle machine's kMaxPickleNesting.
void flatten(const PyRef &dict, const std::string &prefix, FlatDict &out,
             const std::string &path, size_t &visited) {
  for (const auto &[k, v] : dict->entries) {
    if (++visited > kMaxCheckpointEntries)
      throw fileError(path, "checkpoint has more than " +
                                std::to_string(kMaxCheckpointEntries) +
                                " entries");
    if (k->kind != PyObject::Kind::String)
      throw fileError(path, std::string("checkpoint key is a ") +
                                pickleKindName(k->kind) + ", not a str");
    std::string key = prefix + k->text;
    switch (v->kind) {
    case PyObject::Kind::Dict:
      flatten(v, key + "/", out, path, visited);
      break;
    case PyObject::Kind::Tensor:
      out.emplace_back(key, CheckpointValue::of(v->tensor));
      break;
    case PyObject::Kind::Int:
    case PyObject::Kind::Bool:
      out.emplace_back(key, CheckpointValue::of(v->intValue));
      break;
    case PyObject::Kind::Float:
      out.emplace_back(key, CheckpointValue::of(v->floatValue));
      break;
    case PyObject::Kind::String:
      out.emplace_back(key, CheckpointValue::of(v->text));
      break;
    default:
      throw fileError(path,
                      "checkpoint entry '" + key + "' is a " +
                          pickleKindName(v->kind) +
                          " (expected a tensor, int, float, str or dict)");
    }
  }
}

} // namespace

StateDict loadStateDict(const std::string &path) {
  PyRef root = loadTorchFile(path);
  if (root->kind == PyObject::Kind::Dict && !isTensorDict(root))
    for (const auto &kv : root->entries)
      if (kv.first->kind == PyObject::Kind::String &&
          (kv.first->text == "state_dict" ||
           kv.first->text == "model_state_dict") &&
          isTensorDict(kv.second)) {
        root = kv.second;
        break;
      }
  if (root->kind != PyObject::Kind::Dict)
    throw fileError(path, std::string("expected a state dict (a dict of "
                                      "tensors), found a ") +
                              pickleKindName(root->kind));
  StateDict state;
  for (const auto &kv : root->entries) {
    if (kv.first->kind != PyObject::Kind::String)
      throw fileError(path, std::string("state dict key is a ") +
                                pickleKindName(kv.first->kind) + ", not a str");
    if (kv.second->kind != PyObject::Kind::Tensor)
      throw fileError(path, "state dict entry '" + kv.first->text + "' is a " +
                                pickleKindName(kv.second->kind) +
                                ", not a tensor");
    state.emplace_back(kv.first->text, kv.second->tensor);
  }
  return state;
}

at::Tensor loadTensor(const std::string &path) {
  PyRef root = loadTorchFile(path);
  if (root->kind != PyObject::Kind::Tensor)
    throw fileError(path, std::string("expected a tensor saved with "
                                      "torch.save(tensor, path), found a ") +
                              pickleKindName(root->kind));
  return root->tensor;
}

void loadIntoRegistry(ParameterRegistry &registry, const StateDict &state,
                      const std::string &source) {
  loadWeights(registry, state, source, WeightsPolicy::exact());
}

WeightsPolicy WeightsPolicy::exact() {
  WeightsPolicy policy;
  policy.strict = true;
  policy.allowMissing = false;
  policy.hintFlags = false;
  return policy;
}

namespace {

/// Why a FILE tensor cannot become a parameter of dtype MODEL, or "".
std::string dtypeProblem(at::ScalarType file, at::ScalarType model) {
  if (!at::isFloatingType(model) || at::isFloatingType(file))
    return "";
  return std::string(c10::toString(file)) + " (a " + c10::toString(model) +
         " parameter takes float32, float64, float16 or bfloat16 values)";
}

/// "\n  WHAT: a, b" for a non-empty NAMES.
void listNames(std::ostringstream &msg, const char *what,
               const std::vector<std::string> &names) {
  if (names.empty())
    return;
  msg << "\n  " << what << ":";
  for (const std::string &n : names)
    msg << " " << n << (&n == &names.back() ? "" : ",");
}

} // namespace

WeightsReport loadWeights(ParameterRegistry &registry, const StateDict &state,
                          const std::string &source,
                          const WeightsPolicy &policy) {
  WeightsReport report;
  std::vector<std::string> wrongDtype;
  std::set<std::string> seen;
  std::vector<std::pair<std::string, at::Tensor>> toCopy;
  for (const auto &[name, tensor] : state) {
    at::Tensor param = registry.find(name);
    if (!param.defined()) {
      report.skipped.push_back(name);
      continue;
    }
    seen.insert(name);
    std::string badType =
        dtypeProblem(tensor.scalar_type(), param.scalar_type());
    if (!badType.empty()) {
      wrongDtype.push_back(name + " is " + badType);
      continue;
    }
    if (tensor.sizes() != param.sizes()) {
      report.reinitialized.push_back(name + " (file " +
                                     shapeOf(tensor.sizes()) + ", model " +
                                     shapeOf(param.sizes()) + ")");
      continue;
    }
    report.loaded.push_back(name);
    toCopy.emplace_back(name, tensor);
  }
  for (const ParameterSpec &spec : registry.specs())
    if (!seen.count(spec.name))
      report.missing.push_back(spec.name);
  bool mismatch = policy.strict &&
                  (!report.reinitialized.empty() || !report.skipped.empty());
  bool missing = !policy.allowMissing && !report.missing.empty();
  if (!wrongDtype.empty() || mismatch || missing) {
    std::ostringstream msg;
    msg << source << ": weights do not match the model";
    // Integer and bool values would be converted silently into nonsense
    // weights: always an error, whatever the policy.
    listNames(msg, "wrong dtype", wrongDtype);
    if (policy.strict) {
      listNames(msg, "shape mismatch", report.reinitialized);
      listNames(msg, "unexpected keys (not in the model)", report.skipped);
    }
    if (missing) {
      listNames(msg, "missing keys", report.missing);
      if (policy.hintFlags)
        msg << "\n  (--allow-missing keeps the initialization of missing "
               "parameters)";
    }
    throw std::runtime_error(msg.str());
  }
  c10::NoGradGuard noGrad;
  for (const auto &[name, tensor] : toCopy)
    registry.find(name).copy_(tensor);
  return report;
}

StateDict registryStateDict(const ParameterRegistry &registry) {
  StateDict state;
  for (size_t i = 0; i < registry.specs().size(); ++i)
    state.emplace_back(registry.specs()[i].name,
                       registry.tensors()[i].detach().to(at::kCPU));
  return state;
}

CheckpointValue CheckpointValue::of(at::Tensor t) {
  return {Kind::Tensor, std::move(t)};
}
CheckpointValue CheckpointValue::of(int64_t i) {
  return {Kind::Int, at::Tensor(), i};
}
CheckpointValue CheckpointValue::of(double d) {
  return {Kind::Float, at::Tensor(), 0, d};
}
CheckpointValue CheckpointValue::of(std::string text) {
  return {Kind::String, at::Tensor(), 0, 0, std::move(text)};
}

FlatDict loadFlatDict(const std::string &path) {
  PyRef root = loadTorchFile(path);
  if (root->kind != PyObject::Kind::Dict)
    throw fileError(path, std::string("expected a dict, found a ") +
                              pickleKindName(root->kind));
  FlatDict out;
  size_t visited = 0;
  flatten(root, "", out, path, visited);
  return out;
}

} // namespace rtml
