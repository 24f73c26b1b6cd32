"""Write ``models/presets/snntorch_nir.nir``: the seed's snnTorch cell exported by snnTorch's own exporter.

The seed (snnTorch tutorial 2, preset ``snntorch_lapicque``) is ``snn.Lapicque(R=5.1, C=5e-3)``: tau =
RC = 25.5 ms, threshold 1, membrane and reset at 0, no refractory period. snnTorch exports ``Leaky``
(not ``Lapicque``) and reads its ``beta`` as a forward-Euler step of ``dt = 1e-4`` (``snntorch.export_nir``:
``tau = dt/(1 - beta)``, ``r = tau/dt``), so the same membrane is ``Leaky(beta = 1 - 1e-4/0.0255)`` with
``reset_mechanism = "zero"`` (NIR's LIF resets to ``v_reset = 0``). The exporter needs a layer in front to
find the graph's input, and vectors (not scalars) for ``beta`` and the threshold to give the node a
shape: ``Linear(1, 1)`` with weight 1 does both without changing the cell.

Needs torch, snnTorch 1.0 and nirtorch (requirements-extras.txt; tests/test_nir.py runs it and checks that
it writes the shipped cell again)::

    python examples/nir/export_snntorch_seed.py models/presets/snntorch_nir.nir
"""

import sys

import nir
import snntorch as snn
import torch
from snntorch.export_nir import export_to_nir

DT_OF_THE_EXPORTER = 1e-4   # s, fixed in snntorch.export_nir
TAU = 5.1 * 5e-3            # s, the seed's R C


def main(out: str) -> None:
    linear = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        linear.weight.fill_(1.0)
    leaky = snn.Leaky(beta=torch.tensor([1 - DT_OF_THE_EXPORTER / TAU]), threshold=torch.tensor([1.0]),
                      reset_mechanism="zero", init_hidden=True, output=True)
    graph = export_to_nir(torch.nn.Sequential(linear, leaky), torch.zeros(1, 1), ignore_dims=[0])
    nir.write(out, graph)


if __name__ == "__main__":
    main(sys.argv[1])
