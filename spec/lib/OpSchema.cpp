//===- OpSchema.cpp - The table of layer ops ------------------------------===//
//
// Keep this table and spec/FORMAT.md in step: every field listed here is
// documented there with the same default.
//
//===----------------------------------------------------------------------===//
#include "OpSchema.h"

namespace rtml::spec {

namespace {

FieldSchema required(const char *name, FieldType type,
                     Constraint c = Constraint::None) {
  return {name, type, true, 0.0, nullptr, c};
}

FieldSchema optional(const char *name, FieldType type, double def,
                     Constraint c = Constraint::None) {
  return {name, type, false, def, nullptr, c};
}

FieldSchema defaultsTo(const char *name, FieldType type, const char *other,
                       Constraint c = Constraint::None) {
  return {name, type, false, 0.0, other, c};
}

const std::vector<OpSchema> &table() {
  using FT = FieldType;
  using C = Constraint;
  static const std::vector<OpSchema> ops = {
      {"conv2d",
       {required("out_channels", FT::Int, C::Positive),
        required("kernel", FT::Pair, C::Positive),
        optional("stride", FT::Pair, 1, C::Positive),
        optional("padding", FT::Pair, 0, C::NonNegative),
        optional("dilation", FT::Pair, 1, C::Positive),
        optional("groups", FT::Int, 1, C::Positive),
        optional("bias", FT::Bool, 1)},
       1,
       1,
       "2-D convolution (nn.Conv2d)"},
      {"relu", {}, 1, 1, "rectified linear unit (nn.ReLU)"},
      {"lrn",
       {required("size", FT::Int, C::Positive),
        optional("alpha", FT::Float, 1e-4), optional("beta", FT::Float, 0.75),
        optional("k", FT::Float, 1.0)},
       1,
       1,
       "local response normalization across channels "
       "(nn.LocalResponseNorm)"},
      {"max_pool2d",
       {required("kernel", FT::Pair, C::Positive),
        defaultsTo("stride", FT::Pair, "kernel", C::Positive),
        optional("padding", FT::Pair, 0, C::NonNegative),
        optional("ceil_mode", FT::Bool, 0)},
       1,
       1,
       "2-D max pooling (nn.MaxPool2d)"},
      {"adaptive_avg_pool2d",
       {required("output_size", FT::Pair, C::Positive)},
       1,
       1,
       "adaptive average pooling to a fixed size (nn.AdaptiveAvgPool2d)"},
      {"flatten", {}, 1, 1, "flattens [N, C, H, W] to [N, C*H*W]"},
      {"dropout",
       {optional("p", FT::Float, 0.5, C::UnitInterval)},
       1,
       1,
       "dropout while training (nn.Dropout)"},
      {"linear",
       {required("out_features", FT::Int, C::Positive),
        optional("bias", FT::Bool, 1)},
       1,
       1,
       "fully connected layer (nn.Linear)"},
      {"concat", {}, 2, -1, "concatenation along channels (torch.cat(xs, 1))"},
      {"add", {}, 2, -1, "elementwise sum of inputs of one shape"},
      {"batch_norm",
       {optional("eps", FT::Float, 1e-5, C::Positive),
        optional("momentum", FT::Float, 0.1, C::ClosedUnitInterval)},
       1,
       1,
       "batch normalization over channels (nn.BatchNorm2d)"},
      {"avg_pool2d",
       {required("kernel", FT::Pair, C::Positive),
        defaultsTo("stride", FT::Pair, "kernel", C::Positive),
        optional("padding", FT::Pair, 0, C::NonNegative),
        optional("ceil_mode", FT::Bool, 0),
        optional("count_include_pad", FT::Bool, 1)},
       1,
       1,
       "2-D average pooling (nn.AvgPool2d)"},
  };
  return ops;
}

} // namespace

const FieldSchema *OpSchema::field(const std::string &key) const {
  for (const FieldSchema &f : fields)
    if (key == f.name)
      return &f;
  return nullptr;
}

std::vector<std::string> OpSchema::fieldNames() const {
  std::vector<std::string> names;
  for (const FieldSchema &f : fields)
    names.push_back(f.name);
  return names;
}

const OpSchema *lookupOp(const std::string &op) {
  for (const OpSchema &s : table())
    if (op == s.name)
      return &s;
  return nullptr;
}

std::vector<std::string> opNames() {
  std::vector<std::string> names;
  for (const OpSchema &s : table())
    names.push_back(s.name);
  return names;
}

const char *describeType(FieldType type) {
  switch (type) {
  case FieldType::Int:
    return "an integer";
  case FieldType::Float:
    return "a number";
  case FieldType::Bool:
    return "true or false";
  case FieldType::Pair:
    return "an integer or a pair of integers";
  case FieldType::String:
    return "a string";
  }
  return "a value";
}

} // namespace rtml::spec
