// weft.h — the umbrella header of weft, a multi-graph dataflow runtime with
// explicit graph handles. Include this and depend on //:weft.
//
// Defines nothing itself; brings in:
//   graph/   Graph, Tensor, NDArray, DType, Shape, the scopes (GraphScope,
//            NameScope, DeviceScope, GraphContext, ContextScope), the op
//            builders (weft::ops), provenance and the error payloads
//            (CrossGraphEdge, OpErrorInfo), graph files (SaveGraph,
//            LoadGraph) and NPY files (ReadNpy, WriteNpy);
//   runtime/ Session, SessionOptions, RunOptions, RunMetadata, Feeds, and the
//            partitioner (PartitionGraph).
#ifndef WEFT_WEFT_H_
#define WEFT_WEFT_H_

#include "graph/dtype.h"
#include "graph/errors.h"
#include "graph/graph.h"
#include "graph/graph_io.h"
#include "graph/ndarray.h"
#include "graph/npy.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "graph/scopes.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "kernels/kernel.h"
#include "runtime/partitioner.h"
#include "runtime/run_metadata.h"
#include "runtime/session.h"

#endif  // WEFT_WEFT_H_
