//===- SettingsAttr.h - rtml.train and rtml.data from the settings table --===//
//
// The module attributes that carry the training and data settings: one entry
// per setting of rtml/Support/TrainSettings.h, typed by the table (i64, f64,
// bool, an enumerator's name), every one present, plus rtml.data's two
// transform lists. The importer builds them, the dialect verifies them and
// the emitter reads them, all through these functions.
//
//===----------------------------------------------------------------------===//
#ifndef RTML_DIALECT_SETTINGSATTR_H
#define RTML_DIALECT_SETTINGSATTR_H

#include "rtml/Support/TrainSettings.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"

namespace rtml {

/// One setting's value as an attribute.
mlir::Attribute settingAttr(mlir::Builder &b, const settings::SettingInfo &info,
                            const settings::Value &value);
/// The value ATTR holds for INFO; on failure PROBLEM says what it must be.
std::optional<settings::Value> settingValue(const settings::SettingInfo &info,
                                            mlir::Attribute attr,
                                            std::string &problem);

mlir::DictionaryAttr trainAttr(mlir::Builder &b, const TrainSettings &s);
/// rtml.data without its transform lists (the caller adds them).
llvm::SmallVector<mlir::NamedAttribute>
dataSettingsEntries(mlir::Builder &b, const DataSettings &s);

/// The settings of a verified rtml.train / rtml.data.
TrainSettings trainSettingsOf(mlir::DictionaryAttr train);
DataSettings dataSettingsOf(mlir::DictionaryAttr data);

/// The transform kinds rtml.data's lists may hold, in spec spelling, and the
/// runtime's TransformConfig::Kind enumerator of each.
struct TransformKind {
  llvm::StringLiteral name;
  llvm::StringLiteral cppKind;
};
llvm::ArrayRef<TransformKind> transformKinds();

/// The verifier's checks, reported on OP.
mlir::LogicalResult verifyTrainAttr(mlir::Operation *op,
                                    mlir::DictionaryAttr train);
mlir::LogicalResult verifyDataAttr(mlir::Operation *op,
                                   mlir::DictionaryAttr data);

} // namespace rtml

#endif // RTML_DIALECT_SETTINGSATTR_H
