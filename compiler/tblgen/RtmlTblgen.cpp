//===- RtmlTblgen.cpp - Generates the op registry from RtmlOps.td ---------===//
//
// rtml's TableGen backends. Every Rtml_SpecOp in RtmlOps.td declares its spec
// name and fields, and its runtime function; from these and the op's ODS
// arguments this tool writes what would otherwise be written by hand in five
// places, so that they cannot drift:
//
//   -gen-op-schema       the spec loader's op table (spec/lib/OpSchema.cpp)
//   -gen-import-dispatch the importer's code for ordinary ops
//   -gen-emitter-calls   the emitter's runtime calls, in ODS argument order
//   -gen-runtime-decls   runtime/include/rtml/Runtime/OpDecls.h
//   -gen-op-docs         the op table of spec/FORMAT.md
//
// Inconsistencies (an attribute of an ordinary op with no spec field of its
// name, a field of the wrong type) are errors at the op's line in the .td.
//
//===----------------------------------------------------------------------===//
#include "mlir/TableGen/Argument.h"
#include "mlir/TableGen/Attribute.h"
#include "mlir/TableGen/Operator.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/TableGen/Error.h"
#include "llvm/TableGen/Main.h"
#include "llvm/TableGen/Record.h"

#include <algorithm>
#include <memory>

using namespace llvm;
using mlir::tblgen::NamedAttribute;
using mlir::tblgen::NamedTypeConstraint;
using mlir::tblgen::Operator;

namespace {

enum class Action { OpSchema, ImportDispatch, EmitterCalls, RuntimeDecls, OpDocs };

cl::opt<Action> action(
    cl::desc("what to generate"),
    cl::values(
        clEnumValN(Action::OpSchema, "gen-op-schema",
                   "the spec loader's op table"),
        clEnumValN(Action::ImportDispatch, "gen-import-dispatch",
                   "the importer's dispatch for ordinary ops"),
        clEnumValN(Action::EmitterCalls, "gen-emitter-calls",
                   "the emitter's runtime calls"),
        clEnumValN(Action::RuntimeDecls, "gen-runtime-decls",
                   "the runtime's op declarations (a plain C++ header)"),
        clEnumValN(Action::OpDocs, "gen-op-docs",
                   "the op table of spec/FORMAT.md (Markdown)")));

/// One spec field of an op, as declared by Rtml_Field.
struct Field {
  std::string name, type, defaultValue, defaultFrom, constraint, doc;
  bool required() const { return defaultValue.empty() && defaultFrom.empty(); }
};

/// One Rtml_SpecOp with what the backends need of it.
struct SpecOp {
  const Record *def;
  /// Shared, not copied: an Operator points into its own storage.
  std::shared_ptr<Operator> op;
  std::string specName, specDoc, runtimeFunction;
  std::vector<Field> fields;
  int64_t minInputs, maxInputs;
  bool runtimeTraining, importGeneric;

