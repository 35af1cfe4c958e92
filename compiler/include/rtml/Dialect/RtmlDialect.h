//===- RtmlDialect.h - The rtml dialect -----------------------------------===//
#ifndef RTML_DIALECT_RTMLDIALECT_H
#define RTML_DIALECT_RTMLDIALECT_H

#include "mlir/IR/Dialect.h"

#include "rtml/Dialect/RtmlDialect.h.inc"

#endif // RTML_DIALECT_RTMLDIALECT_H
