// weft.h — the umbrella header of weft, a multi-graph dataflow runtime with
// explicit graph handles. Include this and depend on //:weft.
//
// Defines nothing itself; brings in:
//   graph/   Graph, Tensor, NDArray, DType, Shape and the shape helpers, the
//            scopes (GraphScope, NameScope, DeviceScope, GraphContext,
//            ContextScope), the op builders (weft::ops) and op registry,
//            device kinds, resources, provenance and the error payloads
//            (ErrorKind, CrossGraphEdge, OpErrorInfo), graph files
//            (SaveGraph, LoadGraph) and NPY files (ReadNpy, WriteNpy);
//   kernels/ the kernel interface for custom kernels (OpKernel,
//            AsyncOpKernel, KernelRegistry, CancellationManager);
//   runtime/ Session, SessionOptions, RunOptions, RunMetadata, Feeds,
//            PlanSummary, Device and device factories, the Rendezvous
//            interface, and the partitioner (PartitionGraph);
//   state/   Variable, its graph ops (ReadVariable, Assign, AssignAdd,
//            AssignSub) and checkpoints (SaveVariables, RestoreVariables);
//   async/   Queue, its graph ops (Enqueue, Dequeue, DequeueMany),
//            QueueRunner, and the serving Batcher.
// No header here includes oneTBB or the executor's internals.
#ifndef WEFT_WEFT_H_
#define WEFT_WEFT_H_

#include "async/batcher.h"
#include "async/queue.h"
#include "async/queue_ops.h"
#include "graph/device_kind.h"
#include "graph/dtype.h"
#include "graph/errors.h"
#include "graph/function.h"
#include "graph/graph.h"
#include "graph/graph_io.h"
#include "graph/ndarray.h"
#include "graph/npy.h"
#include "graph/op_registry.h"
#include "graph/ops.h"
#include "graph/provenance.h"
#include "graph/resource.h"
#include "graph/scopes.h"
#include "graph/shape.h"
#include "graph/shape_util.h"
#include "graph/tensor.h"
#include "graph/tensor_spec.h"
#include "kernels/cancellation.h"
#include "kernels/kernel.h"
#include "runtime/device.h"
#include "runtime/partitioner.h"
#include "runtime/rendezvous.h"
#include "runtime/run_metadata.h"
#include "runtime/session.h"
#include "state/checkpoint.h"
#include "state/variable.h"
#include "state/variable_ops.h"

#endif  // WEFT_WEFT_H_
