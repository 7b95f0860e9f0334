//===- LazyTypes.h - lazy dialect types and attributes ----------*- C++ -*-===//
#ifndef LAZYC_DIALECTS_LAZY_LAZYTYPES_H
#define LAZYC_DIALECTS_LAZY_LAZYTYPES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "dialects/lazy/LazyTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/lazy/LazyAttrs.h.inc"

#endif // LAZYC_DIALECTS_LAZY_LAZYTYPES_H
