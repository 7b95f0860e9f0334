//===- lazy-opt.cpp - mlir-opt for lazyc ------------------------------------===//
//
// Parses, verifies, transforms and prints `llm` / `lazy` IR:
//   lazy-opt model.mlir --lazy-set-schedule="schedule=8:0.7,16:0.5"
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  lazyc::registerAllDialects(registry);
  lazyc::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "lazyc optimizer driver (llm + lazy dialects)\n", registry));
}