  const Field *field(StringRef name) const {
    for (const Field &f : fields)
      if (f.name == name)
        return &f;
    return nullptr;
  }
};

const char *const kFieldTypes[] = {"int", "float", "bool", "pair"};
const char *const kConstraints[] = {"none", "positive", "non_negative",
                                    "unit_interval", "closed_unit_interval"};

/// The spec field type an attribute's C++ value corresponds to, or "".
StringRef fieldTypeOf(const mlir::tblgen::Attribute &attr) {
  StringRef ret = attr.getReturnType().trim();
  if (ret == "::llvm::ArrayRef<int64_t>")
    return "pair";
  if (ret == "uint64_t" || ret == "int64_t")
    return "int";
  if (ret == "::llvm::APFloat")
    return "float";
  if (ret == "bool")
    return "bool";
  return "";
}

std::vector<SpecOp> collectOps(const RecordKeeper &records) {
  std::vector<Record *> defs = records.getAllDerivedDefinitions("Rtml_SpecOp");
  // Definition order, which is the order users read them in.
  std::sort(defs.begin(), defs.end(),
            [](Record *a, Record *b) { return a->getID() < b->getID(); });
  std::vector<SpecOp> ops;
  for (const Record *def : defs) {
    SpecOp op{def,
              std::make_shared<Operator>(def),
              def->getValueAsString("specName").str(),
              def->getValueAsString("specDoc").str(),
              def->getValueAsString("runtimeFunction").str(),
              {},
              def->getValueAsInt("minInputs"),
              def->getValueAsInt("maxInputs"),
              def->getValueAsBit("runtimeTraining"),
              def->getValueAsBit("importGeneric")};
    for (const Record *f : def->getValueAsListOfDefs("specFields")) {
      Field field{f->getValueAsString("name").str(),
                  f->getValueAsString("type").str(),
                  f->getValueAsString("defaultValue").str(),
                  f->getValueAsString("defaultFrom").str(),
                  f->getValueAsString("constraint").str(),
                  f->getValueAsString("doc").str()};
      if (!is_contained(kFieldTypes, field.type))
        PrintFatalError(def->getLoc(), "field '" + field.name +
                                           "' has unknown type '" +
                                           field.type + "'");
      if (!is_contained(kConstraints, field.constraint))
        PrintFatalError(def->getLoc(), "field '" + field.name +
                                           "' has unknown constraint '" +
                                           field.constraint + "'");
      if (field.type == "bool" && !field.defaultValue.empty() &&
          field.defaultValue != "true" && field.defaultValue != "false")
        PrintFatalError(def->getLoc(), "bool field '" + field.name +
                                           "' needs the default true or false");
      op.fields.push_back(field);
    }
    for (const Field &f : op.fields)
      if (!f.defaultFrom.empty() && !op.field(f.defaultFrom))
        PrintFatalError(def->getLoc(), "field '" + f.name +
                                           "' defaults to unknown field '" +
                                           f.defaultFrom + "'");
    // The generated importer builds the op from its input(s) and fields.
    if (op.importGeneric) {
      for (int i = 0, e = op.op->getNumArgs(); i < e; ++i) {
        auto arg = op.op->getArg(i);
        if (auto *operand = dyn_cast<NamedTypeConstraint *>(arg)) {
          bool one = operand->name == "input" && !operand->isVariableLength();
          bool many = operand->name == "inputs" && operand->isVariadic();
          if (!one && !many)
            PrintFatalError(def->getLoc(),
                            "operand '" + operand->name +
                                "' is not the layer's input: set "
                                "importGeneric = 0 and import the op in "
                                "SpecImporter.cpp");
          continue;
        }
        auto *attr = cast<NamedAttribute *>(arg);
        const Field *f = op.field(attr->name);
        if (!f)
          PrintFatalError(def->getLoc(), "attribute '" + attr->name +
                                             "' has no spec field of its name");
        if (fieldTypeOf(attr->attr) != f->type)
          PrintFatalError(def->getLoc(),
                          "attribute '" + attr->name + "' (" +
                              attr->attr.getReturnType().trim() +
                              ") does not fit field type '" + f->type + "'");
      }
      for (const Field &f : op.fields)
        if (none_of(op.op->getAttributes(), [&](const NamedAttribute &a) {
              return a.name == f.name;
            }))
          PrintFatalError(def->getLoc(), "field '" + f.name +
                                             "' is no attribute of the op");
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

std::string camelCase(StringRef snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? toUpper(c) : c;
    upper = false;
  }
  return out;
}

std::string cppString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

/// SPECDOC on one line: the .td wraps it as code, FORMAT.md as prose.
std::string oneLine(StringRef text) {
  SmallVector<StringRef> words;
  SplitString(text, words);
  return join(words, " ");
}

/// TEXT wrapped at 78 columns.
std::string wrap(StringRef text) {
  SmallVector<StringRef> words;
  SplitString(text, words);
  std::string out, line;
  for (StringRef w : words) {
    if (!line.empty() && line.size() + 1 + w.size() > 78) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w.str();
  }
  return out + line;
}

//===----------------------------------------------------------------------===//
// Backends
//===----------------------------------------------------------------------===//

void emitOpSchema(const std::vector<SpecOp> &ops, raw_ostream &os) {
  os << "// The spec's op table, generated by rtml-tblgen -gen-op-schema from\n"
     << "// RtmlOps.td. Do not edit.\n";
  auto fieldType = [](StringRef t) {
    return StringSwitch<const char *>(t)
        .Case("int", "FT::Int")
        .Case("float", "FT::Float")
        .Case("bool", "FT::Bool")
        .Default("FT::Pair");
  };
  auto constraint = [](StringRef c) {
    return StringSwitch<const char *>(c)
        .Case("positive", "C::Positive")
        .Case("non_negative", "C::NonNegative")
        .Case("unit_interval", "C::UnitInterval")
        .Case("closed_unit_interval", "C::ClosedUnitInterval")
        .Default("C::None");
  };
  for (const SpecOp &op : ops) {
    os << "{" << cppString(op.specName) << ",\n {";
    for (const Field &f : op.fields) {
      std::string def =
          f.type == "bool" ? (f.defaultValue == "true" ? "1" : "0")
                           : (f.defaultValue.empty() ? "0" : f.defaultValue);
      os << "\n  FieldSchema{" << cppString(f.name) << ", "
         << fieldType(f.type) << ", " << (f.required() ? "true" : "false")
         << ", " << def << ", "
         << (f.defaultFrom.empty() ? "nullptr" : cppString(f.defaultFrom))
         << ", " << constraint(f.constraint) << "},";
    }
    os << "},\n " << op.minInputs << ", " << op.maxInputs << ", "
       << cppString(op.op->getSummary()) << "},\n";
  }
}

void emitImportDispatch(const std::vector<SpecOp> &ops, raw_ostream &os) {
  os << "// The importer's dispatch for ordinary ops, generated by rtml-tblgen\n"
     << "// -gen-import-dispatch from RtmlOps.td. Do not edit. Expects `op`\n"
     << "// (the spec name), `loc`, `inputs`, `layer` and attribute makers\n"
     << "// `pairAttr`, `intAttr`, `floatAttr`, `boolAttr` taking a field name.\n";
  for (const SpecOp &op : ops) {
    if (!op.importGeneric)
      continue;
    os << "if (op == " << cppString(op.specName) << ")\n  return buildInferred<"
       << op.op->getQualCppClassName() << ">(loc";
    for (int i = 0, e = op.op->getNumArgs(); i < e; ++i) {
      auto arg = op.op->getArg(i);
      if (auto *operand = dyn_cast<NamedTypeConstraint *>(arg)) {
        os << (operand->isVariadic() ? ", ValueRange(inputs)"
                                     : ", inputs.front()");
        continue;
      }
      auto *attr = cast<NamedAttribute *>(arg);
      os << ", " << fieldTypeOf(attr->attr) << "Attr(\"" << attr->name
         << "\")";
    }
    os << ");\n";
  }
}

void emitEmitterCalls(const std::vector<SpecOp> &ops, raw_ostream &os) {
  os << "// The emitter's runtime calls, generated by rtml-tblgen\n"
     << "// -gen-emitter-calls from RtmlOps.td. Do not edit. Cases of a\n"
     << "// TypeSwitch; expects `args` (tensor, tensors, attribute) and\n"
     << "// `runtimeCall(function, arguments)`.\n";
  for (const SpecOp &op : ops) {
    if (op.runtimeFunction.empty())
      continue;
    os << ".Case([&](" << op.op->getQualCppClassName()
       << " op) -> ::mlir::FailureOr<std::string> {\n  return runtimeCall("
       << cppString(op.runtimeFunction) << ", {";
    for (int i = 0, e = op.op->getNumArgs(); i < e; ++i) {
      auto arg = op.op->getArg(i);
      std::string getter = op.op->getGetterName(op.op->getArgName(i));
      if (i)
        os << ", ";
      if (auto *operand = dyn_cast<NamedTypeConstraint *>(arg))
        os << (operand->isVariadic() ? "args.tensors(op." : "args.tensor(op.")
           << getter << "())";
      else
        os << "args.attribute(op." << getter << "Attr())";
    }
    if (op.runtimeTraining)
      os << ", \"training\"";
    os << "});\n})\n";
  }
}

void emitRuntimeDecls(const std::vector<SpecOp> &ops, raw_ostream &os) {
  os << "//===- OpDecls.h - The runtime's op functions, one per rtml op -*- "
        "C++ -*-===//\n"
     << "//\n"
     << "// Generated by rtml-tblgen -gen-runtime-decls from RtmlOps.td: do "
        "not edit;\n"
     << "// `cmake --build build --target rtml-regenerate` rewrites it. "
        "Committed, so\n"
     << "// that the runtime builds where there is no MLIR. Arguments follow "
        "the\n"
     << "// op's ODS arguments, then `training` for ops that differ in "
        "training.\n"
     << "//\n"
     << "//===-----------------------------------------------------------"
        "-----------===//\n"
     << "#ifndef RTML_RUNTIME_OPDECLS_H\n#define RTML_RUNTIME_OPDECLS_H\n\n"
     << "#include <ATen/core/Tensor.h>\n#include <c10/util/ArrayRef.h>\n\n"
     << "namespace rtml::ops {\n";
  for (const SpecOp &op : ops) {
    if (op.runtimeFunction.empty())
      continue;
    os << "\n/// rtml." << op.op->getOperationName().substr(5) << ": "
       << op.op->getSummary() << ".\n";
    std::string decl = "at::Tensor " + op.runtimeFunction + "(";
    SmallVector<std::string> params;
    for (int i = 0, e = op.op->getNumArgs(); i < e; ++i) {
      auto arg = op.op->getArg(i);
      std::string name = camelCase(op.op->getArgName(i));
      if (auto *operand = dyn_cast<NamedTypeConstraint *>(arg)) {
        params.push_back((operand->isVariadic() ? "c10::ArrayRef<at::Tensor> "
                                                : "const at::Tensor &") +
                         name);
        if (operand->isOptional())
          params.back() += " /*may be undefined*/";
        continue;
      }
      StringRef type = fieldTypeOf(cast<NamedAttribute *>(arg)->attr);
      if (type.empty())
        PrintFatalError(op.def->getLoc(),
                        "no runtime type for attribute '" + name + "'");
      params.push_back(StringSwitch<std::string>(type)
                           .Case("pair", "c10::IntArrayRef ")
                           .Case("int", "int64_t ")
                           .Case("float", "double ")
                           .Default("bool ") +
                       name);
    }
    if (op.runtimeTraining)
      params.push_back("bool training");
    // One parameter per line past the opening parenthesis, clang-format's
    // way when they do not fit on one.
    std::string oneLineDecl = decl + join(params, ", ") + ");";
    if (oneLineDecl.size() <= 80) {
      os << oneLineDecl << "\n";
      continue;
    }
    std::string indent(decl.size(), ' ');
    os << decl;
    size_t column = decl.size();
    for (size_t i = 0; i < params.size(); ++i) {
      std::string piece = params[i] + (i + 1 < params.size() ? "," : ");");
      if (i && column + 1 + piece.size() > 80) {
        os << "\n" << indent;
        column = indent.size();
      } else if (i) {
        os << " ";
        ++column;
      }
      os << piece;
      column += piece.size();
    }
    os << "\n";
  }
  os << "\n} // namespace rtml::ops\n\n#endif // RTML_RUNTIME_OPDECLS_H\n";
}

void emitOpDocs(const std::vector<SpecOp> &ops, raw_ostream &os) {
  auto typeText = [](const Field &f) {
    std::string t = StringSwitch<std::string>(f.type)
                        .Case("int", "integer")
                        .Case("float", "number")
                        .Default(f.type);
    return t + StringSwitch<std::string>(f.constraint)
                   .Case("positive", " > 0")
                   .Case("non_negative", " >= 0")
                   .Case("unit_interval", " in [0, 1)")
                   .Case("closed_unit_interval", " in [0, 1]")
                   .Default("");
  };
  for (const SpecOp &op : ops) {
    std::string text = "**`" + op.specName + "`** — " + oneLine(op.specDoc);
    if (op.fields.empty()) {
      os << wrap(text + " No fields.") << "\n\n";
      continue;
    }
    os << wrap(text) << "\n\n"
       << "| field | type | default | meaning |\n| --- | --- | --- | --- |\n";
    for (const Field &f : op.fields) {
      std::string def = f.required()             ? "required"
                        : !f.defaultFrom.empty() ? "the `" + f.defaultFrom + "`"
                                                 : "`" + f.defaultValue + "`";
      os << "| `" << f.name << "` | " << typeText(f) << " | " << def << " | "
         << oneLine(f.doc) << " |\n";
    }
    os << "\n";
  }
}

bool generate(raw_ostream &os, RecordKeeper &records) {
  std::vector<SpecOp> ops = collectOps(records);
  switch (action) {
  case Action::OpSchema:
    emitOpSchema(ops, os);
    break;
  case Action::ImportDispatch:
    emitImportDispatch(ops, os);
    break;
  case Action::EmitterCalls:
    emitEmitterCalls(ops, os);
    break;
  case Action::RuntimeDecls:
    emitRuntimeDecls(ops, os);
    break;
  case Action::OpDocs:
    emitOpDocs(ops, os);
    break;
  }
  return false;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv);
  return TableGenMain(argv[0], &generate);
}
