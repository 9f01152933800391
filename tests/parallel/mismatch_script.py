"""Deliberately mismatched collectives, run by tests/test_parallel.py under
``MXPLUG_CHECK_COLLECTIVES=1 mpiexec -n 2 python -m mpi4py`` (not a pytest module)."""

import mxplug as mx
from mxplug import parallel

comm = parallel.init()
try:  # 1) same op, different shapes: every rank raises (and could go on)
    if comm.rank == 0:
        comm.allreduce(mx.nd.ones((3,)))  # LINE-SHAPE-0
    else:
        comm.allreduce(mx.nd.ones((4,)))  # LINE-SHAPE-1
except parallel.CollectiveMismatchError as e:
    print(f"rank {comm.rank} caught:\n{e}", flush=True)
comm.barrier()
if comm.rank == 1:  # 2) different ops: uncaught, so python -m mpi4py aborts the job
    comm.broadcast(mx.nd.ones((2,)), root=0)  # LINE-OP-1
else:
    comm.allreduce(mx.nd.ones((2,)))  # LINE-OP-0
print("unreachable", flush=True)
