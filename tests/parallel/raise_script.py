"""One rank raises before a collective the other waits in; run by tests/test_parallel.py under
``mpiexec -n 2 python -m mpi4py`` to show the job ends (not a pytest module)."""

import mxplug as mx
from mxplug import parallel

comm = parallel.init()
if comm.rank == 1:
    raise RuntimeError("rank 1 fails on purpose")
comm.allreduce(mx.nd.ones((2,)))  # rank 0 waits here until the abort ends it
