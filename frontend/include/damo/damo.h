// Damo's umbrella header: everything a program that embeds Damo uses, in one include.
//
//   #include <damo/damo.h>
//
// brings in tensors and their .npy files, the graph builder (Graph, Expr and its
// operators), the op factories, dtype promotion, graph traversal, autodiff, the reference evaluator
// and the printers. It
// also brings in compile() and Function, the expression language's Session, the thread and
// log settings, the error types and the version. docs/api.md introduces each of them.
#pragma once

#include "damo/version.h"

#include "damo/runtime/dtype.h"
#include "damo/runtime/error.h"
#include "damo/runtime/log.h"
#include "damo/runtime/npy.h"
#include "damo/runtime/shared_variable.h"
#include "damo/runtime/tensor.h"
#include "damo/runtime/thread_pool.h"

#include "damo/graph/autodiff.h"
#include "damo/graph/eval.h"
#include "damo/graph/expr.h"
#include "damo/graph/graph.h"
#include "damo/graph/ops.h"
#include "damo/graph/printer.h"
#include "damo/graph/promotion.h"
#include "damo/graph/shape.h"
#include "damo/graph/traversal.h"

#include "damo/frontend/format.h"
#include "damo/frontend/function.h"
#include "damo/frontend/session.h"
